"""Reading a comma-separated data file (gzip-compressed or plain), format checked."""

import gzip
import zlib


def read_csv_bytes(path, n_fields, file_format, fields):
    """The decompressed bytes of ``path``, whose first line must have ``n_fields``.

    ``file_format`` (e.g. ``"covtype.data"``) and ``fields`` (what the fields
    are) name the expected format in the error messages.

    Examples
    --------
    >>> import gzip, tempfile, pathlib
    >>> from seqknn.datasets._csv import read_csv_bytes
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv.gz"
    >>> _ = path.write_bytes(gzip.compress(b"1,2,3\\n"))
    >>> read_csv_bytes(path, 3, "x.csv", "2 features and the class")
    b'1,2,3\\n'
    """
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise ValueError(f"{path} is not a complete gzip file: {exc}") from exc
    first_line = raw[:4096].lstrip().split(b"\n", 1)[0]
    if not first_line:
        raise ValueError(f"{path} has no data.")
    found = first_line.count(b",") + 1
    if found != n_fields:
        raise ValueError(
            f"{path} is not in the format of {file_format}: its first line has "
            f"{found} comma-separated fields, expected {n_fields} ({fields})."
        )
    return raw
