"""The SensIT Vehicle (combined) data of the LIBSVM collection."""

import io
import math
import re
from pathlib import Path

import numpy as np
from sklearn.datasets import load_svmlight_file

from .._docstrings import fill_doc
from ._bunch import dataset
from ._csv import read_data
from ._home import download, get_data_home

BASE_URL = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/vehicle/"
# (train, test) file names, by ``scaled``.
FILE_NAMES = {
    False: ("combined.bz2", "combined.t.bz2"),
    True: ("combined_scale.bz2", "combined_scale.t.bz2"),
}
# No checksums of the LIBSVM files are published: a download (and the files
# in the data folder) is checked by its number of rows instead.
N_ROWS = (78_823, 19_705)
N_FEATURES = 100
# No published size either: reading stops past 4 KiB a line of the training
# file (100 index:value pairs of up to 40 characters), a bound on the data.
SIZE = N_ROWS[0] * 4096
FILE_FORMAT = "LIBSVM (SensIT Vehicle)"
_PAIR = re.compile(rb"([0-9]+):(\S+)")
CLASSES = (1, 2, 3)


@fill_doc
def load_sensit(
    path=None,
    *,
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
    as_frame=False,
    scaled=False,
):
    """Load the SensIT Vehicle (combined) data, one of the paper's data sets.

    Vehicles recognised from the acoustic and seismic signals of a
    distributed sensor network (Duarte & Hu, 2004), in the LIBSVM collection:
    100 features (50 acoustic, 50 seismic) and 3 classes. The LIBSVM training
    and test files are concatenated, in this order, into one data set, which
    the paper splits itself (Xu & Klabjan, Table 1).

    =================   ==========================
    Classes                                      3
    Samples total                           98,528
    Samples per file    78,823 train, 19,705 test
    Dimensionality                             100
    Features            float
    =================   ==========================

    The files ``combined.bz2`` and ``combined.t.bz2`` (or, with
    ``scaled=True``, ``combined_scale.bz2`` and ``combined_scale.t.bz2``) do
    not ship with seqknn. They are read from ``path`` when given, else from
    the data folder of :func:`get_data_home`, where they are downloaded from
    the LIBSVM data page the first time. No checksums of those files are
    published: the files of the data folder (downloaded or not) are checked
    to have 78,823 and 19,705 rows instead, and a download that does not is
    not kept.

    Parameters
    ----------
    path : str, path-like or tuple of two, default=None
        A folder holding the two files (named as above, by ``scaled``), or a
        ``(train, test)`` pair of files. The files are in LIBSVM format (a
        label 1, 2 or 3 and ``index:value`` pairs with indices 1 to 100 per
        line), bzip2- or gzip-compressed or plain text, of any number of
        rows (of at most 4 KiB a row of the training file, 323 MB,
        decompressed). None uses the data folder.
    %(data_home)s
    %(return_X_y)s
    scaled : bool, default=False
        Load the version whose features LIBSVM's authors scaled to [-1, 1]
        (``combined_scale``) instead of the original one (``combined``).
        Only the file names differ; a ``(train, test)`` pair is read as it
        is.

    Returns
    -------
    data : Bunch
        ``data`` (n_samples, 100) dense float64 array or DataFrame, the rows
        of the training file then those of the test file, ``target``
        (n_samples,) int64 array of the labels 1, 2 and 3 (or a Series),
        ``feature_names`` (``"feature_1"`` to ``"feature_100"``, by their
        LIBSVM index), ``target_names`` (``[1, 2, 3]``, as in a classifier's
        ``classes_``), ``frame`` (the DataFrame with a ``"target"`` column,
        when ``as_frame=True``) and ``DESCR``.
    (data, target) : tuple
        When ``return_X_y=True``.

    Raises
    ------
    FileNotFoundError
        When a file is not in the data folder and ``download_if_missing`` is
        False, or is not in the folder ``path`` or does not exist.
    OSError
        When a download fails (for example without network access) or a
        downloaded file does not have the expected number of rows.
    ValueError
        When a file is not ASCII text in LIBSVM format (a line with another
        field, such as ``qid:``, or a value that is not a finite number,
        such as ``nan``, is an error that names the line), is larger than
        the bound on the data, has a feature index above 100 or a label
        other than 1, 2 and 3, or a file of the data folder does not have
        the expected number of rows.

    Notes
    -----
    The files are parsed by :func:`sklearn.datasets.load_svmlight_file`,
    with one-based indices (index 0 is an error). Compression is recognised
    by the content of a file, not its name.

    Examples
    --------
    With network access, or with the files in the data folder:

    >>> from seqknn.datasets import load_sensit
    >>> X, y = load_sensit(return_X_y=True)  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (98528, 100)

    Any pair of files in the same format can be passed as ``path``:

    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> train, test = Path(tmp.name) / "train.txt", Path(tmp.name) / "test.txt"
    >>> _ = train.write_text("1 1:0.5 100:2\\n3 2:-1.25\\n")
    >>> _ = test.write_text("2 50:7\\n")
    >>> bunch = load_sensit((train, test))
    >>> bunch.data.shape
    (3, 100)
    >>> bunch.target
    array([1, 3, 2])
    >>> bunch.data[0, [0, 99]].tolist(), float(bunch.data[2, 49])
    ([0.5, 2.0], 7.0)
    >>> tmp.cleanup()
    """
    if path is None:
        parts = _load_from_data_home(data_home, download_if_missing, scaled)
    else:
        parts = [_parse(file) for file in _files(path, scaled)]
    data = np.concatenate([X for X, _ in parts])
    target = np.concatenate([y for _, y in parts])
    feature_names = [f"feature_{i}" for i in range(1, N_FEATURES + 1)]
    return dataset(
        data,
        target,
        feature_names=feature_names,
        target_names=np.array(CLASSES),
        descr="sensit.rst",
        loader="load_sensit",
        return_X_y=return_X_y,
        as_frame=as_frame,
    )


