"""Training data in memory, or read from disk in chunks.

In-memory data (arrays, lists, DataFrames) is validated by scikit-learn,
standardised once and, for training, moved whole to the device. Data that may
not fit in memory (a ``numpy.memmap``, a dask array, an h5py or zarr dataset:
anything 2-D with ``shape``, ``dtype`` and row slicing) is never read whole:
the standardisation statistics come from one streaming pass, and
:class:`ScaledRows` then reads, standardises and checks the rows each step asks
for (a minibatch, its neighbours' rows, a block of queries). Everything
downstream indexes the standardised data through ``X_std[rows]`` and
``take_rows``, so it does not care which of the two it has.
"""

import copy
import mmap
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.preprocessing import StandardScaler

# Rows per chunk of a streaming pass: about this many bytes of input.
_CHUNK_BYTES = 64 * 2**20


def is_lazy(X):
    """Whether ``X`` is read in chunks rather than loaded whole.

    True for a ``numpy.memmap`` and for array-likes that are not numpy arrays,
    lists, pandas objects, sparse matrices or tensors but have ``shape``,
    ``dtype`` and ``__getitem__`` (dask arrays, h5py and zarr datasets).

    Examples
    --------
    >>> import numpy as np
    >>> from seqknn._data import is_lazy
    >>> is_lazy(np.zeros((2, 2))), is_lazy([[0.0, 1.0]])
    (False, False)
    """
    if isinstance(X, np.memmap):
        return True
    if isinstance(X, (np.ndarray, list, tuple, torch.Tensor)) or sp.issparse(X):
        return False
    return not hasattr(X, "iloc") and all(
        hasattr(X, attr) for attr in ("shape", "dtype", "__getitem__")
    )


