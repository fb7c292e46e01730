"""Fit V2VSLS on a memmap several times larger than the memory the process may use.

For each file size, builds (once) a float64 ``numpy.memmap`` of
network-intrusion-like samples: rows of the KDD Cup 1999 training split
(``seqknn.datasets.load_kddcup99``) drawn with replacement plus Gaussian jitter
of 0.1 standard deviations per feature, with their labels. Then, in a child
process whose data segment is capped with ``RLIMIT_DATA`` (private memory: heap
and anonymous mappings, where an in-memory copy of X would have to live), fits
``V2VSLSClassifier(neighbors=OutOfCoreNeighbors())`` on the memmap (one epoch
by default), scores a held-out in-memory test set, then predicts the whole
memmap. It reports, for fit and for the prediction on the memmap separately,
how far the peak resident set size (``VmHWM``: private memory plus the mapped
libraries and files) rose above its level before the step. Compare the rises
at the two sizes: memory that grows with the file shows data being loaded.

Run from the repository root (about 25 minutes on two cores)::

    OMP_NUM_THREADS=1 python benchmarks/bench_memmap.py --gib 1.25 5.0 \\
        --limit-gib 1.25

The files (``--path``, default in the system temporary folder) are reused by
later runs of the same size.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np


def build(path, n_rows, kdd_path, seed=0):
    from sklearn.model_selection import train_test_split

    from seqknn.datasets import load_kddcup99

    X, y = load_kddcup99(kdd_path, return_X_y=True)
    # Labels as int8 codes: 5 bytes per row less than the strings.
    y = np.unique(y, return_inverse=True)[1].astype(np.int8)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.1, stratify=y, random_state=seed
    )
    rng = np.random.RandomState(seed)
    scale = 0.1 * X_train.std(axis=0)
    out = np.memmap(path, dtype=np.float64, mode="w+", shape=(n_rows, X.shape[1]))
    labels = np.empty(n_rows, dtype=np.int8)
    step = 200_000
    for start in range(0, n_rows, step):
        rows = rng.randint(len(X_train), size=min(step, n_rows - start))
        noise = rng.normal(size=(len(rows), X.shape[1])) * scale
        out[start : start + len(rows)] = X_train[rows] + noise
        labels[start : start + len(rows)] = y_train[rows]
    out.flush()
    del out
    np.save(path + ".labels.npy", labels)
    np.save(path + ".test_X.npy", X_test[:50_000])
    np.save(path + ".test_y.npy", y_test[:50_000])


def peak_rss():
    """Peak resident set size of this process's memory (VmHWM), in bytes.

    Not ``ru_maxrss``: Linux carries that over ``execve`` from the process
    that forked, here the parent that wrote the memmap.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss():
    """Reset VmHWM to the current resident size (Linux's ``clear_refs``)."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


HEADER = (
    "| rows | file size | data limit | fit: peak RSS rise | fit (s) | targets (s) "
    "| training (s) | predict on the memmap: peak RSS rise | predict (s) "
    "| test macro-F1 |\n|---|---|---|---|---|---|---|---|---|---|"
)


def child(args):
    limit = int(args.limit_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    import torch
    from sklearn.metrics import f1_score

    from seqknn import OutOfCoreNeighbors, V2VSLSClassifier

    n_features = int(args.n_features)
    n_rows = os.path.getsize(args.path) // (8 * n_features)
    X = np.memmap(args.path, dtype=np.float64, mode="r", shape=(n_rows, n_features))
    y = np.load(args.path + ".labels.npy")
    clf = V2VSLSClassifier(
        neighbors=OutOfCoreNeighbors(random_state=0),
        max_epochs=args.max_epochs,
        random_state=0,
    )
    # Peak resident memory above the level before each step: what grows with
    # the file size is data being loaded, the level is the network's.
    reset_peak_rss()
    before = peak_rss()
    start = time.perf_counter()
    clf.fit(X, y)
    fit_seconds = time.perf_counter() - start
    fit_rise = peak_rss() - before
    X_test = np.load(args.path + ".test_X.npy")
    y_test = np.load(args.path + ".test_y.npy")
    f1 = f1_score(y_test, clf.predict(X_test), average="macro")
    reset_peak_rss()
    before = peak_rss()
    start = time.perf_counter()
    clf.predict(X)
    predict_seconds = time.perf_counter() - start
    predict_rise = peak_rss() - before
    size = os.path.getsize(args.path)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(HEADER)
    print(
        f"| {n_rows:,} | {size / 2**30:.2f} GiB | {args.limit_gib:.2f} GiB "
        f"| {fit_rise / 2**20:.0f} MiB | {fit_seconds:.0f} "
        f"| {clf.fit_times_['neighbors']:.0f} | {clf.fit_times_['training']:.0f} "
        f"| {predict_rise / 2**20:.0f} MiB | {predict_seconds:.0f} | {f1:.4f} |",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gib", type=float, nargs="+", default=[1.25, 5.0], help="file sizes"
    )
    parser.add_argument("--limit-gib", type=float, default=1.25)
    parser.add_argument("--max-epochs", type=int, default=1)
    parser.add_argument(
        "--path",
        default=os.path.join(tempfile.gettempdir(), "seqknn_memmap_{gib}.dat"),
        help="file of each size; {gib} is replaced by the size",
    )
    parser.add_argument(
        "--kdd-path", default="../shared/datasets/kddcup.data_10_percent.gz"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n-features", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    print("command: python " + " ".join(sys.argv), flush=True)
    n_features = 118
    for gib in args.gib:
        path = args.path.format(gib=gib)
        n_rows = int(gib * 2**30) // (8 * n_features)
        if not os.path.exists(path) or os.path.getsize(path) != (
            n_rows * n_features * 8
        ):
            start = time.perf_counter()
            build(path, n_rows, args.kdd_path)
            print(f"built {path} in {time.perf_counter() - start:.0f} s", flush=True)
        command = [sys.executable, __file__, "--child", "--path", path]
        command += ["--limit-gib", str(args.limit_gib)]
        command += ["--n-features", str(n_features)]
        command += ["--max-epochs", str(args.max_epochs)]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
