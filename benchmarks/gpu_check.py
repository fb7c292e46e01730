"""Run the CUDA paths end to end, with timings; one script for a GPU machine.

Checks, each reported as ok or FAILED with its time (the script goes on after a
failure and exits with status 1 if any failed):

1. the test-suite tests that take a device, on CUDA (``pytest -k "device or
   cuda or gpu"``);
2. exact neighbours on the GPU against the CPU search (same indices up to
   float32 ties) on the NI training split;
3. fitting V2VSLS and MNkNN_VEC on the full NI training split (394,274 rows;
   the 10% KDD file, as the paper's experiments prepare it) with
   ``device="cuda"``: fit time, neighbour-search time, epochs, test macro-F1;
4. pickling a GPU-fitted model and predicting with it on the CPU: the same
   predictions as on the GPU, up to float32 rounding.

Run from the repository root, under 5 minutes on one GPU::

    python benchmarks/gpu_check.py                 # device="cuda"
    python benchmarks/gpu_check.py --device cpu --max-samples 20000 --skip-tests

The NI file is read from ``../shared/datasets/kddcup.data_10_percent.gz``
(``--data``); without it, a synthetic set of the same size is used and the
report says so. ``--max-epochs`` bounds each fit (default 20) to keep the run
short: the figures are timings and a health check, not the benchmark.
"""

import argparse
import io
import pickle
import subprocess
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import seqknn
from seqknn.datasets import load_kddcup99

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "kddcup.data_10_percent.gz"
RESULTS = []


def check(name):
    """Run the decorated function as one check; record ok/FAILED and its time."""

    def run(function):
        started = time.perf_counter()
        try:
            detail = function() or ""
            status = "ok"
        except Exception:  # report every failure, then go on with the others
            detail = traceback.format_exc(limit=3).strip().splitlines()[-1]
            status = "FAILED"
        seconds = time.perf_counter() - started
        RESULTS.append((name, status, seconds, detail))
        print(f"[{status}] {name} ({seconds:.1f} s) {detail}", flush=True)

    return run


def load(args):
    if args.data.exists():
        X, y = load_kddcup99(path=args.data, return_X_y=True)
        source = f"NI ({args.data.name})"
    else:
        X, y = make_classification(
            n_samples=492_843,
            n_features=41,
            n_classes=3,
            n_informative=10,
            random_state=0,
        )
        source = "synthetic (the NI file was not found)"
    if args.max_samples and len(y) > args.max_samples:
        X, _, y, _ = train_test_split(
            X, y, train_size=args.max_samples, stratify=y, random_state=0
        )
    # The paper's 80/20 split.
    parts = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    print(f"data: {source}, train {parts[0].shape}, test {parts[1].shape}")
    return parts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--max-samples", type=int, default=None)
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--skip-tests", action="store_true")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("No CUDA GPU is visible to PyTorch: nothing to check here.")
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    print(f"seqknn {seqknn.__version__}, torch {torch.__version__}, {name}")

    if not args.skip_tests:

        @check("device tests of the suite")
        def _():
            command = [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-x",
                "-p",
                "no:cacheprovider",
            ]
            command += ["-k", "device or cuda or gpu", "tests"]
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
            last = done.stdout.strip().splitlines()[-1] if done.stdout else ""
            if done.returncode:
                raise RuntimeError(f"pytest: {last}\n{done.stdout[-2000:]}")
            return last

    X_train, X_test, y_train, y_test = load(args)
    X_std = StandardScaler().fit_transform(X_train).astype(np.float32)

    @check("exact neighbours: GPU against CPU")
    def _():
        queries = X_std[:20_000]
        timings, found = {}, {}
        for device in (args.device, "cpu"):
            started = time.perf_counter()
            search = seqknn.ExactNeighbors(device=device).fit(X_std)
            found[device] = search.kneighbors(queries, 5, return_distance=False)
            timings[device] = time.perf_counter() - started
        agree = np.mean(found[args.device] == found["cpu"])
        if agree < 0.99:  # float32 ties on duplicate-heavy data may reorder
            raise AssertionError(f"only {agree:.4f} of the neighbours agree")
        return f"agreement {agree:.4f}; " + ", ".join(
            f"{d} {t:.1f} s" for d, t in timings.items()
        )

    @check("Algorithm 1's distances on the GPU, with the estimator's device")
    def _():
        search = seqknn.OutOfCoreNeighbors(random_state=0)
        started = time.perf_counter()
        clf = seqknn.V2LSClassifier(
            neighbors=search, device=args.device, max_epochs=1, random_state=0
        )
        clf.fit(X_train[:100_000], y_train[:100_000])
        found = {}
        for device in (args.device, "cpu"):
            search.set_params(device=device).fit(X_std)
            found[device] = search.kneighbors(X_std[:20_000], 5)[1]
        agree = np.mean(found[args.device] == found["cpu"])
        if agree < 0.99:
            raise AssertionError(f"only {agree:.4f} of the neighbours agree")
        return f"fit {time.perf_counter() - started:.1f} s; agreement {agree:.4f}"

    fitted = {}
    for Model in (seqknn.V2VSLSClassifier, seqknn.MNkNNVecClassifier):

        @check(f"fit {Model.__name__} on {args.device}")
        def _(Model=Model):
            clf = Model(device=args.device, max_epochs=args.max_epochs, random_state=0)
            started = time.perf_counter()
            clf.fit(X_train, y_train)
            seconds = time.perf_counter() - started
            f1 = f1_score(y_test, clf.predict(X_test), average="macro")
            fitted[Model.__name__] = clf
            times = ", ".join(f"{k} {v:.1f} s" for k, v in clf.fit_times_.items())
            return f"{seconds:.1f} s ({times}), {clf.n_iter_} epochs, F1 {f1:.4f}"

    @check("pickle a GPU-fitted model, predict on the CPU")
    def _():
        clf = fitted["V2VSLSClassifier"]
        on_gpu = clf.predict_proba(X_test[:5000])
        buffer = io.BytesIO()
        pickle.dump(clf, buffer)
        on_cpu = pickle.loads(buffer.getvalue()).set_params(device="cpu")
        proba = on_cpu.predict_proba(X_test[:5000])
        gap = np.abs(proba - on_gpu).max()
        if gap > 1e-3:
            raise AssertionError(f"probabilities differ by up to {gap:.2e}")
        return f"{len(buffer.getvalue()) / 2**20:.1f} MiB, max gap {gap:.1e}"

    print("\nsummary")
    for name, status, seconds, detail in RESULTS:
        print(f"  {status:6} {seconds:7.1f} s  {name}: {detail}")
    sys.exit(any(status != "ok" for _, status, _, _ in RESULTS))


if __name__ == "__main__":
    main()
