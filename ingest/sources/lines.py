"""Reading text files line by line with explicit decoding: bad bytes become counted rejects,
unreadable files (missing, permission denied, truncated or corrupt ``.gz``) a clear
:class:`~graphrec.errors.InputDataError` naming the file and line."""

from __future__ import annotations

import codecs
import gzip
import io
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from graphrec.errors import InputDataError
from ingest.records import Reject
from ingest.values import replace_surrogates

MAX_RECORD_CHARS = 500
GZIP_MAGIC = b"\x1f\x8b"
# Bytes that are not valid in the declared encoding decode (errors="surrogateescape") to U+DC80..U+DCFF.
_BAD_BYTE = re.compile("[\udc80-\udcff]")

T = TypeVar("T")


def unreadable_reason(path: Path) -> str | None:
    """Why ``path`` cannot be read as an input file, with the fix; ``None`` when it is a non-empty
    regular file this process may read."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "file not found; check the path in the dataset spec (relative paths resolve against the spec file)"
    except PermissionError:
        return (
            "permission denied on the file or a folder above it; make it readable (e.g. chmod a+r, and a+x on its "
            "folders) or run as its owner"
        )
    except OSError as e:
        return f"cannot read the file ({e.strerror or e}); check the path in the dataset spec"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file; point the spec at a file, not a directory"
    if st.st_size == 0:
        return "file is empty (0 bytes); it needs at least a header and one record"
    if not os.access(path, os.R_OK):
        return "permission denied; make the file readable (e.g. chmod a+r) or run as its owner"
    return None


def check_readable(path: Path) -> None:
    """Check that ``path`` is a non-empty regular file this process may read.

    Raises:
        InputDataError: The file does not exist, is not a file, is empty, or cannot be read
            (permission denied or another OS error); the message says how to fix it.
    """
    reason = unreadable_reason(path)
    if reason is not None:
        raise InputDataError(reason, path=str(path))


def is_gzip_name(path: Path) -> bool:
    """Whether the file name ends in ``.gz`` (any letter case)."""
    return path.suffix.lower() == ".gz"


def open_binary(path: Path) -> io.BufferedReader | gzip.GzipFile:
    """Open a file for binary reading, transparently decompressing gzip.

    A file is decompressed when its name ends in ``.gz`` (any case) or its first bytes are the gzip
    signature.

    Raises:
        InputDataError: The file does not exist, is not a file, is empty, cannot be read, or is named
            ``.gz`` but is not gzip data.
    """
    check_readable(path)
    spath = str(path)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - returned to the caller
    except PermissionError as e:
        raise InputDataError(
            "permission denied; make the file readable (e.g. chmod a+r) or run as its owner", path=spath
        ) from e
    except OSError as e:
        raise InputDataError(f"cannot open the file ({e.strerror or e})", path=spath) from e
    magic = fh.read(2)
    fh.seek(0)
    if magic == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=fh, mode="rb")
    if is_gzip_name(path):
        fh.close()
        raise InputDataError(
            f"the name ends in {path.suffix!r} but the file is not gzip data (it starts with {magic!r}); "
            "rename it without the .gz suffix, or compress it with gzip",
            path=spath,
        )
    return fh


def _text_encoding(encoding: str) -> str:
    """UTF-8 is read as ``utf-8-sig`` so a byte-order mark at the start of the file is dropped."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError as e:
        raise InputDataError(f'unknown encoding {encoding!r}; declare e.g. encoding = "utf-8" or "latin-1"') from e
    return "utf-8-sig" if name == "utf-8" else encoding


