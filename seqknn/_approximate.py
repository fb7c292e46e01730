"""Approximate neighbour search with faiss, for data too large to search exactly.

Optional: needs the ``faiss`` module (``pip install 'seqknn[faiss]'``), imported
on first use so that the core install stays light.
"""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from ._compat import Interval, StrOptions
from ._data import chunk_rows, distinct_in_block, distinct_rows, row_blocks
from ._neighbors import _BaseNeighbors, copies_of, expand_copies, rerank
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


class FaissNeighbors(_BaseNeighbors):
    """Approximate nearest neighbours with a faiss index, exact for small data.

    Pass it as ``neighbors=FaissNeighbors()`` to any seqknn classifier or
    sampler to compute the neighbour targets with an inverted-file (IVF) index
    instead of an exact search: training k-means on a sample and querying
    only the ``nprobe`` nearest of the ``nlist`` lists costs about
    n^1.5 d rather than the exact n^2 d. Euclidean distances throughout.

    Exact copies of a row are indexed once (``deduplicate=True``): ``fit``
    collapses identical rows, the index holds the distinct rows, and each
    distinct row a search finds stands for all its copies, at its distance.
    A query's neighbours are the nearest copies, nearest first and, among
    equal distances, the lowest index first; so a sample's copies (itself
    among them) are its nearest neighbours, at distance 0, and the seqknn
    estimators, which ask for K + 1 neighbours and drop the sample itself,
    get K other copies where there are that many. Copies among the queries
    are searched once per block of queries.

    This is what makes the index pay off on duplicate-heavy data. The
    network-intrusion training split (394,274 rows, 118 features) has
    118,916 distinct rows, one of them 154,457 times: indexed whole, the
    copies crowd a few lists that every query scans, and the IVF index took
    294 s, slower than the exact search (218 s). On the distinct rows the
    largest of the 345 lists holds 2,347 vectors, and fitting and searching
    took 18.2 s against 347.8 s for the exact :class:`~seqknn.ExactNeighbors`
    (measured together, 5% of its time; 35 s against 2,130 s, 2%, on a
    busier machine), recall@6 1.000 (``benchmarks/bench_neighbors.py
    --sizes 0``).

    The data are read, deduplicated, added to the index and queried in blocks
    of rows of about 64 MiB, so ``X`` can be an ndarray, a memmap, or any lazy
    on-disk rows object with ``shape``, ``dtype``, ``len`` and row reads
    ``X[a:b]`` / ``X[sorted_int_array]``; it is never read whole (``fit``
    reads it twice: once to find the distinct rows, once to add them; rows
    with a copy before them a third time, to compare them with it, so that
    only identical rows are collapsed). Memory: the index holds the distinct
    rows as float32 (4 d bytes each), the table of copies 8 bytes per sample
    and per distinct row; while ``fit`` runs, grouping the rows by a 64-bit
    hash of each takes about 40 bytes per sample.

    Parameters
    ----------
    index : {"auto", "ivf", "flat"}, default="auto"
        ``"flat"``: exact search (``faiss.IndexFlatL2``). ``"ivf"``: IVF-Flat
        (``faiss.IndexIVFFlat``), approximate. ``"auto"``: ``"flat"`` below
        10,000 distinct fitted rows, where exact search is as fast, ``"ivf"``
        from there on.
    nlist : int or None, default=None
        Number of IVF lists (k-means centroids). None: round(sqrt(m)) for the
        m distinct rows, at most m // 39 (faiss wants 39 training points per
        list). faiss suggests 4 to 16 sqrt(m) for indexes queried many times;
        here every training sample is queried once, and the k-means training
        (which grows as nlist^2) outweighs the faster queries of more lists:
        on 100,000 covtype rows 4 sqrt(n) lists took 10 s to train against
        1 s, for the same recall at nprobe >= 16.
    nprobe : int, default=16
        Number of lists searched per query: higher is slower and closer to
        exact (``nprobe=nlist`` is exact). Against exact search, 16 gave
        recall@5 0.9986 on the credit-card data (24,000 rows) and 1.0000 on
        covtype (100,000 rows); 8 gave 0.994 and 0.9997 in half the query
        time. On the network-intrusion split (394,274 rows), recall@6
        0.99992, 0.99980 and 0.99932 for 16, 8 and 4, fitting and searching
        taking 36, 22 and 14 s on a busy machine. Read at query time, so it
        can be changed after ``fit``.
    deduplicate : bool, default=True
        Index each distinct row once and expand it to its copies, as above.
        False indexes every row as it is (ties in any order). Finding the
        copies took 3 s on the network-intrusion split, and 6 s on as many
        random rows without copies, which gain nothing from it.
    random_state : int, RandomState instance or None, default=None
        Seeds the sample the IVF k-means is trained on and the k-means
        initialisation. The seqknn estimators set it from their own
        ``random_state`` when it is None.

    Attributes
    ----------
    index_ : faiss.Index
        The fitted index; vector u is the u-th distinct row.
    index_type_ : str
        ``"flat"`` or ``"ivf"``, what ``index`` resolved to.
    nlist_ : int or None
        Number of IVF lists; None for a flat index.
    n_samples_fit_ : int
        Number of fitted samples.
    n_distinct_fit_ : int
        Number of distinct fitted rows, the vectors in the index
        (``n_samples_fit_`` when ``deduplicate=False``).
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    seqknn.OutOfCoreNeighbors : The paper's random-batch approximation, no
        dependency and no index in memory.
    sklearn.neighbors.NearestNeighbors : Exact search.

    Notes
    -----
    Distances are float32 squared distances, square-rooted. The IVF index
    computes them directly. The flat index computes them as
    ||q||^2 - 2 q.p + ||p||^2, which cannot tell a copy from a near-copy, so
    it finds 2 ``n_neighbors`` candidates whose distances are then recomputed
    directly (in float64), as :class:`~seqknn.ExactNeighbors` does. Rows are
    copies when their float32 values are equal (-0.0 equals 0.0). If a
    query's ``nprobe`` lists hold fewer than ``n_neighbors`` distinct rows,
    that query is searched again in all lists, so every row is full.

    Results are reproducible: finding the distinct rows is deterministic, and
    so are faiss's k-means, assignment to lists and searches under OpenMP
    (the tests check 1 against 2 threads), so the same ``random_state`` gives
    the same indices. HNSW indexes are not offered: faiss adds vectors to an
    HNSW graph in an unspecified order when multi-threaded, and they found
    fewer of the exact neighbours. On covtype HNSW32 built slower than IVF
    trained and reached recall@5 0.98 at efSearch=32, below IVF's. On the
    118,916 distinct network-intrusion rows HNSW32 (efConstruction=40) built
    in 5 s and found 0.949, 0.960 and 0.972 of the 6 nearest at efSearch 16,
    64 and 256 (2, 5 and 17 s), where IVF (345 lists, trained in 0.3 s)
    found 0.998 at nprobe=4 (4 s) and 0.9998 at nprobe=16 (14 s).

    Examples
    --------
    >>> import numpy as np
    >>> from seqknn._approximate import FaissNeighbors
    >>> X = np.random.RandomState(0).normal(size=(20_000, 8))
    >>> X = np.concatenate([X, X[:2], X[:2]])  # rows 0 and 1 thrice
    >>> search = FaissNeighbors(random_state=0).fit(X)
    >>> search.index_type_, search.nlist_, search.n_distinct_fit_
    ('ivf', 141, 20000)
    >>> distances, indices = search.kneighbors(X[:2], 3)
    >>> indices
    array([[    0, 20000, 20002],
           [    1, 20001, 20003]])
    >>> distances
    array([[0., 0., 0.],
           [0., 0., 0.]])
    """

    _parameter_constraints = {
        "index": [StrOptions({"auto", "ivf", "flat"})],
        "nlist": [Interval(Integral, 1, None, closed="left"), None],
        "nprobe": [Interval(Integral, 1, None, closed="left")],
        "deduplicate": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self, index="auto", nlist=None, nprobe=16, deduplicate=True, random_state=None
    ):
        self.index = index
        self.nlist = nlist
        self.nprobe = nprobe
        self.deduplicate = deduplicate
        self.random_state = random_state

    def fit(self, X, y=None):
        """Build the index on the distinct rows of ``X``, read a block at a time.

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
        block_rows = chunk_rows(n_features, 4)
        if self.deduplicate:
            first_rows, inverse = distinct_rows(X, block_rows)
            n_distinct = len(first_rows)
            self._members, self._offsets = copies_of(inverse, n_distinct)
            del inverse
        else:
            first_rows, n_distinct = None, n_samples
            self._members = self._offsets = None

        index_type = self.index
        if index_type == "auto":
            index_type = "flat" if n_distinct < _EXACT_BELOW else "ivf"
        if index_type == "flat":
            index, nlist = faiss.IndexFlatL2(n_features), None
        else:
            nlist = self.nlist
            if nlist is None:
                nlist = int(round(np.sqrt(n_distinct)))
                nlist = max(1, min(nlist, n_distinct // _MIN_POINTS_PER_LIST))
            if nlist > n_distinct:
                raise ValueError(
                    f"nlist={nlist} IVF lists need at least as many samples, but "
                    f"X has {n_distinct}{' distinct' if self.deduplicate else ''}. "
                    "Lower nlist, or use index='flat'."
                )
            index = faiss.IndexIVFFlat(faiss.IndexFlatL2(n_features), n_features, nlist)
            rng = check_random_state(self.random_state)
            n_train = min(n_distinct, _TRAIN_POINTS_PER_LIST * nlist)
            # Sorted, so that reading the sample from disk is sequential.
            sample = np.sort(rng.choice(n_distinct, n_train, replace=False))
            if first_rows is not None:
                sample = first_rows[sample]
            train = np.ascontiguousarray(X[sample], dtype=np.float32)
            if not np.isfinite(train).all():
                raise ValueError(
                    "X contains NaN or infinity; impute or drop those rows before "
                    "searching neighbours."
                )
            index.cp.seed = int(rng.randint(np.iinfo(np.int32).max))
            index.train(train)

        # Distinct row u is vector u of the index.
        for _, block in row_blocks(X, block_rows, first_rows):
            index.add(block)

        self.index_ = index
        self.index_type_ = index_type
        self.nlist_ = nlist
        self.n_distinct_fit_ = n_distinct
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
            Indices into the fitted data; among samples at the same distance
            (copies of one row), the lower index first.
        """
        X = self._validate_queries(X)
        n_neighbors = self._check_n_neighbors(n_neighbors)
        # n_neighbors distinct rows hold at least n_neighbors samples.
        n_keep = min(n_neighbors, self.index_.ntotal)
        # The flat index's float32 distances ||q||^2 - 2 q.p + ||p||^2 cannot
        # tell a copy (0) from a near-copy: as ExactNeighbors does, it finds
        # 2 n_neighbors candidates, and their distances are recomputed.
        flat = self.index_type_ == "flat"
        n_search = min(2 * n_keep if flat else n_keep, self.index_.ntotal)
        faiss = _faiss()

        if self.index_type_ == "ivf":
            # Passed per search rather than set on the index, so that
            # set_params(nprobe=...) after fit takes effect.
            params = faiss.SearchParametersIVF(nprobe=min(self.nprobe, self.nlist_))
            exhaustive = faiss.SearchParametersIVF(nprobe=self.nlist_)
        else:
            params = exhaustive = None

        distances = np.empty((X.shape[0], n_neighbors))
        indices = np.empty((X.shape[0], n_neighbors), dtype=np.int64)
        block_rows = chunk_rows(self.n_features_in_, 4)
        # Unset in a search pickled before copies were collapsed.
        deduplicated = getattr(self, "_members", None) is not None
        for start, block in row_blocks(X, block_rows):
            if deduplicated:
                # Copies of a query have the same neighbours: searched once.
                first, inverse = distinct_in_block(block)
                block = np.ascontiguousarray(block[first])
            dist, ind = self.index_.search(block, n_search, params=params)
            # faiss pads with -1 when the probed lists hold too few vectors;
            # searching all lists (an exact search) fills those rows.
            short = np.flatnonzero((ind < 0).any(axis=1))
            if len(short):
                dist[short], ind[short] = self.index_.search(
                    np.ascontiguousarray(block[short]), n_search, params=exhaustive
                )
            if flat:
                dist, ind = self._rerank(block, ind, n_keep)
            if deduplicated:
                dist, ind = expand_copies(
                    dist, ind, self._members, self._offsets, n_neighbors
                )
                dist, ind = dist[inverse], ind[inverse]
            rows = slice(start, start + len(ind))
            distances[rows], indices[rows] = dist, ind
        if not return_distance:
            return indices
        return np.sqrt(np.maximum(distances, 0), out=distances), indices

    def _rerank(self, queries, candidates, n_keep):
        """The ``n_keep`` nearest candidates by squared distances computed directly.

        In float64 from the index's float32 vectors; the lower index first
        among equal distances.
        """
        n_queries, n_candidates = candidates.shape
        out_d = np.empty((n_queries, n_keep))
        out_i = np.empty((n_queries, n_keep), dtype=np.int64)
        # Queries per step: about 2^22 candidate features at a time.
        step = max(1, 2**22 // (n_candidates * self.n_features_in_))
        for start in range(0, n_queries, step):
            rows = slice(start, start + step)
            found = candidates[rows]
            points = self.index_.reconstruct_batch(found.ravel())
            out_d[rows], out_i[rows] = rerank(
                queries[rows], found, points.reshape(*found.shape, -1), n_keep
            )
        return out_d, out_i

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
