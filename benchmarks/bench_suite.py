"""Every seqknn classifier at its defaults against scaled kNN, MLPs, RF and HGB.

Data: the 34 public data sets of ``../shared/datasets/dev/`` (see its README), the
credit-card data (the paper's CCD) and stratified samples of the network-intrusion
(NI, ``kddcup.data_10_percent.gz``) and cover-type (COV) files of
``../shared/datasets``. Data sets larger than ``--max-samples`` rows (``fars``,
credit, NI, COV) are subsampled once, stratified, with seed 0.

Protocols:

- ``test`` (the reported table): for each seed a stratified 80/20 split; every
  model is fitted on the 80% part with its own defaults and macro-F1 is measured
  on the 20% part.
- ``validation`` (the ablation that chose the defaults): the 20% test parts are
  never read. The 80% training part of each seed is split again 75/25 and models
  are scored on that 25%. Defaults chosen this way were not tuned on the test
  parts of the reported table.

Results are cached row by row in ``--out`` (a CSV keyed by protocol, model,
data set and seed), so a second run adds only what is missing, and an ablation
variant of a model (``--param V2VSLS.hidden_size=128 --tag h128``) sits beside
the defaults (``--tag`` labels the seqknn models of a run). Run from the
repository root::

    python benchmarks/bench_suite.py                      # all models, 3 seeds
    python benchmarks/bench_suite.py --models V2VSLS kNN --datasets pima zoo
    python benchmarks/bench_suite.py --protocol validation --models V2VSLS \\
        --param V2VSLS.hidden_size=64 --tag h64
    python benchmarks/bench_suite.py --speed --datasets credit fars nursery \\
        --max-samples 0                                   # fit times, full data
    python benchmarks/bench_suite.py --speed --models V2VS --datasets credit \\
        --max-samples 20000               # V2VS's fit and predict times
    python benchmarks/bench_suite.py --models 1-NN V2VS kNN  # V2VS's ceiling

Prints a Markdown table: per data set the mean macro-F1 (x100) over the seeds;
then per model the mean macro-F1, the mean rank among the models shown (1 is
best), wins/ties/losses against kNN and against the better of the two MLPs on
the per-set means, the Wilcoxon signed-rank p-value over data sets of those
differences, the number of sets where the model is more than 10 points below
kNN, and the mean fit time.
"""

import argparse
import csv
import functools
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import rankdata, wilcoxon
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"

BASELINES = ["kNN", "MLP", "MLP-128x3", "RF", "HGB"]
# Run only when named in --models: the ceiling of V2VS, whose vote labels x by
# the training sample nearest to a predicted neighbour.
REFERENCES = ["1-NN"]
SEQKNN = ["V2LS", "V2VS", "V2VSLS", "MNkNN", "MNkNN_VEC", "MemN2N"]
CLASS_NAMES = {
    "V2LS": "V2LSClassifier",
    "V2VS": "V2VSClassifier",
    "V2VSLS": "V2VSLSClassifier",
    "MNkNN": "MNkNNClassifier",
    "MNkNN_VEC": "MNkNNVecClassifier",
    "MemN2N": "MemN2NClassifier",
}
PAPER_SETS = ["credit", "NI", "COV"]
FIELDS = ["protocol", "model", "dataset", "seed", "macro_f1", "fit_s", "n_train"]


def dev_sets():
    return sorted(p.name[: -len(".csv.gz")] for p in (SHARED / "dev").glob("*.csv.gz"))


@functools.lru_cache(maxsize=4)
def load(name, max_samples):
    """``(X, y)`` of a data set, classes coded 0..C-1, subsampled to max_samples."""
    if name == "credit":
        from seqknn.datasets import load_credit_default

        X, y = load_credit_default(return_X_y=True)
    elif name == "NI":
        from seqknn.datasets import load_kddcup99

        X, y = load_kddcup99(SHARED / "kddcup.data_10_percent.gz", return_X_y=True)
    elif name == "COV":
        from seqknn.datasets import load_covtype

        X, y = load_covtype(SHARED / "covtype_first100k.data.gz", return_X_y=True)
    else:
        import pandas as pd

        values = pd.read_csv(SHARED / "dev" / f"{name}.csv.gz").to_numpy()
        X, y = values[:, :-1], values[:, -1]
    X = np.asarray(X, dtype=np.float64)
    y = np.unique(y, return_inverse=True)[1]
    if max_samples and len(y) > max_samples:
        X, _, y, _ = train_test_split(
            X, y, train_size=max_samples, stratify=y, random_state=0
        )
    return X, y


def _stratify(y):
    # nursery has a class of 2 samples: stratify only when every class can.
    return y if np.bincount(y).min() >= 2 else None


