"""The data set loaders: the shipped credit data, KDD Cup 1999, Covertype, SensIT."""

import bz2
import gzip
import hashlib
import io
import sys
import urllib.error

import numpy as np
import pytest

from seqknn.datasets import (
    _covtype,
    _home,
    _kddcup,
    _sensit,
    get_data_home,
    load_covtype,
    load_credit_default,
    load_kddcup99,
    load_sensit,
)


def test_credit_default_matches_the_shared_copy(shared_datasets):
    bunch = load_credit_default()
    raw = np.loadtxt(
        gzip.open(shared_datasets / "UCI_Credit_Card.csv.gz", "rt"),
        delimiter=",",
        skiprows=1,
    )
    np.testing.assert_array_equal(bunch.data, raw[:, 1:-1])
    np.testing.assert_array_equal(bunch.target, raw[:, -1])


def test_credit_default_shape_and_metadata():
    bunch = load_credit_default()
    assert bunch.data.shape == (30000, 23)
    assert bunch.target.dtype == np.int64
    assert set(np.unique(bunch.target)) == {0, 1}
    assert bunch.target.sum() == 6636
    assert bunch.feature_names[0] == "LIMIT_BAL" and "ID" not in bunch.feature_names
    assert "Yeh" in bunch.DESCR and "CC BY 4.0" in bunch.DESCR


def test_credit_default_as_frame():
    pytest.importorskip("pandas")
    bunch = load_credit_default(as_frame=True)
    assert bunch.frame.shape == (30000, 24)
    X, y = load_credit_default(return_X_y=True, as_frame=True)
    assert list(X.columns) == bunch.feature_names
    assert y.name == "default.payment.next.month"


# KDD Cup 1999 ---------------------------------------------------------------

KDD_FILE = "kddcup.data_10_percent.gz"


def kdd_line(protocol="tcp", service="http", flag="SF", label="normal.", src=0):
    """One line in the KDD Cup 1999 format: 41 features and the label."""
    fields = ["0", protocol, service, flag, str(src)] + ["0"] * 36 + [label]
    return ",".join(fields)


TINY = [
    kdd_line(label="normal.", src=215),
    kdd_line("icmp", "ecr_i", label="smurf.", src=1032),
    kdd_line("tcp", "private", "S0", label="neptune."),
    kdd_line("tcp", "ftp", label="guess_passwd."),  # R2L: dropped
    kdd_line("udp", "telnet", label="rootkit."),  # U2R: dropped
    kdd_line("tcp", "private", "REJ", label="portsweep", src=7),  # no trailing dot
]


def write_lines(path, lines, compress=True):
    """A data file of ``lines``, gzip-compressed or plain."""
    text = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(text) if compress else text)
    return path


def write_kdd(path, lines=TINY, compress=True):
    return write_lines(path, lines, compress)


def test_kddcup_truncated_gzip_is_a_clear_error(tmp_path):
    truncated = write_kdd(tmp_path / "t.gz").read_bytes()[:-9]
    (tmp_path / "t.gz").write_bytes(truncated)
    with pytest.raises(ValueError, match="t.gz is not a complete gzip file"):
        load_kddcup99(tmp_path / "t.gz")


@pytest.fixture(scope="module")
def kdd_bunch(shared_datasets):
    """The real file, loaded once for the module (a few seconds)."""
    return load_kddcup99(shared_datasets / KDD_FILE)


def one_hot_groups(feature_names):
    groups = {}
    for j, name in enumerate(feature_names):
        if "=" in name:
            groups.setdefault(name.split("=")[0], []).append(j)
    return groups


def test_kddcup99_real_file(kdd_bunch):
    X, y = kdd_bunch.data, kdd_bunch.target
    assert X.shape == (492_843, 118) and X.dtype == np.float64
    assert not np.isnan(X).any()
    classes, counts = np.unique(y, return_counts=True)
    assert dict(zip(classes.tolist(), counts.tolist(), strict=True)) == {
        "dos": 391_458,
        "normal": 97_278,
        "probe": 4_107,
    }
    assert kdd_bunch.target_names.tolist() == ["dos", "normal", "probe"]
    names = kdd_bunch.feature_names
    assert len(names) == len(set(names)) == 118
    assert names[0] == "duration" and "service=http" in names
    groups = one_hot_groups(names)
    assert {k: len(v) for k, v in groups.items()} == {
        "protocol_type": 3,
        "service": 66,
        "flag": 11,
    }
    for columns in groups.values():
        block = X[:, columns]
        assert ((block == 0) | (block == 1)).all()
        assert (block.sum(axis=1) == 1).all() and block.any(axis=0).all()
    # The first line of the file: 0,tcp,http,SF,181,5450,...,normal.
    row = dict(zip(names, X[0], strict=True))
    assert row["protocol_type=tcp"] == row["service=http"] == row["flag=SF"] == 1
    assert (row["src_bytes"], row["dst_bytes"], row["count"]) == (181, 5450, 8)
    assert y[0] == "normal"
    assert "Stolfo" in kdd_bunch.DESCR and "CC BY 4.0" in kdd_bunch.DESCR


