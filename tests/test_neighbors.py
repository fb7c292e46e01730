"""Neighbour targets."""

import copy
import importlib.util
import pickle
import re
import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import NearestNeighbors

from seqknn import (
    DaskNeighbors,
    ExactNeighbors,
    FaissNeighbors,
    OutOfCoreNeighbors,
    _data,
    _neighbors,
)
from seqknn._neighbors import block_kneighbors, candidate_blocks, training_neighbors


def _skip_without(module):
    return pytest.mark.skipif(
        importlib.util.find_spec(module) is None,
        reason=f"needs {module}, an optional extra of seqknn",
    )


def brute_force(X, k, metric="euclidean"):
    """Reference: sort every pairwise distance, skipping the sample itself."""
    if metric == "euclidean":
        d = np.linalg.norm(X[:, None] - X[None], axis=2)
    else:
        d = np.abs(X[:, None] - X[None]).sum(axis=2)
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :k]


def test_matches_brute_force():
    X = np.random.RandomState(0).normal(size=(60, 4))
    np.testing.assert_array_equal(training_neighbors(X, 5), brute_force(X, 5))


def test_never_self_but_duplicates_count():
    # Three copies of the same point: each copy's neighbours are the other two.
    X = np.array([[0.0, 0.0]] * 3 + [[5.0, 5.0], [9.0, 9.0]])
    indices = training_neighbors(X, 2)
    assert not (indices == np.arange(len(X))[:, None]).any()
    for i in range(3):
        assert set(indices[i]) == {0, 1, 2} - {i}


def test_all_duplicates():
    X = np.zeros((6, 3))
    indices = training_neighbors(X, 5)
    assert indices.shape == (6, 5)
    for i, row in enumerate(indices):
        assert sorted(row) == sorted(set(range(6)) - {i})


def test_custom_neighbors_object_is_used_and_not_fitted_in_place():
    X = np.random.RandomState(1).normal(size=(40, 3))
    search = NearestNeighbors(metric="manhattan")
    indices = training_neighbors(X, 3, search)
    np.testing.assert_array_equal(indices, brute_force(X, 3, "manhattan"))
    assert not hasattr(search, "n_samples_fit_")


def test_bad_neighbors_object():
    class Broken:
        def fit(self, X):
            return self

        def kneighbors(self, X, n_neighbors, return_distance=False):
            return np.zeros((len(X), 1), dtype=int)

    with pytest.raises(ValueError, match="returned neighbour indices of shape"):
        training_neighbors(np.zeros((5, 2)), 2, Broken())


# ------------------------------------------------------- Algorithm 1 (out of core)
def algorithm_1_reference(X, queries, k, search):
    """The paper's Algorithm 1, literally: batch after batch, keep the k closest.

    Uses the same random batches as ``search`` (its candidate blocks, split into
    n_batches batches of samples_per_batch).
    """
    out = np.empty((len(queries), k), dtype=np.int64)
    blocks = candidate_blocks(
        search.n_samples_fit_,
        len(queries),
        search.n_batches * search.samples_per_batch,
        search.query_block_size,
        search.random_state,
    )
    for rows, candidates in blocks:
        batches = np.array_split(candidates, search.n_batches)
        for i in range(len(queries))[rows]:
            best = np.empty(0, dtype=np.int64)
            for batch in batches:
                pool = np.concatenate([best, batch])
                dist = np.linalg.norm(X[pool] - queries[i], axis=1)
                best = pool[np.argsort(dist, kind="stable")[:k]]
            out[i] = best
    return out


def test_algorithm_1_matches_the_literal_reference():
    X = np.random.RandomState(0).normal(size=(500, 4))
    search = OutOfCoreNeighbors(
        n_batches=5, samples_per_batch=12, query_block_size=64, random_state=3
    ).fit(X)
    got = search.kneighbors(X, 6, return_distance=False)
    np.testing.assert_array_equal(got, algorithm_1_reference(X, X, 6, search))


