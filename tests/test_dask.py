"""Neighbour targets computed by Dask, on a distributed LocalCluster."""

import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.neighbors import NearestNeighbors

from seqknn import DaskNeighbors, OutOfCoreNeighbors, V2VSLSClassifier
from seqknn._neighbors import training_neighbors

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")


def local_cluster(processes):
    """Two single-threaded workers: joblib's dask backend only dispatches to Dask
    when the cluster has more than one thread."""
    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=processes,
        dashboard_address=None,
        # The scheduler's HTTP server on a free port rather than 8787, which the
        # cluster of another test or test process may hold.
        scheduler_kwargs={"dashboard_address": ":0"},
    )


@pytest.fixture(scope="module")
def client():
    with local_cluster(processes=False) as cluster, distributed.Client(cluster) as c:
        yield c


def ran_on(client, run):
    """Call ``run()``; return its result and the names of the cluster's tasks."""
    with distributed.get_task_stream(client) as stream:
        result = run()
    workers = set(client.scheduler_info()["workers"])
    assert {task["worker"] for task in stream.data} <= workers
    names = [str(task["key"]) for task in stream.data]
    return result, names


def exact(points, queries, k):
    return NearestNeighbors(n_neighbors=k).fit(points).kneighbors(queries)


# ------------------------------------------------------------------------ block
def test_block_with_one_block_is_exact_and_runs_on_the_cluster(client):
    X = np.random.RandomState(0).normal(size=(300, 4))
    search = DaskNeighbors(block_size=300).fit(X)
    (distances, indices), names = ran_on(client, lambda: search.kneighbors(X, 6))
    expected_distances, expected_indices = exact(X, X, 6)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-5, atol=1e-6)
    assert indices.dtype == np.int64
    assert any("_block_search" in name for name in names)


@pytest.mark.parametrize("n_queries", [250, 100, 3])
def test_block_searches_query_block_j_within_fitted_block_j(client, n_queries):
    rng = np.random.RandomState(1)
    X = rng.normal(size=(250, 3))
    # At most 60 rows per block: 5 blocks of 50 rows, not 4 of 60 and one of 10.
    search = DaskNeighbors(block_size=60).fit(X)
    queries = X if n_queries == len(X) else rng.normal(size=(n_queries, 3))
    distances, indices = search.kneighbors(queries, 4)
    assert indices.shape == (n_queries, 4)
    # The queries are cut into as many blocks, of near-equal sizes.
    sizes = [len(rows) for rows in np.array_split(np.arange(n_queries), 5)]
    query_bounds = np.concatenate([[0], np.cumsum(sizes)])
    for j in range(5):
        rows = slice(query_bounds[j], query_bounds[j + 1])
        if rows.start == rows.stop:  # fewer queries than blocks
            continue
        block = slice(50 * j, 50 * (j + 1))
        want_d, want_i = exact(X[block], queries[rows], 4)
        np.testing.assert_array_equal(indices[rows], want_i + 50 * j)
        np.testing.assert_allclose(distances[rows], want_d, rtol=1e-5, atol=1e-6)
    if n_queries == len(X):  # training: every sample's own block, itself first
        np.testing.assert_array_equal(indices[:, 0], np.arange(len(X)))


def test_block_needs_enough_rows_per_block():
    X = np.zeros((10, 2))
    search = DaskNeighbors(block_size=4).fit(X)  # 3 blocks of 4, 3 and 3 rows
    with pytest.raises(ValueError, match="exceeds the 3 rows of the smallest block"):
        search.kneighbors(X, 4)
    indices = search.kneighbors(X, 3, return_distance=False)
    block_of = np.repeat([0, 1, 2], [4, 3, 3])
    assert (block_of[indices] == block_of[:, None]).all()


# ------------------------------------------------------------------ out of core
def test_out_of_core_equals_out_of_core_neighbors(client):
    X = np.random.RandomState(2).normal(size=(500, 4))
    queries = np.random.RandomState(3).normal(size=(130, 4))
    params = dict(n_batches=4, samples_per_batch=16, random_state=5)
    search = DaskNeighbors(method="out_of_core", block_size=32, **params).fit(X)
    (distances, indices), names = ran_on(client, lambda: search.kneighbors(queries, 5))
    reference = OutOfCoreNeighbors(query_block_size=32, **params).fit(X)
    expected_distances, expected_indices = reference.kneighbors(queries, 5)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(distances, expected_distances)
    assert sum("_candidate_search" in name for name in names) == 5  # ceil(130/32)


