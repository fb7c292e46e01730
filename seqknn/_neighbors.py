"""Neighbour targets: the K nearest other training samples of every training sample.

The models are trained to reproduce, for a training sample x, the labels and the
feature vectors of its K nearest neighbours in order (the paper's Y^T and X^T). This
module computes the (n_samples, K) index array those targets are gathered from.
Everything else only sees that index array, so a new way of finding neighbours
(out-of-core batches, an approximate index, a Dask cluster) is a new strategy here
and nothing else changes.
"""

from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted

from ._compat import Interval, StrOptions
from ._data import (
    _finite,
    check_lazy_X,
    chunk_rows,
    distinct_in_block,
    distinct_rows,
    is_lazy,
    read_ahead,
    take_rows,
)
from ._device import resolve_device
from ._optional import import_optional

# Floats in one block of squared distances: on the CPU 16 MiB in float32,
# small enough to stay in cache while it is searched; on an accelerator
# 256 MiB, so that each product and top-k is large enough to keep it busy.
_TILE = {"cpu": 2**22, "accelerator": 2**26}
# Whether rows of a block that cannot improve their neighbours are skipped: it
# saves most of the top-k work, but on an accelerator choosing them would make
# the host wait for the device at every block.
_SKIP_ROWS = {"cpu": True, "accelerator": False}
# Columns of a block of distances are searched in groups of this many.
_GROUP = 64


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