def split(X, y, seed, protocol):
    """Training and scoring parts; ``validation`` never reads the test part."""
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.2, stratify=_stratify(y), random_state=seed
    )
    if protocol == "validation":
        X_tr, X_te, y_tr, y_te = train_test_split(
            X_tr, y_tr, test_size=0.25, stratify=_stratify(y_tr), random_state=seed
        )
    return X_tr, y_tr, X_te, y_te


def label(model, tag):
    """The model's name in the results: seqknn models carry the run's tag."""
    return model + (f"[{tag}]" if tag and model in SEQKNN else "")


def make_model(name, seed, params):
    scaled = lambda est: make_pipeline(StandardScaler(), est)  # noqa: E731
    if name in ("kNN", "1-NN"):
        return scaled(KNeighborsClassifier(5 if name == "kNN" else 1))
    if name == "MLP":
        return scaled(MLPClassifier(random_state=seed, **params))
    if name == "MLP-128x3":
        return scaled(
            MLPClassifier(
                (128, 128, 128), early_stopping=True, random_state=seed, **params
            )
        )
    if name == "RF":
        return RandomForestClassifier(random_state=seed, n_jobs=1, **params)
    if name == "HGB":
        return HistGradientBoostingClassifier(random_state=seed, **params)
    import seqknn

    return getattr(seqknn, CLASS_NAMES[name])(random_state=seed, device="cpu", **params)


def run_one(protocol, model, tag, params, dataset, seed, max_samples):
    import torch

    torch.set_num_threads(1)
    X, y = load(dataset, max_samples)
    X_tr, y_tr, X_te, y_te = split(X, y, seed, protocol)
    est = make_model(model, seed, params)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X_tr, y_tr)
        f1 = f1_score(y_te, est.predict(X_te), average="macro")
    return {
        "protocol": protocol,
        "model": label(model, tag),
        "dataset": dataset,
        "seed": seed,
        "macro_f1": round(100 * f1, 4),
        "fit_s": round(time.perf_counter() - started, 3),
        "n_train": len(y_tr),
    }


def reported_rows(cache, protocol, n_seeds):
    """The cached rows of ``protocol`` for seeds 0 to ``n_seeds - 1``.

    The cache may hold more seeds for some models or data sets; a report
    reads only the seeds asked for, so those extra seeds leave its tables as
    they are.
    """
    return [
        r
        for r in cache.values()
        if r["protocol"] == protocol and int(r["seed"]) < n_seeds
    ]


def read_cache(path):
    if not path.exists():
        return {}
    with path.open() as f:
        rows = list(csv.DictReader(f))
    return {(r["protocol"], r["model"], r["dataset"], int(r["seed"])): r for r in rows}


def parse_params(items):
    """``["V2VSLS.hidden_size=64"]`` -> ``{"V2VSLS": {"hidden_size": 64}}``."""
    params = {}
    for item in items:
        key, value = item.split("=", 1)
        model, name = key.split(".", 1)
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass  # a bare string such as auto
        params.setdefault(model, {})[name] = value
    return params


def report(rows, models, datasets, reference="kNN"):
    """The Markdown per-set table and the summary, from cached rows."""
    scores = {m: {} for m in models}
    times = {m: [] for m in models}
    for r in rows:
        if r["model"] in scores and r["dataset"] in datasets:
            scores[r["model"]].setdefault(r["dataset"], []).append(float(r["macro_f1"]))
            times[r["model"]].append(float(r["fit_s"]))
    complete = [d for d in datasets if all(d in scores[m] for m in models)]
    if not complete:
        return "No data set has results for every model."
    mean = np.array([[np.mean(scores[m][d]) for m in models] for d in complete])
    lines = ["| data set | " + " | ".join(models) + " |"]
    lines.append("|---" * (len(models) + 1) + "|")
    for d, row in zip(complete, mean, strict=True):
        best = row.max()
        cells = [f"**{v:.2f}**" if v == best else f"{v:.2f}" for v in row]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    ranks = np.array([rankdata(-row) for row in mean])
    mlps = [m for m in ("MLP", "MLP-128x3") if m in models]
    refs = {reference: mean[:, models.index(reference)]} if reference in models else {}
    if mlps:
        refs["best MLP"] = np.max([mean[:, models.index(m)] for m in mlps], axis=0)
    lines += ["", "| model | mean macro-F1 | mean rank |"]
    lines[-1] += "".join(f" W/T/L vs {k} | p vs {k} |" for k in refs)
    lines[-1] += f" sets >10 below {reference} | mean fit (s) |"
    lines.append("|---" * (4 + 2 * len(refs)) + "|")
    for j, m in enumerate(models):
        cells = [f"{mean[:, j].mean():.2f}", f"{ranks[:, j].mean():.2f}"]
        for ref in refs.values():
            diff = mean[:, j] - ref
            win, tie = (diff > 1e-9).sum(), (abs(diff) <= 1e-9).sum()
            wtl = f"{win}/{tie}/{len(diff) - win - tie}"
            p = wilcoxon(diff).pvalue if np.any(abs(diff) > 1e-9) else 1.0
            cells += [wtl, f"{p:.3g}"]
        low = (mean[:, j] < refs[reference] - 10).sum() if reference in refs else "-"
        cells += [str(low), f"{np.mean(times[m]):.2f}"]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines.append(f"\n{len(complete)} data sets with results for every model.")
    return "\n".join(lines)