def test_out_of_core_reproducible_approximate_and_exact_when_covering(client):
    X = np.random.RandomState(4).normal(size=(400, 3))

    def run(seed, **params):
        search = DaskNeighbors(method="out_of_core", random_state=seed, **params)
        return search.fit(X).kneighbors(X, 5)

    small = dict(n_batches=3, samples_per_batch=20, block_size=100)
    (d_a, a), (_, b), (_, c) = run(0, **small), run(0, **small), run(1, **small)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    d_exact, i_exact = exact(X, X, 5)
    assert not np.array_equal(a, i_exact)
    assert (d_a >= d_exact - 1e-6).all()  # never closer than the exact neighbours
    # R x B >= n: every query sees every row.
    d_cover, i_cover = run(0, n_batches=10, samples_per_batch=40, block_size=100)
    np.testing.assert_array_equal(i_cover, i_exact)
    np.testing.assert_allclose(d_cover, d_exact, rtol=1e-5, atol=1e-6)


def test_out_of_core_needs_enough_candidates():
    search = DaskNeighbors(method="out_of_core", n_batches=1, samples_per_batch=4)
    search.fit(np.zeros((100, 2)))
    with pytest.raises(ValueError, match="Raise n_batches or samples_per_batch"):
        search.kneighbors(np.zeros((5, 2)), 5)


# ----------------------------------------------------------- training targets
@pytest.mark.parametrize("method", ["block", "out_of_core"])
def test_training_neighbors(client, method):
    X = np.random.RandomState(5).normal(size=(300, 4))
    strategy = DaskNeighbors(method=method, n_batches=4, samples_per_batch=16)
    indices = training_neighbors(X, 5, strategy, random_state=0)
    assert indices.shape == (300, 5)
    assert not (indices == np.arange(300)[:, None]).any()
    assert not hasattr(strategy, "n_samples_fit_")  # cloned, not fitted in place
    if method == "block":  # one block: exact
        np.testing.assert_array_equal(indices, training_neighbors(X, 5))
    else:  # the unseeded strategy follows the caller's random_state
        again = training_neighbors(X, 5, strategy, random_state=0)
        other = training_neighbors(X, 5, strategy, random_state=1)
        np.testing.assert_array_equal(indices, again)
        assert not np.array_equal(indices, other)


# --------------------------------------------------------------- input forms
class LazyView:
    """Stands for seqknn's lazy on-disk data views: only ``to_dask()``."""

    def __init__(self, array):
        self.array = array

    def to_dask(self):
        return self.array


@pytest.mark.parametrize("method", ["block", "out_of_core"])
def test_dask_array_and_to_dask_inputs(client, method):
    X = np.random.RandomState(6).normal(size=(240, 3))
    params = dict(method=method, block_size=80, n_batches=2, samples_per_batch=50)
    want = DaskNeighbors(random_state=0, **params).fit(X).kneighbors(X, 4)
    # Chunks unrelated to the blocks, on purpose.
    lazy = da.from_array(X, chunks=(37, 3))
    for fit_X, query_X in [(lazy, lazy), (LazyView(lazy), LazyView(lazy)), (lazy, X)]:
        search = DaskNeighbors(random_state=0, **params).fit(fit_X)
        got = search.kneighbors(query_X, 4)
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(got[0], want[0])


def test_fit_computes_nothing():
    def unreadable(block):
        raise AssertionError("fit must not compute the data")

    lazy = da.zeros((50, 2), chunks=10).map_blocks(unreadable, dtype=np.float64)
    search = DaskNeighbors().fit(lazy)
    assert search.n_samples_fit_ == 50 and search.n_features_in_ == 2


