"""The KDD Cup 1999 network intrusion data (10% subset), the paper's NI."""

from pathlib import Path

import numpy as np

from .._docstrings import fill_doc
from ._bunch import dataset
from ._csv import CsvFormat
from ._home import fetch

FILE_NAME = "kddcup.data_10_percent.gz"
URL = "http://kdd.ics.uci.edu/databases/kddcup99/kddcup.data_10_percent.gz"
SHA256 = "8045aca0d84e70e622d1148d7df782496f6333bf6eb979a1b0837c42a9fd9561"
# Bytes of kddcup.data_10_percent, decompressed (494,021 lines).
SIZE = 74_889_749

# The 41 features of kddcup.names, in file order; the label is the 42nd field.
COLUMNS = [
    "duration",
    "protocol_type",
    "service",
    "flag",
    "src_bytes",
    "dst_bytes",
    "land",
    "wrong_fragment",
    "urgent",
    "hot",
    "num_failed_logins",
    "logged_in",
    "num_compromised",
    "root_shell",
    "su_attempted",
    "num_root",
    "num_file_creations",
    "num_shells",
    "num_access_files",
    "num_outbound_cmds",
    "is_host_login",
    "is_guest_login",
    "count",
    "srv_count",
    "serror_rate",
    "srv_serror_rate",
    "rerror_rate",
    "srv_rerror_rate",
    "same_srv_rate",
    "diff_srv_rate",
    "srv_diff_host_rate",
    "dst_host_count",
    "dst_host_srv_count",
    "dst_host_same_srv_rate",
    "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate",
    "dst_host_srv_diff_host_rate",
    "dst_host_serror_rate",
    "dst_host_srv_serror_rate",
    "dst_host_rerror_rate",
    "dst_host_srv_rerror_rate",
]
CATEGORICAL = [1, 2, 3]  # protocol_type, service, flag
NUMERIC = [i for i in range(len(COLUMNS)) if i not in CATEGORICAL]

# The standard grouping of the 22 attack types (training_attack_types of the
# KDD archive). The paper keeps normal, DoS and Probe; R2L and U2R are dropped.
CATEGORIES = {
    "normal": "normal",
    **dict.fromkeys(["back", "land", "neptune", "pod", "smurf", "teardrop"], "dos"),
    **dict.fromkeys(["ipsweep", "nmap", "portsweep", "satan"], "probe"),
    **dict.fromkeys(
        [
            "ftp_write",
            "guess_passwd",
            "imap",
            "multihop",
            "phf",
            "spy",
            "warezclient",
            "warezmaster",
        ],
        "r2l",
    ),
    **dict.fromkeys(["buffer_overflow", "loadmodule", "perl", "rootkit"], "u2r"),
}
KEPT = ("normal", "dos", "probe")