def test_algorithm_1_is_exact_when_the_batches_cover_the_data():
    X = np.random.RandomState(1).normal(size=(90, 3))
    search = OutOfCoreNeighbors(n_batches=10, samples_per_batch=9, random_state=0)
    np.testing.assert_array_equal(
        training_neighbors(X, 5, search), training_neighbors(X, 5)
    )
    distances, _ = search.fit(X).kneighbors(X, 3)
    expected = NearestNeighbors(n_neighbors=3).fit(X).kneighbors(X)[0]
    np.testing.assert_allclose(distances, expected, rtol=1e-4, atol=1e-5)


def test_algorithm_1_reproducible_and_never_self():
    X = np.random.RandomState(2).normal(size=(400, 3))

    def run(seed):
        search = OutOfCoreNeighbors(
            n_batches=3, samples_per_batch=20, random_state=seed
        )
        return training_neighbors(X, 4, search)

    a, b, c = run(0), run(0), run(1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not (a == np.arange(len(X))[:, None]).any()
    # Approximate: each row's neighbours are at least as far as the exact ones.
    exact = training_neighbors(X, 4)
    d_approx = np.linalg.norm(X[a] - X[:, None], axis=2)
    d_exact = np.linalg.norm(X[exact] - X[:, None], axis=2)
    assert (d_approx >= d_exact - 1e-9).all()


def test_algorithm_1_needs_enough_samples_per_query():
    X = np.zeros((100, 2))
    search = OutOfCoreNeighbors(n_batches=1, samples_per_batch=4).fit(X)
    with pytest.raises(ValueError, match="Raise n_batches or samples_per_batch"):
        search.kneighbors(X, 5)


def test_classifier_with_out_of_core_neighbors():
    from sklearn.datasets import make_blobs

    from seqknn import V2VSLSClassifier

    X, y = make_blobs(n_samples=300, centers=3, random_state=0)
    search = OutOfCoreNeighbors(n_batches=2, samples_per_batch=16, random_state=0)
    clf = V2VSLSClassifier(
        neighbors=search, hidden_size=16, batch_size=32, max_epochs=15, random_state=0
    ).fit(X, y)
    assert clf.score(X, y) > 0.9
    assert not hasattr(search, "n_samples_fit_")  # cloned, not fitted in place
    # The strategy is used: exact targets train a different network.
    exact = clone(clf).set_params(neighbors="exact").fit(X, y)
    assert exact.history_["neighbor_labels"] != clf.history_["neighbor_labels"]


def test_unseeded_strategy_follows_the_estimator_random_state():
    from sklearn.datasets import make_blobs

    from seqknn import V2LSClassifier

    X, y = make_blobs(n_samples=200, centers=2, random_state=0)
    params = dict(
        neighbors=OutOfCoreNeighbors(n_batches=2, samples_per_batch=16),
        hidden_size=8,
        batch_size=32,
        max_epochs=3,
    )
    a = V2LSClassifier(random_state=0, **params).fit(X, y)
    b = V2LSClassifier(random_state=0, **params).fit(X, y)
    assert a.history_ == b.history_
    seeds = [
        training_neighbors(X, 3, params["neighbors"], random_state=s) for s in (0, 1)
    ]
    assert not np.array_equal(*seeds)


def test_strategy_without_get_params():
    class Plain:
        def fit(self, X):
            self.nn = NearestNeighbors().fit(X)
            return self

        def kneighbors(self, X, n_neighbors, return_distance=False):
            return self.nn.kneighbors(X, n_neighbors, return_distance=False)

    X = np.random.RandomState(0).normal(size=(30, 2))
    np.testing.assert_array_equal(
        training_neighbors(X, 3, Plain()), training_neighbors(X, 3)
    )


def test_neighbours_among_candidates_only():
    X = np.random.RandomState(4).normal(size=(50, 3))
    candidates = np.arange(0, 50, 2)  # the "training split"
    indices = training_neighbors(X, 3, candidates=candidates)
    assert np.isin(indices, candidates).all()
    assert not (indices == np.arange(50)[:, None]).any()
    d = np.linalg.norm(X[:, None] - X[None, candidates], axis=2)
    d[candidates, np.arange(len(candidates))] = np.inf  # a sample is not its own
    np.testing.assert_array_equal(indices, candidates[np.argsort(d, axis=1)[:, :3]])
    with pytest.raises(ValueError, match="needs more than 3 samples"):
        training_neighbors(X, 3, candidates=candidates[:3])


@pytest.mark.parametrize(
    "backend, skip_rows",
    [("torch", True), ("torch", False), ("faiss", True)],
    ids=["torch", "torch-accelerator-path", "faiss"],
)
def test_exact_neighbors_match_scikit_learn(backend, skip_rows, monkeypatch):
    if backend == "faiss":
        pytest.importorskip("faiss")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(500, 7)).astype(np.float32)
    queries = rng.normal(size=(130, 7)).astype(np.float32)
    expected = NearestNeighbors(algorithm="brute").fit(X).kneighbors(queries, 9)
    # Several blocks of queries and of fitted samples (64 rows each); without
    # skip_rows, as on an accelerator, every row of every block is searched.
    monkeypatch.setattr(_neighbors, "_TILE", {"cpu": 64, "accelerator": 64})
    monkeypatch.setattr(_neighbors, "_SKIP_ROWS", {"cpu": skip_rows})
    search = ExactNeighbors(backend=backend, query_block_size=32).fit(X)
    distances, indices = search.kneighbors(queries, 9)
    np.testing.assert_array_equal(indices, expected[1])
    np.testing.assert_allclose(distances, expected[0], rtol=1e-6)
    assert indices.dtype == np.int64


