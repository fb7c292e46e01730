"""Oversampling against no resampling and a tuned threshold, on many data sets.

Data: the credit-card default data (the paper's CCD) and the ``imbalanced`` and
``binary`` groups of ``../shared/datasets/dev/`` (see its README): 21 binary
data sets. Data sets larger than ``--max-samples`` rows (only credit, 30,000
rows) are subsampled once, stratified, with seed 0. The minority class of a set
is its smaller class in the whole set (class 1 in the ``imbalanced`` group).

For each seed, data set and sampler, the training part is standardised and
resampled once; three classifiers are fitted on the result: a random forest
(100 trees), scikit-learn's histogram gradient boosting and an MLP (two hidden
layers of 128 units, early stopping). Samplers, all at their defaults:

- ``none``: no resampling;
- ``none+threshold``: no resampling, and the decision threshold tuned for
  minority-class F1 by ``sklearn.model_selection.TunedThresholdClassifierCV``
  (5-fold cross-validation on the training part). Every set here is binary, so
  the threshold applies to all of them;
- ``ROS`` (imbalanced-learn's ``RandomOverSampler``), ``SMOTE``, ``ADASYN``;
- ``V2VSLS`` and ``MNkNN_VEC``: seqknn's ``V2VSLSSampler`` and
  ``MNkNNVecSampler`` (on the CPU).

SMOTE and ADASYN need more minority training samples than neighbours: on the
sets with fewer, their ``k_neighbors`` / ``n_neighbors`` is lowered to the number
of minority training samples minus one. A sampler that raises leaves the data
unresampled, and the row notes it: ADASYN on the nearly balanced
``mammographic`` and ``monk-2``, where it computes no samples to generate.

Protocols (as in ``bench_suite.py``, whose loader and splits this uses):

- ``test`` (the reported tables): for each seed a stratified 80/20 split; fit on
  the 80% part, score on the 20% part.
- ``validation`` (used to choose the samplers' defaults): the 20% test parts
  are never read; the 80% part is split again 75/25 and models are scored on
  that 25%.

Scores: F1 of the minority class (x100) and macro-F1 (x100). Results are cached
row by row in ``--out`` (keyed by protocol, sampler, classifier, data set and
seed; a seqknn sampler's row also records its generation, alpha, lambda and
sampling strategy, and a row made with other values is run again), so an
interrupted run resumes, and a variant of a sampler (``--param
V2VSLS.generation=interpolate --tag interp``) sits beside the defaults. Run
from the repository root::

    python benchmarks/bench_oversampling.py                      # 5 seeds
    python benchmarks/bench_oversampling.py --datasets credit --seeds 1
    python benchmarks/bench_oversampling.py --protocol validation \\
        --samplers none SMOTE ADASYN V2VSLS \\
        --param V2VSLS.generation=interpolate --tag interp
    python benchmarks/bench_oversampling.py --report-only \\
        --compare none SMOTE "V2VSLS[interp]"
    python benchmarks/bench_oversampling.py --seeds 20 \\
        --samplers none ROS SMOTE ADASYN V2VSLS    # the 20-seed check

The report reads the seeds ``0`` to ``--seeds - 1`` of the cached rows.

Prints Markdown tables: per classifier, the minority F1 of every sampler on
every data set (mean over the seeds); per classifier and sampler the mean
minority F1, its mean rank among the samplers shown (1 is best), wins, ties and
losses against no resampling, the number of sets more than 5 points below no
resampling and the largest loss against it, the mean macro-F1 and the mean
resampling time; the mean rank of every (sampler, classifier) pair among all
pairs, overall and per group; and the sets where a seqknn sampler is more than
5 points below no resampling.
"""

import argparse
import csv
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
from bench_suite import SHARED, load, parse_params, reported_rows, split
from scipy.stats import rankdata

