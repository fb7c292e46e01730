"""The folder where downloaded data sets are kept, and the download into it."""

import hashlib
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


def check_sha256(path, sha256):
    """Raise a ValueError when the sha256 of the file ``path`` is not ``sha256``."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        raise ValueError(f"its sha256 is {digest.hexdigest()}, expected {sha256}")


def fetch(file_name, url, sha256, *, data_home, download_if_missing, loader):
    """The path of ``file_name`` in the data folder, downloaded there if missing.

    The file, downloaded or already there, must have the sha256 ``sha256``:
    an edited or corrupt file is not read. ``loader`` is the name of the
    calling loader, for the error messages.
    """
    home = Path(get_data_home(data_home))
    path = home / file_name
    if path.exists():
        try:
            check_sha256(path, sha256)
        except ValueError as exc:
            raise ValueError(
                f"{path} is not the {file_name} of {url}: {exc}. Delete it so "
                f"that {loader} downloads it again, or pass it as path= to read "
                "it without this check."
            ) from exc
        return path
    if not download_if_missing:
        raise FileNotFoundError(
            f"{file_name} is not in the seqknn data folder {home}. Download it "
            f"from {url} and put it in that folder, pass its location as "
            f"path=, or call {loader} with download_if_missing=True."
        )
    download(url, path, lambda partial: check_sha256(partial, sha256))
    return path