def chunk_rows(n_features, itemsize=8):
    """Rows per chunk of a streaming pass over data with ``n_features`` columns."""
    return max(1, _CHUNK_BYTES // max(1, n_features * itemsize))


def check_lazy_X(X):
    """Check what can be checked without reading ``X``: 2-D, numeric, non-empty."""
    if len(X.shape) != 2:
        raise ValueError(
            f"Expected a 2-D array, got an array of shape {X.shape}; reshape it "
            "to (n_samples, n_features)."
        )
    if np.dtype(X.dtype).kind not in "biuf":
        raise ValueError(
            f"X read in chunks must have a numeric dtype, got {X.dtype}. Convert "
            "it to float32 or float64 on disk."
        )
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(
            f"X of shape {tuple(X.shape)} is empty; at least one sample and one "
            "feature are required."
        )


def streaming_scaler(X, scaler=None):
    """``scaler`` (a new StandardScaler if None) updated with the rows of ``X``.

    One pass, chunk by chunk.
    """
    scaler = StandardScaler() if scaler is None else scaler
    step = chunk_rows(X.shape[1], np.dtype(X.dtype).itemsize)
    for start in range(0, X.shape[0], step):
        chunk = _finite(read_rows(X, slice(start, start + step)), start)
        scaler.partial_fit(chunk)
    return scaler


def check_scaler(scaler):
    """``scaler``, or a clear error for columns whose statistics overflowed.

    Values beyond about 1e154 in magnitude square to infinity in float64, so
    the variance of their column (and, in a long column, its mean) is not
    finite; standardising with it would turn the column into NaN.
    """
    finite = np.isfinite(scaler.mean_) & np.isfinite(scaler.var_)
    if not finite.all():
        raise ValueError(
            f"X column(s) {_listed(np.flatnonzero(~finite))} hold values too "
            "large in magnitude to standardise: their mean or variance "
            "overflows float64 (values beyond about 1e154). Rescale those "
            "columns first, e.g. divide them by a power of ten or take a log."
        )
    return scaler


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def standardised_float32(scaler, X):
    """``scaler.transform(X)`` as float32, the precision the network runs in.

    A standardised value beyond float32's range (finite input, far from the
    training data) would become infinite and the network's output NaN: that
    is a clear error naming the columns instead.
    """
    scaled = scaler.transform(X)
    if scaled.size and max(scaled.max(), -scaled.min()) > _FLOAT32_MAX:
        columns = np.flatnonzero(np.abs(scaled).max(axis=0) > _FLOAT32_MAX)
        raise ValueError(
            f"X column(s) {_listed(columns)} hold values that, standardised "
            "with the training mean and standard deviation, exceed float32's "
            f"range (+-{_FLOAT32_MAX:.3g}), in which the network computes. "
            "Clip or rescale those values."
        )
    return scaled.astype(np.float32, copy=False)


def _listed(columns, n=10):
    shown = ", ".join(str(c) for c in columns[:n])
    return shown + (", ..." if len(columns) > n else "")


def _finite(block, first_row=None):
    if not np.isfinite(block).all():
        where = "" if first_row is None else f" (in the rows from {first_row})"
        raise ValueError(
            f"Input X contains NaN or infinity{where}. Remove or impute those "
            "values, e.g. with sklearn.impute.SimpleImputer."
        )
    return block


def _file_of(X):
    """(path, byte offset) of a C-ordered memmap over a file, else None.

    Rows of such a memmap are read with ``os.preadv`` rather than through the
    mapping: on Linux a read through a mapping maps whole page-cache folios
    (up to megabytes) into the process, so that reading rows at random would
    make its resident size grow to the whole file. A copy-on-write memmap
    (mode "c") is read through the mapping, where its changes are.
    """
    if (
        isinstance(X, np.memmap)
        and isinstance(X.base, mmap.mmap)  # the memmap itself, not a view of one
        and X.mode != "c"
        and X.flags.c_contiguous
        and X.filename
        and hasattr(os, "preadv")
    ):
        return X.filename, X.offset
    return None


def _file_state(X):
    """(path, size, modification time) of the file under a memmap, else None."""
    if not isinstance(X, np.memmap) or not X.filename:
        return None
    try:
        stat = os.stat(X.filename)
    except OSError:
        return (X.filename, None, None)
    return (X.filename, stat.st_size, stat.st_mtime_ns)


def read_rows(X, rows):
    """``X[rows]`` as an ndarray, for a slice or sorted unique row indices."""
    where = _file_of(X)
    if where is None:
        return np.asarray(X[rows])
    if isinstance(rows, slice):
        start, stop, _ = rows.indices(X.shape[0])
        starts, lengths = np.array([start]), np.array([max(0, stop - start)])
    else:
        # Runs of consecutive rows are read at once.
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1
        starts = rows[np.concatenate([[0], breaks])] if len(rows) else rows
        lengths = np.diff(np.concatenate([[0], breaks, [len(rows)]]))
    out = np.empty((int(lengths.sum()), X.shape[1]), dtype=X.dtype)
    buffer = memoryview(out).cast("B")
    row_bytes = X.dtype.itemsize * X.shape[1]
    path, offset = where
    fd = os.open(path, os.O_RDONLY)
    try:
        position = 0
        for start, length in zip(starts.tolist(), lengths.tolist(), strict=True):
            n_bytes = length * row_bytes
            part = buffer[position : position + n_bytes]
            if os.preadv(fd, [part], offset + start * row_bytes) != n_bytes:
                raise OSError(
                    f"Could not read rows of {path}: the file is shorter "
                    "than the memmap's shape says."
                )
            position += n_bytes
    finally:
        os.close(fd)
    return out


class ScaledRows:
    """Rows of a 2-D array-like, standardised as they are read, as float32.

    ``X_std[rows]`` (a slice or integer array of any shape) reads only those
    rows, in sorted order, and returns a float32 array; ``subset(rows)`` is a
    view of some rows, read nothing. Non-finite values raise an error when
    read.

    Parameters
    ----------
    source : array-like of shape (n_samples, n_features)
        The data on disk (or in a dask array).
    scaler : StandardScaler
        Fitted; its ``transform`` standardises each block read.
    rows : ndarray of int, default=None
        The rows of ``source`` this view holds, all by default.
    """

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(self, source, scaler, rows=None, *, file_state=None):
        self.source = source
        self.scaler = scaler
        self.rows = rows
        n_rows = source.shape[0] if rows is None else len(rows)
        self.shape = (n_rows, source.shape[1])
        # The size and modification time of a memmap's file when it was
        # wrapped: a model that keeps the rows (V2VS's vote index) must not
        # read a file that was rewritten, nor touch a truncated one, whose
        # mapped pages kill the process with a bus error when read.
        self._file_state = file_state or _file_state(source)

    def check_file(self):
        """Raise a clear error if the file under a memmap source has changed."""
        if self._file_state is None:
            return
        path = self._file_state[0]
        if _file_state(self.source) != self._file_state:
            raise ValueError(
                f"The file {path} that X was memory-mapped from has changed "
                "(or gone) since it was read for fitting, and this model reads "
                "training rows from it. Refit the model on the current file, or "
                "fit it on an in-memory copy (np.asarray(X)) if the file must "
                "change."
            )

    def __getstate__(self):
        # Pickling a memmap reads all of it: check the file first.
        self.check_file()
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__.update(state)
        if _file_state(self.source) is None:
            self._file_state = None  # unpickled: the rows are in memory now

    def __len__(self):
        return self.shape[0]

    def subset(self, rows):
        """A view of the rows ``rows`` of this view."""
        rows = np.asarray(rows, dtype=np.int64)
        return ScaledRows(
            self.source,
            self.scaler,
            self._source_rows(rows),
            file_state=self._file_state,
        )

    def _source_rows(self, rows):
        return rows if self.rows is None else self.rows[rows]

    def __getitem__(self, key):
        self.check_file()
        columns = slice(None)
        if isinstance(key, tuple):  # dask's from_array reads X[rows, columns]
            key, columns = key
        if isinstance(key, slice) and self.rows is None:
            start, stop, step = key.indices(self.shape[0])
            if step == 1:
                block = read_rows(self.source, slice(start, stop))
            else:
                block = np.asarray(self.source[start:stop:step])
            shape = (len(block),)
        else:
            if isinstance(key, slice):
                key = np.arange(self.shape[0])[key]
            key = np.asarray(key, dtype=np.int64)
            shape = key.shape
            wanted = self._source_rows(key.ravel())
            # Read each row once, in increasing order (h5py needs that, and
            # it reads a memmap sequentially), then put them in the asked order.
            unique, inverse = np.unique(wanted, return_inverse=True)
            block = read_rows(self.source, unique)[inverse]
            start = None
        block = _finite(block, start)
        if block.dtype.kind != "f":
            block = block.astype(np.float64)
        scaled = standardised_float32(self.scaler, block)
        return scaled.reshape(*shape, self.shape[1])[..., columns]

    def __array__(self, dtype=None, copy=None):
        # For neighbour strategies that need the data in memory.
        return self[:].astype(dtype or self.dtype, copy=False)

    def to_dask(self):
        """The standardised rows as a lazy dask array (for DaskNeighbors)."""
        from ._optional import import_optional

        da = import_optional("dask.array", "ScaledRows.to_dask")
        self.check_file()
        source = self.source
        if not isinstance(source, da.Array):
            step = chunk_rows(self.shape[1], np.dtype(source.dtype).itemsize)
            source = da.from_array(source, chunks=(step, -1))
        if self.rows is not None:
            source = source[self.rows]
        mean, scale = self.scaler.mean_, self.scaler.scale_
        return ((source - mean) / scale).astype(np.float32)


def standardise(X, scaler=None, *, update=True):
    """The scaler and the standardised float32 rows of ``X``, in memory or on disk.

    With ``update``, ``scaler`` (a new ``StandardScaler`` if None, else a copy)
    is first updated with the statistics of ``X``: one streaming pass for data
    on disk. The rows are an ndarray for in-memory ``X`` and a
    :class:`ScaledRows` view that reads on demand for data on disk; both are
    indexed the same way (``X_std[rows]``, :func:`take_rows`,
    :func:`device_rows`), so nothing downstream asks which it has.
    """
    if update:
        scaler = StandardScaler() if scaler is None else copy.deepcopy(scaler)
        # Overflowing statistics are reported by check_scaler, not warned.
        with np.errstate(over="ignore", invalid="ignore"):
            if is_lazy(X):
                streaming_scaler(X, scaler)
            else:
                scaler.partial_fit(X)
        check_scaler(scaler)
    if is_lazy(X):
        return scaler, ScaledRows(X, scaler)
    return scaler, standardised_float32(scaler, X)


def row_blocks(X, block_rows, rows=None):
    """Yield (first row, float32 C-contiguous rows) for consecutive blocks of X.

    With ``rows`` (sorted row indices), the blocks are of ``X[rows]``, and the
    first row is a position in ``rows``.
    """
    n_rows = X.shape[0] if rows is None else len(rows)
    for start in range(0, n_rows, block_rows):
        stop = start + block_rows
        part = X[start:stop] if rows is None else X[rows[start:stop]]
        block = np.ascontiguousarray(part, dtype=np.float32)
        if not np.isfinite(block).all():
            # check_array catches this for an ndarray; a lazy X is checked here,
            # a block at a time (faiss silently returns garbage for NaN).
            raise ValueError(
                f"Rows {start} to {start + len(block) - 1} of X contain NaN or "
                "infinity; impute or drop them before searching neighbours."
            )
        yield start, block


def distinct_in_block(block):
    """(positions of the first copies, inverse) of the distinct rows of a block.

    ``block[first]`` are the distinct rows, in the order they first occur, and
    ``block[first][inverse]`` is the block. Rows are compared by their bytes,
    with -0.0 read as 0.0, so that rows are equal exactly when their values
    are.
    """
    block = block + np.float32(0)  # a copy, in which -0.0 + 0.0 is 0.0
    keys = block.view(np.dtype((np.void, block.shape[1] * 4))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return _in_order_of_occurrence(first, inverse.ravel())


def _in_order_of_occurrence(first, inverse):
    """Renumber groups (``first[g]``: group g's first row) by that first row."""
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], rank[inverse]


def _row_hashes(block):
    """A 64-bit FNV-1a hash of each row's float32 values, -0.0 read as 0.0."""
    words = (block + np.float32(0)).view(np.uint32).astype(np.uint64)
    hashes = np.full(len(block), 0xCBF29CE484222325, dtype=np.uint64)
    for column in words.T:
        hashes ^= column
        hashes *= np.uint64(0x100000001B3)
    return hashes


def _read_sorted(X, rows):
    """``X[rows]`` as float32 for any row indices, read in increasing order."""
    unique, inverse = np.unique(rows, return_inverse=True)
    return np.asarray(X[unique], dtype=np.float32)[inverse]


def distinct_rows(X, block_rows):
    """(first rows, inverse) of the distinct rows of X, read a block at a time.

    ``first_rows`` holds, in increasing order, the row where each distinct row
    first occurs, and ``inverse[i]`` the distinct row that row i is a copy
    of, numbered in order of first occurrence. Rows are grouped by a 64-bit
    hash of their values, then each row that is not the first of its group
    is compared with that first row (a second read of those rows only); a
    row that differs (a hash collision, practically never) becomes a
    distinct row of its own. Memory: about 40 bytes per row while it runs.
    """
    n_rows = X.shape[0]
    hashes = np.empty(n_rows, dtype=np.uint64)
    for start, block in row_blocks(X, block_rows):
        hashes[start : start + len(block)] = _row_hashes(block)
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    del hashes
    inverse = inverse.ravel()
    copies = np.flatnonzero(first[inverse] != np.arange(n_rows))
    alone = []
    for start in range(0, len(copies), block_rows):
        rows = copies[start : start + block_rows]
        differs = (_read_sorted(X, rows) != _read_sorted(X, first[inverse[rows]])).any(
            axis=1
        )
        alone.append(rows[differs])
    alone = np.concatenate(alone) if alone else np.empty(0, dtype=np.int64)
    inverse[alone] = len(first) + np.arange(len(alone))
    return _in_order_of_occurrence(np.concatenate([first, alone]), inverse)


def take_rows(X, rows):
    """``X[rows]``: a copy for an in-memory array, a view for :class:`ScaledRows`."""
    if isinstance(X, ScaledRows):
        return X.subset(rows)
    return X[rows]


def device_rows(X_std, device):
    """A function ``rows(indices) -> Tensor`` giving standardised rows on ``device``.

    In-memory data is moved to the device once and indexed there; data read in
    chunks is read per call (a minibatch, its neighbours) and moved then.
    Indices of any shape give a tensor of that shape plus the feature axis.
    """
    if isinstance(X_std, ScaledRows):

        def rows(indices):
            block = X_std[indices.cpu().numpy()]
            return torch.from_numpy(block).to(indices.device)

        return rows
    on_device = torch.from_numpy(X_std).to(device)
    return on_device.__getitem__


class IndexedRows:
    """The rows ``indices`` of a :func:`device_rows` function, sliced like an array.

    ``IndexedRows(rows, indices)[a:b]`` is ``rows(indices[a:b])``: a tensor of
    standardised rows where ``rows`` puts them, so that the validation rows of
    a fit are scored on the device without a trip through numpy.
    """

    def __init__(self, rows, indices):
        self.rows, self.indices = rows, indices

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, key):
        return self.rows(self.indices[key])


def read_ahead(read, items):
    """Yield ``read(item)`` for each of ``items``, reading the next one while the
    caller works on the current one.

    ``read`` runs in one background thread: a read from disk (``os.preadv``)
    or numpy's copying releases the GIL, so it overlaps with the caller's
    computation on the next core. At most two results exist at a time.
    ``items`` is consumed in the caller's thread, so random draws made while
    producing them happen in the same order as without read-ahead.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for item in items:
            future = pool.submit(read, item)
            if pending is not None:
                yield pending.result()
            pending = future
        if pending is not None:
            yield pending.result()
