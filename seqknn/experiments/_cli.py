"""The ``python -m seqknn.experiments`` (``seqknn-experiments``) command line."""

import argparse
import csv
import os
import platform
import secrets
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn
import torch
from tqdm.auto import tqdm

from .. import __version__
from .._device import resolve_device
from . import _protocol
from ._models import KNN_NETWORKS, MODELS, N_BATCHES, SAMPLERS, SAMPLES_PER_BATCH
from ._report import bar_figure, markdown_table, summary, tsne_figure
from ._stats import ALPHA

_TIMES = {
    "neighbours (s)": "neighbors_s",
    "training (s)": "training_s",
    "predict (s)": "predict_s",
    "epochs": "epochs",
}


@dataclass(frozen=True)
class Experiment:
    """One of the paper's experiments and how its results are compared."""

    run: object
    table: str
    # Columns that identify a result beside the data set and the seed; the
    # first is the x axis of the figure, a second one the bars of a group.
    keys: tuple
    # The column whose values are tested against each other.
    method: str
    baseline: str
    means: dict
    benchmarks: object = None


EXPERIMENTS = {
    "classification": Experiment(
        _protocol.classification,
        "Table 2 and Figure 2",
        ("model",),
        "model",
        "kNN",
        _TIMES,
        lambda config: [m for m in config.models if MODELS[m].benchmark],
    ),
    "out-of-core": Experiment(
        _protocol.out_of_core,
        "Table 3 and Figure 3",
        ("model", "targets"),
        "targets",
        "full",
        _TIMES,
    ),
    "oversampling": Experiment(
        _protocol.oversampling,
        "Table 5 and Figures 4 and 5",
        ("classifier", "sampler"),
        "sampler",
        "none",
        {"resample (s)": "resample_s"} | _TIMES,
        lambda config: [s for s in ("SMOTE", "ADASYN") if s in config.samplers],
    ),
}
FIELDS = ["dataset", "seed", "model", "classifier", "targets", "sampler", "params"]
FIELDS += ["val_f1_macro", "f1_macro", "f1_weighted", "neighbors_s", "training_s"]
FIELDS += ["fit_s", "predict_s", "resample_s", "epochs", "n_train", "n_test"]
# numpy's RandomState, which every random_state reaches, takes seeds below 2**32.
MAX_SEED = 2**32 - 1
# XGBoost's nthread is a C int.
MAX_JOBS = 2**31 - 1


def _count(minimum, maximum=None):
    def parse(text):
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value

    return parse


def _parser():
    """The parser, and the parser of each experiment (for its own errors)."""
    common = argparse.ArgumentParser(add_help=False)
    data = common.add_argument_group("data")
    data.add_argument(
        "--datasets",
        nargs="+",
        choices=_protocol.DATASETS,
        help="default: all four (credit only with --quick)",
    )
    data.add_argument(
        "--data-home",
        type=Path,
        help="folder of the data files (default: seqknn.datasets.get_data_home())",
    )
    for name in ("kdd", "covtype", "sensit"):
        data.add_argument(f"--{name}-path", type=Path, help=f"the {name} data file")
    data.add_argument(
        "--max-samples",
        type=_count(1),
        help="stratified subsample of each data set (default: all; 2000 with --quick)",
    )
    run = common.add_argument_group("protocol")
    run.add_argument(
        "--seed",
        type=_count(0, MAX_SEED),
        default=0,
        help=f"first seed, 0 to {MAX_SEED} (default: 0)",
    )
    run.add_argument(
        "--seeds",
        dest="n_seeds",
        type=_count(1),
        help="number of seeds (default: 5; 2 with --quick)",
    )
    run.add_argument(
        "--max-epochs",
        type=_count(1),
        help="of the networks (default: the estimators'; 5 with --quick)",
    )
    run.add_argument(
        "--quick",
        action="store_true",
        help="a small, fast run: the defaults above and the first grid point only",
    )
    run.add_argument("--device", default="auto", help="of the networks")
    run.add_argument(
        "--n-jobs",
        type=_count(1, MAX_JOBS),
        default=1,
        help="of RF, XGBoost and LightGBM",
    )
    out = common.add_argument_group("output")
    out.add_argument(
        "--out", type=Path, help="output folder (default: seqknn-results/COMMAND)"
    )
    out.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    out.add_argument(
        "--no-progress", action="store_true", help="no progress bar on stderr"
    )

    parser = argparse.ArgumentParser(
        prog="python -m seqknn.experiments",
        description="Run the experiments of Xu & Klabjan's paper on seqknn's models: "
        "results.csv (one row per data set, seed and model), summary.md (the "
        "tables, with t-tests) and PNG figures in the output folder.",
    )
    commands = parser.add_subparsers(dest="experiment", required=True)
    sub = commands.add_parser(
        "classification", parents=[common], help="Table 2 / Figure 2"
    )
    sub.add_argument(
        "--models",
        nargs="+",
        choices=list(MODELS),
        help="default: all (XGBoost and LightGBM when installed)",
    )
    sub = commands.add_parser(
        "out-of-core", parents=[common], help="Table 3 / Figure 3"
    )
    sub.add_argument("--models", nargs="+", choices=["kNN", *KNN_NETWORKS])
    sub.add_argument("--targets", nargs="+", choices=["full", "out-of-core"])
    sub = commands.add_parser(
        "oversampling", parents=[common], help="Table 5 / Figures 4 and 5"
    )
    sub.add_argument("--samplers", nargs="+", choices=SAMPLERS)
    sub.add_argument(
        "--classifiers",
        dest="models",
        nargs="+",
        choices=[m for m in MODELS if MODELS[m].benchmark],
        help="trained on the resampled data (default: kNN FFN RF XGBoost)",
    )
    return parser, commands.choices