@pytest.mark.parametrize("backend", ["torch", "faiss"])
def test_exact_neighbors_ties_and_precision(backend):
    if backend == "faiss":
        pytest.importorskip("faiss")
    # Far from the origin the float32 expanded form cannot separate these
    # points; the float64 re-ranking does, and ties go to the lower index.
    X = np.array([[1e4, 0.0], [1e4, 0.02], [1e4, 0.01], [1e4, 0.01]])
    search = ExactNeighbors(backend=backend).fit(X)
    indices = search.kneighbors([[1e4, 0.0]], 4, return_distance=False)
    np.testing.assert_array_equal(indices, [[0, 2, 3, 1]])


def test_block_kneighbors_ties_and_precision():
    # Algorithm 1's kernel re-ranks as the exact search does: in float64, ties
    # to the lower index, whatever order torch's top-k returned them in.
    # (torch's top-k returned this query's neighbours as [6, 2, 0, 4, 1, ...]).
    X = np.column_stack([np.full(8, 1e4), 0.01 * np.array([0, 1, 0, 1, 1, 2, 0, 2])])
    distances, indices = block_kneighbors(np.array([[1e4, 0.0]]), X, 8)
    np.testing.assert_array_equal(indices, [[0, 2, 6, 1, 3, 4, 5, 7]])
    expected = 0.01 * np.array([[0, 0, 0, 1, 1, 1, 2, 2]])
    np.testing.assert_allclose(distances, expected, atol=1e-9)
    assert indices.dtype == np.int64


def test_block_kneighbors_keeps_twice_the_candidates_for_the_re_rank():
    # Far from the origin the float32 expanded distances of these points tie
    # (torch's top-k picked rows 1 and 3 for k=2); among 2k candidates the
    # float64 re-rank finds the true nearest, as the exact search does.
    points = 1e4 + np.array([[0.0], [0.1], [0.2], [0.3]])
    distances, indices = block_kneighbors(points[:1], points, 2)
    np.testing.assert_array_equal(indices, [[0, 1]])
    np.testing.assert_allclose(distances, [[0.0, 0.1]], atol=1e-3)


class _Lazy:
    """An on-disk-like array: shape, dtype and row reads, recording them."""

    def __init__(self, array):
        self.array, self.shape, self.dtype = array, array.shape, array.dtype
        self.largest = self.rows_read = 0

    def __len__(self):
        return len(self.array)

    def __getitem__(self, key):
        block = self.array[key]
        self.largest = max(self.largest, len(block))
        self.rows_read += block.size // self.shape[1]
        return block