def test_kddcup99_real_file_forms(kdd_bunch, shared_datasets, monkeypatch):
    pd = pytest.importorskip("pandas")
    # The parsed arrays of the module's load, so that the file is parsed once.
    parsed = (kdd_bunch.data, kdd_bunch.target, kdd_bunch.feature_names)
    monkeypatch.setattr(_kddcup, "_parse", lambda path: parsed)
    path = shared_datasets / KDD_FILE
    X, y = load_kddcup99(path, return_X_y=True)
    assert X is kdd_bunch.data and y is kdd_bunch.target
    frame_bunch = load_kddcup99(path, as_frame=True)
    assert isinstance(frame_bunch.frame, pd.DataFrame)
    assert frame_bunch.frame.shape == (492_843, 119)
    assert list(frame_bunch.data.columns) == kdd_bunch.feature_names
    assert frame_bunch.target.name == "target"
    assert frame_bunch.target.value_counts()["probe"] == 4_107
    X, y = load_kddcup99(path, return_X_y=True, as_frame=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    # (np.array_equal: assert_array_equal takes seconds on 58 million values)
    assert np.array_equal(X.to_numpy(), kdd_bunch.data)


@pytest.mark.parametrize("compress", [True, False])
def test_kddcup99_tiny_file(tmp_path, compress):
    path = write_kdd(tmp_path / "tiny.data", compress=compress)
    bunch = load_kddcup99(path)
    assert bunch.target.tolist() == ["normal", "dos", "dos", "probe"]
    # Categories of the kept rows only: no column for ftp/telnet or udp.
    assert bunch.feature_names[:10] == [
        "duration",
        "protocol_type=icmp",
        "protocol_type=tcp",
        "service=ecr_i",
        "service=http",
        "service=private",
        "flag=REJ",
        "flag=S0",
        "flag=SF",
        "src_bytes",
    ]
    assert bunch.data.shape == (4, 9 + 37)
    np.testing.assert_array_equal(bunch.data[:, 9], [215, 1032, 0, 7])
    np.testing.assert_array_equal(
        bunch.data[:, 1:9],
        [
            [0, 1, 0, 1, 0, 0, 0, 1],
            [1, 0, 1, 0, 0, 0, 0, 1],
            [0, 1, 0, 0, 1, 0, 1, 0],
            [0, 1, 0, 0, 1, 1, 0, 0],
        ],
    )
    X, y = load_kddcup99(str(path), return_X_y=True)
    np.testing.assert_array_equal(X, bunch.data)


def test_kddcup99_rejects_other_files(tmp_path):
    with pytest.raises(ValueError, match="unknown_attack"):
        load_kddcup99(write_kdd(tmp_path / "a.gz", [kdd_line(label="unknown_attack.")]))
    with pytest.raises(ValueError, match="41 features and the label"):
        load_kddcup99(write_kdd(tmp_path / "b.gz", ["1,2,3"]))


def test_kddcup99_as_frame_needs_pandas(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        load_kddcup99(write_kdd(tmp_path / "tiny.gz"), as_frame=True)


def test_get_data_home(tmp_path, monkeypatch):
    explicit = tmp_path / "explicit" / "folder"
    assert get_data_home(explicit) == str(explicit) and explicit.is_dir()
    monkeypatch.setenv("SEQKNN_DATA", str(tmp_path / "from_env"))
    assert get_data_home() == str(tmp_path / "from_env")
    assert (tmp_path / "from_env").is_dir()
    monkeypatch.delenv("SEQKNN_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert get_data_home() == str(tmp_path / "home" / "seqknn_data")


def serve_urls(monkeypatch, contents):
    """Downloads of ``url`` answer ``contents[url]``; records the URLs asked for."""
    calls = []

    def urlopen(url, timeout):
        calls.append(url)
        return io.BytesIO(contents[url])

    monkeypatch.setattr(_home, "urlopen", urlopen)
    return calls


def pin_sha256(monkeypatch, module, path):
    """The file ``path`` is the one whose sha256 ``module`` expects."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setattr(module, "SHA256", digest)


def test_kddcup99_found_in_data_home(tmp_path, monkeypatch, offline):
    # A file of the data folder must have the sha256 of the real file.
    pin_sha256(monkeypatch, _kddcup, write_kdd(tmp_path / KDD_FILE))
    monkeypatch.setenv("SEQKNN_DATA", str(tmp_path))
    assert len(load_kddcup99().target) == 4
    assert len(load_kddcup99(download_if_missing=False).target) == 4
    other = tmp_path / "other"
    other.mkdir()
    pin_sha256(monkeypatch, _kddcup, write_kdd(other / KDD_FILE, TINY[:2]))
    assert len(load_kddcup99(data_home=other).target) == 2
    assert offline == []


def test_kddcup99_missing_without_download(tmp_path, offline):
    with pytest.raises(FileNotFoundError) as error:
        load_kddcup99(data_home=tmp_path, download_if_missing=False)
    assert KDD_FILE in str(error.value) and str(tmp_path) in str(error.value)
    assert offline == []


def test_kddcup99_offline(tmp_path, offline):
    with pytest.raises(OSError, match="Could not download") as error:
        load_kddcup99(data_home=tmp_path)
    assert KDD_FILE in str(error.value) and str(tmp_path) in str(error.value)
    assert isinstance(error.value.__cause__, urllib.error.URLError)
    assert offline == [_kddcup.URL]
    assert list(tmp_path.iterdir()) == []  # no partial file left


def test_kddcup99_checksum_mismatch(tmp_path, monkeypatch):
    serve_urls(monkeypatch, {_kddcup.URL: b"<html>not the data</html>"})
    with pytest.raises(OSError, match="sha256"):
        load_kddcup99(data_home=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_kddcup99_download(tmp_path, monkeypatch):
    content = write_kdd(tmp_path / "served.gz").read_bytes()
    serve_urls(monkeypatch, {_kddcup.URL: content})
    monkeypatch.setattr(_kddcup, "SHA256", hashlib.sha256(content).hexdigest())
    home = tmp_path / "home"
    assert len(load_kddcup99(data_home=home).target) == 4
    assert [p.name for p in home.iterdir()] == [KDD_FILE]
    assert (home / KDD_FILE).read_bytes() == content


# Forest Covertype -------------------------------------------------------------

COV_FILE = "covtype_first100k.data.gz"


def cov_line(label, elevation=2596, wilderness=0, soil=28):
    """One line in the covtype.data format: 54 features and the class."""
    fields = [elevation, 51, 3, 258, 0, 510, 221, 232, 148, 6279]
    fields += [int(i == wilderness) for i in range(4)]
    fields += [int(i == soil) for i in range(40)]
    return ",".join(map(str, [*fields, label]))


COV_TINY = [
    cov_line(2, 2804),
    cov_line(5),  # dropped
    cov_line(1, 3000, wilderness=2, soil=0),
    cov_line(7),  # dropped
    cov_line(3, 2100, wilderness=3, soil=39),
]


def write_cov(path, lines=COV_TINY, compress=True):
    return write_lines(path, lines, compress)


@pytest.fixture(scope="module")
def cov_bunch(shared_datasets):
    """The shared first 100,000 rows, loaded once for the module."""
    return load_covtype(shared_datasets / COV_FILE)


def test_covtype_shared_first_rows(cov_bunch):
    X, y = cov_bunch.data, cov_bunch.target
    assert X.shape == (90_937, 54) and X.dtype == np.float64
    assert y.dtype == np.int64
    classes, counts = np.unique(y, return_counts=True)
    assert dict(zip(classes.tolist(), counts.tolist(), strict=True)) == {
        1: 22_026,
        2: 66_751,
        3: 2_160,
    }
    assert cov_bunch.target_names.tolist() == [1, 2, 3]
    names = cov_bunch.feature_names
    assert len(names) == len(set(names)) == 54
    assert names[:3] == ["Elevation", "Aspect", "Slope"]
    assert names[9:11] == ["Horizontal_Distance_To_Fire_Points", "Wilderness_Area_0"]
    assert names[13:15] == ["Wilderness_Area_3", "Soil_Type_0"]
    assert names[-1] == "Soil_Type_39"
    # One wilderness area and one soil type per row.
    assert (X[:, 10:14].sum(axis=1) == 1).all() and (X[:, 14:].sum(axis=1) == 1).all()
    # Line 3 of the file (lines 1 and 2 are class 5) and its last line.
    np.testing.assert_array_equal(
        X[0, :10], [2804, 139, 9, 268, 65, 3180, 234, 238, 135, 6121]
    )
    assert X[0, names.index("Wilderness_Area_0")] == 1
    assert X[0, names.index("Soil_Type_11")] == 1 and y[0] == 2
    np.testing.assert_array_equal(
        X[-1, :10], [3073, 50, 12, 283, 52, 3913, 225, 214, 121, 4187]
    )
    assert y[-1] == 1
    assert "Blackard" in cov_bunch.DESCR and "CC BY 4.0" in cov_bunch.DESCR
    assert "not comparable" in " ".join(load_covtype.__doc__.split())


def test_covtype_shared_first_rows_forms(cov_bunch, shared_datasets, monkeypatch):
    pd = pytest.importorskip("pandas")
    # The parsed arrays of the module's load, so that the file is parsed once.
    parsed = (cov_bunch.data, cov_bunch.target)
    monkeypatch.setattr(_covtype, "_parse", lambda path, n_rows=None: parsed)
    path = shared_datasets / COV_FILE
    X, y = load_covtype(path, return_X_y=True)
    assert X is cov_bunch.data and y is cov_bunch.target
    frame_bunch = load_covtype(path, as_frame=True)
    assert isinstance(frame_bunch.frame, pd.DataFrame)
    assert frame_bunch.frame.shape == (90_937, 55)
    assert list(frame_bunch.data.columns) == cov_bunch.feature_names
    assert frame_bunch.target.name == "Cover_Type"
    assert frame_bunch.target.value_counts()[3] == 2_160
    X, y = load_covtype(path, return_X_y=True, as_frame=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert np.array_equal(X.to_numpy(), cov_bunch.data)


@pytest.mark.parametrize("compress", [True, False])
def test_covtype_tiny_file(tmp_path, compress):
    path = write_cov(tmp_path / "tiny.data", compress=compress)
    bunch = load_covtype(path)
    assert bunch.data.shape == (3, 54) and bunch.data.dtype == np.float64
    assert bunch.target.tolist() == [2, 1, 3] and bunch.target.dtype == np.int64
    np.testing.assert_array_equal(bunch.data[:, 0], [2804, 3000, 2100])
    np.testing.assert_array_equal(
        bunch.data[:, 10:14], [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    )
    np.testing.assert_array_equal(
        np.flatnonzero(bunch.data[:, 14:].sum(0)), [0, 28, 39]
    )
    X, y = load_covtype(str(path), return_X_y=True)
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)


def test_covtype_rejects_other_files(tmp_path):
    with pytest.raises(ValueError, match=r"not Covertype classes .*\[0, 8\]"):
        load_covtype(write_cov(tmp_path / "a.gz", [cov_line(8), cov_line(0)]))
    with pytest.raises(ValueError, match="54 features and the class"):
        load_covtype(write_cov(tmp_path / "b.gz", ["1,2,3"]))
    with pytest.raises(ValueError, match="no data"):
        load_covtype(write_cov(tmp_path / "c.gz", []))
    truncated = write_cov(tmp_path / "d.gz").read_bytes()[:-9]
    (tmp_path / "d.gz").write_bytes(truncated)
    with pytest.raises(ValueError, match="d.gz is not a complete gzip file"):
        load_covtype(tmp_path / "d.gz")
    with pytest.raises(FileNotFoundError):
        load_covtype(tmp_path / "missing.data.gz")


def test_covtype_as_frame_needs_pandas(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        load_covtype(write_cov(tmp_path / "tiny.gz"), as_frame=True)


def test_covtype_found_in_data_home(tmp_path, monkeypatch, offline):
    # A file of the data folder must have the sha256 of the full data.
    pin_sha256(monkeypatch, _covtype, write_cov(tmp_path / _covtype.FILE_NAME))
    monkeypatch.setenv("SEQKNN_DATA", str(tmp_path))
    assert load_covtype().target.tolist() == [2, 1, 3]
    assert len(load_covtype(download_if_missing=False).target) == 3
    other = tmp_path / "other"
    other.mkdir()
    path = write_cov(other / _covtype.FILE_NAME, COV_TINY[1:] + [cov_line(1)])
    pin_sha256(monkeypatch, _covtype, path)
    assert load_covtype(data_home=other).target.tolist() == [1, 3, 1]
    assert offline == []


def test_covtype_data_home_file_must_be_full(tmp_path, offline):
    path = write_cov(tmp_path / _covtype.FILE_NAME)
    with pytest.raises(ValueError, match="sha256") as error:
        load_covtype(data_home=tmp_path)
    assert str(path) in str(error.value) and "Delete it" in str(error.value)
    assert offline == []


def test_covtype_missing_without_download(tmp_path, offline):
    with pytest.raises(FileNotFoundError) as error:
        load_covtype(data_home=tmp_path, download_if_missing=False)
    message = str(error.value)
    assert _covtype.FILE_NAME in message and str(tmp_path) in message
    assert _covtype.URL in message
    assert offline == []


def test_covtype_offline(tmp_path, offline):
    with pytest.raises(OSError, match="Could not download") as error:
        load_covtype(data_home=tmp_path)
    assert _covtype.FILE_NAME in str(error.value) and str(tmp_path) in str(error.value)
    assert isinstance(error.value.__cause__, urllib.error.URLError)
    assert offline == [_covtype.URL]
    assert list(tmp_path.iterdir()) == []  # no partial file left


def test_covtype_download(tmp_path, monkeypatch):
    content = write_cov(tmp_path / "served.gz").read_bytes()
    calls = serve_urls(monkeypatch, {_covtype.URL: content})
    monkeypatch.setattr(_covtype, "SHA256", hashlib.sha256(content).hexdigest())
    home = tmp_path / "home"
    assert load_covtype(data_home=home).target.tolist() == [2, 1, 3]
    assert [p.name for p in home.iterdir()] == [_covtype.FILE_NAME]
    assert (home / _covtype.FILE_NAME).read_bytes() == content
    assert calls == [_covtype.URL]


@pytest.mark.parametrize(
    "content",
    [
        b"<html>not the data</html>",
        # mtime=0: a timestamp in the header would give each pytest-xdist
        # worker its own test id.
        gzip.compress(b"1,2,3\n", mtime=0),
        gzip.compress(b"1,2,3\n", mtime=0)[:-9],  # truncated
        None,
    ],
)
def test_covtype_download_not_the_data(tmp_path, monkeypatch, content):
    # None: a well-formed file with fewer rows than the full data.
    if content is None:
        content = write_cov(tmp_path / "served.gz").read_bytes()
    serve_urls(monkeypatch, {_covtype.URL: content})
    home = tmp_path / "home"
    with pytest.raises(OSError, match="not the expected data") as error:
        load_covtype(data_home=home)
    assert isinstance(error.value.__cause__, ValueError)
    assert str(home) in str(error.value)
    assert list(home.iterdir()) == []


# SensIT Vehicle (combined) ------------------------------------------------------

SENSIT_TRAIN = "1 1:0.5 100:2\n3 2:-1.25 3:4e-1\n"
SENSIT_TEST = "2 50:7\n"


def write_svm(path, text, compress=None):
    """A LIBSVM file, bzip2- or gzip-compressed or plain."""
    data = text.encode()
    data = {"bz2": bz2.compress, "gzip": gzip.compress, None: bytes}[compress](data)
    path.write_bytes(data)
    return path


def write_sensit(folder, scaled=False, compress="bz2", texts=None):
    """The pair of files of load_sensit in ``folder``, under their names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = _sensit.FILE_NAMES[scaled]
    texts = texts or (SENSIT_TRAIN, SENSIT_TEST)
    return [
        write_svm(folder / name, text, compress)
        for name, text in zip(names, texts, strict=True)
    ]


def check_tiny_sensit(X, y):
    assert isinstance(X, np.ndarray) and X.shape == (3, 100)
    assert X.dtype == np.float64
    assert y.tolist() == [1, 3, 2] and y.dtype == np.int64
    expected = np.zeros((3, 100))
    expected[0, [0, 99]] = 0.5, 2
    expected[1, [1, 2]] = -1.25, 0.4
    expected[2, 49] = 7
    np.testing.assert_array_equal(X, expected)


@pytest.mark.parametrize("compress", ["bz2", "gzip", None])
def test_sensit_folder(tmp_path, compress):
    write_sensit(tmp_path, compress=compress)
    bunch = load_sensit(tmp_path)
    check_tiny_sensit(bunch.data, bunch.target)
    assert bunch.feature_names[:2] == ["feature_1", "feature_2"]
    assert len(bunch.feature_names) == 100 and bunch.feature_names[-1] == "feature_100"
    assert bunch.target_names.tolist() == [1, 2, 3] and bunch.frame is None
    assert "Duarte" in bunch.DESCR and "LIBSVM" in bunch.DESCR
    check_tiny_sensit(*load_sensit(str(tmp_path), return_X_y=True))


def test_sensit_pair_of_files(tmp_path):
    # Compression is recognised by content: a bz2 file with any name.
    train = write_svm(tmp_path / "train", SENSIT_TRAIN, "bz2")
    test = write_svm(tmp_path / "test.txt", SENSIT_TEST)
    check_tiny_sensit(*load_sensit((train, test), return_X_y=True))
    check_tiny_sensit(*load_sensit([str(train), str(test)], return_X_y=True))
    # The order of the pair is the order of the rows.
    X, y = load_sensit((test, train), return_X_y=True)
    assert y.tolist() == [2, 1, 3] and X[0, 49] == 7


def test_sensit_scaled(tmp_path):
    write_sensit(tmp_path, scaled=True, texts=(SENSIT_TEST, SENSIT_TRAIN))
    assert load_sensit(tmp_path, scaled=True).target.tolist() == [2, 1, 3]
    with pytest.raises(FileNotFoundError) as error:
        load_sensit(tmp_path)
    message = str(error.value)
    assert "combined.bz2 and combined.t.bz2 are not" in message
    assert str(tmp_path) in message


def test_sensit_rejects_other_files(tmp_path):
    def pair(train, test=SENSIT_TEST):
        return (
            write_svm(tmp_path / "train.txt", train),
            write_svm(tmp_path / "test.txt", test),
        )

    with pytest.raises(ValueError, match=r"not SensIT Vehicle classes .*\[0, 4\]"):
        load_sensit(pair("4 1:1\n0 2:1\n"))
    with pytest.raises(ValueError, match="train.txt is not a SensIT Vehicle file"):
        load_sensit(pair("1 101:1\n"))
    with pytest.raises(ValueError, match="test.txt is not a SensIT Vehicle file"):
        load_sensit(pair(SENSIT_TRAIN, "1 0:1\n"))  # LIBSVM indices start at 1
    with pytest.raises(ValueError, match="not a SensIT Vehicle file"):
        load_sensit(pair("1,2,3\n"))
    for compress in ("bz2", "gzip"):
        train, test = write_sensit(tmp_path / compress, compress=compress)
        train.write_bytes(train.read_bytes()[:-9])
        with pytest.raises(ValueError, match="combined.bz2 is not a complete"):
            load_sensit((train, test))
    with pytest.raises(ValueError, match="is a file"):
        load_sensit(tmp_path / "train.txt")
    with pytest.raises(ValueError, match="got 3 files"):
        load_sensit((tmp_path / "train.txt",) * 3)
    with pytest.raises(FileNotFoundError, match="No such folder"):
        load_sensit(tmp_path / "nowhere")
    write_sensit(tmp_path / "half", texts=(SENSIT_TRAIN, SENSIT_TEST))[1].unlink()
    with pytest.raises(FileNotFoundError, match=r"^combined.t.bz2 is not in"):
        load_sensit(tmp_path / "half")


def test_sensit_as_frame(tmp_path):
    pd = pytest.importorskip("pandas")
    write_sensit(tmp_path)
    bunch = load_sensit(tmp_path, as_frame=True)
    assert isinstance(bunch.frame, pd.DataFrame) and bunch.frame.shape == (3, 101)
    assert list(bunch.data.columns) == bunch.feature_names
    assert bunch.target.name == "target" and bunch.target.tolist() == [1, 3, 2]
    X, y = load_sensit(tmp_path, return_X_y=True, as_frame=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    check_tiny_sensit(X.to_numpy(), y.to_numpy())


def test_sensit_as_frame_needs_pandas(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    write_sensit(tmp_path)
    with pytest.raises(ImportError, match="pip install pandas"):
        load_sensit(tmp_path, as_frame=True)


@pytest.mark.parametrize("scaled", [False, True])
def test_sensit_found_in_data_home(tmp_path, monkeypatch, offline, scaled):
    # The files of the data folder must have the rows of the full data.
    monkeypatch.setattr(_sensit, "N_ROWS", (2, 1))
    write_sensit(tmp_path, scaled=scaled)
    monkeypatch.setenv("SEQKNN_DATA", str(tmp_path))
    check_tiny_sensit(*load_sensit(return_X_y=True, scaled=scaled))
    bunch = load_sensit(download_if_missing=False, scaled=scaled)
    check_tiny_sensit(bunch.data, bunch.target)
    other = tmp_path / "other"
    write_sensit(other, scaled=scaled, texts=("3 1:1\n2 1:2\n", "1 1:3\n"))
    assert load_sensit(data_home=other, scaled=scaled).target.tolist() == [3, 2, 1]
    assert offline == []


def test_sensit_data_home_files_must_be_full(tmp_path, offline):
    train, _ = write_sensit(tmp_path)
    with pytest.raises(ValueError, match="78,823") as error:
        load_sensit(data_home=tmp_path)
    assert str(train) in str(error.value) and "Delete it" in str(error.value)
    assert offline == []


def test_sensit_missing_without_download(tmp_path, offline):
    with pytest.raises(FileNotFoundError) as error:
        load_sensit(data_home=tmp_path, download_if_missing=False)
    message = str(error.value)
    assert "combined.bz2 and combined.t.bz2 are not" in message
    assert str(tmp_path) in message and _sensit.BASE_URL + "combined.t.bz2" in message
    # Only the missing file is named.
    write_svm(tmp_path / "combined.bz2", SENSIT_TRAIN, "bz2")
    with pytest.raises(FileNotFoundError, match=r"^combined.t.bz2 is not in the"):
        load_sensit(data_home=tmp_path, download_if_missing=False)
    assert offline == []


def test_sensit_offline(tmp_path, offline):
    with pytest.raises(OSError, match="Could not download") as error:
        load_sensit(data_home=tmp_path, scaled=True)
    assert "combined_scale.bz2" in str(error.value)
    assert str(tmp_path) in str(error.value)
    assert isinstance(error.value.__cause__, urllib.error.URLError)
    assert offline == [_sensit.BASE_URL + "combined_scale.bz2"]
    assert list(tmp_path.iterdir()) == []  # no partial file left


@pytest.mark.parametrize("scaled", [False, True])
def test_sensit_download(tmp_path, monkeypatch, scaled):
    names = _sensit.FILE_NAMES[scaled]
    served = write_sensit(tmp_path / "served", scaled=scaled)
    contents = {
        _sensit.BASE_URL + name: path.read_bytes()
        for name, path in zip(names, served, strict=True)
    }
    calls = serve_urls(monkeypatch, contents)
    monkeypatch.setattr(_sensit, "N_ROWS", (2, 1))
    home = tmp_path / "home"
    check_tiny_sensit(*load_sensit(data_home=home, scaled=scaled, return_X_y=True))
    assert calls == list(contents)
    assert sorted(p.name for p in home.iterdir()) == sorted(names)
    for name, path in zip(names, served, strict=True):
        assert (home / name).read_bytes() == path.read_bytes()
    # Only a missing file is downloaded.
    (home / names[1]).unlink()
    check_tiny_sensit(*load_sensit(data_home=home, scaled=scaled, return_X_y=True))
    assert calls == [*contents, _sensit.BASE_URL + names[1]]


def test_sensit_download_not_the_data(tmp_path, monkeypatch):
    # Well-formed files, with fewer rows than the full data.
    served = write_sensit(tmp_path / "served")
    contents = {_sensit.BASE_URL + path.name: path.read_bytes() for path in served}
    serve_urls(monkeypatch, contents)
    home = tmp_path / "home"
    with pytest.raises(OSError, match="not the expected data") as error:
        load_sensit(data_home=home)
    assert "78,823" in str(error.value) and str(home) in str(error.value)
    assert isinstance(error.value.__cause__, ValueError)
    assert list(home.iterdir()) == []
    # Not in LIBSVM format.
    serve_urls(monkeypatch, dict.fromkeys(contents, b"<html></html>"))
    with pytest.raises(OSError, match="not the expected data"):
        load_sensit(data_home=home)
    assert list(home.iterdir()) == []


def test_credit_default_as_frame_needs_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        load_credit_default(as_frame=True)
