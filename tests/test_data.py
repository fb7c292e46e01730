"""Fitting and predicting from data on disk, read in chunks."""

import os

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from seqknn import (
    MNkNNVecClassifier,
    OutOfCoreNeighbors,
    V2VSClassifier,
    V2VSLSClassifier,
    _base,
    _data,
)
from seqknn._data import (
    ScaledRows,
    distinct_rows,
    is_lazy,
    read_rows,
    streaming_scaler,
)

FAST = {"max_epochs": 3, "batch_size": 64, "random_state": 0}


class RecordingRows:
    """A 2-D on-disk-like array that records how many rows each read returns."""

    def __init__(self, array):
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.reads = []

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        block = self.array[key]
        self.reads.append(len(block))
        return block


@pytest.fixture
def data():
    X, y = make_classification(
        n_samples=400, n_features=6, n_informative=4, random_state=0
    )
    return X * 10 + 3, y


@pytest.fixture
def memmap(data, tmp_path):
    X, _ = data
    path = tmp_path / "X.dat"
    on_disk = np.memmap(path, dtype=np.float64, mode="w+", shape=X.shape)
    on_disk[:] = X
    on_disk.flush()
    return np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)


def test_is_lazy():
    assert is_lazy(RecordingRows(np.zeros((3, 2))))
    assert not is_lazy(np.zeros((3, 2)))
    assert not is_lazy(pd.Series([1.0, 2.0]))


def test_streaming_scaler_matches_standard_scaler(data, monkeypatch):
    X, _ = data
    monkeypatch.setattr(_data, "_CHUNK_BYTES", 7 * 6 * 8)  # 7 rows per chunk
    scaler = streaming_scaler(RecordingRows(X))
    reference = StandardScaler().fit(X)
    assert_allclose(scaler.mean_, reference.mean_, rtol=1e-12)
    assert_allclose(scaler.scale_, reference.scale_, rtol=1e-10)


def test_scaled_rows_reads_what_is_asked(data):
    X, _ = data
    scaler = StandardScaler().fit(X)
    rows = ScaledRows(RecordingRows(X), scaler)
    expected = scaler.transform(X).astype(np.float32)
    index = np.array([[5, 3], [5, 0]])
    assert_array_equal(rows[index], expected[index])
    assert_array_equal(rows[10:20], expected[10:20])
    view = rows.subset(np.array([9, 4, 7]))
    assert view.shape == (3, 6)
    assert_array_equal(view[[2, 0]], expected[[7, 9]])
    assert_array_equal(view[1:], expected[[4, 7]])
    # Each row once, in increasing order: [5, 3, 5, 0] reads 3 rows.
    assert rows.source.reads[0] == 3


@pytest.mark.parametrize(
    "make",
    [
        lambda: V2VSLSClassifier(neighbors=OutOfCoreNeighbors(), **FAST),
        lambda: V2VSLSClassifier(**FAST),
        lambda: MNkNNVecClassifier(memory_size=16, **FAST),
        lambda: V2VSClassifier(**FAST),
    ],
)
def test_memmap_fit_equals_in_memory_fit(make, data, memmap):
    X, y = data
    in_memory = make().fit(X, y)
    on_disk = make().fit(memmap, y)
    assert_allclose(on_disk.scaler_.mean_, in_memory.scaler_.mean_, rtol=1e-12)
    loss = in_memory.history_["loss"]
    assert on_disk.history_["loss"] == pytest.approx(loss, rel=1e-5)
    assert_allclose(on_disk.predict_proba(memmap), in_memory.predict_proba(X))
    assert_array_equal(on_disk.predict(X), in_memory.predict(memmap))
    assert set(on_disk.fit_times_) == {"neighbors", "training"}


def test_lazy_data_is_never_read_whole(data, monkeypatch):
    X, y = data
    monkeypatch.setattr(_data, "_CHUNK_BYTES", 50 * 6 * 8)  # 50 rows per chunk
    monkeypatch.setattr(_base, "_PREDICT_BATCH", {"cpu": 100, "accelerator": 100})
    source = RecordingRows(X)
    search = OutOfCoreNeighbors(n_batches=2, samples_per_batch=16, query_block_size=64)
    clf = V2VSLSClassifier(neighbors=search, **FAST).fit(source, y)
    clf.predict(source)
    # Minibatches of 64 samples read their 5 neighbours each: at most 320 rows.
    assert 0 < max(source.reads) <= 5 * 64 < len(X)