def test_exact_neighbors_read_lazy_data_in_blocks(monkeypatch):
    X = np.random.RandomState(1).normal(size=(300, 3))
    monkeypatch.setattr(_neighbors, "_TILE", {"cpu": 50 * 20})
    monkeypatch.setattr(_data, "_CHUNK_BYTES", 100 * 3 * 4)  # 100 queries a call
    lazy = _Lazy(X)
    search = ExactNeighbors(query_block_size=20).fit(lazy)
    indices = search.kneighbors(lazy, 4)[1]
    expected = NearestNeighbors(n_neighbors=4).fit(X).kneighbors(X)[1]
    np.testing.assert_array_equal(indices, expected)
    # Blocks of 64 fitted rows, 100 queries, 20 x 8 candidate rows re-ranked.
    assert lazy.largest <= 160 < len(X)
    # The fitted rows are read once per 100 queries, not once per 20: three
    # passes, plus the queries and the 300 x 8 candidates re-ranked.
    assert lazy.rows_read == 3 * 300 + 300 + 300 * 8


def test_exact_neighbors_errors():
    search = ExactNeighbors().fit(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="n_neighbors=6 exceeds the 5 fitted samples"):
        search.kneighbors(np.zeros((1, 2)), 6)
    with pytest.raises(ValueError, match="X has 3 features, but ExactNeighbors"):
        search.kneighbors(np.zeros((1, 3)), 2)


def test_exact_neighbors_faiss_backend_needs_the_extra(monkeypatch):
    X = np.random.RandomState(2).normal(size=(20, 3))
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(ImportError, match=r"pip install 'seqknn\[faiss\]'"):
        ExactNeighbors(backend="faiss").fit(X).kneighbors(X, 3)


def test_exact_neighbors_blocks_that_improve_no_row(monkeypatch):
    # Every row has K + 1 exact duplicates in the first block: no later block
    # can improve on them, and is skipped.
    X = np.repeat(np.random.RandomState(3).normal(size=(8, 2)), 16, axis=0)
    monkeypatch.setattr(_neighbors, "_TILE", {"cpu": 64 * 64})
    X = X[np.argsort(np.arange(len(X)) % 64, kind="stable")]
    search = ExactNeighbors(query_block_size=64, deduplicate=False)
    indices = search.fit(X).kneighbors(X, 5)[1]
    assert (np.linalg.norm(X[indices] - X[:, None], axis=2) == 0).all()


def grid_with_copies(seed=0):
    """Integer points with 1 to 40 copies each, shuffled: many exact ties.

    Copies tie at one distance, and so do distinct points (the four grid
    neighbours of a point are all at distance 1).
    """
    rng = np.random.RandomState(seed)
    points = np.array([[i, j, 0.0] for i in range(6) for j in range(6)])
    copies = np.where(rng.rand(len(points)) < 0.5, 1, rng.randint(2, 41, len(points)))
    return np.repeat(points, copies, axis=0)[rng.permutation(copies.sum())]


def reference(X, queries, k):
    """Every distance in float64; nearest first, the lower index among ties."""
    d = np.linalg.norm(queries[:, None] - X[None], axis=2)
    order = np.lexsort((np.broadcast_to(np.arange(len(X)), d.shape), d))[:, :k]
    return np.take_along_axis(d, order, axis=1), order


@pytest.mark.parametrize("backend", ["torch", "faiss"])
def test_exact_neighbors_search_copies_once(backend, monkeypatch):
    if backend == "faiss":
        pytest.importorskip("faiss")
    X = grid_with_copies()
    queries = np.concatenate([X[:300], [[2.5, 2.5, 0.0], [0.0, 0.0, 1.0]]])
    # Several blocks of queries and of fitted rows; copies of a query fall in
    # different calls of the search (100 queries each).
    monkeypatch.setattr(_neighbors, "_TILE", {"cpu": 64 * 16})
    monkeypatch.setattr(_data, "_CHUNK_BYTES", 100 * 3 * 4)
    search = ExactNeighbors(backend=backend, query_block_size=16).fit(X)
    assert search.n_samples_fit_ == len(X) > 400
    assert search.n_distinct_fit_ == 36
    for k in (1, 12, 60):
        distances, indices = search.kneighbors(queries, k)
        expected = reference(X, queries, k)
        np.testing.assert_array_equal(indices, expected[1])
        np.testing.assert_allclose(distances, expected[0], atol=1e-6)
    # Each row searched as it is: the same distances.
    kept = ExactNeighbors(backend=backend, deduplicate=False).fit(X)
    assert kept.n_distinct_fit_ == len(X)
    np.testing.assert_allclose(kept.kneighbors(queries, 60)[0], distances, atol=1e-6)


