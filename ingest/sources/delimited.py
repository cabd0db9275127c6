"""Delimited text: CSV, TSV, RecBole atomic files (typed headers) and header-less split files."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

from graphrec.errors import InputDataError
from ingest.records import RawRow, Reject
from ingest.sources.lines import bad_byte, encoding_reject, parse_lines, physical_lines, shown


def _names(fields: Sequence[str], *, strip_types: bool) -> list[str]:
    names = [f.strip() for f in fields]
    if strip_types:
        names = [n.split(":", 1)[0] for n in names]
    return names


def _header_names(path: Path, line: int, fields: list[str], *, strip_types: bool) -> list[str]:
    names = _names(fields, strip_types=strip_types)
    if any(not n for n in names):
        raise InputDataError(
            f"header has an empty column name: {fields!r}; name every column", path=str(path), line=line
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputDataError(
            f"header repeats column names {dupes}; make column names unique", path=str(path), line=line
        )
    return names


def _split_records(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, str, list[str]] | Reject]:
    """One record per line, fields split on ``delimiter`` (no quoting)."""
    return parse_lines(path, encoding, lambda number, text: (number, text, text.split(delimiter)))


def _csv_records(path: Path, encoding: str, delimiter: str) -> Iterator[tuple[int, str, list[str]] | Reject]:
    """Records of a quoted CSV file: a quoted field may hold delimiters, ``""`` and line breaks.

    Yields ``(first line of the record, record text, fields)``, or a :class:`Reject` for a blank line,
    undecodable bytes, malformed quoting (a quote never closed, text after a closing quote) or a field
    over the ``csv`` module's size limit (its process-wide setting is left alone).
    """
    spath = str(path)
    consumed: list[tuple[int, str]] = []

    def feed() -> Iterator[str]:
        for number, line in physical_lines(path, encoding):
            text = line.rstrip("\r\n")
            consumed.append((number, text))
            yield text + "\n"

    reader = csv.reader(feed(), delimiter=delimiter, strict=True)
    while True:
        consumed.clear()
        try:
            fields = next(reader)
            error = None
        except StopIteration:
            return
        except csv.Error as e:
            fields, error = [], e
        first = consumed[0][0]
        text = "\n".join(t for _, t in consumed)
        if error is not None:
            msg = str(error)
            if "field limit" in msg:
                kind = "field-size"
                reason = (
                    f"a field is longer than {csv.field_size_limit()} characters, the CSV reader's limit; "
                    "shorten it (ids, ratings and titles are short; keep long text in a separate file)"
                )
            elif "end of data" in msg:
                kind = "quoting"
                reason = (
                    f"a quoted field opened here is never closed: the file ends inside it (lines {first}-"
                    f"{consumed[-1][0]} were read as this one record); close the quote, and write a quote "
                    'inside a quoted field as two ("")'
                )
            else:
                kind = "quoting"
                reason = (
                    f"malformed quoting ({msg}); quote whole fields only, and write a quote inside a quoted "
                    'field as two ("")'
                )
            yield Reject(spath, first, reason, shown(text), kind=kind)
            continue
        bad = bad_byte(text)
        if bad is not None:
            yield encoding_reject(path, first, text, encoding, *bad)
        elif len(consumed) == 1 and not text.strip():
            yield Reject(spath, first, "blank line; remove it", "", kind="blank")
        else:
            yield first, text, fields


def read_delimited(
    path: Path,
    *,
    delimiter: str,
    encoding: str = "utf-8",
    header: Literal[True] | Sequence[str] = True,
    strip_types: bool = False,
    quoting: bool = True,
) -> Iterator[RawRow | Reject]:
    """Read a delimited file: one record per line, or (CSV quoting) per quoted record.

    Field values are kept exactly as written (ids lose surrounding whitespace later, in
    :mod:`ingest.mapping`). A line equal to the header (files joined together) or, with declared
    ``columns``, equal to the declared names (a header the spec did not expect) is a counted
    reject of kind ``header``.

    Args:
        path: The file (gzip is decompressed: ``.gz`` in any case, or gzip data).
        delimiter: Field separator, one character (``","``, ``"\\t"``, ``"|"``).
        encoding: Text encoding (default UTF-8; a byte-order mark at the start is dropped).
        header: ``True``: the first line names the columns; a sequence: these are the column
            names and the file has no header line.
        strip_types: Drop RecBole type suffixes from header names (``user_id:token`` → ``user_id``).
        quoting: Honour CSV double-quote quoting, including quoted line breaks (off for TSV/RecBole
            files). A record spanning lines is numbered by its first line.

    Yields:
        A :class:`RawRow` per record, or a :class:`Reject` for a record with the wrong number of
        fields, undecodable bytes, bad quoting, an oversized field, a repeated header or a blank line.

    Raises:
        InputDataError: Missing, unreadable, empty or truncated file, or an unreadable header.
    """
    declared = header is not True
    names: list[str] | None = None if header is True else list(header)
    spath = str(path)
    sep_shown = repr(delimiter)
    seen = 0  # records and rejects after the header
    header_line = 1
    source = _csv_records(path, encoding, delimiter) if quoting else _split_records(path, encoding, delimiter)
    for item in source:
        if isinstance(item, Reject):
            if names is None:
                problem = "is blank" if item.kind == "blank" else f"cannot be read: {item.reason}"
                raise InputDataError(
                    f"the header line {problem}; the first line must name the columns", path=spath, line=item.line
                )
            seen += 1
            yield item
            continue
        number, text, fields = item
        if names is None:
            names = _header_names(path, number, fields, strip_types=strip_types)
            header_line = number
            continue
        seen += 1
        if len(fields) == len(names) and _names(fields, strip_types=strip_types) == names:
            if declared:
                reason = (
                    f"this line holds the declared column names {names}: the file has a header line; remove "
                    "'columns' from the spec so the header names the columns, or delete this line"
                )
            else:
                reason = (
                    f"this line repeats the header (line {header_line}); the file looks like several files "
                    "joined together: delete the repeated header lines"
                )
            yield Reject(spath, number, reason, shown(text), kind="header")
            continue
        if len(fields) != len(names):
            yield Reject(
                spath,
                number,
                f"expected {len(names)} fields {names} separated by {sep_shown} but found {len(fields)}; "
                "fix the row, or check the delimiter declared for this file",
                shown(text),
                kind="field-count",
            )
            continue
        yield RawRow(spath, number, dict(zip(names, fields)))
    if names is None:
        raise InputDataError("file has no header line", path=spath)
    if seen == 0 and not declared:
        raise InputDataError("file has a header but no records; add data or remove the file from the spec", path=spath)


def read_split(
    path: Path, *, separator: str, columns: Sequence[str], encoding: str = "utf-8"
) -> Iterator[RawRow | Reject]:
    """Read a header-less file whose fields are split on a (possibly multi-character) separator.

    Used for MovieLens raw files (``::`` in ml-1m, ``|`` in ml-100k ``u.item``).
    """
    spath = str(path)

    def parse(number: int, text: str) -> RawRow | Reject:
        fields = text.split(separator)
        if len(fields) != len(columns):
            return Reject(
                spath,
                number,
                f"expected {len(columns)} fields {list(columns)} separated by {separator!r} but found {len(fields)}; "
                "fix the row, or check the format declared for this file",
                shown(text),
                kind="field-count",
            )
        return RawRow(spath, number, dict(zip(columns, fields)))

    return parse_lines(path, encoding, parse)