FIELDS = [
    "protocol",
    "sampler",
    "classifier",
    "dataset",
    "seed",
    "minority_f1",
    "macro_f1",
    "resample_s",
    "fit_s",
    "n_train",
    "n_minority",
    "config",
    "note",
]
SAMPLERS = [
    "none",
    "none+threshold",
    "ROS",
    "SMOTE",
    "ADASYN",
    "V2VSLS",
    "MNkNN_VEC",
]
SEQKNN = {"V2VSLS": "V2VSLSSampler", "MNkNN_VEC": "MNkNNVecSampler"}
# The sampler parameters whose defaults this benchmark chooses.
CONFIG_KEYS = ["generation", "alpha", "vector_weight", "sampling_strategy"]
CLASSIFIERS = ["RF", "HGB", "MLP"]


def groups():
    """``{group: [data set, ...]}`` from the dev suite's README table."""
    found = {}
    for line in (SHARED / "dev" / "README.md").read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.split("|")[1:-1]]
        if len(cells) > 2 and cells[1].endswith(".csv.gz"):
            name = cells[1][: -len(".csv.gz")]
            if name not in found.setdefault(cells[0], []):
                found[cells[0]].append(name)
    return {"imbalanced": ["credit"] + found["imbalanced"], "binary": found["binary"]}


def make_sampler(name, seed, params, n_minority):
    """The sampler (None for no resampling) and its recorded configuration."""
    if name in ("none", "none+threshold"):
        return None, ""
    if name == "ROS":
        from imblearn.over_sampling import RandomOverSampler

        return RandomOverSampler(random_state=seed, **params), ""
    if name in ("SMOTE", "ADASYN"):
        from imblearn.over_sampling import ADASYN, SMOTE

        key = "k_neighbors" if name == "SMOTE" else "n_neighbors"
        params = {key: min(5, n_minority - 1), **params}
        cls = SMOTE if name == "SMOTE" else ADASYN
        return cls(random_state=seed, **params), ""
    import seqknn

    sampler = getattr(seqknn, SEQKNN[name])(random_state=seed, device="cpu", **params)
    values = sampler.get_params()
    return sampler, json.dumps({k: values[k] for k in CONFIG_KEYS})


def make_classifier(name, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.neural_network import MLPClassifier

    if name == "RF":
        return RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=seed)
    if name == "HGB":
        return HistGradientBoostingClassifier(random_state=seed)
    return MLPClassifier((128, 128), early_stopping=True, random_state=seed)


def run_sampler(
    protocol, sampler_name, label, params, classifiers, dataset, seed, args
):
    """Result rows of one sampler on one split, for each classifier."""
    import torch
    from sklearn.metrics import f1_score, make_scorer
    from sklearn.model_selection import TunedThresholdClassifierCV
    from sklearn.preprocessing import StandardScaler

    torch.set_num_threads(1)
    X, y = load(dataset, args.max_samples)
    minority = int(np.argmin(np.bincount(y)))
    X_tr, y_tr, X_te, y_te = split(X, y, seed, protocol)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    n_minority = int((y_tr == minority).sum())
    sampler, config = make_sampler(sampler_name, seed, params, n_minority)
    note = ""
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if sampler is None:
            X_res, y_res = X_tr, y_tr
        else:
            try:
                X_res, y_res = sampler.fit_resample(X_tr, y_tr)
            except (ValueError, RuntimeError) as exc:
                X_res, y_res = X_tr, y_tr
                note = f"not resampled: {str(exc).splitlines()[0][:80]}"
    resample_s = time.perf_counter() - started
    rows = []
    for c_name in classifiers:
        clf = make_classifier(c_name, seed)
        if sampler_name == "none+threshold":
            clf = TunedThresholdClassifierCV(
                clf,
                scoring=make_scorer(f1_score, pos_label=minority),
                cv=5,
                random_state=seed,
            )
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y_pred = clf.fit(X_res, y_res).predict(X_te)
        rows.append(
            {
                "protocol": protocol,
                "sampler": label,
                "classifier": c_name,
                "dataset": dataset,
                "seed": seed,
                "minority_f1": round(
                    100 * f1_score(y_te, y_pred, pos_label=minority, zero_division=0),
                    4,
                ),
                "macro_f1": round(
                    100 * f1_score(y_te, y_pred, average="macro", zero_division=0), 4
                ),
                "resample_s": round(resample_s, 3),
                "fit_s": round(time.perf_counter() - started, 3),
                "n_train": len(y_tr),
                "n_minority": n_minority,
                "config": config,
                "note": note,
            }
        )
    return rows


