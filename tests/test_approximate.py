"""FaissNeighbors: the optional approximate neighbour strategy."""

import importlib.util
import pickle
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs, make_classification
from sklearn.neighbors import NearestNeighbors

import seqknn
from seqknn import FaissNeighbors, _approximate, _data
from seqknn._neighbors import _exclude_self, training_neighbors

requires_faiss = pytest.mark.skipif(
    importlib.util.find_spec("faiss") is None,
    reason="needs faiss: pip install 'seqknn[faiss]'",
)


class LazyRows:
    """On-disk-like rows: only shape, dtype, len and row reads; never read whole."""

    def __init__(self, X):
        self._X = np.asarray(X, dtype=np.float32)
        self.shape = self._X.shape
        self.dtype = self._X.dtype
        self.largest_read = 0
        self.n_reads = 0

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, rows):
        out = self._X[rows]
        assert out.ndim == 2, "only row reads are supported"
        self.n_reads += 1
        self.largest_read = max(self.largest_read, len(out))
        return out.copy()

    def __array__(self, *args, **kwargs):
        raise AssertionError("the whole lazy X was converted to an array")


def recall(found, exact):
    """Fraction of the exact neighbours of each row that were found."""
    return (found[:, :, None] == exact[:, None, :]).any(axis=2).mean()


@pytest.fixture(scope="module")
def blobs():
    # Clustered data, the case IVF is built for: 10 blobs in 20 dimensions.
    X, _ = make_blobs(5000, 20, centers=10, random_state=0)
    return X


@requires_faiss
def test_flat_equals_sklearn_exact():
    rng = np.random.RandomState(0)
    X, queries = rng.normal(size=(300, 5)), rng.normal(size=(40, 5))
    distances, indices = FaissNeighbors(index="flat").fit(X).kneighbors(queries, 7)
    expected_d, expected_i = (
        NearestNeighbors(algorithm="brute").fit(X).kneighbors(queries, 7)
    )
    assert indices.dtype == np.int64 and distances.dtype == np.float64
    np.testing.assert_array_equal(indices, expected_i)
    np.testing.assert_allclose(distances, expected_d, rtol=1e-4)
    only_indices = FaissNeighbors(index="flat").fit(X).kneighbors(queries, 7, False)
    np.testing.assert_array_equal(only_indices, expected_i)


@requires_faiss
def test_auto_is_exact_for_small_data_and_ivf_for_large(monkeypatch):
    X = np.random.RandomState(0).normal(size=(200, 3))
    search = FaissNeighbors().fit(X)
    assert (search.index_type_, search.nlist_) == ("flat", None)
    monkeypatch.setattr(_approximate, "_EXACT_BELOW", 100)
    search = FaissNeighbors(random_state=0).fit(X)
    # round(sqrt(200)) = 14 lists, capped at 200 // 39 = 5: 39 points per list.
    assert (search.index_type_, search.nlist_) == ("ivf", 5)
    assert search.index_.ntotal == search.n_samples_fit_ == 200


@requires_faiss
def test_ivf_recall_against_exact(blobs):
    exact = training_neighbors(blobs, 5)
    search = FaissNeighbors(index="ivf", random_state=0).fit(blobs)
    assert search.nlist_ == 71

    def found(nprobe):
        search.set_params(nprobe=nprobe)  # read at query time: no refit
        indices = search.kneighbors(blobs, 6, return_distance=False)
        return _exclude_self(indices)

    # Default nprobe=16 found all exact neighbours over seeds 0-4 (recall 1.000);
    # 0.99 leaves room for faiss versions whose k-means lands differently.
    assert recall(found(16), exact) >= 0.99
    # Fewer lists searched: measurably approximate (0.897 to 0.914 over seeds
    # 0-4), yet still mostly right.
    assert 0.8 <= recall(found(4), exact) < 0.97
    # Searching every list is an exact search.
    assert recall(found(search.nlist_), exact) == 1.0


@requires_faiss
def test_through_training_neighbors_never_self():
    X, _ = make_blobs(600, 4, centers=3, random_state=1)
    search = FaissNeighbors(index="ivf", nprobe=4)
    indices = training_neighbors(X, 5, search, random_state=0)
    assert indices.shape == (600, 5) and indices.dtype == np.int64
    assert not (indices == np.arange(600)[:, None]).any()
    assert ((indices >= 0) & (indices < 600)).all()
    assert not hasattr(search, "index_")  # cloned, not fitted in place
    # The caller's seed makes a random_state=None strategy reproducible.
    np.testing.assert_array_equal(
        indices, training_neighbors(X, 5, search, random_state=0)
    )


@requires_faiss
@pytest.mark.parametrize("index", ["ivf", "flat"])
def test_lazy_rows_give_the_ndarray_result_without_reading_whole(index, monkeypatch):
    X, _ = make_blobs(400, 6, centers=4, random_state=2)
    X = X.astype(np.float32)
    # Blocks of 64 rows (6 features x 4 bytes), so that the data take 7 blocks.
    monkeypatch.setattr(_data, "_CHUNK_BYTES", 64 * 6 * 4)
    params = dict(index=index, nlist=4, random_state=0)
    expected = FaissNeighbors(**params).fit(X).kneighbors(X, 6)
    lazy = LazyRows(X)
    search = FaissNeighbors(**params).fit(lazy)
    got = search.kneighbors(LazyRows(X), 6)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(got[0], expected[0])
    # The IVF training sample (64 per list) is the largest read; never all rows.
    assert lazy.n_reads >= 7 and lazy.largest_read <= 256


