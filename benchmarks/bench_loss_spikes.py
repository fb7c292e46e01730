"""The memory networks' loss-spike rule at two thresholds, over the dev suite.

Without early stopping (the memory networks' default) the training loop keeps
the last weights, but undoes an epoch whose mean training loss exceeds the
model's ``_spike_factor`` times the best so far (best weights reloaded,
learning rate halved; 1.4 for MNkNN and MNkNN_VEC, 2 for MemN2N).
This fits MNkNN, MNkNN_VEC and MemN2N at their defaults on the validation
protocol of ``bench_suite.py`` (the test parts are never read; data sets capped
at 3,000 rows) once per threshold, and prints per model the mean macro-F1
(x100) over the data sets, how many fits changed, wins and losses per data set
and the Wilcoxon signed-rank p-value, and the largest ratio of an epoch's loss
to the best before it. Run from the repository root::

    python benchmarks/bench_loss_spikes.py --spikes 2 1.4    # about 12 minutes

Fits that never cross the lower threshold train identically under both.
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import wilcoxon
from sklearn.metrics import f1_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_suite  # noqa: E402

MODELS = ["MNkNN", "MNkNN_VEC", "MemN2N"]


def fit_one(model, dataset, seed, spike, max_samples):
    import torch

    torch.set_num_threads(1)
    X, y = bench_suite.load(dataset, max_samples)
    X_tr, y_tr, X_te, y_te = bench_suite.split(X, y, seed, "validation")
    est = bench_suite.make_model(model, seed, {})
    est._spike_factor = spike  # shadows the class's threshold
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X_tr, y_tr)
    loss = np.asarray(est.history_["loss"])
    ratio = loss[1:] / np.minimum.accumulate(loss)[:-1]
    return {
        "f1": 100 * f1_score(y_te, est.predict(X_te), average="macro"),
        "max_ratio": float(ratio.max(initial=0.0)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spikes", type=float, nargs=2, default=[2.0, 1.4])
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--datasets", nargs="+", default=bench_suite.dev_sets())
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-samples", type=int, default=3000)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)

    jobs = [
        (m, d, s, spike)
        for spike in args.spikes
        for m in args.models
        for d in args.datasets
        for s in range(args.seeds)
    ]
    results = Parallel(n_jobs=args.n_jobs)(
        delayed(fit_one)(*job, args.max_samples) for job in jobs
    )
    rows = dict(zip(jobs, results, strict=True))
    # Per (model, threshold): the mean macro-F1 of each data set over the seeds.
    per_set = {
        (m, spike): np.array(
            [
                np.mean([rows[(m, d, s, spike)]["f1"] for s in range(args.seeds)])
                for d in args.datasets
            ]
        )
        for m in args.models
        for spike in args.spikes
    }
    low, high = args.spikes
    print(f"spike {low} -> {high}, {args.seeds} seeds, validation protocol")
    for m in args.models:
        keys = [(m, d, s) for d in args.datasets for s in range(args.seeds)]
        changed = sum(rows[(*k, low)]["f1"] != rows[(*k, high)]["f1"] for k in keys)
        diff = per_set[(m, high)] - per_set[(m, low)]
        p = wilcoxon(diff[diff != 0]).pvalue if np.any(diff != 0) else 1.0
        ratios = [rows[(*k, low)]["max_ratio"] for k in keys]
        print(
            f"{m}: {per_set[(m, low)].mean():.2f} -> {per_set[(m, high)].mean():.2f}, "
            f"{changed}/{len(keys)} fits changed, better on {np.sum(diff > 0)} "
            f"sets, worse on {np.sum(diff < 0)}, p = {p:.2f}; largest loss "
            f"ratio at {low}: median {np.median(ratios):.2f}, max {max(ratios):.2f}"
        )


if __name__ == "__main__":
    main()
