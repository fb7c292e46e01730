"""Optional dependencies: imported on first use, with the extra that provides them."""

import importlib

# Import name -> the seqknn extra that installs it.
EXTRAS = {
    "faiss": "faiss",
    "dask": "dask",
    "dask.array": "dask",
    "distributed": "dask",
    "matplotlib.figure": "experiments",
}


def import_optional(name, purpose):
    """Import the optional module ``name``, or raise an ImportError naming the extra.

    Parameters
    ----------
    name : str
        Module to import, a key of ``EXTRAS``.
    purpose : str
        What needs it, for the error message (e.g. ``"FaissNeighbors"``).

    Examples
    --------
    >>> from seqknn._optional import import_optional
    >>> import_optional("dask.array", "DaskNeighbors").__name__
    'dask.array'
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        extra = EXTRAS[name]
        raise ImportError(
            f"{purpose} needs the optional dependency {name!r}, which is not "
            f"installed. Install it with: pip install 'seqknn[{extra}]'"
        ) from exc
