"""Reading a data file (compressed or plain), bounded and format checked."""

import bz2
import gzip
import io
import re
import zlib

import numpy as np

_CHUNK = 1 << 20  # bytes read at a time
_BLOCK = 1 << 14  # rows checked at a time
# Every byte but the separators, deleted to compare the lines' fields at once.
_NOT_SEPARATOR = bytes(b for b in range(256) if b not in b",\n")


def read_data(path, size, file_format):
    """The bytes of ``path``, decompressed, checked to be ASCII text.

    ``path`` is gzip- or bzip2-compressed (recognised by its content) or
    plain. ``size`` is the size in bytes of the full data set (decompressed):
    reading stops 1% past it (for ``\\r\\n`` line ends, say), so that a file
    that decompresses to much more, such as a decompression bomb, takes no
    more memory than the data. ``file_format`` names the expected format in
    the error messages.

    Examples
    --------
    >>> import gzip, tempfile, pathlib
    >>> from seqknn.datasets._csv import read_data
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv.gz"
    >>> _ = path.write_bytes(gzip.compress(b"1,2,3\\n"))
    >>> read_data(path, 100, "x.csv")
    b'1,2,3\\n'
    """
    limit = size + size // 100
    with open(path, "rb") as f:
        magic = f.read(3)
    if magic[:2] == b"\x1f\x8b":
        opener, compression = gzip.open, "gzip"
    elif magic == b"BZh":
        opener, compression = bz2.open, "bzip2"
    else:
        opener, compression = open, None
    chunks, n_bytes = [], 0
    try:
        with opener(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                n_bytes += len(chunk)
                if n_bytes > limit:
                    raise ValueError(
                        f"{path} is not in the format of {file_format}: it holds "
                        f"more than {limit:,} bytes"
                        f"{' once decompressed' if compression else ''}, more "
                        "than the full data set; reading stopped there."
                    )
                chunks.append(chunk)
    except (EOFError, OSError, zlib.error) as exc:
        if compression is None:
            raise
        raise ValueError(f"{path} is not a complete {compression} file: {exc}") from exc
    raw = b"".join(chunks)
    if not raw.isascii():
        at = re.search(rb"[\x80-\xff]", raw).start()
        line = raw.count(b"\n", 0, at) + 1
        raise ValueError(
            f"{path} is not in the format of {file_format}: line {line} has a "
            f"byte that is not ASCII ({raw[at]:#04x})."
        )
    return raw


class CsvFormat:
    """The format of a comma-separated data file, to read files in it.

    Parameters
    ----------
    name : str
        Name of the format (e.g. ``"covtype.data"``), for the error messages.
    n_fields : int
        The number of comma-separated fields of every line.
    fields : str
        What the fields are (e.g. ``"54 features and the class"``), for the
        error messages.
    size : int
        Size in bytes of the full data set, decompressed; see
        :func:`read_data`.
    header : bool, default=False
        Whether the first line is a header of ``n_fields`` names.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from seqknn.datasets._csv import CsvFormat
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = path.write_bytes(b"1,2,a\\n3,4,b\\n")
    >>> csv = CsvFormat("x.csv", 3, "2 features and the label", 100)
    >>> raw = csv.read(path)
    >>> csv.columns(raw, path, [0, 1], kind="int")
    array([[1., 2.],
           [3., 4.]])
    >>> _ = path.write_bytes(b"1,2,a\\n3,nan,b\\n")
    >>> csv.columns(csv.read(path), path, [0, 1])
    Traceback (most recent call last):
    ...
    ValueError: ... line 2, field 2 is 'nan', not a finite number.
    """

    def __init__(self, name, n_fields, fields, size, header=False):
        self.name = name
        self.n_fields = n_fields
        self.fields = fields
        self.size = size
        self.header = header

    def read(self, path):
        """The bytes of ``path``, decompressed, whose every line has ``n_fields``."""
        raw = read_data(path, self.size, self.name)
        if not raw.strip():
            raise ValueError(f"{path} has no data.")
        # The commas and line ends alone must be n_fields - 1 commas a line:
        # this finds a line with extra or missing fields (or an empty line)
        # without splitting the file into lines.
        skeleton = raw.translate(None, _NOT_SEPARATOR).rstrip(b"\n")
        n_lines = skeleton.count(b"\n") + 1
        line = b"," * (self.n_fields - 1) + b"\n"
        if skeleton != (line * n_lines)[:-1]:
            for number, text in enumerate(raw.split(b"\n"), 1):
                found = text.count(b",") + 1 if text.strip() else 0
                if found != self.n_fields:
                    raise ValueError(
                        f"{path} is not in the format of {self.name}: line "
                        f"{number} has {found} comma-separated fields, expected "
                        f"{self.n_fields} ({self.fields})."
                    )
        return raw

    def columns(self, raw, path, usecols=None, *, kind="float"):
        """The columns ``usecols`` (all when None) of ``raw``, read by :meth:`read`.

        ``kind`` is ``"float"`` (finite numbers), ``"int"`` (integers, returned
        as float64 too) or ``"str"``. A value of another kind, including
        ``nan`` and ``inf``, is a ValueError naming its line and field.
        """
        skiprows = int(self.header)
        try:
            # numpy's C parser; every line has n_fields, so that row i is
            # line i + 1 + skiprows.
            values = np.loadtxt(
                io.BytesIO(raw),
                delimiter=",",
                usecols=usecols,
                dtype=str if kind == "str" else np.float64,
                comments=None,
                encoding="ascii",
                skiprows=skiprows,
                ndmin=2,
            )
        except ValueError as exc:
            # Text that is not a number: found slowly, but only in a file in
            # error.
            lines = raw.split(b"\n") if kind != "str" else []
            for index in range(skiprows, len(lines)):
                fields = lines[index].split(b",")
                for j in range(self.n_fields) if usecols is None else usecols:
                    try:
                        float(fields[j])
                    except (ValueError, IndexError):
                        if lines[index].strip():
                            self._bad_value(lines, path, index, j, kind)
            raise ValueError(
                f"{path} is not in the format of {self.name}: {exc}"
            ) from exc
        if kind == "str":
            return values
        # By blocks of rows, for temporaries of a few MB whatever the data.
        for start in range(0, len(values), _BLOCK):
            block = values[start : start + _BLOCK]
            bad = ~np.isfinite(block)
            if kind == "int":
                bad |= block != np.round(block)
            if bad.any():
                row, column = np.argwhere(bad)[0]
                index = start + row + skiprows
                j = column if usecols is None else usecols[column]
                self._bad_value(raw.split(b"\n", index + 1), path, index, j, kind)
        return values

    def _bad_value(self, lines, path, index, j, kind):
        """Raise the ValueError of field ``j`` of ``lines[index]``."""
        text = lines[index].split(b",")[j].strip().decode("ascii")
        expected = "an integer" if kind == "int" else "a finite number"
        raise ValueError(
            f"{path} is not in the format of {self.name}: line {index + 1}, field "
            f"{j + 1} is {text!r}, not {expected}."
        )
