"""Paired t-tests over the seeds, the paper's significance tests at the 5% level."""

import numpy as np
from scipy import stats

ALPHA = 0.05


def paired_ttest(a, b):
    """Two-sided t-test of ``a - b``, paired by seed.

    Returns
    -------
    diff : float
        Mean of ``a - b``.
    p : float
        p-value; NaN with fewer than two seeds. With the same difference for
        every seed it is 1 when that difference is 0, and 0 otherwise (the
        limit of the test as the variance vanishes).
    verdict : {"better", "worse", "same", "n/a"}
        ``a`` against ``b`` at the 5% level.

    Examples
    --------
    >>> from seqknn.experiments._stats import paired_ttest
    >>> diff, p, verdict = paired_ttest([0.81, 0.82, 0.80], [0.70, 0.72, 0.71])
    >>> round(diff, 3), verdict
    (0.1, 'better')
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(d) < 2:
        return (float(d.mean()) if len(d) else np.nan), np.nan, "n/a"
    diff = float(d.mean())
    # Differences equal up to rounding have no variance: the test's limit.
    if np.allclose(d, d[0], rtol=0, atol=1e-12):
        p = 1.0 if abs(diff) <= 1e-12 else 0.0
    else:
        p = float(stats.ttest_rel(a, b).pvalue)
    if p < ALPHA:
        verdict = "better" if diff > 0 else "worse"
    else:
        verdict = "same"
    return diff, p, verdict


def by_seed(rows, metric):
    """``{seed: value}`` of ``metric``."""
    return {row["seed"]: row[metric] for row in rows}


def compare(rows, reference_rows, metric="f1_macro"):
    """:func:`paired_ttest` of ``rows`` against ``reference_rows`` (same seeds)."""
    a, b = by_seed(rows, metric), by_seed(reference_rows, metric)
    seeds = sorted(a.keys() & b.keys())
    return paired_ttest([a[s] for s in seeds], [b[s] for s in seeds])