def _files(path, scaled):
    """The (train, test) files of ``path``: a folder or a pair of files."""
    if isinstance(path, (tuple, list)):
        if len(path) != 2:
            raise ValueError(
                "path must be a folder or a (train, test) pair of files, got "
                f"{len(path)} files."
            )
        return [Path(file) for file in path]
    folder = Path(path)
    if not folder.is_dir():
        if folder.exists():
            raise ValueError(
                f"path must be a folder holding {' and '.join(FILE_NAMES[scaled])}"
                f", or a (train, test) pair of files; {folder} is a file."
            )
        raise FileNotFoundError(f"No such folder: {folder}")
    files = [folder / name for name in FILE_NAMES[scaled]]
    missing = [file.name for file in files if not file.exists()]
    if missing:
        raise FileNotFoundError(
            f"{' and '.join(missing)} {'are' if len(missing) > 1 else 'is'} not "
            f"in the folder {folder} given as path=. Download from {BASE_URL}, "
            "or pass a (train, test) pair of files as path=."
        )
    return files


def _load_from_data_home(data_home, download_if_missing, scaled):
    """The parsed files of the data folder, downloaded if missing."""
    home = Path(get_data_home(data_home))
    files = [home / name for name in FILE_NAMES[scaled]]
    missing = [file.name for file in files if not file.exists()]
    if missing and not download_if_missing:
        raise FileNotFoundError(
            f"{' and '.join(missing)} {'are' if len(missing) > 1 else 'is'} not "
            f"in the seqknn data folder {home}. Download "
            f"{' and '.join(BASE_URL + name for name in missing)} into that "
            "folder, pass the location of the files as path=, or call "
            "load_sensit with download_if_missing=True."
        )
    parts = []
    for file, n_rows in zip(files, N_ROWS, strict=True):
        if file.exists():
            try:
                parts.append(_parse(file, n_rows=n_rows))
            except ValueError as exc:
                raise ValueError(
                    f"{exc} Delete it to download it again, or pass a part of "
                    "the data as path=."
                ) from exc
        else:
            parts.append(
                download(
                    BASE_URL + file.name,
                    file,
                    lambda partial, n_rows=n_rows: _parse(partial, n_rows=n_rows),
                )
            )
    return parts


def _parse(path, n_rows=None):
    """Dense features and int labels of a LIBSVM file.

    With ``n_rows``, the file must have that many rows.
    """
    raw = read_data(path, SIZE, FILE_FORMAT)
    # load_svmlight_file takes qid: fields and nan and inf values: refused,
    # with the line found in Python, only for a file in error.
    if b"qid:" in raw:
        raise _not_libsvm(path, raw, "it has qid: fields")
    try:
        X, y = load_svmlight_file(
            io.BytesIO(raw), n_features=N_FEATURES, dtype=np.float64, zero_based=False
        )
    except ValueError as exc:
        raise _not_libsvm(path, raw, exc) from exc
    if not (np.isfinite(X.data).all() and np.isfinite(y).all()):
        raise _not_libsvm(path, raw, "it has values that are not finite numbers")
    if n_rows is not None and len(y) != n_rows:
        raise ValueError(f"{path} has {len(y):,} rows, expected {n_rows:,}.")
    unknown = np.setdiff1d(y, CLASSES)
    if unknown.size:
        raise ValueError(
            f"{path} has labels that are not SensIT Vehicle classes (1, 2, 3): "
            f"[{', '.join(f'{label:g}' for label in unknown)}]."
        )
    return X.toarray(), y.astype(np.int64)


def _not_libsvm(path, raw, error):
    """The ValueError of a file not in LIBSVM format, naming the line if found."""
    found = _first_bad_line(raw)
    where = f": line {found[0]}, {found[1]}" if found else f": {error}"
    return ValueError(
        f"{path} is not a SensIT Vehicle file in LIBSVM format (labels 1, 2, 3 "
        f"and feature indices 1 to {N_FEATURES}){where}"
    )


def _first_bad_line(raw):
    """``(line number, what is wrong)`` of the first line not in LIBSVM format.

    None when no line is found wrong.
    """
    for number, line in enumerate(raw.split(b"\n"), 1):
        # Blank lines and comments (after #) are skipped, as
        # load_svmlight_file skips them.
        fields = line.split(b"#", 1)[0].split()
        previous = 0
        for i, field in enumerate(fields):
            text = field
            if i > 0:
                match = _PAIR.fullmatch(field)
                if match is None:
                    return number, f"{field.decode()!r} is not an index:value pair"
                index, text = int(match[1]), match[2]
                if not previous < index <= N_FEATURES:
                    return number, (
                        f"feature index {index} is not in increasing order from 1 "
                        f"to {N_FEATURES}"
                    )
                previous = index
            try:
                value = float(text)
            except ValueError:
                return number, f"{text.decode()!r} is not a number"
            if not math.isfinite(value):
                return number, f"{text.decode()!r} is not a finite number"
    return None
