"""Faults of the data loaders: checksums, strict parsing, bounded decompression."""

import bz2
import contextlib
import gzip
import hashlib
import io
import shutil
import tracemalloc

import pytest

from seqknn.datasets import (
    _covtype,
    _credit,
    _home,
    _kddcup,
    _sensit,
    load_covtype,
    load_credit_default,
    load_kddcup99,
    load_sensit,
)
from seqknn.datasets._csv import read_data


def kdd_line(protocol="tcp", label="normal.", src="0"):
    """One line in the KDD Cup 1999 format: 41 features and the label."""
    return ",".join(["0", protocol, "http", "SF", src] + ["0"] * 36 + [label])


def cov_line(label=2, elevation="2596"):
    """One line in the covtype.data format: 54 features and the class."""
    fields = [elevation, 51, 3, 258, 0, 510, 221, 232, 148, 6279]
    fields += [1, 0, 0, 0] + [0] * 28 + [1] + [0] * 11
    return ",".join(map(str, [*fields, label]))


KDD = [kdd_line(), kdd_line("icmp", "smurf.", "1032"), kdd_line(label="satan.")]
COV = [cov_line(2), cov_line(1), cov_line(3)]


def write(path, lines, compress=True):
    """A data file of ``lines`` (str or bytes), gzip-compressed or plain."""
    data = b"".join(
        (line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines
    )
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


def serve(monkeypatch, content):
    """Every download answers ``content``."""
    monkeypatch.setattr(_home, "urlopen", lambda url, timeout: io.BytesIO(content))


# Checksums ------------------------------------------------------------------


def test_covtype_pins_the_sha256_of_scikit_learn():
    # UCI publishes none; scikit-learn's fetch_covtype pins one for its copy
    # of covtype.data.gz.
    sklearn_covtype = pytest.importorskip("sklearn.datasets._covtype")
    assert sklearn_covtype.ARCHIVE.filename == _covtype.FILE_NAME
    assert _covtype.SHA256 == sklearn_covtype.ARCHIVE.checksum


def test_covtype_forged_download_with_the_right_rows_is_not_kept(tmp_path, monkeypatch):
    # Before, a download was only checked by its number of rows.
    monkeypatch.setattr(_covtype, "N_ROWS", len(COV), raising=False)
    serve(monkeypatch, write(tmp_path / "forged.gz", COV).read_bytes())
    home = tmp_path / "home"
    with pytest.raises(OSError, match="not the expected data.*sha256"):
        load_covtype(data_home=home)
    assert list(home.iterdir()) == []


def test_covtype_forged_file_in_data_home_is_rejected(tmp_path, monkeypatch, offline):
    monkeypatch.setattr(_covtype, "N_ROWS", len(COV), raising=False)
    path = write(tmp_path / _covtype.FILE_NAME, COV)
    with pytest.raises(ValueError, match="sha256") as error:
        load_covtype(data_home=tmp_path)
    message = str(error.value)
    assert str(path) in message and _covtype.SHA256 in message
    assert "Delete it" in message and "downloads it again" in message
    assert offline == [] and path.exists()


def test_kddcup_edited_file_in_data_home_is_rejected(tmp_path, offline):
    path = write(tmp_path / _kddcup.FILE_NAME, KDD)
    with pytest.raises(ValueError, match="sha256") as error:
        load_kddcup99(data_home=tmp_path)
    message = str(error.value)
    assert str(path) in message and _kddcup.SHA256 in message
    assert "Delete it" in message and "downloads it again" in message
    assert offline == []


def test_kddcup_real_file_in_data_home_passes_the_check(
    tmp_path, shared_datasets, offline
):
    shutil.copy(shared_datasets / _kddcup.FILE_NAME, tmp_path)
    path = _home.fetch(
        _kddcup.FILE_NAME,
        _kddcup.URL,
        _kddcup.SHA256,
        data_home=tmp_path,
        download_if_missing=False,
        loader="load_kddcup99",
    )
    assert path == tmp_path / _kddcup.FILE_NAME and offline == []


def test_credit_default_pins_the_sha256_of_the_shipped_file(shared_datasets):
    shared = (shared_datasets / _credit._FILE).read_bytes()
    assert hashlib.sha256(shared).hexdigest() == _credit.SHA256
    with _credit._shipped_file() as path:
        assert path.read_bytes() == shared


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """Makes load_credit_default read a file of the test's ``lines``."""

    def ship(lines, pin=True):
        path = write(tmp_path / _credit._FILE, lines)
        monkeypatch.setattr(
            _credit,
            "_shipped_file",
            lambda: contextlib.nullcontext(path),
            raising=False,
        )
        if pin:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            monkeypatch.setattr(_credit, "SHA256", digest, raising=False)
        monkeypatch.setattr(_credit, "N_ROWS", len(lines) - 1, raising=False)
        return path

    return ship


CREDIT_HEADER = ",".join(
    ['"ID"'] + [f'"X{i}"' for i in range(1, 24)] + ['"default.payment.next.month"']
)


def credit_line(i, value="0", target="1"):
    return ",".join([str(i), "20000", value] + ["0"] * 21 + [target])


def test_credit_default_edited_shipped_file_is_rejected(shipped):
    path = shipped([CREDIT_HEADER, credit_line(1)], pin=False)
    with pytest.raises(ValueError, match="sha256") as error:
        load_credit_default()
    assert str(path) in str(error.value) and "Reinstall" in str(error.value)


def test_credit_default_reads_a_checked_file(shipped):
    shipped([CREDIT_HEADER, credit_line(1, "7"), credit_line(2, target="0")])
    bunch = load_credit_default()
    assert bunch.data.shape == (2, 23) and bunch.data[0, 1] == 7
    assert bunch.target.tolist() == [1, 0] and bunch.feature_names[0] == "X1"


# Parsing --------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
def test_covtype_line_with_extra_field(tmp_path, compress):
    path = write(tmp_path / "c.data", [COV[0], COV[1] + ",0", COV[2]], compress)
    with pytest.raises(ValueError, match="line 2 has 56 comma-separated fields"):
        load_covtype(path)


def test_covtype_line_with_missing_field_and_empty_line(tmp_path):
    path = write(tmp_path / "c.gz", [COV[0], COV[1], COV[2].rsplit(",", 1)[0]])
    with pytest.raises(ValueError, match="c.gz .*line 3 has 54 comma-separated"):
        load_covtype(path)
    path = write(tmp_path / "d.gz", [COV[0], "", COV[1]])
    with pytest.raises(ValueError, match="d.gz .*line 2 has 0 comma-separated"):
        load_covtype(path)


def test_kddcup_line_with_extra_field(tmp_path):
    # Before, the fields past the 42nd were not read and the line was kept.
    path = write(tmp_path / "k.gz", [KDD[0], KDD[1], KDD[2] + ",0"])
    with pytest.raises(ValueError) as error:
        load_kddcup99(path)
    message = str(error.value)
    assert str(path) in message and "line 3 has 43 comma-separated fields" in message
    # Lines of 43 and 41 fields: the same number of fields in all.
    path = write(tmp_path / "l.gz", [KDD[0] + ",0", KDD[1].split(",", 1)[1]])
    with pytest.raises(ValueError, match="line 1 has 43 comma-separated"):
        load_kddcup99(path)


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
def test_kddcup_nan_and_inf_are_rejected(tmp_path, text):
    path = write(tmp_path / "k.gz", [KDD[0], kdd_line(src=text), KDD[2]])
    with pytest.raises(ValueError) as error:
        load_kddcup99(path)
    assert str(path) in str(error.value)
    assert f"line 2, field 5 is {text!r}, not a finite number" in str(error.value)


@pytest.mark.parametrize("text", ["nan", "inf", "2596.5"])
def test_covtype_nan_inf_and_fractions_are_rejected(tmp_path, text):
    path = write(tmp_path / "c.gz", [COV[0], COV[1], cov_line(elevation=text)])
    with pytest.raises(ValueError) as error:
        load_covtype(path)
    assert str(path) in str(error.value)
    assert f"line 3, field 1 is {text!r}, not an integer" in str(error.value)


def test_covtype_text_is_rejected_with_its_line(tmp_path):
    path = write(tmp_path / "c.gz", [COV[0], cov_line(elevation="high")])
    with pytest.raises(ValueError, match="line 2, field 1 is 'high', not an integer"):
        load_covtype(path)


def test_credit_default_nan_and_extra_field_are_rejected(shipped):
    path = shipped([CREDIT_HEADER, credit_line(1), credit_line(2, "nan")])
    with pytest.raises(ValueError) as error:
        load_credit_default()
    assert str(path) in str(error.value)
    assert "line 3, field 3 is 'nan', not a finite number" in str(error.value)
    shipped([CREDIT_HEADER, credit_line(1) + ",0", credit_line(2)])
    with pytest.raises(ValueError, match="line 2 has 26 comma-separated fields"):
        load_credit_default()


def svm_pair(tmp_path, train):
    return (
        write(tmp_path / "train.txt", train, compress=False),
        write(tmp_path / "test.txt", ["2 50:7"], compress=False),
    )


@pytest.mark.parametrize("text", ["nan", "inf", "-Infinity", "1e999"])
def test_sensit_nan_and_inf_are_rejected(tmp_path, text):
    train, test = svm_pair(tmp_path, ["1 1:0.5", f"3 2:{text}"])
    with pytest.raises(ValueError) as error:
        load_sensit((train, test))
    assert str(train) in str(error.value)
    assert f"line 2, {text!r} is not a finite number" in str(error.value)


@pytest.mark.parametrize(
    "line, found",
    [
        ("3 qid:7 2:1", "'qid:7' is not an index:value pair"),
        ("3 2:1 extra", "'extra' is not an index:value pair"),
        ("3 2:1 4", "'4' is not an index:value pair"),
    ],
)
def test_sensit_line_with_extra_field(tmp_path, line, found):
    train, test = svm_pair(tmp_path, ["1 1:0.5", line])
    with pytest.raises(ValueError) as error:
        load_sensit((train, test))
    assert str(train) in str(error.value)
    assert f"line 2, {found}" in str(error.value)


@pytest.mark.parametrize("compress", [True, False])
def test_non_ascii_byte_is_a_value_error_naming_the_file(tmp_path, compress):
    # Before, a UnicodeDecodeError that named no file (or a float error).
    files = {
        load_covtype: [COV[0], COV[1].encode().replace(b"2596", b"25\xc3\xa9")],
        load_kddcup99: [KDD[0], KDD[1].encode().replace(b"icmp", b"\xe9cmp")],
    }
    for load, lines in files.items():
        path = write(tmp_path / f"{load.__name__}.data", lines, compress)
        with pytest.raises(ValueError) as error:
            load(path)
        assert not isinstance(error.value, UnicodeDecodeError)
        assert str(path) in str(error.value)
        assert "line 2 has a byte that is not ASCII" in str(error.value)
    train, test = svm_pair(tmp_path, ["1 1:0.5", b"3 2:1\xc3\xa9"])
    with pytest.raises(ValueError, match="line 2 has a byte that is not ASCII"):
        load_sensit((train, test))


def test_credit_default_non_ascii_byte(shipped):
    path = shipped([CREDIT_HEADER, credit_line(1, "\u00e9").encode()])
    with pytest.raises(ValueError) as error:
        load_credit_default()
    assert not isinstance(error.value, UnicodeDecodeError)
    assert str(path) in str(error.value) and "line 2 has a byte" in str(error.value)


# Decompression ----------------------------------------------------------------

BOMB_SIZE = 32 << 20  # bytes, decompressed
LIMIT = 10_000  # the size of the full data set in these tests


@pytest.fixture(scope="module")
def bombs():
    """32 MiB of zeros, gzip- (32 KB) and bzip2-compressed (46 bytes)."""
    zeros = bytes(BOMB_SIZE)
    return {"gzip": gzip.compress(zeros, mtime=0), "bzip2": bz2.compress(zeros)}


def peak_memory(function, *args):
    """The exception ``function(*args)`` raises and the peak of memory it takes."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as error:
            function(*args)
        return error.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("compression", ["gzip", "bzip2"])
@pytest.mark.parametrize(
    "module, load", [(_covtype, load_covtype), (_kddcup, load_kddcup99)]
)
def test_decompression_stops_at_the_expected_size(
    tmp_path, monkeypatch, bombs, compression, module, load
):
    monkeypatch.setattr(module, "SIZE", LIMIT, raising=False)
    path = tmp_path / "bomb"
    path.write_bytes(bombs[compression])
    error, peak = peak_memory(load, path)
    # Not decompressed past the limit (a chunk of 1 MiB is read at a time).
    assert peak < 4 << 20
    assert str(path) in str(error)
    assert "more than 10,100 bytes once decompressed" in str(error)


def test_sensit_decompression_stops_at_the_expected_size(tmp_path, monkeypatch, bombs):
    monkeypatch.setattr(_sensit, "SIZE", LIMIT, raising=False)
    train, test = svm_pair(tmp_path, ["1 1:0.5"])
    train.write_bytes(bombs["bzip2"])
    error, peak = peak_memory(load_sensit, (train, test))
    assert peak < 4 << 20
    assert "more than 10,100 bytes once decompressed" in str(error)


def test_plain_file_larger_than_the_data_is_rejected(tmp_path, monkeypatch):
    path = write(tmp_path / "c.data", COV * 100, compress=False)
    monkeypatch.setattr(_covtype, "SIZE", LIMIT, raising=False)
    with pytest.raises(ValueError, match="more than 10,100 bytes, more than"):
        load_covtype(path)


def test_size_limit_keeps_the_real_file(shared_datasets):
    # The pinned size is the real one: the full file is read, to its end.
    raw = read_data(
        shared_datasets / _kddcup.FILE_NAME, _kddcup.SIZE, "kddcup.data_10_percent"
    )
    assert len(raw) == _kddcup.SIZE
