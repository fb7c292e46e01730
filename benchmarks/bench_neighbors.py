"""Neighbour-target time: exact search vs Algorithm 1 vs an approximate index.

On the training split of the KDD Cup 1999 network-intrusion data (the paper's NI,
prepared as ``seqknn.datasets.load_kddcup99`` does; 80/10/10 split, standardised,
float32), for growing numbers of samples n, every sample's K + 1 nearest samples
are searched among all n (the work behind the training targets):

- scikit-learn's brute-force ``NearestNeighbors`` (the reference),
- seqknn's ``ExactNeighbors`` (``neighbors="exact"``) with each backend (torch,
  the default; faiss's flat index), with the ratio of
  its time to the floor 2 n^2 d / (float32 matrix-product rate measured here),
- ``OutOfCoreNeighbors`` (Algorithm 1, R=50, B=64) and ``FaissNeighbors`` (the
  ``faiss`` extra, IVF index), with their recall@K against the exact neighbours.

Recall@K counts a returned neighbour as right when it is no farther than the
exact K-th neighbour (the data has many duplicate rows, so indices alone would
punish ties).

Run from the repository root::

    python benchmarks/bench_neighbors.py --sizes 50000 100000 0

(0 = the whole training split). Run it alone: concurrent work skews timings.
"""

import argparse
import platform
import sys
import time

import numpy as np
import sklearn
import torch
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

import seqknn
from seqknn import ExactNeighbors, OutOfCoreNeighbors
from seqknn.datasets import load_kddcup99


def training_split(path, seed=0):
    X, y = load_kddcup99(path, return_X_y=True)
    X_train, _, y_train, _ = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=seed
    )
    rng = np.random.RandomState(seed)
    X_train = X_train[rng.permutation(len(X_train))]
    return StandardScaler().fit_transform(X_train).astype(np.float32)


def gemm_rate(X, seconds=2.0):
    """Float32 GFLOP/s of torch's matrix product, at its best here.

    Products of (1024 x d) by (d x 4096) blocks into a preallocated output:
    larger outputs run slower, as their fresh pages are faulted in on every
    call (about 110 GFLOP/s for (4096 x d) by (d x 100,000) here).
    """
    x = torch.from_numpy(X)
    q, p = x[:1024], x[1024:5120]
    out = torch.empty(len(q), len(p))
    torch.mm(q, p.T, out=out)  # warm up
    repeats, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.mm(q, p.T, out=out)
        repeats += 1
    elapsed = (time.perf_counter() - start) / repeats
    return 2 * len(q) * len(p) * x.shape[1] / elapsed / 1e9


def timed(search, X, k):
    start = time.perf_counter()
    distances, indices = search.fit(X).kneighbors(X, k)
    return time.perf_counter() - start, distances, indices


def recall(X, indices, exact_distances, chunk=10_000):
    """Share of returned neighbours no farther than the exact K-th one.

    Distances are recomputed from the returned indices, in float64: an
    index's own distances may carry float32 rounding.
    """
    hits = 0
    for start in range(0, len(X), chunk):
        rows = slice(start, start + chunk)
        points = X[indices[rows]].astype(np.float64)
        found = np.linalg.norm(points - X[rows, None].astype(np.float64), axis=2)
        bound = exact_distances[rows, -1:] * (1 + 1e-5) + 1e-6
        hits += int((found <= bound).sum())
    return hits / indices.size


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--kdd-path", default="../shared/datasets/kddcup.data_10_percent.gz"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[50_000, 100_000, 0])
    parser.add_argument("--n-neighbors", type=int, default=5)
    parser.add_argument(
        "--sklearn-max",
        type=int,
        default=100_000,
        help="largest n for scikit-learn's search (it grows as n^2)",
    )
    parser.add_argument("--no-faiss", action="store_true")
    args = parser.parse_args(argv)
    k = args.n_neighbors + 1

    X_all = training_split(args.kdd_path)
    rate = gemm_rate(X_all[:100_000])
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, torch {torch.__version__}, "
        f"seqknn {seqknn.__version__}; torch threads {torch.get_num_threads()}; "
        f"float32 matrix product {rate:.0f} GFLOP/s"
    )
    print("command: python " + " ".join(sys.argv))
    print(
        "\n| n | d | strategy | time (s) | vs scikit-learn | time / floor "
        "| recall@K |\n|---|---|---|---|---|---|---|"
    )
    for size in args.sizes:
        X = X_all if size == 0 else X_all[:size]
        n, d = X.shape
        floor = 2 * n * n * d / (rate * 1e9)
        row = f"| {n:,} | {d} |"
        t_exact, exact_d, _ = timed(ExactNeighbors(backend="torch"), X, k)
        t_sklearn = None
        if n <= args.sklearn_max:
            t_sklearn, _, ref_i = timed(NearestNeighbors(algorithm="brute"), X, k)
            assert recall(X, ref_i, exact_d) == 1.0
            print(
                f"{row} scikit-learn brute | {t_sklearn:.1f} | 1.00x | "
                f"{t_sklearn / floor:.2f} | 1.000 |",
                flush=True,
            )
        speedup = f"{t_sklearn / t_exact:.2f}x" if t_sklearn else "-"
        print(
            f'{row} ExactNeighbors(backend="torch") | {t_exact:.1f} | {speedup} | '
            f"{t_exact / floor:.2f} | 1.000 |",
            flush=True,
        )
        if not args.no_faiss:
            seconds, _, found = timed(ExactNeighbors(backend="faiss"), X, k)
            speedup = f"{t_sklearn / seconds:.2f}x" if t_sklearn else "-"
            print(
                f'{row} ExactNeighbors(backend="faiss") | {seconds:.1f} | '
                f"{speedup} | {seconds / floor:.2f} | "
                f"{recall(X, found, exact_d):.3f} |",
                flush=True,
            )
        strategies = [
            ("OutOfCoreNeighbors (R=50, B=64)", OutOfCoreNeighbors(random_state=0))
        ]
        if not args.no_faiss:
            from seqknn import FaissNeighbors

            strategies.append(("FaissNeighbors", FaissNeighbors(random_state=0)))
        for name, search in strategies:
            seconds, _, found = timed(search, X, k)
            speedup = f"{t_sklearn / seconds:.2f}x" if t_sklearn else "-"
            print(
                f"{row} {name} | {seconds:.1f} | {speedup} | - | "
                f"{recall(X, found, exact_d):.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
