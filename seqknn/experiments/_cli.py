"""The ``python -m seqknn.experiments`` (``seqknn-experiments``) command line."""

import argparse
import csv
import functools
import importlib
import io
import json
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
from . import _paper, _protocol
from ._models import KNN_NETWORKS, MODELS, N_BATCHES, SAMPLERS, SAMPLES_PER_BATCH
from ._report import (
    bar_figure,
    beside_paper_oversampling,
    markdown_table,
    summary,
    tsne_figure,
)
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
    # The values of ``method`` that are the benchmarks, of those in the rows.
    benchmarks: object = None
    # The paper's F-1 of a summary line (see _paper.score), or None.
    paper: object = None


EXPERIMENTS = {
    "classification": Experiment(
        _protocol.classification,
        "Table 2 and Figure 2",
        ("model",),
        "model",
        "kNN",
        _TIMES,
        lambda models: [m for m in models if m in MODELS and MODELS[m].benchmark],
        functools.partial(_paper.score, "classification"),
    ),
    "out-of-core": Experiment(
        _protocol.out_of_core,
        "Table 3 and Figure 3",
        ("model", "targets"),
        "targets",
        "full",
        _TIMES,
        paper=functools.partial(_paper.score, "out-of-core"),
    ),
    "oversampling": Experiment(
        _protocol.oversampling,
        "Table 5 and Figures 4 and 5",
        ("classifier", "sampler"),
        "sampler",
        "none",
        {"resample (s)": "resample_s"} | _TIMES,
        lambda samplers: [s for s in ("SMOTE", "ADASYN") if s in samplers],
    ),
}
FIELDS = ["dataset", "seed", "model", "classifier", "targets", "sampler", "params"]
FIELDS += ["val_f1_macro", "f1_macro", "f1_weighted", "neighbors_s", "training_s"]
FIELDS += ["fit_s", "predict_s", "resample_s", "epochs", "n_train", "n_test"]
# What summary.md needs beside the scores, so that it can be rebuilt from
# results.csv alone: the data's size, the settings that made the row (JSON, see
# _settings) and the versions and machine.
FIELDS += ["n_samples", "n_features", "n_total", "config", "versions"]
_TEXT = {"dataset", "model", "classifier", "targets", "sampler", "params"}
_TEXT |= {"config", "versions"}
# The settings of a run that change its results, and how a user sets them.
_SETTINGS = {
    "experiment": "the experiment",
    "quick": "--quick",
    "max_samples": "--max-samples",
    "max_epochs": "--max-epochs",
    "device": "the device",
    "seqknn": "seqknn",
}
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
    out.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh: compute every row again; the results already in the "
        "folder are replaced when the run succeeds (without it, a run continues "
        "where one with the same settings stopped, and one with other settings "
        "is refused)",
    )
    out.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    out.add_argument(
        "--no-progress", action="store_true", help="no progress bar on stderr"
    )
    out.add_argument(
        "--no-cache",
        action="store_true",
        help="search the neighbour targets for every model and grid point "
        "instead of once per training part (cached in OUT/cache)",
    )

    parser = argparse.ArgumentParser(
        prog="python -m seqknn.experiments",
        description="Run the experiments of Xu & Klabjan's paper on seqknn's models: "
        "results.csv (one row per data set, seed and model), summary.md (the "
        "tables, with t-tests) and PNG figures in the output folder. Each row is "
        "kept as it finishes: the same command with the same --out continues "
        "where it stopped, computing only the missing rows (other settings are "
        "refused; --overwrite starts afresh). 'report' rebuilds summary.md and "
        "the figures from results.csv alone.",
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
    sub = commands.add_parser(
        "report",
        help="rebuild summary.md and the figures from results.csv",
        description="Rebuild summary.md and the bar figure of a run's output folder "
        "from its results.csv alone: no data is loaded, no model fitted. The "
        "t-SNE figure of oversampling needs the data: the run's is kept.",
    )
    sub.add_argument(
        "--out", type=Path, required=True, help="the output folder of a run"
    )
    sub.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
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
    Sets ``args.done``, the rows already computed (see :func:`_previous`).
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
    args.done, args.previous = _previous(args, error)


def _settings(args):
    """The settings of a run that change its rows: a row's configuration.

    Together with the row's data set, seed, model (or classifier), kind of
    targets and sampler (:data:`_protocol.KEYS`) they identify a result: a run
    with the same settings does not compute it again.
    """
    return {
        "experiment": args.experiment,
        "quick": args.quick,
        "max_samples": args.max_samples,
        "max_epochs": args.max_epochs,
        "device": resolve_device(args.device).type,
        "seqknn": __version__,
    }


def _show(value):
    return {None: "not set", True: "on", False: "off"}.get(value, str(value))


def _differences(theirs, ours):
    keys = [*_SETTINGS, *sorted(theirs.keys() - _SETTINGS.keys())]
    return ", ".join(
        f"{_SETTINGS.get(k, k)}: {_show(theirs.get(k))} there, "
        f"{_show(ours.get(k))} here"
        for k in keys
        if theirs.get(k) != ours.get(k)
    )


def _parse(row, path, line):
    """A row of a results file with its numbers as numbers (written back the same)."""
    if None in row or None in row.values():
        raise ValueError(f"{path}, line {line}: not a row of results")
    parsed = {}
    for key, text in row.items():
        if key in _TEXT or key not in FIELDS or text == "":
            parsed[key] = text
            continue
        try:
            parsed[key] = int(text)
        except ValueError:
            try:
                parsed[key] = float(text)
            except ValueError:
                raise ValueError(
                    f"{path}, line {line}: {key} is {text!r}, not a number"
                ) from None
    try:
        settings = json.loads(parsed["config"])
    except ValueError:
        settings = None
    if not isinstance(settings, dict) or settings.get("experiment") not in EXPERIMENTS:
        raise ValueError(f"{path}, line {line}: config is not the settings of a run")
    return parsed


def _checked_results(path, error, remedy):
    """:func:`_read_results`, with a parser error (ending in ``remedy``) for a
    file that cannot be read or does not say which settings made its rows."""
    try:
        rows, cut = _read_results(path)
    except (OSError, ValueError) as exc:
        error(f"argument --out: {exc}: {remedy}")
    if rows is None:
        error(
            f"argument --out: {path} does not say which settings made its rows "
            f"(an earlier seqknn wrote it): {remedy}"
        )
    return rows, cut


def _read_results(path):
    """The rows of a results file, and whether its last line was cut short.

    A line cut short (a run killed while writing it) is left out. Returns None
    for the rows of a file without a ``config`` column, written by an earlier
    seqknn; raises ValueError for a file or a row that is not one of results.
    """
    with open(path, newline="", encoding="utf-8") as file:
        text = file.read()
    cut = bool(text) and not text.endswith("\n")
    if cut:
        text = text[: text.rfind("\n") + 1]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        if reader.fieldnames is None:  # no line at all
            return [], cut
        if "config" not in reader.fieldnames:
            return None, cut
        missing = [f for f in FIELDS if f not in reader.fieldnames]
        if missing:
            raise ValueError(f"{path} is not a results file: no {missing[0]} column")
        return [_parse(row, path, reader.line_num) for row in reader], cut
    except csv.Error as exc:
        raise ValueError(f"{path}, line {reader.line_num}: {exc}") from None


def _previous(args, error):
    """The rows ``args.out`` already has for this run, and the files they are in.

    Returns ``{row key: row}`` and the files: ``results.csv`` and the
    ``results.partial-*.csv`` of interrupted runs. Every row must have this
    run's settings, or the run is refused: rows of other settings are never
    mixed in. Rows of models or seeds this run does not name are kept as they
    are (see :func:`_run`), so that a run of one model or seed adds to a
    folder without dropping the others. With ``--overwrite`` no row is taken;
    the files are replaced when the run succeeds.
    """
    results = args.out / "results.csv"
    partials = []
    if args.out.is_dir():
        partials = sorted(args.out.glob("results.partial-*.csv"))
    files = ([results] if results.is_file() else []) + partials
    if args.overwrite:
        return {}, partials
    ours = _settings(args)
    how = "pass --overwrite to replace them, or choose another --out"
    done = {}
    for path in files:
        rows, cut = _checked_results(path, error, how)
        if cut:
            print(
                f"The last line of {path} was cut short: that row is computed again.",
                file=sys.stderr,
            )
        for row in rows:
            theirs = json.loads(row["config"])
            if theirs != ours:
                error(
                    f"argument --out: {path} holds results of other settings "
                    f"({_differences(theirs, ours)}): {how}"
                )
            done.setdefault(_protocol.row_key(row), row)
    return done, partials


def _check_data(args, data, error):
    """Refuse rows computed on other data than ``data`` (other files, say)."""
    for name, (X, _, n_total) in data.items():
        here = (len(X), X.shape[1], n_total)
        for row in args.done.values():
            there = (row["n_samples"], row["n_features"], row["n_total"])
            if row["dataset"] == name and there != here:
                error(
                    f"argument --out: the {name} results in {args.out} were "
                    f"computed on other data ({_size(*there)}, not {_size(*here)}): "
                    "pass --overwrite to replace them, or choose another --out"
                )


def _size(n_samples, n_features, n_total):
    of = "" if n_samples == n_total else f" of {n_total:,}"
    return f"{n_samples:,}{of} samples x {n_features} features"


def _sync_folder(folder):
    """Make a new or renamed file in ``folder`` outlive a crash, where possible."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows does not open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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

    def commit(self, obsolete=()):
        """Replace every output file by its new version; remove ``obsolete`` ones."""
        for name in list(self.staged):
            os.replace(self.staged.pop(name), self.folder / name)
        for name in obsolete:
            (self.folder / name).unlink(missing_ok=True)
        _sync_folder(self.folder)

    def discard(self):
        """Remove the temporary files."""
        for path in self.staged.values():
            path.unlink(missing_ok=True)
        self.staged = {}


def _writer(file):
    return csv.DictWriter(file, FIELDS, restval="", extrasaction="ignore")


class _RowLog:
    """The rows a run computes, each written whole and synced as it finishes.

    It is ``results.partial-XXXX.csv`` in the output folder: a run that stops,
    however it stops, leaves its finished rows there, and the next run with the
    same settings takes them up (:func:`_previous`); a line cut short by a crash
    is left out then. A run that succeeds removes it: its rows are in
    results.csv.
    """

    def __init__(self, folder):
        self.path = folder / f"results.partial-{secrets.token_hex(4)}.csv"
        self.file = open(self.path, "x", newline="", encoding="utf-8")
        self.writer = _writer(self.file)
        self.rows = 0
        self.writer.writeheader()
        self._sync()
        _sync_folder(folder)

    def _sync(self):
        self.file.flush()
        os.fsync(self.file.fileno())

    def write(self, row):
        self.writer.writerow(row)
        self._sync()
        self.rows += 1

    def close(self, keep):
        self.file.close()
        if not keep:
            self.path.unlink(missing_ok=True)


def versions(device="auto", models=()):
    """The versions and the machine the networks ran on, for the record.

    ``models`` adds the versions of the optional packages they need, or says
    that one is not installed.
    """
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if torch.device(device).type == "cuda":
        where = f"{torch.cuda.get_device_name(torch.device(device))} (not bitwise "
        where += "reproducible)"
    else:
        where = f"CPU ({os.cpu_count()} cores), torch threads {torch.get_num_threads()}"
    optional = []
    for package in dict.fromkeys(MODELS[m].requires for m in models):
        if package is None:
            continue
        try:
            module = importlib.import_module(package)
        except ImportError:
            optional.append(f"no {package}")
        else:
            optional.append(f"{package} {getattr(module, '__version__', '?')}")
    return (
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}, torch {torch.__version__}, "
        f"seqknn {__version__}"
        + "".join(f", {text}" for text in optional)
        + f"; networks on {where}"
    )


def _unique(rows, column):
    return list(dict.fromkeys(r[column] for r in rows))


def _command(settings, rows):
    """The command that makes ``rows`` in a new folder (data file options aside)."""
    name = settings["experiment"]
    seeds = sorted({int(r["seed"]) for r in rows})
    argv = [name, "--datasets", *_unique(rows, "dataset")]
    if name == "oversampling":
        argv += ["--samplers", *_unique(rows, "sampler")]
        argv += ["--classifiers", *_unique(rows, "classifier")]
    else:
        argv += ["--models", *_unique(rows, "model")]
    if name == "out-of-core":
        argv += ["--targets", *_unique(rows, "targets")]
    argv += ["--seed", str(seeds[0]), "--seeds", str(seeds[-1] - seeds[0] + 1)]
    for option in ("max_samples", "max_epochs"):
        if settings[option] is not None:
            argv += [_SETTINGS[option], str(settings[option])]
    if settings["quick"]:
        argv.append("--quick")
    return "python -m seqknn.experiments " + shlex.join(argv)


def _describe(settings, rows):
    name = settings["experiment"]
    seeds = sorted({int(r["seed"]) for r in rows})
    seeds = f"{len(seeds)} seeds ({seeds[0]}..{seeds[-1]})"
    data = {}
    for row in rows:
        size = (row["n_samples"], row["n_features"], row["n_total"])
        data.setdefault(row["dataset"], size)
    sizes = [f"{dataset} {_size(*size)}" for dataset, size in data.items()]
    models = {r["classifier"] if name == "oversampling" else r["model"] for r in rows}
    text = [
        "Data: " + "; ".join(sizes) + ".",
        "A subsample is stratified and the same for every seed."
        if any(r["n_samples"] < r["n_total"] for r in rows)
        else "",
        f"Stratified 80/10/10 train/validation/test split per seed, {seeds}. "
        "Each model is fitted on the training part at every point of its grid "
        "("
        + ("the first point only, --quick" if settings["quick"] else "see `_models.py`")
        + "); the point with the best validation macro-F1 is scored on the test "
        "part. F1: mean ± sample standard deviation over the seeds; seconds and "
        "epochs: means. Tests: two-sided t-tests paired by seed on the test "
        f"macro-F1, at the {ALPHA:.0%} level (better / worse / same; n/a with one "
        "seed); the best benchmark is the one with the best mean validation "
        "macro-F1.",
    ]
    if settings["max_epochs"] is not None:
        text.append(f"The networks train for at most {settings['max_epochs']} epochs.")
    if name == "out-of-core":
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
    if name == "oversampling":
        text.append(
            "The training part is standardised and resampled to balanced "
            "classes; the grid point is chosen on the validation part as it is."
        )
        made = {(r["dataset"], r["seed"], r["sampler"]) for r in rows}
        for dataset, seed in dict.fromkeys((r["dataset"], r["seed"]) for r in rows):
            for sampler in _unique(rows, "sampler"):
                if (dataset, seed, sampler) not in made:
                    text.append(
                        f"{sampler} failed on {dataset}, seed {seed}, and has no "
                        "results there (the run printed why)."
                    )
    if "kNN" in models:
        text.append(
            "kNN has no training targets: its neighbours time is the search for "
            "the test samples."
        )
    if models & set(KNN_NETWORKS):
        text.append(
            "Unless the run had --no-cache, a seed's training targets were "
            "searched once, by the first network fitted on its training part, "
            "and read from the cache by the others: their neighbours time is "
            "that read."
        )
    return " ".join(t for t in text if t)


def _setups(rows):
    setups = _unique(rows, "versions")
    if len(setups) == 1:
        return setups[0]
    listed = "; ".join(f"({i}) {s}" for i, s in enumerate(setups, 1))
    return f"The rows were computed in {len(setups)} setups: {listed}."


def _summary_lines(rows, figures=()):
    """summary.md, from ``rows`` alone, with links to ``figures`` (alt, file name).

    Everything in it comes from the rows' columns and the settings in their
    ``config`` column, so that ``report`` rebuilds it from results.csv.
    """
    settings = json.loads(rows[0]["config"])
    experiment = EXPERIMENTS[settings["experiment"]]
    benchmarks = None
    if experiment.benchmarks:
        benchmarks = experiment.benchmarks(_unique(rows, experiment.method))
    lines = [
        f"# {settings['experiment']}: the paper's {experiment.table}",
        "",
        f"`{_command(settings, rows)}`",
        "",
        _setups(rows),
        "",
        _describe(settings, rows),
        "",
        markdown_table(summary(rows, experiment, benchmarks)),
    ]
    if settings["experiment"] == "oversampling":
        lines += ["", "The paper's Table 5 beside this run (F-1 x100):", ""]
        lines.append(markdown_table(beside_paper_oversampling(rows)))
    for alt, name in figures:
        lines += ["", f"![{alt}]({name})"]
    return lines


def _bar_figure(rows, outputs):
    """Stage the bar figure of ``rows``; return its (alt, file name)."""
    settings = json.loads(rows[0]["config"])
    experiment = EXPERIMENTS[settings["experiment"]]
    name = settings["experiment"].replace("-", "_") + ".png"
    title = f"{settings['experiment']}: test macro-F1"
    bar_figure(rows, experiment.keys, outputs.stage(name), title)
    return experiment.table, name


_TSNE = ("t-SNE of the synthetic samples", "tsne.png")


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
    args = parser.parse_args(argv)
    if args.experiment == "report":
        return _report(args, commands["report"].error)
    args = _defaults(args)
    error = commands[args.experiment].error
    _check(args, error)
    data = _load(args)
    _check_data(args, data, error)
    args.out.mkdir(parents=True, exist_ok=True)
    # Neighbour targets, searched once per training part (memory= of the
    # networks); kept for a re-run that continues an interrupted one.
    args.memory = None if args.no_cache else str(args.out / "cache")
    outputs, log = _Outputs(args.out), _RowLog(args.out)
    try:
        obsolete = _run(args, data, outputs, log)
        outputs.commit(obsolete)
    except BaseException:
        outputs.discard()
        # The rows that finished are worth keeping, not under the old name.
        log.close(keep=log.rows > 0)
        if log.rows:
            print(
                f"The run failed: its {log.rows} finished rows are in {log.path}; "
                f"the files already in {args.out}/ are as they were. Run the same "
                "command (without --overwrite) to continue where it stopped.",
                file=sys.stderr,
            )
        raise
    # Their rows are in results.csv now.
    log.close(keep=False)
    for path in args.previous:
        path.unlink(missing_ok=True)
    print(f"\nWritten to {args.out}/", file=sys.stderr)
    return 0


def _run(args, data, outputs, log):
    """Run the experiment; stage results, summary and figures.

    Rows in ``args.done`` are taken as they are; the others are computed and
    written to ``log`` as they finish. Rows in ``args.done`` that this run
    does not plan (other models or seeds) follow its own in results.csv and
    the summary. Returns the figures to remove, those of an earlier run that
    this one does not draw.
    """
    experiment = EXPERIMENTS[args.experiment]
    config = json.dumps(_settings(args), sort_keys=True, separators=(",", ":"))
    setup = versions(args.device, [*args.models, *args.left_out])
    if args.left_out:
        print(
            "Left out, their packages are not installed: "
            + ", ".join(f"{m} ({MODELS[m].requires})" for m in args.left_out),
            file=sys.stderr,
        )
    planned = {_protocol.row_key(r) for r in _protocol.planned(args.experiment, args)}
    kept = [row for key, row in args.done.items() if key not in planned]
    n_done = len(args.done) - len(kept)
    if n_done:
        print(
            f"Continuing in {args.out}/: {n_done} of {len(planned)} rows are done.",
            file=sys.stderr,
        )
    if kept:
        print(
            f"Keeping the {len(kept)} rows in {args.out}/ of models or seeds "
            "this run does not name.",
            file=sys.stderr,
        )
    kwargs = {"done": args.done}
    snapshots = None
    if args.experiment == "oversampling" and not args.no_figures:
        kwargs["snapshots"] = snapshots = {}
    rows = []
    with tqdm(
        total=_protocol.n_fits(args.experiment, args, args.done),
        unit="fit",
        disable=args.no_progress or None,
        file=sys.stderr,
    ) as progress:
        for row in experiment.run(data, args, progress, **kwargs):
            if _protocol.row_key(row) not in args.done:
                X, _, n_total = data[row["dataset"]]
                row |= {"n_samples": len(X), "n_features": X.shape[1]}
                row |= {"n_total": n_total, "config": config, "versions": setup}
                log.write(row)
            rows.append(row)
    rows += kept
    for note in args.notes:
        print(note, file=sys.stderr)
    if not rows:
        raise SystemExit("No run finished: " + " ".join(args.notes))

    with open(outputs.stage("results.csv"), "w", newline="", encoding="utf-8") as file:
        writer = _writer(file)
        writer.writeheader()
        writer.writerows(rows)
        file.flush()
        os.fsync(file.fileno())
    figures = []
    if not args.no_figures:
        figures.append(_bar_figure(rows, outputs))
        if any(set(s) - {"train", "none"} for s in (snapshots or {}).values()):
            tsne_figure(snapshots, outputs.stage(_TSNE[1]), args.seeds[0])
            figures.append(_TSNE)
    lines = _summary_lines(rows, figures)
    outputs.stage("summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    ours = [args.experiment.replace("-", "_") + ".png"]
    if args.experiment == "oversampling":
        ours.append(_TSNE[1])
    return [name for name in ours if name not in outputs.staged]


def _report(args, error):
    """``report``: summary.md and the figures again, from results.csv alone."""
    path = args.out / "results.csv"
    if not path.is_file():
        partials = sorted(args.out.glob("results.partial-*.csv"))
        error(
            f"argument --out: there is no results.csv in {args.out}"
            + (
                f"; the rows of an interrupted run are in {partials[0]}: run its "
                "command again to finish it"
                if partials
                else ""
            )
        )
    rows, _ = _checked_results(path, error, "run the experiment again")
    if not rows:
        error(f"argument --out: {path} has no rows")
    if len({json.dumps(json.loads(r["config"]), sort_keys=True) for r in rows}) > 1:
        error(f"argument --out: {path} has rows of several settings")
    reason = _output_error(args.out)
    if reason is not None:
        error(f"argument --out: {reason}")
    outputs = _Outputs(args.out)
    try:
        figures = []
        if not args.no_figures:
            figures.append(_bar_figure(rows, outputs))
            # Drawn from the data by the run that wrote results.csv: kept.
            settings = json.loads(rows[0]["config"])
            if settings["experiment"] == "oversampling":
                if (args.out / _TSNE[1]).is_file():
                    figures.append(_TSNE)
        lines = _summary_lines(rows, figures)
        outputs.stage("summary.md").write_text("\n".join(lines) + "\n")
        outputs.commit()
    except BaseException:
        outputs.discard()
        raise
    print("\n".join(lines))
    print(f"\nWritten to {args.out}/", file=sys.stderr)
    return 0
