"""Approximate neighbour search with faiss, for data too large to search exactly.

Optional: needs the ``faiss`` module (``pip install 'seqknn[faiss]'``), imported
on first use so that the core install stays light.
"""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from ._compat import Interval, StrOptions
from ._data import chunk_rows
from ._neighbors import _BaseNeighbors
from ._optional import import_optional

# Below this many fitted samples "auto" searches exactly: an exact search of
# n queries costs n^2 d, and measured on 10,000 samples (23 and 54 features) it
# took as long as training and querying the IVF index.
_EXACT_BELOW = 10_000

# k-means training points per IVF list: faiss warns below 39 (so the default
# nlist is capped for small data) and subsamples above 256;
# 64 gave the same recall as training on all rows (covtype, 100,000 rows) at a
# third of the training time.
_TRAIN_POINTS_PER_LIST = 64
_MIN_POINTS_PER_LIST = 39


def _faiss():
    return import_optional("faiss", "FaissNeighbors")


def _row_blocks(X, block_rows):
    """Yield (start, float32 C-contiguous rows) for consecutive blocks of rows of X."""
    for start in range(0, X.shape[0], block_rows):
        block = np.ascontiguousarray(X[start : start + block_rows], dtype=np.float32)
        if not np.isfinite(block).all():
            # check_array catches this for an ndarray; a lazy X is checked here,
            # a block at a time (faiss silently returns garbage for NaN).
            raise ValueError(
                f"Rows {start} to {start + len(block) - 1} of X contain NaN or "
                "infinity; impute or drop them before searching neighbours."
            )
        yield start, block


