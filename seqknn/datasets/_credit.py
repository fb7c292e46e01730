"""The default-of-credit-card-clients data set, shipped with the package."""

import csv
import gzip
from importlib import resources

import numpy as np

from .._docstrings import fill_doc
from ._bunch import dataset

_FILE = "UCI_Credit_Card.csv.gz"
_TARGET = "default.payment.next.month"


@fill_doc
def load_credit_default(*, return_X_y=False, as_frame=False):
    """Load the default-of-credit-card-clients data set (the paper's CCD).

    30,000 credit card clients of a Taiwanese bank, 23 numeric features, and
    whether they defaulted the next month (22.12% did). The data ship with
    seqknn, so this works offline. Source: Yeh & Lien (2009), UCI Machine
    Learning Repository, CC BY 4.0.

    =================   ==============
    Classes                          2
    Samples total                30000
    Dimensionality                  23
    Features            integer, float
    =================   ==============

    Parameters
    ----------
    %(return_X_y)s

    Returns
    -------
    data : Bunch
        ``data`` (30000, 23) float64 array or DataFrame, ``target`` (30000,)
        int64 array or Series, ``feature_names``, ``target_names``, ``frame``
        (the DataFrame with the target column, when ``as_frame=True``) and
        ``DESCR``.
    (data, target) : tuple
        When ``return_X_y=True``.

    Examples
    --------
    >>> from seqknn.datasets import load_credit_default
    >>> X, y = load_credit_default(return_X_y=True)
    >>> X.shape, y.mean().round(4)
    ((30000, 23), np.float64(0.2212))
    """
    path = resources.files("seqknn.datasets") / "data" / _FILE
    with path.open("rb") as raw, gzip.open(raw, "rt", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        values = np.array(list(reader), dtype=np.float64)
    # Column 0 is the row id ID; the last column is the target.
    feature_names = header[1:-1]
    data, target = values[:, 1:-1], values[:, -1].astype(np.int64)
    return dataset(
        data,
        target,
        feature_names=feature_names,
        target_names=np.array(["no default", "default"]),
        descr="credit_default.rst",
        loader="load_credit_default",
        return_X_y=return_X_y,
        as_frame=as_frame,
        target_column=_TARGET,
    )
