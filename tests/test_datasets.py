"""The data set loaders: the shipped credit data and the KDD Cup 1999 file."""

import gzip
import hashlib
import io
import sys
import urllib.error

import numpy as np
import pytest

from seqknn.datasets import _kddcup, get_data_home, load_credit_default, load_kddcup99


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


def write_kdd(path, lines=TINY, compress=True):
    text = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(text) if compress else text)
    return path


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


@pytest.fixture
def no_network(monkeypatch):
    """urlopen of the loader fails like it does offline; records the calls."""
    calls = []

    def offline(url, *args, **kwargs):
        calls.append(url)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(_kddcup, "urlopen", offline)
    return calls


def test_kddcup99_found_in_data_home(tmp_path, monkeypatch, no_network):
    write_kdd(tmp_path / KDD_FILE)
    monkeypatch.setenv("SEQKNN_DATA", str(tmp_path))
    assert len(load_kddcup99().target) == 4
    assert len(load_kddcup99(download_if_missing=False).target) == 4
    other = tmp_path / "other"
    other.mkdir()
    write_kdd(other / KDD_FILE, TINY[:2])
    assert len(load_kddcup99(data_home=other).target) == 2
    assert no_network == []


def test_kddcup99_missing_without_download(tmp_path, no_network):
    with pytest.raises(FileNotFoundError) as error:
        load_kddcup99(data_home=tmp_path, download_if_missing=False)
    assert KDD_FILE in str(error.value) and str(tmp_path) in str(error.value)
    assert no_network == []


def test_kddcup99_offline(tmp_path, no_network):
    with pytest.raises(OSError, match="Could not download") as error:
        load_kddcup99(data_home=tmp_path)
    assert KDD_FILE in str(error.value) and str(tmp_path) in str(error.value)
    assert isinstance(error.value.__cause__, urllib.error.URLError)
    assert no_network == [_kddcup.URL]
    assert list(tmp_path.iterdir()) == []  # no partial file left


def serve(monkeypatch, content):
    """urlopen of the loader answers ``content``, without network."""
    monkeypatch.setattr(_kddcup, "urlopen", lambda url, timeout: io.BytesIO(content))


def test_kddcup99_checksum_mismatch(tmp_path, monkeypatch):
    serve(monkeypatch, b"<html>not the data</html>")
    with pytest.raises(OSError, match="sha256"):
        load_kddcup99(data_home=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_kddcup99_download(tmp_path, monkeypatch):
    content = write_kdd(tmp_path / "served.gz").read_bytes()
    serve(monkeypatch, content)
    monkeypatch.setattr(_kddcup, "SHA256", hashlib.sha256(content).hexdigest())
    home = tmp_path / "home"
    assert len(load_kddcup99(data_home=home).target) == 4
    assert [p.name for p in home.iterdir()] == [KDD_FILE]
    assert (home / KDD_FILE).read_bytes() == content