def training_neighbors(
    X,
    n_neighbors,
    neighbors="exact",
    random_state=None,
    candidates=None,
    device="cpu",
):
    """Indices of the ``n_neighbors`` nearest other training samples, nearest first.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training data, already standardised by the caller.
    n_neighbors : int
        Number of neighbours K per sample; ``n_samples`` must exceed it.
    neighbors : "exact" or estimator
        ``"exact"`` searches exactly with :class:`ExactNeighbors` (Euclidean).
        Any object with ``fit(X)`` and ``kneighbors(X, n_neighbors,
        return_distance=False)`` can be passed instead, for example
        ``NearestNeighbors(metric="manhattan")`` or an approximate index with
        that interface; it is cloned, never fitted in place.
    random_state : int, RandomState instance or None, default=None
        Seeds a randomised ``neighbors`` object whose own ``random_state`` is
        None, so that the caller's seed makes the targets reproducible.
    candidates : ndarray of int, default=None
        Indices of the samples that may be neighbours (all by default). The
        estimators pass their training split, so that validation samples are
        never the targets of training samples; every sample, validation ones
        included, gets neighbours among the candidates.

    device : str or torch.device, default="cpu"
        Where the ``"exact"`` search runs, and a ``neighbors`` object whose
        ``device`` is None; the estimators pass their own device, so that a
        GPU fit searches its targets on the GPU.

    Returns
    -------
    indices : ndarray of shape (n_samples, n_neighbors), dtype int64
        Row i holds the neighbours of sample i, closest first; never i itself.
        With the exact search, the lower index comes first among equal
        distances, so the copies of a sample are its first neighbours.

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
        search = ExactNeighbors(device=device)
    else:
        # safe=False: an object without get_params is deep-copied instead.
        search = clone(neighbors, safe=False)
        params = search.get_params() if hasattr(search, "get_params") else {}
        if "random_state" in params and params["random_state"] is None:
            seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
            search.set_params(random_state=int(seed))
        if "device" in params and params["device"] is None:
            search.set_params(device=device)  # the estimator's device
    # Sorted: data on disk is then read in order, and blocks of the candidates
    # are blocks of the data.
    candidates = np.arange(len(X)) if candidates is None else np.sort(candidates)
    if len(candidates) <= n_neighbors:
        raise ValueError(
            f"n_neighbors={n_neighbors} needs more than {n_neighbors} samples to "
            f"choose neighbours from, but there are {len(candidates)}. Lower "
            "n_neighbors or pass more data."
        )
    search.fit(take_rows(X, candidates))
    indices = search.kneighbors(X, n_neighbors + 1, return_distance=False)
    indices = np.array(indices, dtype=np.int64, copy=None)
    # In place (mode="clip" is unbuffered): an (n, K + 1) array can be large.
    np.take(candidates, indices, out=indices, mode="clip")
    if indices.shape != (X.shape[0], n_neighbors + 1):
        raise ValueError(
            f"The neighbours object {neighbors!r} returned neighbour indices of "
            f"shape {indices.shape}; expected {(X.shape[0], n_neighbors + 1)}. "
            "It must implement kneighbors(X, n_neighbors, return_distance=False) "
            "like sklearn.neighbors.NearestNeighbors."
        )
    return _exclude_self(indices)


def _check_rows(X):
    """Data to read rows from: checked in memory, or read lazily from disk.

    An in-memory X is checked whole (2-D, numeric, finite). A lazy X (see
    :func:`~seqknn._data.is_lazy`) is checked without being read (2-D,
    numeric, non-empty); its values are checked block by block as the search
    reads them.
    """
    if is_lazy(X):
        check_lazy_X(X)
        return X
    return check_array(X, dtype=[np.float64, np.float32])


# Why a search may be asked for more neighbours than an estimator's K.
_PLUS_ONE = (
    "the seqknn estimators ask for their n_neighbors + 1, to leave each "
    "training sample itself out"
)


class _BaseNeighbors(BaseEstimator):
    """What the neighbour searches share: checking the data, queries and K.

    Each search keeps its own algorithm: its ``fit`` starts with
    ``X = self._fit_rows(X)`` and its ``kneighbors`` with
    ``X = self._validate_queries(X)`` and
    ``n_neighbors = self._check_n_neighbors(n_neighbors, ...)``, so that all
    searches accept the same inputs and reject bad ones with the same errors.
    ``_as_rows`` is how a search takes its rows; a search that needs another
    form (a dask array) overrides it.
    """

    def _as_rows(self, X, what):
        """``X`` checked as rows: in memory, or read lazily from disk.

        ``what`` ("fitted data" or "queries") names X in error messages.
        """
        return _check_rows(X)

    def _fit_rows(self, X):
        """Validate the parameters and ``X``; set ``n_samples_fit_`` and
        ``n_features_in_``. Returns the checked ``X``."""
        self._validate_params()
        X = self._as_rows(X, "fitted data")
        self.n_samples_fit_, self.n_features_in_ = X.shape
        return X

    def _validate_queries(self, X):
        """The checked queries ``X``: fitted search, 2-D numeric rows with the
        fitted number of features."""
        check_is_fitted(self)
        X = self._as_rows(X, "queries")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} was "
                f"fitted with {self.n_features_in_} features. Pass queries with "
                "the fitted features."
            )
        return X

    def _check_n_neighbors(self, n_neighbors, limit=None, of=None, remedy=None):
        """``n_neighbors`` as an int, or a clear error.

        It must be a positive integer, at most ``n_samples_fit_`` and, where a
        search sees fewer samples per query, at most ``limit``: the number of
        ``of`` (what these are), which ``remedy`` says how to raise.
        """
        if (
            isinstance(n_neighbors, bool)
            or not isinstance(n_neighbors, Integral)
            or n_neighbors < 1
        ):
            raise ValueError(
                f"n_neighbors must be a positive integer, got {n_neighbors!r}."
            )
        if n_neighbors > self.n_samples_fit_:
            raise ValueError(
                f"n_neighbors={n_neighbors} exceeds the {self.n_samples_fit_} "
                f"fitted samples; {_PLUS_ONE}. Lower n_neighbors or fit on more "
                "samples."
            )
        if limit is not None and n_neighbors > limit:
            raise ValueError(
                f"n_neighbors={n_neighbors} exceeds the {limit} {of}; "
                f"{_PLUS_ONE}. {remedy}"
            )
        return int(n_neighbors)


def check_batch_neighbors(search, n_neighbors):
    """``search._check_n_neighbors`` for Algorithm 1's searches.

    A query of ``OutOfCoreNeighbors`` or ``DaskNeighbors``'s candidate mode
    sees only ``n_batches x samples_per_batch`` samples.
    """
    return search._check_n_neighbors(
        n_neighbors,
        search.n_batches * search.samples_per_batch,
        of=(
            f"samples a query sees (n_batches={search.n_batches} x "
            f"samples_per_batch={search.samples_per_batch})"
        ),
        remedy="Raise n_batches or samples_per_batch.",
    )


def block_kneighbors(queries, points, n_neighbors, device="cpu"):
    """Exact ``n_neighbors`` nearest ``points`` of every query, both in memory.

    The kernel of the blocked searches: float32 squared distances in the
    expanded form ||q||^2 - 2 q.p + ||p||^2 (one matrix product), a partial
    sort to ``2 * n_neighbors`` candidates, then their distances recomputed
    directly in float64 and the ``n_neighbors`` nearest kept.

    Parameters
    ----------
    queries : ndarray of shape (n_queries, n_features)
    points : ndarray of shape (n_points, n_features)
    n_neighbors : int
        At most ``n_points``.
    device : torch.device, default="cpu"
        Where the distances are computed and ranked.

    Returns
    -------
    distances : ndarray of shape (n_queries, n_neighbors), dtype float64
        Euclidean distances, ascending along each row.
    indices : ndarray of shape (n_queries, n_neighbors), dtype int64
        Row indices into ``points``.

    Examples
    --------
    >>> import numpy as np
    >>> from seqknn._neighbors import block_kneighbors
    >>> points = np.array([[0.0], [1.0], [3.0]])
    >>> block_kneighbors(np.array([[2.5]]), points, 2)
    (array([[0.5, 1.5]]), array([[2, 1]]))
    """
    queries = np.asarray(queries, dtype=np.float32)
    points = np.asarray(points, dtype=np.float32)
    q, p = torch.from_numpy(queries).to(device), torch.from_numpy(points).to(device)
    # ||q||^2 is the same along a row, so it does not change the ranking;
    # one fused product and torch's top-k took 16 ms for 1,024 x 3,200 x 118
    # where numpy's product, sums and argpartition took 42 ms.
    sq = torch.addmm(p.square().sum(1), q, p.T, alpha=-2)
    # Twice the candidates, as the exact search keeps: float32 rounding can
    # misorder near-ties at the boundary, which the float64 re-rank settles.
    n_candidates = min(2 * n_neighbors, len(points))
    chosen = _smallest(sq, n_candidates)[1].cpu().numpy()  # int64, as torch indexes
    squared, chosen = rerank(queries, chosen, points[chosen], n_neighbors)
    return np.sqrt(squared), chosen


def rerank(queries, candidates, points, n_keep):
    """The ``n_keep`` nearest candidates of each query, by distances computed directly.

    The expanded form ||q||^2 - 2 q.p + ||p||^2 that the searches rank by
    loses precision for near-zero distances; the squared distances are
    recomputed here as sum((p - q)^2) in float64, and among equal distances
    the lower index comes first, so the order does not depend on the search.

    Parameters
    ----------
    queries : ndarray of shape (n_queries, n_features)
    candidates : ndarray of shape (n_queries, n_candidates), dtype int64
        Row indices of each query's candidates.
    points : ndarray of shape (n_queries, n_candidates, n_features)
        The candidates' rows.
    n_keep : int
        At most ``n_candidates``.

    Returns
    -------
    squared_distances : ndarray of shape (n_queries, n_keep), dtype float64
        Ascending along each row.
    indices : ndarray of shape (n_queries, n_keep), dtype int64
    """
    diff = np.asarray(points, dtype=np.float64) - queries[:, None, :]
    squared = np.square(diff).sum(axis=2)
    order = np.lexsort((candidates, squared))[:, :n_keep]
    return (
        np.take_along_axis(squared, order, axis=1),
        np.take_along_axis(candidates, order, axis=1),
    )


def copies_of(inverse, n_distinct):
    """(members, offsets): the copies of distinct row u are
    ``members[offsets[u]:offsets[u + 1]]``, in increasing order.

    ``inverse[i]`` is the distinct row that row i is a copy of.
    """
    members = np.argsort(inverse, kind="stable")
    offsets = np.zeros(n_distinct + 1, dtype=np.int64)
    np.cumsum(np.bincount(inverse, minlength=n_distinct), out=offsets[1:])
    return members, offsets


def expand_copies(distances, distinct, members, offsets, n_neighbors):
    """The ``n_neighbors`` nearest samples, from each query's nearest distinct rows.

    Each distinct row found stands for its copies, at its distance; the
    lowest-indexed ``n_neighbors`` copies of each are candidates, and the
    nearest candidates (the lower index first among equal distances) are
    kept. With distinct rows numbered in order of first occurrence and ranked
    by (distance, number), ``n_neighbors`` distinct rows per query are
    enough: each of the ``n_neighbors`` lowest indices at one distance
    belongs to one of the ``n_neighbors`` distinct rows there that occur
    first.

    Parameters
    ----------
    distances : ndarray of shape (n_queries, n_found)
        (Squared) distances of the distinct rows found, ascending.
    distinct : ndarray of shape (n_queries, n_found), dtype int64
        Their numbers.
    members, offsets : ndarray
        From :func:`copies_of`.
    n_neighbors : int

    Returns
    -------
    distances, indices : ndarray of shape (n_queries, n_neighbors)
        Indices of samples (copies), nearest first.
    """
    n_queries, n_found = distinct.shape
    out_d = np.empty((n_queries, n_neighbors), dtype=distances.dtype)
    out_i = np.empty((n_queries, n_neighbors), dtype=np.int64)
    copy = np.arange(n_neighbors)
    # Queries per step: about 2^22 candidates at a time.
    step = max(1, 2**22 // (n_found * n_neighbors))
    for start in range(0, n_queries, step):
        rows = slice(start, start + step)
        first = offsets[distinct[rows]]
        count = offsets[distinct[rows] + 1] - first
        valid = copy < count[..., None]
        position = np.where(valid, first[..., None] + copy, 0)
        candidates = np.where(valid, members[position], len(members))
        candidate_d = np.where(valid, distances[rows, :, None], np.inf)
        candidates = candidates.reshape(len(first), -1)
        candidate_d = candidate_d.reshape(len(first), -1)
        order = np.lexsort((candidates, candidate_d))[:, :n_neighbors]
        out_d[rows] = np.take_along_axis(candidate_d, order, axis=1)
        out_i[rows] = np.take_along_axis(candidates, order, axis=1)
    return out_d, out_i


def _smallest(values, k):
    """(values, column indices) of the k smallest entries of each row."""
    return torch.topk(values, k, dim=1, largest=False, sorted=False)


def _block_smallest(distances, k, threshold=None):
    """The k smallest entries of the rows of a block that can beat ``threshold``.

    A full top-k over every row of every block would cost more than the matrix
    product that made it. Instead the columns are split into groups of
    ``_GROUP`` (columns c, c + w/G, c + 2w/G, ...: their minimum is an
    element-wise minimum of contiguous slices, which vectorises); the k
    smallest entries of a row lie in its k groups with the smallest minima, so
    only those k x G entries are searched. Rows whose every group minimum is
    at least their ``threshold`` (the k-th best distance found so far) are
    skipped: on data with close neighbours, most rows of most blocks. Without
    a ``threshold`` every row is searched: on an accelerator, choosing the
    rows would make the host wait for the device at every block.

    Parameters
    ----------
    distances : Tensor of shape (n_rows, w)
        w a multiple of ``_GROUP``.
    k : int
    threshold : Tensor of shape (n_rows, 1), default=None

    Returns
    -------
    rows : Tensor of shape (n_kept,) or slice
        The rows searched (``slice(None)``: all of them).
    values, columns : Tensor of shape (n_kept, min(k, w))
        Their k smallest entries and the columns these are in.
    """
    n_rows, width = distances.shape
    stride = width // _GROUP
    minima = distances.view(n_rows, _GROUP, stride).amin(1)
    rows = slice(None)
    if threshold is not None:
        rows = (minima < threshold).any(1).nonzero().squeeze(1)
        if len(rows) == 0:
            return rows, distances[:0, :0], rows[:, None]
        if len(rows) < n_rows:
            minima, distances = minima[rows], distances[rows]
    _, groups = _smallest(minima, min(k, stride))
    offsets = torch.arange(_GROUP, device=groups.device) * stride
    columns = (groups[:, :, None] + offsets).reshape(len(minima), -1)
    values, keep = _smallest(distances.gather(1, columns), min(k, columns.shape[1]))
    return rows, values, columns.gather(1, keep)


class ExactNeighbors(_BaseNeighbors):
    """Exact Euclidean nearest neighbours by blocked float32 matrix products.

    The search behind ``neighbors="exact"``. For a block of queries and a
    block of fitted samples it computes ||p||^2 - 2 q.p (one fused matrix
    product; ||q||^2 does not change a query's ranking), keeps each query's
    closest candidates of the block and merges them with those of the blocks
    before, as faiss does. The distances of the 2K closest candidates are then
    recomputed directly in float64 and sorted (ties by index), so that float32
    rounding of the expanded form cannot reorder neighbours unless they are
    within rounding of each other. The blocks bound the memory used to one
    block of distances; fitted data on disk is read block by block and never
    loaded whole.

    Exact copies are searched once (``deduplicate=True``): fitted data in
    memory is collapsed to its distinct rows, each of which stands for its
    copies at its distance, and copies among the queries are searched once
    per block of queries. The neighbours are the same, nearest first and,
    among equal distances, the lowest index first; a sample's copies come
    first, as with :class:`~seqknn.FaissNeighbors`. On the network-intrusion
    training split (394,274 rows, 118,916 distinct) the training targets
    took 164 s against 901 s searching every row (one torch thread,
    ``benchmarks/bench_neighbors.py``). It also keeps them exact there: the
    float32 expanded distance cannot tell a copy from a near-copy 0.0005
    away, and where more than 2K such rows tie, the 2K candidates re-ranked
    can all be near-copies; searching every row, 7% of the neighbours found
    were farther than the true K-th.

    Parameters
    ----------
    backend : {"torch", "faiss"}, default="torch"
        What finds the 2K candidates. ``"torch"``: blocked products on
        ``device``, with a vectorised in-block top-K; data on disk is read
        block by block. ``"faiss"``: faiss's exact ``IndexFlatL2`` (the
        ``seqknn[faiss]`` extra) on the CPU, which holds the fitted data in
        memory; the index is built once, in ``fit``. Both give the same
        neighbours up to float32 ties. On 50,000
        and 100,000 network-intrusion samples (``benchmarks/bench_neighbors.py``)
        torch ran 1.4-1.8x and faiss 1.9-2.0x faster than scikit-learn's
        brute-force search; torch is the default because it also runs on a
        GPU and on data on disk, and needs no extra.
    query_block_size : int, default=1024
        Number of queries searched together.
    device : str, torch.device or None, default=None
        Where the torch products run; ``"auto"`` uses CUDA when a GPU is
        visible. None: on the CPU when used alone, on the estimator's device
        when passed as an estimator's ``neighbors``.
    deduplicate : bool, default=True
        Search each distinct row once, as above. Fitted data on disk is
        searched as it is: collapsing it would hold its distinct rows in
        memory. Rows are copies when their float32 values are equal (-0.0
        equals 0.0); finding them took about 1 s on the 394,274 x 118
        network-intrusion rows. Rows searched as they are can lose copies
        to near-copies where more than 2 ``n_neighbors`` rows lie within
        float32 rounding of a query, as above.

    Attributes
    ----------
    n_samples_fit_ : int
        Number of fitted samples.
    n_distinct_fit_ : int
        Number of rows searched: the distinct fitted rows, or
        ``n_samples_fit_`` when they were not collapsed.
    n_features_in_ : int
        Number of features.

    See Also
    --------
    OutOfCoreNeighbors : Approximate neighbours at a cost linear in n.

    Examples
    --------
    >>> import numpy as np
    >>> from seqknn import ExactNeighbors
    >>> X = np.array([[0.0], [1.0], [3.0], [7.0]])
    >>> distances, indices = ExactNeighbors().fit(X).kneighbors([[2.5]], 2)
    >>> distances, indices
    (array([[0.5, 1.5]]), array([[2, 1]]))
    """

    _parameter_constraints = {
        "backend": [StrOptions({"torch", "faiss"})],
        "query_block_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device, None],
        "deduplicate": ["boolean"],
    }

    def __init__(
        self, backend="torch", query_block_size=1024, device=None, deduplicate=True
    ):
        self.backend = backend
        self.query_block_size = query_block_size
        self.device = device
        self.deduplicate = deduplicate

    def fit(self, X, y=None):
        """Remember the data to search (in memory as float32, or on disk).

        In memory and with ``deduplicate=True``, only its distinct rows and
        where their copies are.

        With ``backend="faiss"``, also build the faiss index over it.

        Parameters
        ----------
        X : array-like or lazy rows object of shape (n_samples, n_features)
            Data to search in.
        y : None
            Ignored.

        Returns
        -------
        self : ExactNeighbors
        """
        X = self._fit_rows(X)
        self._members = self._offsets = None
        if not is_lazy(X):
            X = np.asarray(X, dtype=np.float32)
            if self.deduplicate:
                first_rows, inverse = distinct_rows(X, chunk_rows(X.shape[1], 4))
                if len(first_rows) < len(X):
                    self._members, self._offsets = copies_of(inverse, len(first_rows))
                    X = X[first_rows]
        self._fit_X = X
        self.n_distinct_fit_ = self._fit_X.shape[0]
        self._index = self._faiss_index() if self.backend == "faiss" else None
        return self

    def _faiss_index(self):
        """A faiss ``IndexFlatL2`` holding the fitted data, added block by block."""
        faiss = import_optional("faiss", 'ExactNeighbors(backend="faiss")')
        index = faiss.IndexFlatL2(self.n_features_in_)
        step = chunk_rows(self.n_features_in_, 4)
        for start in range(0, self._fit_X.shape[0], step):
            rows = np.asarray(self._fit_X[start : start + step], dtype=np.float32)
            # faiss silently returns garbage for NaN.
            index.add(np.ascontiguousarray(_finite(rows, start)))
        return index

    def __getstate__(self):
        # A faiss index is a SWIG object that cannot be pickled: it is left
        # out and rebuilt from the fitted data by the next kneighbors.
        state = dict(super().__getstate__())
        state.pop("_index", None)
        return state

    def _fitted_blocks(self, device, block_rows):
        """Yield (first row, rows, squared norms) per block of the fitted data.

        A block is padded to a multiple of ``_GROUP`` rows with zero rows of
        infinite norm, whose distances are infinite.
        """
        for start in range(0, self._fit_X.shape[0], block_rows):
            rows = np.asarray(self._fit_X[start : start + block_rows], np.float32)
            rows = torch.as_tensor(_finite(rows, start), device=device)
            norms = rows.square().sum(1)
            pad = -len(rows) % _GROUP
            if pad:
                rows = torch.cat([rows, rows.new_zeros(pad, rows.shape[1])])
                norms = torch.cat([norms, norms.new_full((pad,), torch.inf)])
            yield start, rows, norms

    def _torch_candidates(self, n_candidates):
        """A function: float32 queries -> their n_candidates closest rows.

        Each call reads the fitted blocks once (from disk, for data on disk)
        and searches them for all its queries, ``query_block_size`` at a time.
        """
        # A search fitted on a GPU and unpickled without one (V2VS's vote
        # index) runs on the CPU, with a warning.
        device = resolve_device(self.device or "cpu", fallback=True)
        kind = "cpu" if device.type == "cpu" else "accelerator"
        tile, skip_rows = _TILE[kind], _SKIP_ROWS[kind]
        block_rows = max(1, tile // self.query_block_size // _GROUP) * _GROUP
        blocks = None
        if not is_lazy(self._fit_X):  # in memory: moved to the device once
            blocks = list(self._fitted_blocks(device, block_rows))

        def search(queries):
            queries = torch.from_numpy(queries).to(device)
            shape = (len(queries), n_candidates)
            best = torch.full(shape, torch.inf, device=device)
            best_idx = torch.zeros(shape, dtype=torch.int64, device=device)
            threshold = torch.full((len(queries), 1), torch.inf, device=device)
            for first, points, norms in blocks or self._fitted_blocks(
                device, block_rows
            ):
                for start in range(0, len(queries), self.query_block_size):
                    part = slice(start, start + self.query_block_size)
                    distances = torch.addmm(norms, queries[part], points.T, alpha=-2)
                    kept, found, idx = _block_smallest(
                        distances, n_candidates, threshold[part] if skip_rows else None
                    )
                    if skip_rows and len(kept) == 0:
                        continue
                    # Views of this part's rows: assigning to them updates best.
                    part_best, part_idx = best[part], best_idx[part]
                    found = torch.cat([part_best[kept], found], 1)
                    idx = torch.cat([part_idx[kept], idx + first], 1)
                    found, keep = _smallest(found, n_candidates)
                    part_best[kept], part_idx[kept] = found, idx.gather(1, keep)
                    threshold[part][kept] = found.amax(1, keepdim=True)
            return best_idx.cpu().numpy()

        return search

    def _faiss_candidates(self, n_candidates):
        """A function: float32 queries -> their n_candidates closest rows."""
        if getattr(self, "_index", None) is None:
            # Unpickled, or backend set to "faiss" after fit: built once here.
            self._index = self._faiss_index()
        index = self._index
        return lambda queries: index.search(queries, n_candidates)[1]

    def kneighbors(self, X, n_neighbors, return_distance=True):
        """The ``n_neighbors`` nearest fitted samples of each query.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Queries.
        n_neighbors : int
            Number of neighbours, at most the number of fitted samples.
        return_distance : bool, default=True
            Also return the Euclidean distances.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors)
            Only when ``return_distance=True``.
        indices : ndarray of shape (n_queries, n_neighbors)
            Indices into the fitted data, closest first.
        """
        X = self._validate_queries(X)
        n_neighbors = self._check_n_neighbors(n_neighbors)
        # Unset in a search pickled before copies were collapsed.
        members = getattr(self, "_members", None)
        dedupe_queries = getattr(self, "deduplicate", False)
        n_distinct = self._fit_X.shape[0]
        # n_neighbors distinct rows hold at least n_neighbors samples.
        n_keep = min(n_neighbors, n_distinct)
        n_candidates = min(2 * n_keep, n_distinct)
        search = (
            self._faiss_candidates(n_candidates)
            if self.backend == "faiss"
            else self._torch_candidates(n_candidates)
        )
        # About 64 MiB of queries per call: faiss runs fastest on many queries
        # per call, and the torch search reads fitted data on disk once per
        # call (once per block of 1,024 queries, a 5.7-million-row file would
        # be read 5,600 times).
        search_rows = max(self.query_block_size, chunk_rows(self.n_features_in_, 4))
        # Distances only when asked: for the training targets of n samples
        # from disk, an (n, K) float64 array is memory to spare.
        distances = np.empty((len(X), n_neighbors)) if return_distance else None
        indices = np.empty((len(X), n_neighbors), dtype=np.int64)
        for first in range(0, len(X), search_rows):
            queries = np.ascontiguousarray(
                _finite(np.asarray(X[first : first + search_rows]), first),
                dtype=np.float32,
            )
            if dedupe_queries:
                # Copies of a query have the same neighbours: searched once.
                unique, inverse = distinct_in_block(queries)
                queries = np.ascontiguousarray(queries[unique])
            found = search(queries)
            squared = np.empty((len(queries), n_keep))
            nearest = np.empty((len(queries), n_keep), dtype=np.int64)
            for start in range(0, len(queries), self.query_block_size):
                block = slice(start, start + self.query_block_size)
                candidates = found[block]
                squared[block], nearest[block] = rerank(
                    queries[block], candidates, self._fit_X[candidates], n_keep
                )
            if members is not None:
                squared, nearest = expand_copies(
                    squared, nearest, members, self._offsets, n_neighbors
                )
            if dedupe_queries:
                squared, nearest = squared[inverse], nearest[inverse]
            rows = slice(first, first + len(nearest))
            if return_distance:
                distances[rows] = np.sqrt(squared)
            indices[rows] = nearest
        return (distances, indices) if return_distance else indices


def candidate_blocks(n_fit, n_queries, n_candidates, query_block_size, random_state):
    """Algorithm 1's draws: (query slice, sorted candidate rows) per query block.

    The queries of each block of ``query_block_size`` share ``n_candidates``
    (R x B, at most ``n_fit``) distinct rows drawn at random from the ``n_fit``
    fitted rows.
    """
    # numpy's Generator draws a small subset of a large range in O(subset)
    # (Floyd's algorithm); RandomState.choice permutes the whole range, which
    # made the search quadratic in n (447 ms per block at 5.7 million rows).
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)
    n_candidates = min(n_candidates, n_fit)
    for start in range(0, n_queries, query_block_size):
        candidates = rng.choice(n_fit, n_candidates, replace=False, shuffle=False)
        # Sorted, so that reading rows from an on-disk array is sequential.
        rows = slice(start, min(start + query_block_size, n_queries))
        yield rows, np.sort(candidates)


class OutOfCoreNeighbors(_BaseNeighbors):
    """Approximate neighbours from random batches: the paper's Algorithm 1.

    For each query, ``n_batches`` (R) random batches of ``samples_per_batch``
    (B) training samples are drawn and the K closest samples seen so far are
    kept after each batch, so that a query is compared with R x B samples
    rather than the whole training set: the cost is linear in the number of
    samples (n x R x B x d), and only the batches need to be in memory. With
    R x B >= n every sample is seen and the neighbours are exact.

    Pass it as ``neighbors=OutOfCoreNeighbors()`` to any seqknn classifier or
    sampler. The batches are drawn without replacement, so a query sees R x B
    distinct samples; to vectorise, the queries of one block of
    ``query_block_size`` share their random batches (each query still sees a
    uniformly random subset). Keeping the K closest after every batch equals
    keeping the K closest of the union of the batches, which is what is
    computed.

    Parameters
    ----------
    n_batches : int, default=50
        Number of random batches R (the paper's default).
    samples_per_batch : int, default=64
        Number of training samples B in each batch (the paper's default). Not
        the estimators' ``batch_size``, the training minibatch.
    query_block_size : int, default=1024
        Number of queries that share their random batches.
    random_state : int, RandomState instance or None, default=None
        Seeds the batches.
    device : str, torch.device or None, default=None
        Where the distances are computed; ``"auto"`` uses CUDA when a GPU is
        visible. None: on the CPU when used alone, on the estimator's device
        when passed as an estimator's ``neighbors``. The batches are read on
        the host either way.

    Attributes
    ----------
    n_samples_fit_ : int
        Number of fitted samples.
    n_features_in_ : int
        Number of features.

    See Also
    --------
    ExactNeighbors : The exact search.

    Examples
    --------
    >>> import numpy as np
    >>> from seqknn import OutOfCoreNeighbors
    >>> X = np.random.RandomState(0).normal(size=(1000, 3))
    >>> search = OutOfCoreNeighbors(n_batches=4, samples_per_batch=16, random_state=0)
    >>> search.fit(X).kneighbors(X[:2], 3, return_distance=False).shape
    (2, 3)
    """

    _parameter_constraints = {
        "n_batches": [Interval(Integral, 1, None, closed="left")],
        "samples_per_batch": [Interval(Integral, 1, None, closed="left")],
        "query_block_size": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "device": [str, torch.device, None],
    }

    def __init__(
        self,
        n_batches=50,
        samples_per_batch=64,
        query_block_size=1024,
        random_state=None,
        device=None,
    ):
        self.n_batches = n_batches
        self.samples_per_batch = samples_per_batch
        self.query_block_size = query_block_size
        self.random_state = random_state
        self.device = device

    def fit(self, X, y=None):
        """Remember the data to draw the batches from (no copy is made).

        Parameters
        ----------
        X : array-like or lazy rows object of shape (n_samples, n_features)
            Data to search in.
        y : None
            Ignored.

        Returns
        -------
        self : OutOfCoreNeighbors
        """
        self._fit_X = self._fit_rows(X)
        return self

    def kneighbors(self, X, n_neighbors, return_distance=True):
        """The ``n_neighbors`` closest samples among each query's random batches.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Queries.
        n_neighbors : int
            Number of neighbours; at most R x B (and at most the number of
            fitted samples).
        return_distance : bool, default=True
            Also return the Euclidean distances.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors)
            Only when ``return_distance=True``.
        indices : ndarray of shape (n_queries, n_neighbors)
            Indices into the fitted data, closest first.
        """
        X = self._validate_queries(X)
        n_neighbors = check_batch_neighbors(self, n_neighbors)
        indices = np.empty((len(X), n_neighbors), dtype=np.int64)
        distances = np.empty((len(X), n_neighbors)) if return_distance else None
        blocks = candidate_blocks(
            self.n_samples_fit_,
            len(X),
            self.n_batches * self.samples_per_batch,
            self.query_block_size,
            self.random_state,
        )
        device = resolve_device(self.device or "cpu", fallback=True)

        def read(block):
            rows, candidates = block
            points = _finite(np.asarray(self._fit_X[candidates], dtype=np.float32))
            return rows, candidates, _finite(np.asarray(X[rows]), rows.start), points

        # Reading a block's random rows from disk took as long as searching
        # them: the next block is read while this one is searched.
        for rows, candidates, queries, points in read_ahead(read, blocks):
            dist, chosen = block_kneighbors(queries, points, n_neighbors, device)
            indices[rows] = candidates[chosen]
            if return_distance:
                distances[rows] = dist
        return (distances, indices) if return_distance else indices