class FaissNeighbors(_BaseNeighbors):
    """Approximate nearest neighbours with a faiss index, exact for small data.

    Pass it as ``neighbors=FaissNeighbors()`` to any seqknn classifier or
    sampler to compute the neighbour targets with an inverted-file (IVF) index
    instead of an exact search: training k-means on a sample and querying
    only the ``nprobe`` nearest of the ``nlist`` lists costs about
    n^1.5 d rather than the exact n^2 d. Euclidean distances throughout.

    The data are read, added to the index and queried in blocks of rows of
    about 64 MiB, so ``X`` can be an ndarray, a memmap, or any lazy on-disk
    rows object with ``shape``, ``dtype``, ``len`` and row reads
    ``X[a:b]`` / ``X[sorted_int_array]``; it is never read whole. The index
    itself holds the vectors as float32 in memory (4 n d bytes).

    Parameters
    ----------
    index : {"auto", "ivf", "flat"}, default="auto"
        ``"flat"``: exact search (``faiss.IndexFlatL2``). ``"ivf"``: IVF-Flat
        (``faiss.IndexIVFFlat``), approximate. ``"auto"``: ``"flat"`` below
        10,000 fitted samples, where exact search is as fast, ``"ivf"`` from
        there on.
    nlist : int or None, default=None
        Number of IVF lists (k-means centroids). None: round(sqrt(n_samples)),
        at most n_samples // 39 (faiss wants 39 training points per list).
        faiss suggests 4 to 16 sqrt(n) for indexes queried many times; here
        every training sample is queried once, and the k-means training
        (which grows as nlist^2) outweighs the faster queries of more lists:
        on 100,000 covtype rows 4 sqrt(n) lists took 10 s to train against
        1 s, for the same recall at nprobe >= 16.
    nprobe : int, default=16
        Number of lists searched per query: higher is slower and closer to
        exact (``nprobe=nlist`` is exact). Against exact search, 16 gave
        recall@5 0.9986 on the credit-card data (24,000 rows) and 1.0000 on
        covtype (100,000 rows); 8 gave 0.994 and 0.9997 in half the query time.
        Read at query time, so it can be changed after ``fit``.
    random_state : int, RandomState instance or None, default=None
        Seeds the sample the IVF k-means is trained on and the k-means
        initialisation. The seqknn estimators set it from their own
        ``random_state`` when it is None.

    Attributes
    ----------
    index_ : faiss.Index
        The fitted index.
    index_type_ : str
        ``"flat"`` or ``"ivf"``, what ``index`` resolved to.
    nlist_ : int or None
        Number of IVF lists; None for a flat index.
    n_samples_fit_ : int
        Number of samples in the index.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    seqknn.OutOfCoreNeighbors : The paper's random-batch approximation, no
        dependency and no index in memory.
    sklearn.neighbors.NearestNeighbors : Exact search.

    Notes
    -----
    Distances are faiss's float32 squared distances, square-rooted. The flat
    index computes them as ||q||^2 - 2 q.p + ||p||^2, so the distance between
    near-duplicates carries float32 rounding; the IVF index computes them
    directly. If a query's ``nprobe`` lists hold fewer than ``n_neighbors``
    vectors, that query is searched again in all lists, so every row is full.

    The IVF index pays off when the data spread over many lists. On data
    dominated by a few clusters of near-duplicates, such as the
    network-intrusion data, a few lists hold most samples and each query
    scans them: there it took 294 s for 394,274 samples, against 218 s for
    the exact :class:`~seqknn.ExactNeighbors` (recall 1.000 either way).

    Results are reproducible: faiss's k-means, assignment to lists and
    searches are deterministic under OpenMP (the tests check 1 against 2
    threads), so the same ``random_state`` gives the same indices. HNSW
    indexes are not offered for that reason: faiss adds vectors to an HNSW
    graph in an unspecified order when multi-threaded. (On covtype HNSW32 also
    built slower than IVF trained and reached recall@5 0.98 at efSearch=32,
    below IVF's.)

    Examples
    --------
    >>> import numpy as np
    >>> from seqknn._approximate import FaissNeighbors
    >>> X = np.random.RandomState(0).normal(size=(20_000, 8))
    >>> search = FaissNeighbors(random_state=0).fit(X)
    >>> search.index_type_, search.nlist_
    ('ivf', 141)
    >>> distances, indices = search.kneighbors(X[:2], 3)
    >>> indices[:, 0]
    array([0, 1])
    """

    _parameter_constraints = {
        "index": [StrOptions({"auto", "ivf", "flat"})],
        "nlist": [Interval(Integral, 1, None, closed="left"), None],
        "nprobe": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, index="auto", nlist=None, nprobe=16, random_state=None):
        self.index = index
        self.nlist = nlist
        self.nprobe = nprobe
        self.random_state = random_state

    def fit(self, X, y=None):
        """Build the index on ``X``, reading it a block of rows at a time.

        Parameters
        ----------
        X : array-like or lazy rows object of shape (n_samples, n_features)
            Data to search in.
        y : None
            Ignored.

        Returns
        -------
        self : FaissNeighbors
        """
        X = self._fit_rows(X)
        faiss = _faiss()
        n_samples, n_features = X.shape
        index_type = self.index
        if index_type == "auto":
            index_type = "flat" if n_samples < _EXACT_BELOW else "ivf"

        if index_type == "flat":
            index, nlist = faiss.IndexFlatL2(n_features), None
        else:
            nlist = self.nlist
            if nlist is None:
                nlist = int(round(np.sqrt(n_samples)))
                nlist = max(1, min(nlist, n_samples // _MIN_POINTS_PER_LIST))
            if nlist > n_samples:
                raise ValueError(
                    f"nlist={nlist} IVF lists need at least as many samples, but "
                    f"X has {n_samples}. Lower nlist, or use index='flat'."
                )
            index = faiss.IndexIVFFlat(faiss.IndexFlatL2(n_features), n_features, nlist)
            rng = check_random_state(self.random_state)
            n_train = min(n_samples, _TRAIN_POINTS_PER_LIST * nlist)
            # Sorted, so that reading the sample from disk is sequential.
            sample = np.sort(rng.choice(n_samples, n_train, replace=False))
            train = np.ascontiguousarray(X[sample], dtype=np.float32)
            if not np.isfinite(train).all():
                raise ValueError(
                    "X contains NaN or infinity; impute or drop those rows before "
                    "searching neighbours."
                )
            index.cp.seed = int(rng.randint(np.iinfo(np.int32).max))
            index.train(train)

        block_rows = chunk_rows(n_features, 4)
        for _, block in _row_blocks(X, block_rows):
            index.add(block)

        self.index_ = index
        self.index_type_ = index_type
        self.nlist_ = nlist
        return self

    def kneighbors(self, X, n_neighbors, return_distance=True):
        """The ``n_neighbors`` nearest fitted samples of each query, nearest first.

        Parameters
        ----------
        X : array-like or lazy rows object of shape (n_queries, n_features)
            Queries, read a block of rows at a time.
        n_neighbors : int
            Number of neighbours, between 1 and ``n_samples_fit_``.
        return_distance : bool, default=True
            Also return the Euclidean distances.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors), dtype float64
            Ascending along each row; only when ``return_distance=True``.
        indices : ndarray of shape (n_queries, n_neighbors), dtype int64
            Indices into the fitted data.
        """
        X = self._validate_queries(X)
        n_neighbors = self._check_n_neighbors(n_neighbors)
        faiss = _faiss()

        if self.index_type_ == "ivf":
            # Passed per search rather than set on the index, so that
            # set_params(nprobe=...) after fit takes effect.
            params = faiss.SearchParametersIVF(nprobe=min(self.nprobe, self.nlist_))
            exhaustive = faiss.SearchParametersIVF(nprobe=self.nlist_)
        else:
            params = exhaustive = None

        distances = np.empty((X.shape[0], n_neighbors), dtype=np.float32)
        indices = np.empty((X.shape[0], n_neighbors), dtype=np.int64)
        block_rows = chunk_rows(self.n_features_in_, 4)
        for start, block in _row_blocks(X, block_rows):
            dist, ind = self.index_.search(block, n_neighbors, params=params)
            # faiss pads with -1 when the probed lists hold too few vectors;
            # searching all lists (an exact search) fills those rows.
            short = np.flatnonzero((ind < 0).any(axis=1))
            if len(short):
                dist[short], ind[short] = self.index_.search(
                    np.ascontiguousarray(block[short]), n_neighbors, params=exhaustive
                )
            rows = slice(start, start + len(block))
            distances[rows], indices[rows] = dist, ind
        if not return_distance:
            return indices
        return np.sqrt(np.maximum(distances, 0), dtype=np.float64), indices

    def __getstate__(self):
        # Serialised explicitly: faiss indexes are SWIG objects that older
        # faiss releases cannot pickle.
        state = super().__getstate__()
        if "index_" in state:
            state = dict(state)
            state["index_"] = _faiss().serialize_index(state["index_"])
        return state

    def __setstate__(self, state):
        if "index_" in state:
            state = dict(state)
            state["index_"] = _faiss().deserialize_index(state["index_"])
        super().__setstate__(state)
