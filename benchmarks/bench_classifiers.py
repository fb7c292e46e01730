"""Macro-F1 and speed of the seqknn classifiers against kNN and an MLP.

Data: the default-of-credit-card-clients file in ``../shared/datasets`` (the
paper's CCD), ID column dropped. For each seed: a stratified 80/10/10
train/validation/test split; every model is fitted on the 80% training part
(the seqknn models hold out their own early-stopping split from it, the MLP
likewise), the 10% validation part is not used, and macro-F1 is measured on the
10% test part. All models run in the same process, one after the other.

Run from the repository root::

    python benchmarks/bench_classifiers.py            # 5 seeds, all models
    python benchmarks/bench_classifiers.py --seeds 1 --models V2VSLS MLP "kNN (k=5)"

Prints a Markdown table: macro-F1 mean and standard deviation over the seeds,
mean fit time, training samples per second (samples x epochs / fit time) and
predict_proba rows per second on the test part.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import f1_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import seqknn
from seqknn.experiments._protocol import split as split_80_10_10

DEFAULT_DATA = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "datasets"
    / "UCI_Credit_Card.csv.gz"
)


def load_credit(path):
    values = np.loadtxt(path, delimiter=",", skiprows=1)
    return values[:, 1:-1], values[:, -1].astype(int)


def models(seed):
    return {
        "kNN (k=5)": make_pipeline(StandardScaler(), KNeighborsClassifier(5)),
        "MLP": make_pipeline(
            StandardScaler(),
            MLPClassifier((128, 128, 128), early_stopping=True, random_state=seed),
        ),
        "V2LS": seqknn.V2LSClassifier(random_state=seed),
        "V2VS": seqknn.V2VSClassifier(random_state=seed),
        "V2VSLS": seqknn.V2VSLSClassifier(random_state=seed),
        "MemN2N": seqknn.MemN2NClassifier(random_state=seed),
        "MNkNN": seqknn.MNkNNClassifier(random_state=seed),
        "MNkNN_VEC": seqknn.MNkNNVecClassifier(random_state=seed),
        "MNkNN (1 memory draw)": seqknn.MNkNNClassifier(
            n_memory_draws=1, random_state=seed
        ),
    }


def split(X, y, seed):
    """The experiments' stratified 80/10/10 split: training and test parts."""
    (X_train, y_train), _, (X_test, y_test) = split_80_10_10(X, y, seed)
    return X_train, y_train, X_test, y_test


def n_epochs(model):
    est = model[-1] if hasattr(model, "steps") else model
    return getattr(est, "n_iter_", None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--models", nargs="*", default=None)
    args = parser.parse_args()

    X, y = load_credit(args.data)
    print(f"data: {args.data.name} {X.shape}, torch threads {torch.get_num_threads()}")
    rows = {}
    for seed in range(args.seeds):
        X_train, y_train, X_test, y_test = split(X, y, seed)
        for name, model in models(seed).items():
            if args.models and name not in args.models:
                continue
            start = time.perf_counter()
            model.fit(X_train, y_train)
            fit_time = time.perf_counter() - start
            start = time.perf_counter()
            proba = model.predict_proba(X_test)
            predict_time = time.perf_counter() - start
            y_pred = model.classes_[proba.argmax(axis=1)]
            f1 = f1_score(y_test, y_pred, average="macro")
            epochs = n_epochs(model)
            rows.setdefault(name, []).append(
                (
                    f1,
                    fit_time,
                    len(X_test) / predict_time,
                    np.nan if epochs is None else len(X_train) * epochs / fit_time,
                )
            )
            print(
                f"seed {seed} {name:10s} macro-F1 {f1:.4f} fit {fit_time:6.1f}s "
                f"epochs {epochs}",
                flush=True,
            )

    print(
        "\n| model | macro-F1 (mean ± std) | fit time (s) | train samples/s "
        "| predict_proba rows/s |"
    )
    print("|---|---|---|---|---|")
    for name, results in rows.items():
        r = np.array(results)
        # kNN has no epochs: no training throughput.
        throughput = "-" if np.isnan(r[:, 3]).all() else f"{r[:, 3].mean():,.0f}"
        print(
            f"| {name} | {r[:, 0].mean():.4f} ± {r[:, 0].std():.4f} "
            f"| {r[:, 1].mean():.1f} | {throughput} | {r[:, 2].mean():,.0f} |"
        )
    if "MLP" in rows and "V2VSLS" in rows:
        ratio = np.mean([v[1] for v in rows["V2VSLS"]]) / np.mean(
            [m[1] for m in rows["MLP"]]
        )
        print(f"\nV2VSLS fit time / MLP fit time: {ratio:.2f}")


if __name__ == "__main__":
    main()