def _defaults(args):
    """Fill in the defaults that depend on the experiment and ``--quick``."""
    if args.datasets is None:
        args.datasets = ["credit"] if args.quick else list(_protocol.DATASETS)
    for name, full, quick in [("n_seeds", 5, 2), ("max_samples", None, 2000)]:
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.max_epochs is None and args.quick:
        args.max_epochs = 5
    args.seeds = list(range(args.seed, args.seed + args.n_seeds))
    args.notes = []
    if args.models is None:
        if args.experiment == "classification":
            args.models = list(MODELS)
        elif args.experiment == "out-of-core":
            args.models = ["kNN", *KNN_NETWORKS]
        else:
            args.models = ["kNN", "FFN", "RF", "XGBoost"]
        args.left_out = [m for m in args.models if not MODELS[m].available()]
        args.models = [m for m in args.models if m not in args.left_out]
    else:
        args.left_out = []
        for m in args.models:
            if not MODELS[m].available():
                raise SystemExit(
                    f"{m} needs the package {MODELS[m].requires!r}, which is not "
                    f"installed: pip install {MODELS[m].requires}, or leave {m} out."
                )
    if args.experiment == "out-of-core" and args.targets is None:
        args.targets = ["full", "out-of-core"]
    if args.experiment == "oversampling" and args.samplers is None:
        args.samplers = list(SAMPLERS)
    if args.out is None:
        args.out = Path("seqknn-results") / args.experiment
    return args


def _output_error(out):
    """Why ``out`` cannot be the output folder, or None; ``out`` is left as it was.

    The folder is created and a file written in it, the only sure test (a
    permission check is wrong for root, and on some file systems); then both
    are removed again, so that a later error leaves nothing behind.
    """
    missing = [p for p in (out, *out.parents) if not os.path.lexists(p)]
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out):
            pass
    except FileExistsError:
        return f"{out} exists and is not a folder"
    except OSError as exc:
        return f"cannot write to the folder {out}: {exc.strerror or exc}"
    finally:
        for folder in missing:  # the deepest first
            try:
                folder.rmdir()
            except OSError:
                pass
    return None


def _check(args, error):
    """Every argument the parser cannot check alone, before any file is touched.

    ``error`` is the parser's: usage and a one-line message, exit status 2.
    """
    try:
        resolve_device(args.device)
    except ValueError as exc:
        error(f"argument --device: {exc}")
    if args.seeds[-1] > MAX_SEED:
        error(
            f"argument --seeds: the last seed, {args.seeds[-1]}, is over {MAX_SEED}, "
            "the largest seed numpy takes: use a smaller --seed or fewer --seeds"
        )
    reason = _output_error(args.out)
    if reason is not None:
        error(f"argument --out: {reason}")


class _Outputs:
    """The output files, written under temporary names and renamed when all are.

    A failed run, whenever it fails, leaves the files a user already has as
    they were: only :meth:`commit` replaces them (``os.replace``, atomic). The
    temporary files are in the output folder itself, on the same file system.
    """

    def __init__(self, folder):
        self.folder = folder
        self.staged = {}

    def stage(self, name):
        """The temporary path of the output file ``name``."""
        stem, suffix = os.path.splitext(name)
        path = self.folder / f"{stem}.partial-{secrets.token_hex(4)}{suffix}"
        # Not mkstemp: its 0600 mode would outlive the rename.
        path.touch(exist_ok=False)
        self.staged[name] = path
        return path

    def commit(self):
        """Replace every output file by its new version."""
        for name in list(self.staged):
            os.replace(self.staged.pop(name), self.folder / name)

    def discard(self, keep=()):
        """Remove the temporary files but those named in ``keep``; return those."""
        kept = []
        for name, path in self.staged.items():
            if name in keep:
                kept.append(path)
            else:
                path.unlink(missing_ok=True)
        self.staged = {}
        return kept