@fill_doc
def load_kddcup99(
    path=None,
    *,
    data_home=None,
    download_if_missing=True,
    return_X_y=False,
    as_frame=False,
):
    """Load the KDD Cup 1999 network intrusion data (the paper's NI).

    The 10% training subset of the KDD Cup 1999 data (494,021 connections,
    41 features), prepared like Xu & Klabjan (Table 1): only the connections
    labelled normal, DoS (back, land, neptune, pod, smurf, teardrop) or Probe
    (ipsweep, nmap, portsweep, satan) are kept, and the three categorical
    features ``protocol_type``, ``service`` and ``flag`` are one-hot encoded.
    The R2L and U2R connections (1,178 rows, 0.24%) are dropped.

    =================   ================================
    Classes                                            3
    Samples total                                492,843
    Samples per class   dos 391,458, normal 97,278,
                        probe 4,107
    Dimensionality      118 (38 numeric, 80 one-hot)
    Features            float
    =================   ================================

    The file ``kddcup.data_10_percent.gz`` (2.1 MB) does not ship with seqknn.
    It is read from ``path`` when given, else from the data folder of
    :func:`get_data_home`, where it is downloaded from the UCI KDD archive
    the first time. The file of the data folder (downloaded or not) must
    have the sha256 of that file, and a download that does not is not kept.

    Parameters
    ----------
    path : str or path-like, default=None
        A file in the format of ``kddcup.data_10_percent``: 42 comma-separated
        fields per line (41 features and the label, with or without its
        trailing ``.``), gzip-compressed or plain text, of at most the size
        of the full file, decompressed. None uses the data folder.
    %(data_home)s
    %(return_X_y)s

    Returns
    -------
    data : Bunch
        ``data`` (n_samples, n_features) float64 array or DataFrame,
        ``target`` (n_samples,) array of the strings ``"normal"``, ``"dos"``
        and ``"probe"`` (or a Series), ``feature_names`` (the numeric
        features by their names in ``kddcup.names``, the one-hot columns as
        ``"service=http"`` and the like, in the place of the categorical
        feature), ``target_names`` (the sorted classes, as in a classifier's
        ``classes_``), ``frame`` (the DataFrame with a ``"target"`` column,
        when ``as_frame=True``) and ``DESCR``.
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
        or a file is not ASCII text, is larger than the full file, or has a
        line that does not have 42 fields, has a numeric feature that is not
        a finite number or has an unknown label (the error names the line).

    Notes
    -----
    The categories of the one-hot columns are those that occur in the kept
    rows (in the real file: 3 protocols, 66 services and 11 flags, the same
    as in all rows), sorted. Loading the real file takes a second or two.

    Examples
    --------
    With network access, or with the file in the data folder:

    >>> from seqknn.datasets import load_kddcup99
    >>> X, y = load_kddcup99(return_X_y=True)  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (492843, 118)

    Any file in the same format can be passed as ``path``; here three
    connections, of which the R2L one (guess_passwd) is dropped:

    >>> import tempfile
    >>> from pathlib import Path
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = Path(tmp.name) / "kdd.csv"
    >>> rows = [["0", protocol, "http", "SF"] + ["0"] * 37 + [label]
    ...         for protocol, label in [("tcp", "normal."), ("icmp", "smurf."),
    ...                                 ("tcp", "guess_passwd.")]]
    >>> _ = path.write_text("".join(",".join(row) + "\\n" for row in rows))
    >>> bunch = load_kddcup99(path)
    >>> bunch.data.shape
    (2, 42)
    >>> bunch.target
    array(['normal', 'dos'], dtype='<U6')
    >>> bunch.feature_names[:4]
    ['duration', 'protocol_type=icmp', 'protocol_type=tcp', 'service=http']
    >>> tmp.cleanup()
    """
    if path is None:
        path = fetch(
            FILE_NAME,
            URL,
            SHA256,
            data_home=data_home,
            download_if_missing=download_if_missing,
            loader="load_kddcup99",
        )
    data, target, feature_names = _parse(Path(path))
    return dataset(
        data,
        target,
        feature_names=feature_names,
        target_names=np.array(sorted(KEPT)),
        descr="kddcup99.rst",
        loader="load_kddcup99",
        return_X_y=return_X_y,
        as_frame=as_frame,
    )


def _parse(path):
    """Features, targets and feature names of the kept rows of a KDD file."""
    csv = CsvFormat(
        "kddcup.data_10_percent", len(COLUMNS) + 1, "41 features and the label", SIZE
    )
    raw = csv.read(path)
    # numpy's C parser, twice: about 5 times faster than splitting the lines
    # in Python.
    strings = csv.columns(raw, path, [*CATEGORICAL, len(COLUMNS)], kind="str")
    raw_labels, label_codes = np.unique(
        np.char.rstrip(strings[:, -1], ". "), return_inverse=True
    )
    unknown = [str(label) for label in raw_labels if label not in CATEGORIES]
    if unknown:
        raise ValueError(
            f"{path} has labels that are not KDD Cup 1999 attack types: {unknown}."
        )
    categories = np.array([CATEGORIES[label] for label in raw_labels], dtype=str)
    target = categories[label_codes.ravel()]
    keep = np.isin(target, KEPT)
    target = target[keep]
    numeric = csv.columns(raw, path, NUMERIC)[keep]

    # The one-hot columns take the place of their categorical feature.
    one_hot, feature_names = {}, []
    for i, name in enumerate(COLUMNS):
        if i in CATEGORICAL:
            values, codes = np.unique(
                strings[keep, CATEGORICAL.index(i)], return_inverse=True
            )
            one_hot[i] = (len(feature_names), codes.ravel())
            feature_names.extend(f"{name}={value}" for value in values)
        else:
            feature_names.append(name)
    data = np.zeros((len(target), len(feature_names)), dtype=np.float64)
    rows = np.arange(len(target))
    for offset, codes in one_hot.values():
        data[rows, offset + codes] = 1.0
    # The numeric features, copied a run of adjacent columns at a time.
    numeric_names = [COLUMNS[i] for i in NUMERIC]
    start = 0
    while start < len(NUMERIC):
        stop = start + 1
        while stop < len(NUMERIC) and NUMERIC[stop] == NUMERIC[stop - 1] + 1:
            stop += 1
        offset = feature_names.index(numeric_names[start])
        data[:, offset : offset + stop - start] = numeric[:, start:stop]
        start = stop
    return data, target, feature_names
