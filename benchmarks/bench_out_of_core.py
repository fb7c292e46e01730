"""The paper's Table 3: exact against out-of-core (Algorithm 1) neighbour targets.

Data: the credit-card default data that ships with seqknn (the paper's CCD) and
the KDD Cup 1999 10% file in ``../shared/datasets`` (the paper's NI: normal,
DoS and Probe, one-hot categorical features; see ``load_kddcup99``). For each
seed: a stratified 80/10/10 train/validation/test split, made like
``bench_classifiers.py`` makes it (the same test part for the same seed).
Every model is fitted on train + validation (90%); the seqknn models hold out
their own early-stopping split from it (``validation_fraction=0.1``), and
macro-F1 and weighted F1 are measured on the 10% test part.

Each model runs with two kinds of neighbours:

- ``full``: exact neighbours (``neighbors="exact"``);
- ``out-of-core``: the paper's Algorithm 1,
  ``neighbors=seqknn.OutOfCoreNeighbors(n_batches=50, batch_size=64)`` (R=50,
  B=64), seeded with the run's seed.

For the seqknn models the fit time is split with their ``fit_times_`` into the
computation of the neighbour targets and the training of the network. kNN
(scikit-learn's ``KNeighborsClassifier``, k=5, on standardised data) has no
training targets: its "neighbours" time is the neighbour search for the test
samples (``predict``), its "training" time the ``fit`` (scaling, storing the
data). Out-of-core kNN votes among the 5 closest of the test sample's
Algorithm-1 candidates (R x B random training samples) instead of among the
5 closest of all training samples.

Run from the repository root::

    python benchmarks/bench_out_of_core.py                        # everything
    python benchmarks/bench_out_of_core.py --datasets credit --seeds 1
    python benchmarks/bench_out_of_core.py --max-samples 3000 --seeds 1 \\
        --max-epochs 3                                             # smoke test

Progress goes to stderr. Prints a Markdown table (mean ± std over the seeds of
the F1 scores, mean seconds), preceded by the command line and the versions;
``--out`` also writes one CSV row per (dataset, seed, model, targets).
"""

import argparse
import contextlib
import csv
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import seqknn
from seqknn.datasets import load_credit_default, load_kddcup99

DEFAULT_KDD = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "datasets"
    / "kddcup.data_10_percent.gz"
)
NETWORKS = {
    "V2LS": seqknn.V2LSClassifier,
    "V2VS": seqknn.V2VSClassifier,
    "V2VSLS": seqknn.V2VSLSClassifier,
    "MNkNN": seqknn.MNkNNClassifier,
    "MNkNN_VEC": seqknn.MNkNNVecClassifier,
}
MODELS = ["kNN", *NETWORKS]
TARGETS = ["full", "out-of-core"]
DATASETS = ["credit", "kdd"]
# The paper's Algorithm 1 settings: R random batches of B samples.
N_BATCHES, BATCH_SIZE = 50, 64
K = 5
FIELDS = [
    "dataset",
    "seed",
    "model",
    "targets",
    "n_fit",
    "n_test",
    "n_features",
    "f1_macro",
    "f1_weighted",
    "neighbors_s",
    "training_s",
    "fit_s",
    "predict_s",
    "epochs",
    "note",
]


def log(message):
    print(message, file=sys.stderr, flush=True)


def out_of_core_neighbors(seed):
    return seqknn.OutOfCoreNeighbors(
        n_batches=N_BATCHES, batch_size=BATCH_SIZE, random_state=seed
    )


class OutOfCoreKNN:
    """kNN whose prediction uses only Algorithm-1 neighbours.

    Like ``KNeighborsClassifier(5)`` on standardised data (uniform vote, ties
    to the smallest class), but each test sample's 5 neighbours are the 5
    closest of its R x B random training samples.
    """

    def __init__(self, n_neighbors, random_state):
        self.n_neighbors = n_neighbors
        self.random_state = random_state

    def fit(self, X, y):
        self.scaler_ = StandardScaler().fit(X)
        self.classes_, self._y = np.unique(y, return_inverse=True)
        self.search_ = out_of_core_neighbors(self.random_state)
        self.search_.fit(self.scaler_.transform(X))
        return self

    def predict(self, X):
        indices = self.search_.kneighbors(
            self.scaler_.transform(X), self.n_neighbors, return_distance=False
        )
        votes = self._y[indices]
        counts = np.zeros((len(X), len(self.classes_)), dtype=np.int64)
        np.add.at(counts, (np.arange(len(X))[:, None], votes), 1)
        return self.classes_[counts.argmax(axis=1)]


