"""Neighbour-target time: exact search vs Algorithm 1 vs an approximate index.

On the training split of the KDD Cup 1999 network-intrusion data (the paper's NI,
prepared as ``seqknn.datasets.load_kddcup99`` does; 80/10/10 split, standardised,
float32), for growing numbers of samples n, every sample's K + 1 nearest samples
are searched among all n (the work behind the training targets):

- scikit-learn's brute-force ``NearestNeighbors`` (the reference),
- seqknn's ``ExactNeighbors`` (``neighbors="exact"``) with each backend (torch,
  the default; faiss's flat index), with the ratio of
  its time to the floor 2 n^2 d / (float32 matrix-product rate measured here);
  it searches the distinct rows (the default), and, as ``exact-all-rows``,
  every row as it is (``deduplicate=False``),
- ``OutOfCoreNeighbors`` (Algorithm 1, R=50, B=64) and ``FaissNeighbors`` (the
  ``faiss`` extra, IVF index) on the distinct rows (the default) and on all
  rows (``deduplicate=False``), with their recall@K against the exact
  neighbours.

Every time is also given as a fraction of the torch exact search's, measured in
the same run ("time / exact"). Recall@K counts a returned neighbour as right when
it is no farther than the exact K-th neighbour (the data has many duplicate rows,
so indices alone would punish ties); K is the K + 1 searched (6 for the default
``--n-neighbors 5``), the sample itself among them.

Run from the repository root::

    python benchmarks/bench_neighbors.py --sizes 50000 100000 0

(0 = the whole training split). ``--searches`` picks the searches besides the
torch exact one, which always runs; the FaissNeighbors comparison on the whole
split (about 20 minutes on 2 cores, nearly all of it the exact search and
FaissNeighbors on all rows)::

    python benchmarks/bench_neighbors.py --sizes 0 --searches faiss faiss-all-rows

Run it alone: concurrent work skews timings.
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


def compare(X, k, rate, searches, sklearn_max):
    """Print one table row per search of every sample's k nearest samples in X."""
    n, d = X.shape
    floor = 2 * n * n * d / (rate * 1e9)
    exact_search = ExactNeighbors(backend="torch")
    t_exact, exact_d, exact_i = timed(exact_search, X, k)
    t_sklearn = None

    def report(name, seconds, found, exact=False):
        speedup = f"{t_sklearn / seconds:.2f}x" if t_sklearn else "-"
        of_floor = f"{seconds / floor:.2f}" if exact else "-"
        print(
            f"| {n:,} | {d} | {name} | {seconds:.1f} | {speedup} | "
            f"{seconds / t_exact:.3f} | {of_floor} | "
            f"{recall(X, found, exact_d):.3f} |",
            flush=True,
        )

    if "sklearn" in searches and n <= sklearn_max:
        t_sklearn, _, found = timed(NearestNeighbors(algorithm="brute"), X, k)
        assert recall(X, found, exact_d) == 1.0
        report("scikit-learn brute", t_sklearn, found, exact=True)
    report(
        f'ExactNeighbors(backend="torch"; {exact_search.n_distinct_fit_:,} '
        "distinct rows)",
        t_exact,
        exact_i,
        exact=True,
    )
    if "exact-all-rows" in searches:
        search = ExactNeighbors(backend="torch", deduplicate=False)
        seconds, _, found = timed(search, X, k)
        report('ExactNeighbors(backend="torch"; all rows)', seconds, found, exact=True)
    if "exact-faiss" in searches:
        seconds, _, found = timed(ExactNeighbors(backend="faiss"), X, k)
        report('ExactNeighbors(backend="faiss")', seconds, found, exact=True)
    if "out-of-core" in searches:
        seconds, _, found = timed(OutOfCoreNeighbors(random_state=0), X, k)
        report("OutOfCoreNeighbors (R=50, B=64)", seconds, found)
    for name, deduplicate in [("faiss", True), ("faiss-all-rows", False)]:
        if name not in searches:
            continue
        from seqknn import FaissNeighbors

        search = FaissNeighbors(deduplicate=deduplicate, random_state=0)
        seconds, _, found = timed(search, X, k)
        rows = (
            f"{search.n_distinct_fit_:,} distinct rows" if deduplicate else "all rows"
        )
        report(
            f"FaissNeighbors ({search.index_type_.upper()}, nlist={search.nlist_}, "
            f"nprobe={search.nprobe}; {rows})",
            seconds,
            found,
        )


SEARCHES = (
    "sklearn",
    "exact-all-rows",
    "exact-faiss",
    "out-of-core",
    "faiss",
    "faiss-all-rows",
)


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
    parser.add_argument(
        "--searches",
        nargs="+",
        choices=SEARCHES,
        default=list(SEARCHES),
        help="searches to run besides ExactNeighbors(backend='torch'), the "
        "reference, which always runs (default: all)",
    )
    parser.add_argument(
        "--no-faiss", action="store_true", help="skip the searches that need faiss"
    )
    args = parser.parse_args(argv)
    searches = set(args.searches)
    if args.no_faiss:
        searches -= {"exact-faiss", "faiss", "faiss-all-rows"}

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
        "\n| n | d | strategy | time (s) | vs scikit-learn | time / exact "
        "| time / floor | recall@K |\n|---|---|---|---|---|---|---|---|"
    )
    for size in args.sizes:
        X = X_all if size == 0 else X_all[:size]
        compare(X, args.n_neighbors + 1, rate, searches, args.sklearn_max)


if __name__ == "__main__":
    main()
