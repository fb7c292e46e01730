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


def duplicate_heavy(seed=0):
    """Rows of 200 distinct points with 1 to 60 copies each, shuffled.

    Like the network-intrusion data, where a few rows have thousands of copies
    and most have one. Also returns the rows of the point with 10 copies.
    """
    rng = np.random.RandomState(seed)
    points, _ = make_blobs(200, 8, centers=5, random_state=seed)
    copies = np.where(rng.rand(200) < 0.7, 1, rng.randint(2, 61, size=200))
    copies[0] = 10
    X = np.repeat(points, copies, axis=0)[rng.permutation(copies.sum())]
    X = X.astype(np.float32)
    return X, np.flatnonzero((X == X.dtype.type(points[0])).all(axis=1))


def distance_recall(X, queries, indices, k):
    """Share of returned neighbours no farther than the exact k-th neighbour."""
    exact, _ = NearestNeighbors(algorithm="brute").fit(X).kneighbors(queries, k)
    found = np.linalg.norm(X[indices] - queries[:, None], axis=2)
    return (found <= exact[:, -1:] + 1e-4).mean()


@requires_faiss
@pytest.mark.parametrize("index", ["ivf", "flat"])
def test_duplicates_indexed_once_and_expanded(index):
    X, copies = duplicate_heavy()
    search = FaissNeighbors(index=index, nlist=4, nprobe=2, random_state=0).fit(X)
    assert search.n_samples_fit_ == len(X) > 2000
    assert search.n_distinct_fit_ == search.index_.ntotal == 200
    distances, indices = search.kneighbors(X, 12)
    # The indices point to rows at the returned distances, nearest first.
    found = np.linalg.norm(X[indices] - X[:, None], axis=2)
    np.testing.assert_allclose(distances, found, rtol=1e-4, atol=1e-3)
    assert (np.diff(distances, axis=1) >= 0).all()
    assert distance_recall(X, X, indices, 12) >= 0.99
    # A point's ten copies (each itself included) are its nearest neighbours,
    # lowest index first; then come other points.
    assert len(copies) == 10
    np.testing.assert_array_equal(indices[copies, :10], np.tile(copies, (10, 1)))
    assert (distances[copies, :10] == 0).all() and (distances[copies, 10:] > 0).all()
    # A row with more copies than neighbours asked for: all neighbours are
    # copies, at distance 0, the same for every copy.
    big = np.bincount(np.unique(X, axis=0, return_inverse=True)[1].ravel()).argmax()
    many = np.flatnonzero((X == np.unique(X, axis=0)[big]).all(axis=1))
    assert len(many) > 12
    np.testing.assert_array_equal(indices[many], np.tile(many[:12], (len(many), 1)))


@requires_faiss
def test_training_neighbors_on_duplicates_are_other_copies():
    X, copies = duplicate_heavy(1)
    search = FaissNeighbors(index="ivf", nlist=4, nprobe=2)
    indices = training_neighbors(X, 5, search, random_state=0)
    assert not (indices == np.arange(len(X))[:, None]).any()
    # A point with 10 copies: each copy's 5 neighbours are other copies.
    assert np.isin(indices[copies], copies).all()
    # Against sklearn's exact search, by distance (ties make indices ambiguous).
    exact, _ = NearestNeighbors().fit(X).kneighbors(X, 6)
    found = np.linalg.norm(X[indices] - X[:, None], axis=2)
    assert (found <= exact[:, -1:] + 1e-4).mean() >= 0.99
    np.testing.assert_allclose(np.sort(found, axis=1)[:, 0], exact[:, 1], atol=1e-3)


@requires_faiss
def test_deduplicate_false_indexes_every_row_same_distances():
    X, _ = duplicate_heavy(2)
    kept = FaissNeighbors(index="flat", deduplicate=False).fit(X)
    collapsed = FaissNeighbors(index="flat").fit(X)
    assert kept.index_.ntotal == len(X) and collapsed.index_.ntotal == 200
    d_kept, _ = kept.kneighbors(X[:500], 15)
    d_collapsed, _ = collapsed.kneighbors(X[:500], 15)
    np.testing.assert_allclose(d_collapsed, d_kept, atol=1e-3)


@requires_faiss
def test_duplicate_queries_and_negative_zero():
    X = np.array([[0.0, 1.0], [-0.0, 1.0], [3.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    search = FaissNeighbors(index="flat").fit(X)
    # -0.0 equals 0.0: rows 0, 1 and 3 are one point.
    assert search.n_distinct_fit_ == 3
    distances, indices = search.kneighbors(X[[3, 2, 3, 1]], 4)
    np.testing.assert_array_equal(
        indices, [[0, 1, 3, 2], [2, 0, 1, 3], [0, 1, 3, 2], [0, 1, 3, 2]]
    )
    np.testing.assert_allclose(distances[0], [0, 0, 0, np.sqrt(10)], atol=1e-6)


@requires_faiss
def test_flat_tells_copies_from_near_copies():
    # faiss's flat search (float32 ||q||^2 - 2 q.p + ||p||^2 for 64 features
    # and more) puts most of the near copies, 0.0003 away, at distance 0 too,
    # and before the copies; the recomputed distances do not.
    points = np.random.RandomState(8).normal(size=(2000, 64)).astype(np.float32)
    near = points.copy()
    near[:, 0] += np.float32(3e-4)
    X = np.concatenate([near, points])
    distances, indices = FaissNeighbors(index="flat").fit(X).kneighbors(points, 2)
    np.testing.assert_array_equal(indices, np.c_[np.arange(2000) + 2000, range(2000)])
    np.testing.assert_allclose(distances[:, 0], 0)
    np.testing.assert_allclose(distances[:, 1], 3e-4, rtol=1e-2)


@requires_faiss
def test_lazy_duplicates_across_blocks_without_reading_whole(monkeypatch):
    X, _ = duplicate_heavy(3)
    # Blocks of 64 rows: copies of a point fall in many blocks.
    monkeypatch.setattr(_data, "_CHUNK_BYTES", 64 * 8 * 4)
    params = dict(index="ivf", nlist=4, nprobe=2, random_state=0)
    expected = FaissNeighbors(**params).fit(X).kneighbors(X, 8)
    lazy = LazyRows(X)
    search = FaissNeighbors(**params).fit(lazy)
    assert search.n_distinct_fit_ == 200
    got = search.kneighbors(LazyRows(X), 8)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(got[0], expected[0])
    assert lazy.largest_read <= 256


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
    "params",
    [
        {"index": "hnsw"},
        {"nlist": 0},
        {"nprobe": 0},
        {"nlist": 2.5},
        {"deduplicate": 1},
    ],
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