def physical_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each line, newline kept; undecodable bytes appear as
    U+DC80..U+DCFF (``surrogateescape``), see :func:`bad_byte`.

    Lines end at ``\\n`` only. A UTF-8 byte-order mark at the start of the file is dropped.

    Raises:
        InputDataError: The file cannot be opened, or reading fails part way (truncated or corrupt
            gzip data, I/O error); the message names the file and the line where reading stopped.
    """
    spath = str(path)
    raw = open_binary(path)
    number = 0
    try:
        text = io.TextIOWrapper(raw, encoding=_text_encoding(encoding), errors="surrogateescape", newline="\n")
        try:
            for line in text:
                number += 1
                yield number, line
        except EOFError as e:
            raise InputDataError(
                f"the compressed data ends early (truncated gzip: {e}); lines 1-{number} were read. "
                "Download or copy the file again, or check it with `gzip -t`",
                path=spath,
                line=number + 1,
            ) from e
        except (gzip.BadGzipFile, zlib.error) as e:
            raise InputDataError(
                f"corrupt gzip data ({e}); check the file with `gzip -t` and download or copy it again",
                path=spath,
                line=number + 1,
            ) from e
        except OSError as e:
            raise InputDataError(f"reading failed ({e})", path=spath, line=number + 1) from e
    finally:
        raw.close()


def bad_byte(text: str) -> tuple[int, bytes] | None:
    """``(0-based column, byte)`` of the first byte that was not valid in the file's encoding, or ``None``."""
    if text.isascii():
        return None
    m = _BAD_BYTE.search(text)
    if m is None:
        return None
    return m.start(), bytes([ord(m.group()) - 0xDC00])


def encoding_reject(path: Path, number: int, text: str, encoding: str, column: int, byte: bytes) -> Reject:
    """The reject for a record holding bytes that are not valid in ``encoding``."""
    return Reject(
        str(path),
        number,
        f"bytes are not valid {encoding} (byte {byte!r} at column {column + 1}); declare the file's "
        f'real encoding in the spec (e.g. encoding = "latin-1") or re-encode it '
        f"(iconv -f latin1 -t utf-8)",
        shown(text),
        kind="encoding",
    )


def shown(text: str) -> str:
    """Record text for the rejects file, truncated: bad bytes and lone surrogates shown as U+FFFD, a
    carriage return as ``\\r`` (the rejects file's ``csv`` writer would not quote it and the line would split)."""
    return replace_surrogates(text[:MAX_RECORD_CHARS]).replace("\r", "\\r")


def decoded_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str] | Reject]:
    """Yield ``(line_number, text)`` for each line (newline stripped), or a :class:`Reject`
    for a line whose bytes are not valid in ``encoding``.

    Args:
        path: File to read (gzip is decompressed).
        encoding: Declared text encoding (default UTF-8; a leading byte-order mark is dropped).

    Raises:
        InputDataError: See :func:`physical_lines`.
    """
    for number, line in physical_lines(path, encoding):
        line = line.rstrip("\r\n")
        bad = bad_byte(line)
        if bad is not None:
            yield encoding_reject(path, number, line, encoding, *bad)
        else:
            yield number, line


def content_lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str] | Reject]:
    """Like :func:`decoded_lines`, but blank lines also become (counted) rejects."""
    for item in decoded_lines(path, encoding):
        if not isinstance(item, Reject) and not item[1].strip():
            yield Reject(str(path), item[0], "blank line; remove it", "", kind="blank")
        else:
            yield item


def parse_lines(path: Path, encoding: str, parse: Callable[[int, str], T | None]) -> Iterator[T | Reject]:
    """The prologue of every line-based reader: ``parse(line_number, text)`` for each content line.

    Lines that cannot be decoded and blank lines are passed on as rejects (see :func:`content_lines`);
    a ``None`` from ``parse`` (a header line) yields nothing.

    Args:
        path: File to read (gzip is decompressed).
        encoding: Declared text encoding.
        parse: Turns one line (newline stripped) into a row or a :class:`Reject`.

    Raises:
        InputDataError: See :func:`physical_lines`.
    """
    for item in content_lines(path, encoding):
        if isinstance(item, Reject):
            yield item
            continue
        out = parse(*item)
        if out is not None:
            yield out