def speed(datasets, max_samples, models=("V2VSLS",), seed=0):
    """Fit times of seqknn ``models`` at their defaults against ``MLP-128x3``.

    All in one process, one after the other; also each model's time to
    predict the 20% test part.
    """
    import torch

    header = ["data set", "n_train", "MLP-128x3 fit (s)"]
    for m in models:
        header += [f"{m} fit (s)", "ratio", f"{m} predict (s)"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for d in datasets:
        X, y = load(d, max_samples)
        X_tr, y_tr, X_te, _ = split(X, y, seed, "test")
        cells, mlp_time = [d, str(len(y_tr))], None
        for model in ("MLP-128x3", *models):
            est = make_model(model, seed, {})
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(X_tr, y_tr)
            fit_time = time.perf_counter() - started
            if mlp_time is None:
                mlp_time = fit_time
                cells.append(f"{fit_time:.1f}")
                continue
            started = time.perf_counter()
            est.predict(X_te)
            predict_time = time.perf_counter() - started
            cells += [
                f"{fit_time:.1f}",
                f"{fit_time / mlp_time:.1f}",
                f"{predict_time:.2f}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    print(f"torch threads: {torch.get_num_threads()}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--models",
        nargs="+",
        default=None,
        help="default: all; with --speed, V2VSLS",
    )
    parser.add_argument("--datasets", nargs="+", default=dev_sets() + PAPER_SETS)
    parser.add_argument("--exclude", nargs="+", default=[])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-samples", type=int, default=10000)
    parser.add_argument("--protocol", choices=["test", "validation"], default="test")
    parser.add_argument("--param", action="append", default=[])
    parser.add_argument("--tag", default="")
    parser.add_argument(
        "--compare",
        nargs="+",
        default=None,
        help="columns of the report (cached model names)",
    )
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/suite.csv")
    )
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument(
        "--speed",
        action="store_true",
        help="only time the seqknn --models against MLP-128x3 on --datasets",
    )
    args = parser.parse_args(argv)
    datasets = [d for d in args.datasets if d not in args.exclude]
    if args.speed:
        print(speed(datasets, args.max_samples, args.models or ["V2VSLS"]))
        return
    args.models = args.models or BASELINES + SEQKNN
    params = parse_params(args.param)
    cache = read_cache(args.out)
    todo = []
    for model in args.models:
        tag = args.tag if model in SEQKNN else ""
        for d in datasets:
            for seed in range(args.seeds):
                if (args.protocol, label(model, tag), d, seed) not in cache:
                    todo.append((model, tag, params.get(model, {}), d, seed))
    if todo and not args.report_only:
        # Imported by name, so that the workers import this module (and keep its
        # cache of loaded data sets) instead of receiving a pickled copy.
        from bench_suite import run_one
        from joblib import Parallel, delayed

        # Largest fits first, so the pool's last tasks are short.
        order = {d: i for i, d in enumerate(["fars", "NI", "COV", "credit", "nursery"])}
        todo.sort(key=lambda t: order.get(t[3], 99))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        new = not args.out.exists()
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        with args.out.open("a", newline="") as f:
            writer = csv.DictWriter(f, FIELDS)
            if new:
                writer.writeheader()
            jobs = Parallel(n_jobs=args.n_jobs, return_as="generator_unordered")(
                delayed(run_one)(args.protocol, m, t, p, d, s, args.max_samples)
                for m, t, p, d, s in todo
            )
            for i, row in enumerate(jobs, 1):
                writer.writerow(row)
                f.flush()
                print(
                    f"[{i}/{len(todo)}] {row['model']} {row['dataset']} "
                    f"seed {row['seed']}: {row['macro_f1']:.2f} ({row['fit_s']} s)",
                    flush=True,
                )
        cache = read_cache(args.out)
    labels = args.compare or [label(m, args.tag) for m in args.models]
    print(report(reported_rows(cache, args.protocol, args.seeds), labels, datasets))


if __name__ == "__main__":
    main()
