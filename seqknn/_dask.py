"""Neighbour targets computed by Dask, on the cluster of the active Client.

``DaskNeighbors`` is a neighbour strategy (see ``seqknn._neighbors``): the search
is cut into independent tasks, one per block of queries, each an exact in-memory
search (``block_kneighbors``) among a bounded set of rows, and ``dask.compute``
runs them wherever Dask schedules work: on the cluster of the active
``dask.distributed.Client`` if there is one, else on the local threaded
scheduler. Dask is imported on first use, so that the core install stays light.
"""

import math
from numbers import Integral

import numpy as np
from sklearn.utils import check_array

from ._compat import Interval, StrOptions
from ._neighbors import (
    _BaseNeighbors,
    block_kneighbors,
    candidate_blocks,
    check_batch_neighbors,
)
from ._optional import import_optional


def _bounds(n_rows, n_blocks):
    """Boundaries of ``n_blocks`` consecutive blocks of near-equal size.

    Sizes differ by at most one row, like ``np.array_split``, so that no block
    is a small remainder with too few rows to hold the neighbours.
    """
    sizes = np.full(n_blocks, n_rows // n_blocks)
    sizes[: n_rows % n_blocks] += 1
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def _block_search(queries, points, n_neighbors, offset, return_distance):
    """Task: exact neighbours among one block of rows that starts at ``offset``."""
    distances, chosen = block_kneighbors(queries, points, n_neighbors)
    # Distances only when asked for: they would double what is sent back.
    return (distances if return_distance else None), chosen + offset


def _candidate_search(queries, points, n_neighbors, candidates, return_distance):
    """Task: exact neighbours among the candidate rows ``candidates``."""
    distances, chosen = block_kneighbors(queries, points, n_neighbors)
    return (distances if return_distance else None), candidates[chosen]


class DaskNeighbors(_BaseNeighbors):
    """Neighbour search run by Dask, on a cluster or on the local machine.

    Pass it as ``neighbors=DaskNeighbors()`` to any seqknn classifier or
    sampler to compute the neighbour targets with Dask. The search is split
    into one task per block of queries; each task loads a bounded number of
    rows, searches them exactly with an in-memory kernel and returns the
    indices (and distances) of the block, so neither the data nor a distance
    matrix over it is ever gathered in one place. The tasks run through
    ``dask.compute``: on the cluster of the active ``dask.distributed.Client``
    if one was created, else on Dask's local threaded scheduler. Requires the
    ``seqknn[dask]`` extra.

    Two methods approximate the exact search, each with a bounded cost per
    query:

    - ``"block"``: the fitted data is split into the fewest consecutive blocks
      of at most ``block_size`` rows (of near-equal sizes), and the queries
      into as many consecutive blocks; query block j is searched exactly
      within fitted block j. When the queries are the fitted data, as when a
      classifier computes its training targets, every sample's neighbours are
      exact within its own block, and with a single block
      (``n_samples <= block_size``) the search is exact. Neighbours are only
      found among nearby rows, so shuffle data sorted by a feature or the label
      first.
    - ``"out_of_core"``: the paper's Algorithm 1, as ``OutOfCoreNeighbors``:
      for every block of ``block_size`` consecutive queries, ``n_batches`` x
      ``samples_per_batch`` (R x B) distinct rows are drawn at random from the
      whole fitted data, and the exact nearest among them are kept (the
      queries of a block share their candidates). The draws are the same as
      ``OutOfCoreNeighbors(n_batches, samples_per_batch,
      query_block_size=block_size, random_state)``, so both give the same
      neighbours. With R x B >= the
      number of fitted rows the search is exact.

    Parameters
    ----------
    method : {"block", "out_of_core"}, default="block"
        How each query block's candidate rows are chosen (see above).
    block_size : int, default=10_000
        Maximum number of rows per block. A ``"block"`` task holds a
        ``block_size`` x ``block_size`` float32 distance matrix and its
        partial sort (about 1.2 GB at 10,000 rows); an ``"out_of_core"`` task
        a ``block_size`` x R·B one (about 0.4 GB at the defaults). A numpy
        input is also cut into dask chunks of this many rows.
    n_batches : int, default=50
        Number of random batches R of ``"out_of_core"`` (the paper's default).
    samples_per_batch : int, default=64
        Number of rows B in each batch of ``"out_of_core"`` (the paper's
        default).
    random_state : int, RandomState instance or None, default=None
        Seeds the draws of ``"out_of_core"``; unused by ``"block"``.

    Attributes
    ----------
    n_samples_fit_ : int
        Number of fitted rows.
    n_features_in_ : int
        Number of features.

    See Also
    --------
    OutOfCoreNeighbors : The same Algorithm 1 in the current process.

    Notes
    -----
    ``fit`` and ``kneighbors`` accept a ``dask.array.Array`` (used as it is,
    lazily: only the rows a task needs are computed, on the worker that runs
    it), an object with a ``to_dask()`` method returning one (seqknn's lazy
    on-disk data views), or an in-memory array, which is wrapped with
    ``dask.array.from_array`` and therefore travels inside the task graph. A
    dask array is not checked for NaN or infinite values, since that would
    read it whole. The distances are Euclidean, nearest first, computed in
    float32 and refined in float64, as by ``OutOfCoreNeighbors``.

    Examples
    --------
    Without a ``Client``, the tasks run on Dask's local scheduler:

    >>> import numpy as np
    >>> from seqknn import V2VSLSClassifier
    >>> from seqknn import DaskNeighbors
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> search = DaskNeighbors(block_size=4).fit(X)
    >>> search.kneighbors(np.array([[2.5]]), 2, return_distance=False)
    array([[2, 1]])
    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.normal(size=(300, 4)), rng.randint(2, size=300)
    >>> clf = V2VSLSClassifier(
    ...     neighbors=DaskNeighbors(
    ...         method="out_of_core", n_batches=4, samples_per_batch=32
    ...     ),
    ...     max_epochs=2,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        "method": [StrOptions({"block", "out_of_core"})],
        "block_size": [Interval(Integral, 1, None, closed="left")],
        "n_batches": [Interval(Integral, 1, None, closed="left")],
        "samples_per_batch": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        method="block",
        block_size=10_000,
        n_batches=50,
        samples_per_batch=64,
        random_state=None,
    ):
        self.method = method
        self.block_size = block_size
        self.n_batches = n_batches
        self.samples_per_batch = samples_per_batch
        self.random_state = random_state

    def _as_rows(self, X, what):
        """``X`` as a 2-d dask array of rows, without computing anything."""
        da = import_optional("dask.array", "DaskNeighbors")
        if not isinstance(X, da.Array) and hasattr(X, "to_dask"):
            X = X.to_dask()
            if not isinstance(X, da.Array):
                raise TypeError(
                    f"to_dask() of the {what} returned a {type(X).__name__}; "
                    "DaskNeighbors needs it to return a dask.array.Array."
                )
        if not isinstance(X, da.Array):
            # Validated in memory like any scikit-learn input (no copy of a
            # float array), then cut into the rows a task reads.
            X = check_array(X, dtype=[np.float64, np.float32])
            return da.from_array(X, chunks=(self.block_size, -1))
        if X.ndim != 2:
            raise ValueError(
                f"The {what} must be a 2-d array of shape (n_samples, n_features); "
                f"got a dask array of shape {X.shape}."
            )
        if math.isnan(X.shape[0]):
            raise ValueError(
                f"The {what} is a dask array with an unknown number of rows (e.g. "
                "from a dask DataFrame). Call its compute_chunk_sizes() method, or "
                "use to_dask_array(lengths=True), before passing it."
            )
        if X.dtype.kind not in "biuf":
            raise ValueError(
                f"The {what} must be numeric; got a dask array of dtype {X.dtype}."
            )
        if X.shape[0] < 1 or X.shape[1] < 1:
            raise ValueError(
                f"The {what} has shape {X.shape}; it needs at least one row and "
                "one feature."
            )
        return X

    def fit(self, X, y=None):
        """Remember the data to search, lazily: nothing is computed.

        Parameters
        ----------
        X : dask array, object with ``to_dask()``, or array-like of shape \
                (n_samples, n_features)
            The rows that will be returned as neighbours.
        y : None
            Ignored.

        Returns
        -------
        self : DaskNeighbors
            The fitted search.
        """
        self._fit_X = self._fit_rows(X)
        n_blocks = math.ceil(self.n_samples_fit_ / self.block_size)
        self._fit_bounds = _bounds(self.n_samples_fit_, n_blocks)
        return self

    def kneighbors(self, X, n_neighbors, return_distance=True):
        """The ``n_neighbors`` nearest fitted rows of every query, nearest first.

        Parameters
        ----------
        X : dask array, object with ``to_dask()``, or array-like of shape \
                (n_queries, n_features)
            Queries.
        n_neighbors : int
            Number of neighbours: at most the rows of the smallest fitted block
            (``"block"``) or R x B (``"out_of_core"``), and at most the number
            of fitted rows.
        return_distance : bool, default=True
            Also return the Euclidean distances.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors), dtype float64
            Only when ``return_distance=True``.
        indices : ndarray of shape (n_queries, n_neighbors), dtype int64
            Indices into the fitted data, nearest first.
        """
        X = self._validate_queries(X)
        n_neighbors = self._check_n_neighbors(n_neighbors)
        dask = import_optional("dask", "DaskNeighbors")
        if self.method == "block":
            tasks = self._block_tasks(dask, X, n_neighbors, return_distance)
        else:
            tasks = self._candidate_tasks(dask, X, n_neighbors, return_distance)
        # One compute for all tasks: Dask schedules them together (on the
        # active Client's cluster if any) and gathers only the small results.
        results = dask.compute(*tasks)
        indices = np.concatenate([ind for _, ind in results]).astype(np.int64)
        if not return_distance:
            return indices
        return np.concatenate([dist for dist, _ in results]), indices

    def _block_tasks(self, dask, X, n_neighbors, return_distance):
        """One task per query block, searching its own fitted block."""
        n_blocks = len(self._fit_bounds) - 1
        self._check_n_neighbors(
            n_neighbors,
            int(np.diff(self._fit_bounds).min()),
            of=(
                f"rows of the smallest block (the {self.n_samples_fit_} fitted "
                f"rows are split into {n_blocks} blocks of at most "
                f"block_size={self.block_size})"
            ),
            remedy="Raise block_size or pass more data.",
        )
        # Proportional boundaries: identical to the fitted ones when the queries
        # are the fitted data, so each sample is searched within its own block.
        query_bounds = _bounds(X.shape[0], len(self._fit_bounds) - 1)
        search = dask.delayed(_block_search)
        tasks = []
        for j in range(len(self._fit_bounds) - 1):
            q_start, q_stop = query_bounds[j], query_bounds[j + 1]
            if q_start == q_stop:  # fewer queries than blocks
                continue
            start, stop = self._fit_bounds[j], self._fit_bounds[j + 1]
            points = self._fit_X[start:stop]
            queries = X[q_start:q_stop]
            tasks.append(
                search(queries, points, n_neighbors, int(start), return_distance)
            )
        return tasks

    def _candidate_tasks(self, dask, X, n_neighbors, return_distance):
        """One task per query block, searching its random candidate rows."""
        check_batch_neighbors(self, n_neighbors)
        # The draws of OutOfCoreNeighbors, so that the same seed and query
        # block size give the same neighbours.
        blocks = candidate_blocks(
            self.n_samples_fit_,
            X.shape[0],
            self.n_batches * self.samples_per_batch,
            self.block_size,
            self.random_state,
        )
        search = dask.delayed(_candidate_search)
        tasks = []
        for rows, candidates in blocks:
            # Sorted candidates: each fitted chunk is read once, in order.
            points = self._fit_X[candidates]
            tasks.append(
                search(X[rows], points, n_neighbors, candidates, return_distance)
            )
        return tasks
