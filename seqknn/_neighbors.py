"""Neighbour targets: the K nearest other training samples of every training sample.

The models are trained to reproduce, for a training sample x, the labels and the
feature vectors of its K nearest neighbours in order (the paper's Y^T and X^T). This
module computes the (n_samples, K) index array those targets are gathered from.
Everything else only sees that index array, so a new way of finding neighbours
(out-of-core batches, an approximate index, a Dask cluster) is a new strategy here
and nothing else changes.
"""

import numpy as np
from sklearn.base import clone
from sklearn.neighbors import NearestNeighbors


def _exclude_self(indices):
    """Drop each row's own index from (n, K + 1) neighbour indices, giving (n, K).

    A duplicate of a sample is a legitimate neighbour, the sample itself is not.
    Searching K + 1 neighbours returns the sample itself in its row unless K + 1
    duplicates tie with it; in that case the farthest column is dropped instead.
    """
    n_samples = indices.shape[0]
    is_self = indices == np.arange(n_samples)[:, None]
    no_self = ~is_self.any(axis=1)
    is_self[no_self, -1] = True
    return indices[~is_self].reshape(n_samples, indices.shape[1] - 1)


def training_neighbors(X, n_neighbors, neighbors="exact"):
    """Indices of the ``n_neighbors`` nearest other training samples, nearest first.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training data, already standardised by the caller.
    n_neighbors : int
        Number of neighbours K per sample; ``n_samples`` must exceed it.
    neighbors : "exact" or estimator
        ``"exact"`` searches exactly with scikit-learn's ``NearestNeighbors``
        (Euclidean). Any object with ``fit(X)`` and
        ``kneighbors(X, n_neighbors, return_distance=False)`` can be passed instead,
        for example ``NearestNeighbors(metric="manhattan")`` or an approximate
        index with that interface; it is cloned, never fitted in place.

    Returns
    -------
    indices : ndarray of shape (n_samples, n_neighbors), dtype int64
        Row i holds the neighbours of sample i, closest first; never i itself.

    Examples
    --------
    >>> import numpy as np
    >>> from seqknn._neighbors import training_neighbors
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> training_neighbors(X, 2)
    array([[1, 2],
           [0, 2],
           [1, 0],
           [2, 1]])
    """
    if isinstance(neighbors, str) and neighbors == "exact":
        search = NearestNeighbors(n_neighbors=n_neighbors + 1, algorithm="brute")
    else:
        search = clone(neighbors)
    search.fit(X)
    indices = search.kneighbors(X, n_neighbors + 1, return_distance=False)
    indices = np.asarray(indices, dtype=np.int64)
    if indices.shape != (X.shape[0], n_neighbors + 1):
        raise ValueError(
            f"The neighbours object {neighbors!r} returned neighbour indices of "
            f"shape {indices.shape}; expected {(X.shape[0], n_neighbors + 1)}. "
            "It must implement kneighbors(X, n_neighbors, return_distance=False) "
            "like sklearn.neighbors.NearestNeighbors."
        )
    return _exclude_self(indices)
