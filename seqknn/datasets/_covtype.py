"""The UCI Forest Covertype data, the paper's COV."""

from pathlib import Path

import numpy as np

from .._docstrings import fill_doc
from ._bunch import dataset
from ._csv import CsvFormat
from ._home import fetch

FILE_NAME = "covtype.data.gz"
URL = (
    "https://archive.ics.uci.edu/ml/machine-learning-databases/covtype/covtype.data.gz"
)
# UCI publishes no checksum; this is the sha256 that scikit-learn's
# fetch_covtype pins for its copy of the same file (figshare 5976039).
SHA256 = "614360d0257557dd1792834a85a1cdebfadc3c4f30b011d56afee7ffb5b15771"
# Bytes of covtype.data, decompressed (581,012 lines).
SIZE = 75_169_317

# The names of scikit-learn's fetch_covtype, from covtype.info; the class
# (Cover_Type, 1 to 7) is the 55th field.
FEATURE_NAMES = [
    "Elevation",
    "Aspect",
    "Slope",
    "Horizontal_Distance_To_Hydrology",
    "Vertical_Distance_To_Hydrology",
    "Horizontal_Distance_To_Roadways",
    "Hillshade_9am",
    "Hillshade_Noon",
    "Hillshade_3pm",
    "Horizontal_Distance_To_Fire_Points",
]
FEATURE_NAMES += [f"Wilderness_Area_{i}" for i in range(4)]
FEATURE_NAMES += [f"Soil_Type_{i}" for i in range(40)]
TARGET = "Cover_Type"
CLASSES = range(1, 8)
# The paper keeps the 3 largest classes: 2 (Lodgepole Pine), 1 (Spruce/Fir)
# and 3 (Ponderosa Pine).
KEPT = (1, 2, 3)


@fill_doc
def load_covtype(
    path=None,
    *,
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
    as_frame=False,
):
    """Load the UCI Forest Covertype data (the paper's COV).

    The forest cover type (7 classes) of 581,012 30 x 30 m cells of the
    Roosevelt National Forest, from 54 cartographic features, prepared like
    Xu & Klabjan (Table 1): only the 3 largest classes are kept, 2 (Lodgepole
    Pine), 1 (Spruce/Fir) and 3 (Ponderosa Pine). The other 4 classes
    (50,117 rows, 8.6%) are dropped. The target is the original class code.

    =================   ====================================
    Classes                                                3
    Samples total                                    530,895
    Samples per class   2: 283,301, 1: 211,840, 3: 35,754
    Dimensionality      54 (10 quantitative, 4 + 40 binary)
    Features            float (integer values)
    =================   ====================================

    The file ``covtype.data.gz`` (11 MB) does not ship with seqknn. It is
    read from ``path`` when given, else from the data folder of
    :func:`get_data_home`, where it is downloaded from the UCI Machine
    Learning Repository the first time. The file of the data folder
    (downloaded or not) must have the sha256 of the full data (the one
    :func:`sklearn.datasets.fetch_covtype` pins), and a download that does
    not is not kept.

    Parameters
    ----------
    path : str or path-like, default=None
        A file in the format of ``covtype.data``: 55 comma-separated integers
        per line (54 features and the class, 1 to 7), gzip-compressed or
        plain text, of any number of rows (of at most the size of the full
        data, decompressed). None uses the data folder.
    %(data_home)s
    %(return_X_y)s

    Returns
    -------
    data : Bunch
        ``data`` (n_samples, 54) float64 array or DataFrame, ``target``
        (n_samples,) int64 array of the class codes 1, 2 and 3 (or a Series),
        ``feature_names`` (those of :func:`sklearn.datasets.fetch_covtype`:
        ``"Elevation"``, ..., ``"Wilderness_Area_0"`` to ``"_3"``,
        ``"Soil_Type_0"`` to ``"_39"``), ``target_names`` (the kept classes,
        ``[1, 2, 3]``, as in a classifier's ``classes_``), ``frame`` (the
        DataFrame with a ``"Cover_Type"`` column, when ``as_frame=True``) and
        ``DESCR``.
    (data, target) : tuple
        When ``return_X_y=True``.

    Raises
    ------
    FileNotFoundError
        When the file is not in the data folder and ``download_if_missing``
        is False, or ``path`` does not exist.
    OSError
        When the download fails (for example without network access) or the
        downloaded file does not have the expected sha256.
    ValueError
        When the file of the data folder does not have the expected sha256,
        or a file is not ASCII text, is larger than the full data, or has a
        line that does not have 55 integers or has a class other than 1 to 7
        (the error names the line).

    Warnings
    --------
    A file passed as ``path`` is not checked to be the full data. Results on
    a part of it are not comparable to the paper's or to others' on the full
    data, in particular on a part in file order, such as its first 100,000
    rows: the file is not shuffled. Its first 15,120 rows hold 2,160 rows of
    each class (the training and validation rows of Blackard & Dean), and the
    next 84,880 only classes 1, 2 and 5, so that the first 100,000 rows keep
    90,937 rows with classes 2: 66,751, 1: 22,026 and 3: 2,160 (73%, 24% and
    2.4%, against 53%, 40% and 6.7% on the full data).

    Notes
    -----
    Loading the full file takes about a second.

    Examples
    --------
    With network access, or with the file in the data folder:

    >>> from seqknn.datasets import load_covtype
    >>> X, y = load_covtype(return_X_y=True)  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (530895, 54)

    Any file in the same format can be passed as ``path``; here three cells,
    of which the one of class 5 (Aspen) is dropped:

    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "cells.data"
    >>> rows = [[2596, 51, 3, 258, 0, 510, 221, 232, 148, 6279]
    ...         + [1, 0, 0, 0] + [0] * 28 + [1] + [0] * 11 + [label]
    ...         for label in (2, 5, 1)]
    >>> _ = path.write_text("".join(",".join(map(str, row)) + "\\n" for row in rows))
    >>> bunch = load_covtype(path)
    >>> bunch.data.shape
    (2, 54)
    >>> bunch.target
    array([2, 1])
    >>> bunch.feature_names[:2], bunch.feature_names[-1]
    (['Elevation', 'Aspect'], 'Soil_Type_39')
    >>> tmp.cleanup()
    """
    if path is None:
        path = fetch(
            FILE_NAME,
            URL,
            SHA256,
            data_home=data_home,
            download_if_missing=download_if_missing,
            loader="load_covtype",
        )
    data, target = _parse(Path(path))
    feature_names = list(FEATURE_NAMES)
    return dataset(
        data,
        target,
        feature_names=feature_names,
        target_names=np.array(KEPT),
        descr="covtype.rst",
        loader="load_covtype",
        return_X_y=return_X_y,
        as_frame=as_frame,
        target_column=TARGET,
    )


def _parse(path):
    """Features and targets of the kept rows of a covtype file."""
    csv = CsvFormat(
        "covtype.data", len(FEATURE_NAMES) + 1, "54 features and the class", SIZE
    )
    # numpy's C parser: about 0.6 s for the full file.
    values = csv.columns(csv.read(path), path, kind="int")
    classes = values[:, -1].astype(np.int64)
    unknown = np.setdiff1d(classes, CLASSES)
    if unknown.size:
        raise ValueError(
            f"{path} has classes that are not Covertype classes (1 to 7): "
            f"{unknown.tolist()}."
        )
    keep = np.isin(classes, KEPT)
    return values[keep, :-1], classes[keep]
