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
        p-value; NaN with fewer than two seeds, or when the differences are
        the same nonzero number for every seed (no variance to test against).
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
    diff = float(d.mean())
    # Differences equal up to rounding have no variance to test against.
    if len(d) < 2 or np.allclose(d, d[0], rtol=0, atol=1e-12):
        p = 1.0 if len(d) >= 2 and abs(diff) <= 1e-12 else np.nan
    else:
        p = float(stats.ttest_rel(a, b).pvalue)
    if np.isnan(p):
        verdict = "n/a"
    elif p < ALPHA:
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