def test_training_targets_on_copies_are_the_lowest_other_copies():
    X = grid_with_copies(1)
    indices = training_neighbors(X, 5)
    d = np.linalg.norm(X[:, None] - X[None], axis=2)
    np.fill_diagonal(d, np.inf)
    expected = np.lexsort((np.broadcast_to(np.arange(len(X)), d.shape), d))[:, :5]
    np.testing.assert_array_equal(indices, expected)


def test_exact_neighbors_search_data_on_disk_as_it_is():
    X = grid_with_copies(2)
    search = ExactNeighbors().fit(_Lazy(X))
    assert search.n_distinct_fit_ == len(X)
    # Which of more than 2K copies at one distance are found is up to the
    # search; their distances are exact.
    distances, indices = search.kneighbors(_Lazy(X[:50]), 7)
    np.testing.assert_allclose(distances, reference(X, X[:50], 7)[0], atol=1e-6)
    found = np.linalg.norm(X[indices] - X[:50, None], axis=2)
    np.testing.assert_allclose(found, distances, atol=1e-6)


# ------------------------------------------------ what the searches share
SEARCHES = [
    pytest.param(ExactNeighbors, id="ExactNeighbors"),
    pytest.param(OutOfCoreNeighbors, id="OutOfCoreNeighbors"),
    pytest.param(FaissNeighbors, id="FaissNeighbors", marks=_skip_without("faiss")),
    pytest.param(DaskNeighbors, id="DaskNeighbors", marks=_skip_without("dask.array")),
]


@pytest.mark.parametrize("Search", SEARCHES)
def test_every_search_checks_data_queries_and_n_neighbors_alike(Search):
    X = np.random.RandomState(0).normal(size=(20, 2))
    with_nan = X.copy()
    with_nan[3, 1] = np.nan
    with pytest.raises(NotFittedError):
        Search().kneighbors(X, 1)
    with pytest.raises(ValueError, match="NaN"):
        Search().fit(with_nan)
    search = Search().fit(X)
    assert (search.n_samples_fit_, search.n_features_in_) == (20, 2)
    name = Search.__name__
    with pytest.raises(
        ValueError, match=f"X has 3 features, but {name} was fitted with 2 features"
    ):
        search.kneighbors(np.zeros((4, 3)), 1)
    with pytest.raises(ValueError, match="2D array"):
        search.kneighbors(np.zeros(4), 1)
    with pytest.raises(ValueError, match="NaN"):
        search.kneighbors(with_nan, 1)
    for bad in [0, -1, 2.5, True, None]:
        message = f"n_neighbors must be a positive integer, got {bad!r}."
        with pytest.raises(ValueError, match=re.escape(message)):
            search.kneighbors(X, bad)
    with pytest.raises(ValueError, match="n_neighbors=21 exceeds the 20 fitted"):
        search.kneighbors(X, 21)
    # Every fitted sample, with a numpy integer for n_neighbors.
    indices = search.kneighbors(X[:3], np.int64(20), return_distance=False)
    assert indices.dtype == np.int64
    np.testing.assert_array_equal(np.sort(indices, axis=1), np.tile(range(20), (3, 1)))


def test_out_of_core_neighbors_checks_the_features():
    X = np.random.RandomState(0).normal(size=(50, 3))
    search = OutOfCoreNeighbors(random_state=0).fit(_Lazy(X))
    assert (search.n_samples_fit_, search.n_features_in_) == (50, 3)
    with pytest.raises(ValueError, match="X has 2 features, but OutOfCoreNeighbors"):
        search.kneighbors(np.zeros((4, 2)), 1)


def test_lazy_data_with_nan_is_rejected_when_read():
    X = np.random.RandomState(0).normal(size=(50, 3))
    X[30, 2] = np.inf
    for search in [ExactNeighbors(), OutOfCoreNeighbors(random_state=0)]:
        with pytest.raises(ValueError, match="NaN or infinity"):
            search.fit(_Lazy(X)).kneighbors(_Lazy(X[:5] * 0), 2)
        with pytest.raises(ValueError, match="NaN or infinity"):
            search.fit(X[:20]).kneighbors(_Lazy(X), 2)


