"""Delimited text: CSV, TSV, RecBole atomic files (typed headers) and header-less split files."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

from graphrec.errors import InputDataError
from ingest.records import RawRow, Reject
from ingest.sources.lines import MAX_RECORD_CHARS, content_lines


def _header_names(path: Path, fields: list[str], *, strip_types: bool) -> list[str]:
    names = [f.strip() for f in fields]
    if strip_types:
        names = [n.split(":", 1)[0] for n in names]
    if any(not n for n in names):
        raise InputDataError(f"header has an empty column name: {fields!r}; name every column", path=str(path), line=1)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputDataError(f"header repeats column names {dupes}; make column names unique", path=str(path), line=1)
    return names


def read_delimited(
    path: Path,
    *,
    delimiter: str,
    encoding: str = "utf-8",
    header: bool | Sequence[str] = True,
    strip_types: bool = False,
    quoting: bool = True,
) -> Iterator[RawRow | Reject]:
    """Read a delimited file with one record per line.

    Args:
        path: The file (``.gz`` is decompressed).
        delimiter: Field separator, one character (``","``, ``"\\t"``, ``"|"``).
        encoding: Text encoding (default UTF-8).
        header: ``True``: the first line names the columns; a sequence: these are the column
            names and the file has no header line.
        strip_types: Drop RecBole type suffixes from header names (``user_id:token`` → ``user_id``).
        quoting: Honour CSV double-quote quoting (off for TSV/RecBole files).

    Yields:
        A :class:`RawRow` per record, or a :class:`Reject` for a line with the wrong number of
        fields, undecodable bytes, or a blank line.

    Raises:
        InputDataError: Missing/empty file, or an unreadable header.
    """
    names: list[str] | None = None if header is True else list(header)  # type: ignore[arg-type]
    spath = str(path)
    sep_shown = repr(delimiter)
    records = 0
    for item in content_lines(path, encoding):
        if isinstance(item, Reject):
            if names is None:
                problem = "is blank" if item.kind == "blank" else f"is not valid {encoding}: {item.reason}"
                raise InputDataError(
                    f"the header line {problem}; the first line must name the columns", path=spath, line=item.line
                )
            yield item
            continue
        number, text = item
        if quoting:
            fields = next(csv.reader([text], delimiter=delimiter), [])
        else:
            fields = text.split(delimiter)
        if names is None:
            names = _header_names(path, fields, strip_types=strip_types)
            continue
        if len(fields) != len(names):
            yield Reject(
                spath,
                number,
                f"expected {len(names)} fields {names} separated by {sep_shown} but found {len(fields)}; "
                "fix the row, or check the delimiter declared for this file",
                text[:MAX_RECORD_CHARS],
                kind="field-count",
            )
            continue
        records += 1
        yield RawRow(spath, number, dict(zip(names, fields)))
    if names is None:
        raise InputDataError("file has no header line", path=spath)
    if records == 0 and header is True:
        raise InputDataError("file has a header but no records; add data or remove the file from the spec", path=spath)


def read_split(
    path: Path, *, separator: str, columns: Sequence[str], encoding: str = "utf-8"
) -> Iterator[RawRow | Reject]:
    """Read a header-less file whose fields are split on a (possibly multi-character) separator.

    Used for MovieLens raw files (``::`` in ml-1m, ``|`` in ml-100k ``u.item``).
    """
    spath = str(path)
    for item in content_lines(path, encoding):
        if isinstance(item, Reject):
            yield item
            continue
        number, text = item
        fields = text.split(separator)
        if len(fields) != len(columns):
            yield Reject(
                spath,
                number,
                f"expected {len(columns)} fields {list(columns)} separated by {separator!r} but found {len(fields)}",
                text[:MAX_RECORD_CHARS],
                kind="field-count",
            )
            continue
        yield RawRow(spath, number, dict(zip(columns, fields)))
