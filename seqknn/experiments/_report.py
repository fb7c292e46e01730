"""Results as Markdown tables and PNG figures (the paper's Tables 2, 3, 5, Figs 2-5)."""

from collections import Counter

import numpy as np

from .._optional import import_optional
from . import _paper
from ._stats import compare


def group(rows, keys):
    """Rows grouped by ``("dataset", *keys)``, in the order first seen."""
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in ("dataset", *keys)), []).append(row)
    return groups


def _mean_std(values):
    if len(values) < 2:
        return f"{np.mean(values):.4f}"
    return f"{np.mean(values):.4f} ± {np.std(values, ddof=1):.4f}"


def _seconds(values):
    values = np.asarray(values, dtype=float)
    return "-" if np.isnan(values).all() else f"{np.nanmean(values):.2f}"


def _test(result):
    diff, p, verdict = result
    p = "n/a" if np.isnan(p) else f"{p:.3f}"
    return f"{diff:+.4f} (p={p}, {verdict})"


def _chosen(rows):
    params, count = Counter(r["params"] for r in rows).most_common(1)[0]
    return f"{params} ({count}/{len(rows)})"


def summary(rows, spec, benchmarks=None):
    """One summary dict per (data set, keys): scores, tests, times, chosen grid.

    Each model (or sampler, or kind of targets) is tested against the
    experiment's baseline and, where the experiment names benchmarks, against
    the best of them on that data set (highest mean validation macro-F1).
    """
    keys = ("dataset", *spec.keys)
    groups = group(rows, spec.keys)
    out = []
    for key, members in groups.items():
        context = dict(zip(keys, key, strict=True))
        method = context[spec.method]

        def rows_of(other, context=context):
            return groups.get(tuple({**context, spec.method: other}[k] for k in keys))

        line = dict(context)
        line["macro-F1"] = _mean_std([r["f1_macro"] for r in members])
        line["weighted F1"] = _mean_std([r["f1_weighted"] for r in members])
        if spec.paper is not None:
            line["paper F-1"] = spec.paper(line)
        baseline = rows_of(spec.baseline)
        line[f"vs {spec.baseline}"] = (
            "-"
            if method == spec.baseline or not baseline
            else _test(compare(members, baseline))
        )
        if benchmarks:
            # The best benchmark is chosen on validation, not on the test scores
            # it is then compared on.
            scores = {
                b: np.mean([r["val_f1_macro"] for r in rows_of(b)])
                for b in benchmarks
                if rows_of(b)
            }
            best = max(scores, key=scores.get) if scores else None
            line["vs best benchmark"] = (
                "-"
                if best in (None, method)
                else f"{best}: " + _test(compare(members, rows_of(best)))
            )
        for column, field in spec.means.items():
            line[column] = _seconds([r[field] for r in members])
        line["chosen (of seeds)"] = _chosen(members)
        line["seeds"] = len(members)
        out.append(line)
    # Rows of one data set and one model (or classifier) together.
    first = ("dataset", spec.keys[0])
    order = [list(dict.fromkeys(r[k] for r in rows)) for k in first]
    return sorted(
        out,
        key=lambda line: [o.index(line[k]) for o, k in zip(order, first, strict=True)],
    )


def beside_paper_oversampling(rows):
    """Per data set, the paper's Table 5 line and the same figures from ``rows``.

    As in the paper, the best (classifier, sampler) pair and its lead over the
    best pair with SMOTE and with ADASYN, and the best pair with the V2VSLS
    sampler, which the paper finds best everywhere; the pairs are chosen on
    their mean validation macro-F1 and compared on their mean test macro-F1
    (x100).
    """
    groups = group(rows, ("classifier", "sampler"))
    out = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        pairs = {k[1:]: members for k, members in groups.items() if k[0] == dataset}

        def best(sampler=None, pairs=pairs):
            chosen = [p for p in pairs if sampler in (None, p[1])]
            if not chosen:
                return None
            return max(
                chosen, key=lambda p: np.mean([r["val_f1_macro"] for r in pairs[p]])
            )

        def test(pair, pairs=pairs):
            return 100 * np.mean([r["f1_macro"] for r in pairs[pair]])

        top, ours = best(), best("V2VSLS")
        leads = [
            "-" if other is None else f"{test(top) - test(other):+.2f}"
            for other in (best("SMOTE"), best("ADASYN"))
        ]
        paper = _paper.OVERSAMPLING.get(dataset)
        out.append(
            {
                "data set": f"{dataset} ({_paper.NAMES.get(dataset, '?')})",
                "paper: best": "-" if paper is None else "+".join(paper[:2]),
                "paper F-1": "-" if paper is None else f"{paper[2]:.2f}",
                "paper: lead over SMOTE / ADASYN": (
                    "-" if paper is None else f"+{paper[3]} / +{paper[4]}"
                ),
                "here: best (on validation)": "+".join(top),
                "test macro-F1": f"{test(top):.2f}",
                "lead over SMOTE / ADASYN": " / ".join(leads),
                "here: best with V2VSLS": (
                    "-" if ours is None else f"{'+'.join(ours)}: {test(ours):.2f}"
                ),
            }
        )
    return out


