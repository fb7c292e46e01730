"""Neighbour targets."""

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from seqknn._neighbors import training_neighbors


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

        def get_params(self, deep=True):
            return {}

    with pytest.raises(ValueError, match="returned neighbour indices of shape"):
        training_neighbors(np.zeros((5, 2)), 2, Broken())