def test_exact_faiss_backend_builds_its_index_once_and_pickles(monkeypatch):
    faiss = pytest.importorskip("faiss")
    built = []
    flat_index = faiss.IndexFlatL2

    def counted(*args):
        built.append(args)
        return flat_index(*args)

    monkeypatch.setattr(faiss, "IndexFlatL2", counted)
    rng = np.random.RandomState(5)
    X, queries = rng.normal(size=(300, 4)), rng.normal(size=(40, 4))
    search = ExactNeighbors(backend="faiss").fit(X)
    assert len(built) == 1  # in fit
    first = search.kneighbors(queries, 5)
    second = search.kneighbors(queries[:7], 3, return_distance=False)
    assert len(built) == 1  # reused by every kneighbors
    expected = ExactNeighbors().fit(X).kneighbors(queries, 5)
    np.testing.assert_array_equal(first[1], expected[1])
    np.testing.assert_array_equal(second, expected[1][:7, :3])

    # The index cannot be pickled: it is left out and rebuilt once, on use.
    for restored in [pickle.loads(pickle.dumps(search)), copy.deepcopy(search)]:
        assert "_index" not in vars(restored)
        built.clear()
        for _ in range(2):
            distances, indices = restored.kneighbors(queries, 5)
            np.testing.assert_array_equal(indices, first[1])
            np.testing.assert_array_equal(distances, first[0])
        assert len(built) == 1
    assert search._index is not None  # pickling did not touch the original

    # Switched to faiss after a torch fit: built on first use too.
    switched = ExactNeighbors().fit(X).set_params(backend="faiss")
    built.clear()
    np.testing.assert_array_equal(switched.kneighbors(queries, 5)[1], first[1])
    assert len(built) == 1


class _DeviceRecordingSearch(BaseEstimator):
    """A brute-force search that records the device it was fitted with."""

    def __init__(self, device=None):
        self.device = device

    def fit(self, X, y=None):
        type(self).fitted_on = self.device
        self._search = NearestNeighbors().fit(np.asarray(X))
        return self

    def kneighbors(self, X, n_neighbors, return_distance=True):
        return self._search.kneighbors(X, n_neighbors, return_distance)


@pytest.mark.parametrize(
    "own, passed, expected",
    [(None, "cuda:1", "cuda:1"), (None, "cpu", "cpu"), ("cpu", "cuda:1", "cpu")],
)
def test_a_search_without_a_device_runs_on_the_estimators(own, passed, expected):
    X = np.random.RandomState(0).normal(size=(30, 2))
    search = _DeviceRecordingSearch(device=own)
    indices = training_neighbors(X, 3, neighbors=search, device=passed)
    assert _DeviceRecordingSearch.fitted_on == expected
    assert search.device == own  # cloned, not set in place
    np.testing.assert_array_equal(indices, training_neighbors(X, 3))


def test_out_of_core_search_on_a_device_gives_the_same_neighbours():
    X = np.random.RandomState(0).normal(size=(400, 3))
    found = [
        OutOfCoreNeighbors(n_batches=4, samples_per_batch=32, random_state=0, device=d)
        .fit(X)
        .kneighbors(X, 4)
        for d in (None, "cpu")
    ]
    np.testing.assert_array_equal(found[0][1], found[1][1])
    np.testing.assert_array_equal(found[0][0], found[1][0])


def test_exact_neighbors_pickled_before_copies_were_collapsed():
    # What a search fitted by an earlier release holds: every row, and no
    # deduplicate parameter or table of copies (V2VS keeps one for its vote).
    X = grid_with_copies(3)
    search = ExactNeighbors(deduplicate=False).fit(X)
    expected = search.kneighbors(X[:40], 5)
    state = search.__getstate__()
    for name in ("deduplicate", "n_distinct_fit_", "_members", "_offsets"):
        del state[name]
    old = ExactNeighbors.__new__(ExactNeighbors)
    old.__setstate__(state)
    got = old.kneighbors(X[:40], 5)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(got[0], expected[0])
