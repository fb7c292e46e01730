"""The folder where downloaded data sets are kept, and the download into it."""

import http.client
import logging
import os
import tempfile
from pathlib import Path
from urllib.request import urlopen

logger = logging.getLogger(__name__)

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


def download(url, path, parse, timeout=60):
    """Download ``url`` to ``path`` atomically; the file's ``parse(file)``.

    The file is kept only when ``parse`` (which checks it) does not raise.
    """
    logger.info("Downloading %s to %s", url, path)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urlopen(url, timeout=timeout) as response:
                    while chunk := response.read(1 << 16):
                        out.write(chunk)
            except (OSError, http.client.HTTPException) as exc:
                # URLError, HTTPError and timeouts are OSErrors.
                raise OSError(
                    f"Could not download {path.name} from {url}: {exc}. Without "
                    f"network access, get the file elsewhere and put it in "
                    f"{path.parent}, or pass its location as path=."
                ) from exc
        try:
            parsed = parse(Path(partial))
        except ValueError as exc:
            raise OSError(
                f"The file downloaded from {url} is not the expected data "
                f"({exc}); it was not kept. Try again, or get {path.name} "
                f"elsewhere and put it in {path.parent}."
            ) from exc
        os.replace(partial, path)
    finally:
        # Left over only when the download failed.
        Path(partial).unlink(missing_ok=True)
    return parsed