def load(name, kdd_path):
    if name == "credit":
        return load_credit_default(return_X_y=True)
    return load_kddcup99(kdd_path, return_X_y=True)


def subsample(X, y, max_samples):
    """A stratified subsample of ``max_samples`` rows (the same for every seed)."""
    if max_samples is None or max_samples >= len(y):
        return X, y
    X, _, y, _ = train_test_split(
        X, y, train_size=max_samples, stratify=y, random_state=0
    )
    return X, y


def split(X, y, seed):
    """Stratified 80/10/10 split; returns train + validation, and test.

    The two calls of ``bench_classifiers.split``: the same test part for the
    same seed.
    """
    X_train, X_rest, y_train, y_rest = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=seed
    )
    X_val, X_test, y_val, y_test = train_test_split(
        X_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=seed
    )
    X_fit = np.concatenate([X_train, X_val])
    y_fit = np.concatenate([y_train, y_val])
    return X_fit, y_fit, X_test, y_test


def make_model(name, targets, seed, args):
    if name == "kNN":
        if targets == "full":
            return make_pipeline(StandardScaler(), KNeighborsClassifier(K))
        return OutOfCoreKNN(K, random_state=seed)
    params = {"n_neighbors": K, "random_state": seed, "device": args.device}
    if args.max_epochs is not None:
        params["max_epochs"] = args.max_epochs
    neighbors = "exact" if targets == "full" else out_of_core_neighbors(seed)
    return NETWORKS[name](neighbors=neighbors, **params)


def run_one(name, targets, seed, args, X_fit, y_fit, X_test, y_test):
    # Every random choice takes random_state=seed; the global torch seed is
    # belt and braces.
    torch.manual_seed(seed)
    model = make_model(name, targets, seed, args)
    start = time.perf_counter()
    model.fit(X_fit, y_fit)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    y_pred = model.predict(X_test)
    predict_s = time.perf_counter() - start
    notes = []
    if targets == "out-of-core":
        # The estimators draw the batches from their training split only.
        n_val = np.ceil(getattr(model, "validation_fraction", 0.0) * len(y_fit))
        if N_BATCHES * BATCH_SIZE >= len(y_fit) - n_val:
            notes.append(
                "R x B >= the training samples: the out-of-core neighbours are "
                "exact (use more samples)"
            )
    if name == "kNN":
        # No training targets: the neighbour search happens at prediction.
        neighbors_s, training_s, epochs = predict_s, fit_s, None
    else:
        times = getattr(model, "fit_times_", None)
        if times is None:
            neighbors_s, training_s = np.nan, fit_s
            notes.append("no fit_times_: training = total fit time")
        else:
            neighbors_s, training_s = times["neighbors"], times["training"]
        epochs = getattr(model, "n_iter_", None)
    return {
        "f1_macro": f1_score(y_test, y_pred, average="macro"),
        "f1_weighted": f1_score(y_test, y_pred, average="weighted"),
        "neighbors_s": neighbors_s,
        "training_s": training_s,
        "fit_s": fit_s,
        "predict_s": predict_s,
        "epochs": "" if epochs is None else epochs,
        "note": "; ".join(notes),
    }


def versions():
    if torch.cuda.is_available():
        device = torch.cuda.get_device_name(0)
    else:
        device = f"CPU ({os.cpu_count()} cores)"
    return (
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, torch {torch.__version__}, "
        f"seqknn {seqknn.__version__}; {device}, "
        f"torch threads {torch.get_num_threads()}"
    )


def mean_std(values):
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}"


def seconds(values):
    values = np.asarray(values, dtype=float)
    return "n/a" if np.isnan(values).all() else f"{np.nanmean(values):.2f}"


