"""Validate raw rows against a spec's column mapping and turn them into typed records."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from graphrec.errors import InputDataError
from ingest.formats import FORMATS, format_reader
from ingest.records import InteractionRecord, ItemRecord, RawRow, Reject
from ingest.sources.amazon_kg import parse_dbpedia_title
from ingest.sources.lines import shown
from ingest.spec import FileOptions, InteractionSource, ItemSource
from ingest.values import BadValue, parse_id, parse_rating, parse_timestamp, text_value


def read_file(opts: FileOptions, kind: str) -> Iterator[RawRow | Reject]:
    """Read one declared file (``kind``: ``"interactions"`` or ``"items"``) with the spec's options."""
    fmt = FORMATS[opts.format]
    default_enc = (fmt.items_encoding if kind == "items" else None) or fmt.default_encoding
    reader = format_reader(
        fmt,
        kind,
        encoding=opts.encoding or default_enc,
        delimiter=opts.delimiter,
        header=list(opts.columns) if opts.columns is not None else True,
    )
    return reader(opts.path)


def record_text(row: RawRow) -> str:
    """The raw row as ``key=value`` pairs, truncated, for the rejects file."""
    return shown("\t".join(f"{k}={v}" for k, v in row.values.items()))


def _resolve(columns: dict[str, str | None], row: RawRow, required: set[str]) -> dict[str, str | None]:
    """Bind optional (``name?``) columns and check required ones against the first row's keys."""
    present = set(row.values)
    bound: dict[str, str | None] = {}
    for role, col in columns.items():
        if col is None:
            bound[role] = None
        elif col.endswith("?"):
            bound[role] = col[:-1] if col[:-1] in present else None
        elif col not in present:
            need = "required" if role in required else "mapped"
            hint = ""
            if len(present) == 1 and any(sep in next(iter(present)) for sep in ",\t;|"):
                hint = " The header was read as one column: check the delimiter declared for this file."
            raise InputDataError(
                f"{need} column {col!r} (for {role}) is not in the file; it has {sorted(present)}. "
                f"Fix the '{role}' mapping in the spec or the file's header.{hint}",
                path=row.path,
                line=row.line,
            )
        else:
            bound[role] = col
    return bound


def _cell(values: dict[str, Any], column: str | None) -> Any:
    """The row's value in ``column``; ``None`` where the column is absent or unbound (an optional one)."""
    return None if column is None else values.get(column)


def row_reject(row: RawRow, reason: str, kind: str) -> Reject:
    """The :class:`Reject` of ``row``: its place, ``reason`` (with the fix), its text and ``kind``."""
    return Reject(row.path, row.line, reason, record_text(row), kind=kind)


def _reject(row: RawRow, problem: BadValue) -> Reject:
    return row_reject(row, problem.reason, problem.kind)


def interactions(
    source: InteractionSource, scenario: str, rows: Iterable[RawRow | Reject]
) -> Iterator[tuple[InteractionRecord, RawRow] | Reject]:
    """Validate interaction rows: user and item ids, rating and timestamp (rules in :mod:`ingest.values`).

    Ids lose surrounding whitespace and are otherwise kept exactly; a row with a missing or invalid
    id, a rating that is not a finite plain number, or a timestamp that is neither a number within
    int64 nor an ISO-8601 date is a counted :class:`Reject` with the reason.
    """
    cols: dict[str, str | None] | None = None
    for row in rows:
        if isinstance(row, Reject):
            yield row
            continue
        if cols is None:
            cols = _resolve(
                {"user": source.user, "item": source.item, "rating": source.rating, "timestamp": source.timestamp},
                row,
                {"user", "item"},
            )
        v = row.values
        try:
            user = parse_id(_cell(v, cols["user"]), f"user id in column {cols['user']!r}")
            item = parse_id(_cell(v, cols["item"]), f"item id in column {cols['item']!r}")
            if user is None or item is None:
                role = "user" if user is None else "item"
                yield row_reject(
                    row,
                    f"empty or missing {role} id in column {cols[role]!r}; every row needs a {role} id",
                    "missing-id",
                )
                continue
            rating = parse_rating(v.get(cols["rating"]), cols["rating"]) if cols["rating"] is not None else None
            ts = parse_timestamp(v.get(cols["timestamp"]), cols["timestamp"]) if cols["timestamp"] is not None else None
        except BadValue as problem:
            yield _reject(row, problem)
            continue
        yield InteractionRecord(scenario=scenario, user=user, item=item, rating=rating, ts=ts), row


def items(
    source: ItemSource, scenario: str, rows: Iterable[RawRow | Reject]
) -> Iterator[tuple[ItemRecord, RawRow] | Reject]:
    """Validate item rows: a valid id (rules in :mod:`ingest.values`); title (optionally parsed) and text
    assembled from the text columns."""
    cols: dict[str, str | None] | None = None
    for row in rows:
        if isinstance(row, Reject):
            yield row
            continue
        if cols is None:
            mapping = {"id": source.id, "title": source.title, "categories": source.categories}
            mapping |= {f"text:{c}": c for c in source.text}
            cols = _resolve(mapping, row, {"id"})
        v = row.values
        try:
            item_id = parse_id(_cell(v, cols["id"]), f"item id in column {cols['id']!r}")
        except BadValue as problem:
            yield _reject(row, problem)
            continue
        if item_id is None:
            yield row_reject(
                row, f"empty or missing item id in column {cols['id']!r}; every item row needs an id", "missing-id"
            )
            continue
        title = text_value(v.get(cols["title"])) if cols["title"] else ""
        if title and source.title_parser == "dbpedia":
            title = parse_dbpedia_title(title)
        parts = [text_value(v.get(c)) for role, c in cols.items() if role.startswith("text:") and c]
        text = "; ".join(p for p in parts if p)
        categories = _categories(v.get(cols["categories"]), source.categories_separator) if cols["categories"] else ()
        yield (
            ItemRecord(scenario=scenario, id=item_id, title=title or None, text=text or None, categories=categories),
            row,
        )


def _categories(value: Any, separator: str | None) -> tuple[str, ...]:
    """Categories from a list value, or from a string split on ``separator`` (default whitespace); deduplicated."""
    if value is None:
        return ()
    parts = value if isinstance(value, (list, tuple)) else str(value).split(separator)
    return tuple(dict.fromkeys(p for p in (text_value(x) for x in parts) if p))