def test_input_errors():
    X = np.zeros((20, 2))
    with pytest.raises(TypeError, match="needs it to return a dask.array.Array"):
        DaskNeighbors().fit(LazyView(X))
    with pytest.raises(ValueError, match="2-d array"):
        DaskNeighbors().fit(da.zeros(20, chunks=5))
    unknown = da.from_array(X, chunks=5)
    unknown = unknown[unknown[:, 0] == 0]  # a boolean mask: unknown row count
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        DaskNeighbors().fit(unknown)
    with pytest.raises(ValueError, match="must be numeric"):
        DaskNeighbors().fit(da.from_array(np.full((4, 2), "a")))
    search = DaskNeighbors().fit(X)
    with pytest.raises(ValueError, match="3 features, but DaskNeighbors was fitted"):
        search.kneighbors(np.zeros((2, 3)), 1)
    with pytest.raises(ValueError, match="positive integer"):
        search.kneighbors(X, 0)
    with pytest.raises(NotFittedError):
        DaskNeighbors().kneighbors(X, 1)
    with pytest.raises(ValueError, match="method"):
        DaskNeighbors(method="exact").fit(X)


def test_missing_extra_names_it(monkeypatch):
    # None in sys.modules makes the import fail as if dask were not installed.
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    search = DaskNeighbors()  # constructing needs no dask
    with pytest.raises(ImportError, match=r"pip install 'seqknn\[dask\]'"):
        search.fit(np.zeros((5, 2)))


# ------------------------------------------------------------------ estimators
def test_classifier_on_the_cluster(client):
    X, y = make_blobs(n_samples=300, centers=3, random_state=0)
    clf = V2VSLSClassifier(
        neighbors=DaskNeighbors(
            method="out_of_core", n_batches=4, samples_per_batch=32
        ),
        hidden_size=16,
        batch_size=32,
        max_epochs=2,
        random_state=0,
    )
    fitted, names = ran_on(client, lambda: clone(clf).fit(X, y))
    assert any("_candidate_search" in name for name in names)
    assert fitted.predict(X).shape == (300,)
    # Reproducible: the unseeded strategy is seeded from the classifier's seed.
    assert clone(clf).fit(X, y).history_ == fitted.history_


def grid_search():
    from sklearn.model_selection import GridSearchCV

    estimator = V2VSLSClassifier(
        neighbors=DaskNeighbors(block_size=100),
        hidden_size=8,
        batch_size=32,
        max_epochs=2,
        random_state=0,
    )
    grid = {"hidden_size": [8, 16], "learning_rate": [0.01, 0.03]}
    return GridSearchCV(estimator, grid, cv=2)


def test_grid_search_with_the_joblib_dask_backend(client):
    X, y = make_blobs(n_samples=200, centers=3, random_state=0)

    def search():
        with joblib.parallel_backend("dask"):
            return grid_search().fit(X, y)

    searched, names = ran_on(client, search)
    assert searched.best_params_ in searched.cv_results_["params"]
    # The 4 candidates x 2 folds ran as joblib batches on the cluster's workers,
    # and each fit's neighbour search as tasks nested inside them.
    assert sum(name.startswith("batch_of__fit_and_score") for name in names) >= 2
    assert any("_block_search" in name for name in names)
    sequential = grid_search().fit(X, y)
    assert searched.cv_results_["params"] == sequential.cv_results_["params"]


def test_grid_search_on_worker_processes_equals_the_sequential_search():
    # Worker processes, as on a real cluster: each fit has torch's global RNG to
    # itself, which concurrent fits in threads of one process share, so only
    # there are the scores bit-for-bit those of the sequential search.
    X, y = make_blobs(n_samples=200, centers=3, random_state=0)
    with (
        local_cluster(processes=True) as cluster,
        distributed.Client(cluster) as client,
    ):
        with joblib.parallel_backend("dask"):
            searched, names = ran_on(client, lambda: grid_search().fit(X, y))
    assert sum(name.startswith("batch_of__fit_and_score") for name in names) >= 2
    sequential = grid_search().fit(X, y)
    for key in ["params", "split0_test_score", "split1_test_score"]:
        np.testing.assert_array_equal(
            searched.cv_results_[key], sequential.cv_results_[key]
        )
    assert searched.best_params_ == sequential.best_params_