def table(rows):
    """Markdown table: one line per (dataset, model, targets)."""
    groups = {}
    for row in rows:
        key = (row["dataset"], row["model"], row["targets"])
        groups.setdefault(key, []).append(row)
    lines = [
        "| dataset | model | targets | macro-F1 | weighted F1 | neighbours (s) "
        "| training (s) | predict (s) | epochs | neighbours speed-up | seeds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (dataset, model, targets), group in groups.items():
        neighbors = [r["neighbors_s"] for r in group]
        speedup = "-"
        full = groups.get((dataset, model, "full"))
        if targets == "out-of-core" and full:
            full_s = [r["neighbors_s"] for r in full]
            if np.isnan(full_s).all() or np.isnan(neighbors).all():
                speedup = "n/a"
            else:
                speedup = f"{np.nanmean(full_s) / np.nanmean(neighbors):.1f}x"
        epochs = [r["epochs"] for r in group if r["epochs"] != ""]
        lines.append(
            f"| {dataset} | {model} | {targets} "
            f"| {mean_std([r['f1_macro'] for r in group])} "
            f"| {mean_std([r['f1_weighted'] for r in group])} "
            f"| {seconds(neighbors)} "
            f"| {seconds([r['training_s'] for r in group])} "
            f"| {seconds([r['predict_s'] for r in group])} "
            f"| {f'{np.mean(epochs):.1f}' if epochs else '-'} "
            f"| {speedup} | {len(group)} |"
        )
    notes = sorted({n for r in rows for n in r["note"].split("; ") if n})
    if any(r["model"] == "kNN" for r in rows):
        notes.append(
            "kNN has no training targets: its neighbours time is the search for "
            "the test samples (predict), its training time the fit"
        )
    if notes:
        lines.append("")
    return "\n".join(lines + [f"Note: {note}." for note in notes])


def runs(args):
    """Fit and score every (dataset, seed, model, targets); yield the CSV rows."""
    for dataset in args.datasets:
        start = time.perf_counter()
        X, y = subsample(*load(dataset, args.kdd_path), args.max_samples)
        X, y = np.asarray(X), np.asarray(y)
        names, counts = np.unique(y, return_counts=True)
        classes = dict(zip(names.tolist(), counts.tolist(), strict=True))
        log(
            f"{dataset}: {X.shape} in {time.perf_counter() - start:.1f}s, "
            f"classes {classes}"
        )
        for seed in range(args.seeds):
            X_fit, y_fit, X_test, y_test = split(X, y, seed)
            for model in args.models:
                for targets in args.targets:
                    row = {
                        "dataset": dataset,
                        "seed": seed,
                        "model": model,
                        "targets": targets,
                        "n_fit": len(y_fit),
                        "n_test": len(y_test),
                        "n_features": X.shape[1],
                    }
                    row.update(
                        run_one(
                            model, targets, seed, args, X_fit, y_fit, X_test, y_test
                        )
                    )
                    log(
                        f"{dataset} seed {seed} {model:9s} {targets:11s} "
                        f"macro-F1 {row['f1_macro']:.4f} "
                        f"neighbours {row['neighbors_s']:7.2f}s "
                        f"training {row['training_s']:7.2f}s "
                        f"epochs {row['epochs']}"
                    )
                    yield row


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=DATASETS)
    parser.add_argument("--kdd-path", type=Path, default=DEFAULT_KDD)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=MODELS)
    parser.add_argument("--targets", nargs="+", choices=TARGETS, default=TARGETS)
    parser.add_argument(
        "--max-samples",
        type=int,
        default=None,
        help="stratified subsample of each data set before splitting",
    )
    parser.add_argument(
        "--max-epochs", type=int, default=None, help="default: the estimators'"
    )
    parser.add_argument("--device", default="auto", help="of the seqknn models")
    parser.add_argument("--out", type=Path, default=None, help="CSV of every run")
    args = parser.parse_args()

    command = shlex.join(["python", *sys.argv])
    log(f"{command}\n{versions()}")
    rows = []
    with contextlib.ExitStack() as stack:
        writer = None
        if args.out is not None:
            out = stack.enter_context(open(args.out, "w", newline=""))
            writer = csv.DictWriter(out, fieldnames=FIELDS)
            writer.writeheader()
        for row in runs(args):
            rows.append(row)
            if writer is not None:
                writer.writerow(row)
                out.flush()

    print(f"`{command}`\n\n{versions()}\n")
    print(
        "Stratified 80/10/10 split per seed; fitted on train + validation, "
        f"scored on test. Out-of-core: Algorithm 1 with R={N_BATCHES}, "
        f"B={BATCH_SIZE}. F1: mean ± std over the seeds; seconds: means.\n"
    )
    if args.max_samples is not None:
        print(f"Stratified subsample of {args.max_samples} rows per data set.\n")
    print(table(rows))


if __name__ == "__main__":
    main()