def versions(device="auto"):
    """The versions and the machine the networks ran on, for the record."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if torch.device(device).type == "cuda":
        where = f"{torch.cuda.get_device_name(torch.device(device))} (not bitwise "
        where += "reproducible)"
    else:
        where = f"CPU ({os.cpu_count()} cores), torch threads {torch.get_num_threads()}"
    return (
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, torch {torch.__version__}, "
        f"seqknn {__version__}; networks on {where}"
    )


def _describe(args, rows, data):
    seeds = f"{len(args.seeds)} seeds ({args.seeds[0]}..{args.seeds[-1]})"
    sizes = []
    for name, (X, _, n_total) in data.items():
        size = f"{name} {len(X):,}" + ("" if len(X) == n_total else f" of {n_total:,}")
        sizes.append(f"{size} samples x {X.shape[1]} features")
    text = [
        "Data: " + "; ".join(sizes) + ".",
        "A subsample is stratified and the same for every seed."
        if any(len(X) < n for X, _, n in data.values())
        else "",
        f"Stratified 80/10/10 train/validation/test split per seed, {seeds}. "
        "Each model is fitted on the training part at every point of its grid "
        "("
        + ("the first point only, --quick" if args.quick else "see `_models.py`")
        + "); the point with the best validation macro-F1 is scored on the test "
        "part. F1: mean ± sample standard deviation over the seeds; seconds and "
        "epochs: means. Tests: two-sided t-tests paired by seed on the test "
        f"macro-F1, at the {ALPHA:.0%} level (better / worse / same; n/a with one "
        "seed); the best benchmark is the one with the best mean validation "
        "macro-F1.",
    ]
    if args.max_epochs is not None:
        text.append(f"The networks train for at most {args.max_epochs} epochs.")
    if args.experiment == "out-of-core":
        text.append(
            f"Out-of-core: the paper's Algorithm 1 with R={N_BATCHES} random "
            f"batches of B={SAMPLES_PER_BATCH} training samples; kNN then votes "
            "among the Algorithm-1 neighbours of each test sample."
        )
        if min(r["n_train"] for r in rows) <= N_BATCHES * SAMPLES_PER_BATCH:
            text.append(
                "**R x B is at least the number of training samples here, so the "
                "out-of-core neighbours are exact: use more samples.**"
            )
    if args.experiment == "oversampling":
        text.append(
            "The training part is standardised and resampled to balanced "
            "classes; the grid point is chosen on the validation part as it is."
        )
    if "kNN" in args.models:
        text.append(
            "kNN has no training targets: its neighbours time is the search for "
            "the test samples."
        )
    if args.left_out:
        text.append(
            "Left out, their packages are not installed: "
            + ", ".join(f"{m} ({MODELS[m].requires})" for m in args.left_out)
            + "."
        )
    text += args.notes
    return " ".join(t for t in text if t)


def _load(args):
    """Every data set, before any fit: a missing file fails at once."""
    data = {}
    for name in args.datasets:
        try:
            data[name] = _protocol.load_dataset(name, args)
        except (OSError, ValueError) as exc:
            raise SystemExit(f"{name}: {exc}") from exc
    return data


def main(argv=None):
    """Run an experiment of the paper; see ``python -m seqknn.experiments -h``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, commands = _parser()
    args = _defaults(parser.parse_args(argv))
    _check(args, commands[args.experiment].error)
    data = _load(args)
    args.out.mkdir(parents=True, exist_ok=True)
    outputs, rows = _Outputs(args.out), []
    try:
        _run(args, argv, data, outputs, rows)
        outputs.commit()
    except BaseException:
        # The rows that finished are worth keeping, not under the old name.
        for path in outputs.discard(keep=["results.csv"] if rows else []):
            print(
                f"The run failed: its finished rows are in {path}; the files "
                f"already in {args.out}/ are as they were.",
                file=sys.stderr,
            )
        raise
    print(f"\nWritten to {args.out}/", file=sys.stderr)
    return 0


def _run(args, argv, data, outputs, rows):
    """Run the experiment into ``rows``; stage results, summary and figures."""
    experiment = EXPERIMENTS[args.experiment]
    benchmarks = experiment.benchmarks(args) if experiment.benchmarks else None
    command = "python -m seqknn.experiments " + shlex.join(argv)
    snapshots = {}
    with (
        open(outputs.stage("results.csv"), "w", newline="") as file,
        tqdm(
            total=_protocol.n_fits(args.experiment, args),
            unit="fit",
            disable=args.no_progress or None,
            file=sys.stderr,
        ) as progress,
    ):
        writer = csv.DictWriter(file, FIELDS, restval="")
        writer.writeheader()
        kwargs = {"snapshots": snapshots} if args.experiment == "oversampling" else {}
        for row in experiment.run(data, args, progress, **kwargs):
            rows.append(row)
            writer.writerow(row)
            file.flush()
    if not rows:
        raise SystemExit("No run finished: " + " ".join(args.notes))

    name = args.experiment.replace("-", "_")
    lines = [
        f"# {args.experiment}: the paper's {experiment.table}",
        "",
        f"`{command}`",
        "",
        versions(args.device),
        "",
        _describe(args, rows, data),
        "",
        markdown_table(summary(rows, experiment, benchmarks)),
    ]
    if not args.no_figures:
        title = f"{args.experiment}: test macro-F1"
        bar_figure(rows, experiment.keys, outputs.stage(f"{name}.png"), title)
        lines += ["", f"![{experiment.table}]({name}.png)"]
        if any(set(s) - {"train", "none"} for s in snapshots.values()):
            tsne_figure(snapshots, outputs.stage("tsne.png"), args.seeds[0])
            lines += ["", "![t-SNE of the synthetic samples](tsne.png)"]
    outputs.stage("summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