@requires_faiss
def test_reproducible_whatever_the_number_of_threads(blobs):
    import faiss

    def fit_query(seed):
        search = FaissNeighbors(index="ivf", nprobe=4, random_state=seed)
        return search.fit(blobs).kneighbors(blobs[:1000], 6, return_distance=False)

    threads = faiss.omp_get_max_threads()
    try:
        first = fit_query(0)
        np.testing.assert_array_equal(fit_query(0), first)
        faiss.omp_set_num_threads(1)
        np.testing.assert_array_equal(fit_query(0), first)
    finally:
        faiss.omp_set_num_threads(threads)
    # The seed matters: another k-means sample, other lists.
    assert not np.array_equal(fit_query(1), first)


@requires_faiss
def test_too_few_vectors_in_probed_lists_falls_back_to_all_lists():
    X = np.random.RandomState(3).normal(size=(100, 3))
    # 10 lists of about 10 vectors, 1 probed: faiss alone returns -1 padding.
    search = FaissNeighbors(index="ivf", nlist=10, nprobe=1, random_state=0)
    distances, indices = search.fit(X).kneighbors(X, 50)
    expected_d, _ = NearestNeighbors().fit(X).kneighbors(X, 50)
    assert (indices >= 0).all()
    np.testing.assert_allclose(distances, expected_d, rtol=1e-4, atol=1e-3)


@requires_faiss
def test_clone_and_pickle():
    X = np.random.RandomState(4).normal(size=(300, 4))
    search = FaissNeighbors(index="ivf", nlist=8, nprobe=2, random_state=5)
    assert clone(search).get_params() == search.get_params()
    search.fit(X)
    assert not hasattr(clone(search), "index_")
    restored = pickle.loads(pickle.dumps(search))
    assert restored.index_.ntotal == 300 and restored.nlist_ == 8
    np.testing.assert_array_equal(
        restored.kneighbors(X, 5)[1], search.kneighbors(X, 5)[1]
    )
    # The unfitted estimator pickles too.
    assert pickle.loads(pickle.dumps(FaissNeighbors())).get_params()["nprobe"] == 16


@requires_faiss
@pytest.mark.parametrize(
    "params", [{"index": "hnsw"}, {"nlist": 0}, {"nprobe": 0}, {"nlist": 2.5}]
)
def test_invalid_params(params):
    X = np.zeros((20, 2))
    with pytest.raises(ValueError, match="parameter of FaissNeighbors"):
        FaissNeighbors(**params).fit(X)


@requires_faiss
def test_clear_errors():
    X = np.random.RandomState(6).normal(size=(30, 3))
    with pytest.raises(ValueError, match="nlist=40 IVF lists need at least"):
        FaissNeighbors(index="ivf", nlist=40).fit(X)
    search = FaissNeighbors().fit(X)
    with pytest.raises(ValueError, match="n_neighbors=31 exceeds the 30 fitted"):
        search.kneighbors(X, 31)
    with pytest.raises(ValueError, match="positive integer"):
        search.kneighbors(X, 0)
    with pytest.raises(ValueError, match="X has 4 features, but .* fitted with 3"):
        search.kneighbors(np.zeros((2, 4)), 1)
    with pytest.raises(ValueError, match="2-D"):
        search.kneighbors(LazyRows(np.zeros(3)), 1)


@requires_faiss
def test_nan_rejected_in_ndarray_and_lazy_input():
    X = np.random.RandomState(7).normal(size=(30, 3))
    X[12, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FaissNeighbors().fit(X)
    with pytest.raises(ValueError, match="Rows 0 to 29 of X contain NaN"):
        FaissNeighbors().fit(LazyRows(X))
    with pytest.raises(ValueError, match="NaN"):
        FaissNeighbors(index="ivf", nlist=2).fit(LazyRows(X))


def test_missing_faiss_names_the_extra(monkeypatch):
    # None in sys.modules makes "import faiss" raise ImportError.
    monkeypatch.setitem(sys.modules, "faiss", None)
    search = FaissNeighbors()  # constructing needs no faiss
    with pytest.raises(ImportError, match=r"pip install 'seqknn\[faiss\]'"):
        search.fit(np.zeros((5, 2)))


@requires_faiss
def test_classifier_fits_with_faiss_neighbors():
    X, y = make_classification(300, 6, random_state=0)
    search = FaissNeighbors(index="ivf", nprobe=4)
    clf = seqknn.V2VSLSClassifier(neighbors=search, max_epochs=2, random_state=0)
    clf.fit(X, y)
    assert clf.predict(X).shape == (300,)
    assert set(np.unique(clf.predict(X))) <= {0, 1}
    assert not hasattr(search, "index_")