def test_memmap_rows_read_from_the_file(data, memmap, monkeypatch):
    X, y = data
    rows = np.array([0, 1, 2, 7, 8, 399])
    assert_array_equal(read_rows(memmap, rows), X[rows])
    assert_array_equal(read_rows(memmap, slice(390, 500)), X[390:])
    reads = []
    real = os.preadv
    monkeypatch.setattr(os, "preadv", lambda *args: reads.append(1) or real(*args))
    clf = V2VSLSClassifier(neighbors=OutOfCoreNeighbors(), **FAST).fit(memmap, y)
    assert reads
    assert_allclose(clf.predict_proba(memmap), clf.predict_proba(X))


def test_copy_on_write_memmap_read_through_its_mapping(data, memmap):
    X, _ = data
    cow = np.memmap(memmap.filename, dtype=np.float64, mode="c", shape=X.shape)
    cow[0, 0] = 1e6  # a change only this process sees, not in the file
    scaler = streaming_scaler(cow)
    assert scaler.mean_[0] == pytest.approx((X[:, 0].sum() - X[0, 0] + 1e6) / 400)
    # A view of a memmap is read through the mapping too.
    assert_array_equal(read_rows(memmap[10:], np.array([0, 5])), X[[10, 15]])


def test_lazy_input_errors(data, memmap, tmp_path):
    X, y = data
    bad = X.copy()
    bad[123, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        V2VSLSClassifier(**FAST).fit(RecordingRows(bad), y)
    with pytest.raises(ValueError, match="numeric dtype"):
        V2VSLSClassifier(**FAST).fit(RecordingRows(X.astype(str)), y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        V2VSLSClassifier(**FAST).fit(memmap, y[:-1])
    clf = V2VSLSClassifier(**FAST).fit(memmap, y)
    with pytest.raises(ValueError, match="X has 5 features"):
        clf.predict(RecordingRows(X[:, :5]))
    with pytest.raises(ValueError, match="NaN or infinity"):
        clf.predict(RecordingRows(bad))


def test_fit_times(data):
    X, y = data
    clf = V2VSLSClassifier(**FAST).fit(X, y)
    assert clf.fit_times_["neighbors"] > 0
    assert clf.fit_times_["training"] > clf.fit_times_["neighbors"]


def test_read_ahead_keeps_order_and_reads_at_most_one_ahead():
    consumed, read = [], []

    def items():
        for i in range(5):
            consumed.append(i)
            yield i

    def square(i):
        read.append(i)
        return i * i

    results = []
    for value in _data.read_ahead(square, items()):
        # While the caller holds result k, item k + 1 at most has been drawn.
        assert len(consumed) <= len(results) + 2
        results.append(value)
    assert results == [0, 1, 4, 9, 16]
    assert read == [0, 1, 2, 3, 4]


def test_read_ahead_raises_the_readers_error():
    def read(i):
        if i == 2:
            raise OSError("disk gone")
        return i

    with pytest.raises(OSError, match="disk gone"):
        list(_data.read_ahead(read, range(5)))


def test_distinct_rows_joins_identical_rows_only(tmp_path, monkeypatch):
    X = np.array(
        [[0, 1], [-0.0, 1], [2, 3], [0, 1], [2, 3], [5, 5], [2, 3]], dtype=np.float32
    )
    on_disk = np.lib.format.open_memmap(tmp_path / "X.npy", "w+", np.float32, X.shape)
    on_disk[:] = X
    for rows in (X, on_disk):
        # Blocks of 2 rows: copies are found across blocks; -0.0 equals 0.0.
        first, inverse = distinct_rows(rows, 2)
        assert_array_equal(first, [0, 2, 5])
        assert_array_equal(inverse, [0, 0, 1, 0, 1, 2, 1])
    # With every hash equal, rows are compared, never joined when they differ.
    monkeypatch.setattr(
        _data, "_row_hashes", lambda block: np.zeros(len(block), np.uint64)
    )
    first, inverse = distinct_rows(X, 2)
    assert_array_equal(X[first][inverse], X)
    assert_array_equal(first, np.sort(first))
    assert_array_equal(inverse[first], np.arange(len(first)))