def read_cache(path):
    if not path.exists():
        return {}
    with path.open() as f:
        rows = list(csv.DictReader(f))
    key = ("protocol", "sampler", "classifier", "dataset")
    return {tuple(r[k] for k in key) + (int(r["seed"]),): r for r in rows}


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def report(rows, samplers, classifiers, datasets, group_of, seqknn_labels):
    """Markdown tables from cached rows (means over the seeds present)."""
    cells = {}
    for r in rows:
        if r["sampler"] in samplers and r["classifier"] in classifiers:
            cell = cells.setdefault((r["sampler"], r["classifier"], r["dataset"]), [])
            cell.append(
                (float(r["minority_f1"]), float(r["macro_f1"]), float(r["resample_s"]))
            )
    pairs = [(s, c) for c in classifiers for s in samplers]
    complete = [d for d in datasets if all((s, c, d) in cells for s, c in pairs)]
    if not complete:
        return "No data set has results for every sampler and classifier."
    # mean[d, classifier, sampler, metric]
    mean = np.array(
        [
            [[np.mean(cells[s, c, d], axis=0) for s in samplers] for c in classifiers]
            for d in complete
        ]
    )
    out = []
    for j, c in enumerate(classifiers):
        out.append(f"\n### {c}: minority F1 per data set\n")
        body = []
        for i, d in enumerate(complete):
            row = mean[i, j, :, 0]
            best = row.max()
            body.append(
                [f"{d} ({group_of.get(d, '-')})"]
                + [f"**{v:.1f}**" if v == best else f"{v:.1f}" for v in row]
            )
        out.append(_table(["data set"] + samplers, body))

    def summary(idx, title):
        out.append(f"\n### {title} ({len(idx)} sets): per classifier\n")
        body = []
        for j, c in enumerate(classifiers):
            sub = mean[idx, j]  # (sets, samplers, metrics)
            ranks = np.array([rankdata(-row) for row in sub[:, :, 0]])
            ref = sub[:, samplers.index("none"), 0] if "none" in samplers else None
            for k, s in enumerate(samplers):
                line = [c, s, f"{sub[:, k, 0].mean():.2f}", f"{ranks[:, k].mean():.2f}"]
                if ref is not None:
                    diff = sub[:, k, 0] - ref
                    win, tie = (diff > 1e-9).sum(), (abs(diff) <= 1e-9).sum()
                    line += [
                        f"{win}/{tie}/{len(diff) - win - tie}",
                        (diff < -5).sum(),
                        f"{diff.min():.1f}",
                    ]
                line += [f"{sub[:, k, 1].mean():.2f}", f"{sub[:, k, 2].mean():.2f}"]
                body.append(line)
        head = ["classifier", "sampler", "minority F1", "rank"]
        if "none" in samplers:
            head += ["W/T/L vs none", "sets >5 below none", "worst vs none"]
        out.append(_table(head + ["macro-F1", "resample (s)"], body))
        flat = mean[idx][:, :, :, 0].reshape(len(idx), -1)  # (sets, pairs)
        ranks = np.array([rankdata(-row) for row in flat]).mean(axis=0)
        order = np.argsort(ranks)
        out.append(
            f"\nMean rank of the {flat.shape[1]} (sampler, classifier) pairs by "
            f"minority F1, {title}:\n"
        )
        out.append(
            _table(
                ["pair", "mean rank", "minority F1"],
                [
                    [
                        f"{pairs[o][1]}+{pairs[o][0]}",
                        f"{ranks[o]:.2f}",
                        f"{flat[:, o].mean():.2f}",
                    ]
                    for o in order
                ],
            )
        )

    summary(list(range(len(complete))), "all")
    for g in ("imbalanced", "binary"):
        idx = [i for i, d in enumerate(complete) if group_of.get(d) == g]
        if idx and len(idx) < len(complete):
            summary(idx, g)
    if "none" in samplers:
        out.append("\n### Sets more than 5 points of minority F1 below none\n")
        body = []
        ref = samplers.index("none")
        for k, s in enumerate(samplers):
            if s not in seqknn_labels:
                continue
            for j, c in enumerate(classifiers):
                for i, d in enumerate(complete):
                    diff = mean[i, j, k, 0] - mean[i, j, ref, 0]
                    if diff < -5:
                        body.append(
                            [
                                s,
                                c,
                                d,
                                f"{mean[i, j, ref, 0]:.1f}",
                                f"{mean[i, j, k, 0]:.1f}",
                                f"{diff:.1f}",
                            ]
                        )
        out.append(
            _table(
                ["sampler", "classifier", "data set", "none", "sampler", "diff"], body
            )
            if body
            else "None."
        )
    out.append(f"\n{len(complete)} data sets with results for every pair.")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group_sets = groups()
    all_sets = group_sets["imbalanced"] + group_sets["binary"]
    parser.add_argument("--samplers", nargs="+", default=SAMPLERS)
    parser.add_argument("--classifiers", nargs="+", default=CLASSIFIERS)
    parser.add_argument("--datasets", nargs="+", default=all_sets)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-samples", type=int, default=5000)
    parser.add_argument("--protocol", choices=["test", "validation"], default="test")
    parser.add_argument("--param", action="append", default=[])
    parser.add_argument("--tag", default="")
    parser.add_argument(
        "--compare", nargs="+", default=None, help="samplers of the report (labels)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/oversampling.csv")
    )
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import seqknn

    print(f"seqknn {seqknn.__version__} from {Path(seqknn.__file__).parent}")
    params = parse_params(args.param)
    cache = read_cache(args.out)

    def label(s):
        return s + (f"[{args.tag}]" if args.tag and s in SEQKNN else "")

    todo = []
    for d in args.datasets:
        for seed in range(args.seeds):
            for s in args.samplers:
                _, config = (
                    make_sampler(s, seed, params.get(s, {}), 6)
                    if s in SEQKNN
                    else (None, "")
                )
                missing = [
                    c
                    for c in args.classifiers
                    if (args.protocol, label(s), c, d, seed) not in cache
                    or cache[args.protocol, label(s), c, d, seed]["config"] != config
                ]
                if missing:
                    todo.append((s, missing, d, seed))
    if todo and not args.report_only:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        new = not args.out.exists()
        with args.out.open("a", newline="") as f:
            writer = csv.DictWriter(f, FIELDS)
            if new:
                writer.writeheader()
            for i, (s, missing, d, seed) in enumerate(todo, 1):
                rows = run_sampler(
                    args.protocol,
                    s,
                    label(s),
                    params.get(s, {}),
                    missing,
                    d,
                    seed,
                    args,
                )
                writer.writerows(rows)
                f.flush()
                scores = " ".join(
                    f"{r['classifier']} {r['minority_f1']:.1f}" for r in rows
                )
                print(
                    f"[{i}/{len(todo)}] {label(s)} {d} seed {seed}: {scores} "
                    f"({rows[0]['resample_s']} s) {rows[0]['note']}",
                    flush=True,
                )
        cache = read_cache(args.out)
    samplers = args.compare or [label(s) for s in args.samplers]
    seqknn_labels = [s for s in samplers if s.split("[")[0] in SEQKNN]
    group_of = {d: g for g, sets in group_sets.items() for d in sets}
    # The last row for a key wins: a rerun with a new configuration replaces it.
    rows = reported_rows(cache, args.protocol, args.seeds)
    print(
        report(rows, samplers, args.classifiers, args.datasets, group_of, seqknn_labels)
    )


if __name__ == "__main__":
    main()
