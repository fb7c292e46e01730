"""The default-of-credit-card-clients data set, shipped with the package."""

from importlib import resources
from pathlib import Path

import numpy as np

from .._docstrings import fill_doc
from ._bunch import dataset
from ._csv import CsvFormat
from ._home import check_sha256

_FILE = "UCI_Credit_Card.csv.gz"
# No checksum of this re-saved CSV form of the UCI data is published: this is
# the sha256 of the file that ships with seqknn, so that an edited or corrupt
# copy is not read.
SHA256 = "2feec385569de8f5a7a850012a2db36793e0afbe81ef3512c676c01e202663e9"
# Bytes of the file, decompressed: a header and 30,000 lines of 25 fields.
SIZE = 2_892_994
N_ROWS = 30_000
_ID = "ID"
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

    Raises
    ------
    ValueError
        When the shipped file was edited or is corrupt: its sha256 is not the
        expected one.

    Examples
    --------
    >>> from seqknn.datasets import load_credit_default
    >>> X, y = load_credit_default(return_X_y=True)
    >>> X.shape, y.mean().round(4)
    ((30000, 23), np.float64(0.2212))
    """
    with _shipped_file() as path:
        data, target, feature_names = _parse(Path(path))
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


def _shipped_file():
    """A context manager giving the path of the shipped file."""
    return resources.as_file(resources.files("seqknn.datasets") / "data" / _FILE)


def _parse(path):
    """Features, targets and feature names of the shipped file, checked."""
    try:
        check_sha256(path, SHA256)
    except ValueError as exc:
        raise ValueError(
            f"{path} is not the {_FILE} that ships with seqknn: {exc}. Reinstall "
            "seqknn."
        ) from exc
    csv = CsvFormat(
        "UCI_Credit_Card.csv", 25, "ID, 23 features and the target", SIZE, header=True
    )
    raw = csv.read(path)
    header = raw.split(b"\n", 1)[0].decode("ascii").split(",")
    header = [name.strip().strip('"') for name in header]
    # Column 0 is the row id ID; the last column is the target.
    if header[0] != _ID or header[-1] != _TARGET:
        raise ValueError(
            f"{path} is not in the format of UCI_Credit_Card.csv: its header "
            f"starts with {header[0]!r} and ends with {header[-1]!r}, expected "
            f"{_ID!r} and {_TARGET!r}."
        )
    values = csv.columns(raw, path)
    if len(values) != N_ROWS:
        raise ValueError(f"{path} has {len(values):,} rows, expected {N_ROWS:,}.")
    target = values[:, -1]
    unknown = np.setdiff1d(target, [0, 1])
    if unknown.size:
        raise ValueError(f"{path} has targets other than 0 and 1: {unknown.tolist()}.")
    return values[:, 1:-1], target.astype(np.int64), header[1:-1]
