"""The folder where downloaded data sets are kept."""

import os
from pathlib import Path

DATA_HOME_ENV = "SEQKNN_DATA"


def get_data_home(data_home=None):
    """Return the path of the seqknn data folder, creating it if missing.

    Data sets that do not ship with the package (such as the KDD Cup 1999
    data of :func:`load_kddcup99`) are looked for, and downloaded to, this
    folder. It is, in order of precedence: ``data_home``, the environment
    variable ``SEQKNN_DATA``, or ``seqknn_data`` in the user's home folder.
    A leading ``~`` is expanded.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use. None takes ``SEQKNN_DATA`` or ``~/seqknn_data``.

    Returns
    -------
    data_home : str
        The path of the folder, which exists on return.

    See Also
    --------
    sklearn.datasets.get_data_home : The same for scikit-learn's data sets.

    Examples
    --------
    >>> import os, tempfile
    >>> from seqknn.datasets import get_data_home
    >>> tmp = tempfile.TemporaryDirectory()
    >>> home = get_data_home(os.path.join(tmp.name, "seqknn_data"))
    >>> os.path.isdir(home)
    True
    >>> tmp.cleanup()
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or Path("~") / "seqknn_data"
    data_home = Path(data_home).expanduser()
    data_home.mkdir(parents=True, exist_ok=True)
    return str(data_home)
