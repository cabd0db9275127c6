"""Reading text files line by line with explicit decoding: bad bytes become counted rejects."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from graphrec.errors import InputDataError
from ingest.records import Reject

MAX_RECORD_CHARS = 500


def open_binary(path: Path) -> BinaryIO:
    """Open a file for binary reading, transparently decompressing ``.gz``.

    Raises:
        InputDataError: The file does not exist, is not a file, or is empty.
    """
    if not path.exists():
        raise InputDataError(
            "file not found; check the path in the dataset spec (relative paths resolve against the spec file)",
            path=str(path),
        )
    if not path.is_file():
        raise InputDataError("not a regular file; point the spec at a file, not a directory", path=str(path))
    if path.stat().st_size == 0:
        raise InputDataError("file is empty (0 bytes); it needs at least a header and one record", path=str(path))
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # noqa: SIM115 - returned to the caller


def decoded_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str] | Reject]:
    """Yield ``(line_number, text)`` for each line (newline stripped), or a :class:`Reject`
    for a line whose bytes are not valid in ``encoding``.

    Args:
        path: File to read (``.gz`` is decompressed).
        encoding: Declared text encoding (default UTF-8).
    """
    with open_binary(path) as fh:
        for number, raw in enumerate(fh, start=1):
            raw = raw.rstrip(b"\r\n")
            try:
                yield number, raw.decode(encoding)
            except UnicodeDecodeError as e:
                bad = raw[e.start : e.start + 1]
                yield Reject(
                    str(path),
                    number,
                    f"bytes are not valid {encoding} (byte {bad!r} at column {e.start + 1}); declare the file's "
                    f'real encoding in the spec (e.g. encoding = "latin-1") or re-encode it '
                    f"(iconv -f latin1 -t utf-8)",
                    raw.decode(encoding, "replace")[:MAX_RECORD_CHARS],
                    kind="encoding",
                )


def content_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str] | Reject]:
    """Like :func:`decoded_lines`, but blank lines also become (counted) rejects."""
    for item in decoded_lines(path, encoding):
        if not isinstance(item, Reject) and not item[1].strip():
            yield Reject(str(path), item[0], "blank line; remove it", "", kind="blank")
        else:
            yield item