def markdown_table(lines):
    """A Markdown table of a list of dicts with the same keys."""
    header = list(lines[0])
    text = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    text += ["| " + " | ".join(str(line[h]) for h in header) + " |" for line in lines]
    return "\n".join(text)


def _pyplot_free_figure(**kwargs):
    # The object-oriented API writes PNGs without a GUI backend.
    figure = import_optional("matplotlib.figure", "The experiments' figures")
    return figure.Figure(**kwargs)


def bar_figure(rows, keys, path, title):
    """Mean test macro-F1 with standard-deviation error bars, one panel per data set.

    Bars are grouped by ``keys[0]`` (the models or classifiers); with two
    keys, the second (kinds of targets, samplers) gives one bar per group member.
    """
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    n_bars = len({tuple(r[k] for k in keys) for r in rows})
    fig = _pyplot_free_figure(
        figsize=(max(6.0, 2 + 0.45 * n_bars), 3.2 * len(datasets)),
        layout="constrained",
    )
    axes = fig.subplots(len(datasets), 1, squeeze=False)[:, 0]
    for ax, dataset in zip(axes, datasets, strict=True):
        members = [r for r in rows if r["dataset"] == dataset]
        xs = list(dict.fromkeys(r[keys[0]] for r in members))
        series = (
            list(dict.fromkeys(r[keys[1]] for r in members))
            if len(keys) > 1
            else [None]
        )
        width = 0.8 / len(series)
        lows = []
        for i, s in enumerate(series):
            means, stds = [], []
            for x in xs:
                f1 = [
                    r["f1_macro"]
                    for r in members
                    if r[keys[0]] == x and (s is None or r[keys[1]] == s)
                ]
                means.append(np.mean(f1) if f1 else np.nan)
                stds.append(np.std(f1) if f1 else np.nan)
            positions = np.arange(len(xs)) + (i - (len(series) - 1) / 2) * width
            ax.bar(positions, means, width, yerr=stds, capsize=2, label=s)
            lows.append(np.nanmin(np.subtract(means, stds)))
        ax.set_xticks(np.arange(len(xs)), xs, rotation=30, ha="right")
        ax.set_ylabel("test macro-F1")
        ax.set_title(dataset)
        # Zoom in on the differences, as the paper's figures do.
        ax.set_ylim(max(0.0, min(lows) - 0.05), 1.0)
        if series != [None]:
            ax.legend(fontsize="small", ncols=min(len(series), 5))
    fig.suptitle(title)
    fig.savefig(path, dpi=120)


def tsne_figure(snapshots, path, seed, max_points=600):
    """t-SNE of each sampler's synthetic samples among the training samples.

    One row per data set, one panel per sampler: up to ``max_points`` training
    samples per class (dots) and synthetic samples (crosses), embedded together.
    """
    from sklearn.manifold import TSNE

    rng = np.random.default_rng(seed)
    datasets = list(snapshots)
    samplers = [s for s in snapshots[datasets[0]] if s not in ("train", "none")]
    fig = _pyplot_free_figure(
        figsize=(3.2 * len(samplers), 3.2 * len(datasets)), layout="constrained"
    )
    axes = fig.subplots(len(datasets), len(samplers), squeeze=False)
    for row, dataset in zip(axes, datasets, strict=True):
        X, y = snapshots[dataset]["train"]
        keep = np.concatenate(
            [rng.permutation(np.flatnonzero(y == c))[:max_points] for c in np.unique(y)]
        )
        for ax, sampler in zip(row, samplers, strict=True):
            X_new, y_new = snapshots[dataset][sampler]
            new = rng.permutation(len(y_new))[:max_points]
            embedded = TSNE(init="pca", random_state=seed).fit_transform(
                np.vstack([X[keep], X_new[new]])
            )
            old, syn = embedded[: len(keep)], embedded[len(keep) :]
            for i, c in enumerate(np.unique(y)):
                ax.scatter(*old[y[keep] == c].T, s=4, alpha=0.4, color=f"C{i}")
                ax.scatter(*syn[y_new[new] == c].T, s=10, marker="x", color=f"C{i}")
            ax.set_title(f"{dataset}: {sampler}", fontsize="small")
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle("t-SNE: training samples (dots) and synthetic samples (crosses)")
    fig.savefig(path, dpi=120)
