"""Validate raw rows against a spec's column mapping and turn them into typed records."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

from graphrec.errors import InputDataError
from ingest.formats import FORMATS, format_reader
from ingest.records import InteractionRecord, ItemRecord, RawRow, Reject
from ingest.sources.lines import MAX_RECORD_CHARS
from ingest.spec import FileOptions, InteractionSource, ItemSource

_DBPEDIA_PREFIXES = ("http://dbpedia.org/resource/", "https://dbpedia.org/resource/", "dbr:", "res:")


def parse_dbpedia_title(value: str) -> str:
    """Title from a DBpedia resource name: ``res:No_Mercy_(1986_film)`` → ``No Mercy (1986 film)``."""
    for prefix in _DBPEDIA_PREFIXES:
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    return unquote(value).replace("_", " ").strip()


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
    return "\t".join(f"{k}={v}" for k, v in row.values.items())[:MAX_RECORD_CHARS]


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
            raise InputDataError(
                f"{need} column {col!r} (for {role}) is not in the file; it has {sorted(present)}. "
                f"Fix the '{role}' mapping in the spec or the file's header",
                path=row.path,
                line=row.line,
            )
        else:
            bound[role] = col
    return bound


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(t for t in (_text(v) for v in value) if t)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {t}" for k, v in value.items() if (t := _text(v)))
    return str(value).strip()


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, (int, float)):
        number: float | int = value
    else:
        number = float(str(value).strip())
    if isinstance(number, float):
        if math.isnan(number) or math.isinf(number):
            raise ValueError("not finite")
        if number.is_integer():
            return int(number)
    return number


def _timestamp(value: Any) -> int | float:
    try:
        return _number(value)  # type: ignore[return-value]
    except ValueError:
        pass
    dt = datetime.fromisoformat(str(value).strip())
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp())


def interactions(source: InteractionSource, scenario: str, rows: Iterable[RawRow | Reject]) -> Iterator[
    tuple[InteractionRecord, RawRow] | Reject
]:
    """Validate interaction rows: non-empty user/item ids, numeric rating, parseable timestamp."""
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
        user, item = _text(v.get(cols["user"])), _text(v.get(cols["item"]))  # type: ignore[arg-type]
        problem = None
        kind = "missing-id"
        if not user:
            problem = f"empty or missing user id in column {cols['user']!r}"
        elif not item:
            problem = f"empty or missing item id in column {cols['item']!r}"
        rating: float | None = None
        ts: int | float | None = None
        if problem is None and cols["rating"] is not None:
            raw = v.get(cols["rating"])
            if _text(raw):
                try:
                    rating = float(_number(raw))  # type: ignore[arg-type]
                except (ValueError, TypeError):
                    problem, kind = f"rating {raw!r} in column {cols['rating']!r} is not a number", "rating"
        if problem is None and cols["timestamp"] is not None:
            raw = v.get(cols["timestamp"])
            if _text(raw):
                try:
                    ts = _timestamp(raw)
                except (ValueError, TypeError):
                    kind = "timestamp"
                    problem = (
                        f"timestamp {raw!r} in column {cols['timestamp']!r} is neither a number (Unix time) "
                        "nor an ISO-8601 date"
                    )
        if problem is not None:
            yield Reject(row.path, row.line, problem, record_text(row), kind=kind)
            continue
        yield InteractionRecord(scenario=scenario, user=user, item=item, rating=rating, ts=ts), row


def items(source: ItemSource, scenario: str, rows: Iterable[RawRow | Reject]) -> Iterator[
    tuple[ItemRecord, RawRow] | Reject
]:
    """Validate item rows: non-empty id; title (optionally parsed) and text assembled from the text columns."""
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
        item_id = _text(v.get(cols["id"]))  # type: ignore[arg-type]
        if not item_id:
            yield Reject(
                row.path,
                row.line,
                f"empty or missing item id in column {cols['id']!r}",
                record_text(row),
                kind="missing-id",
            )
            continue
        title = _text(v.get(cols["title"])) if cols["title"] else ""
        if title and source.title_parser == "dbpedia":
            title = parse_dbpedia_title(title)
        parts = [_text(v.get(c)) for role, c in cols.items() if role.startswith("text:") and c]
        text = "; ".join(p for p in parts if p)
        categories = _categories(v.get(cols["categories"]), source.categories_separator) if cols["categories"] else ()
        yield ItemRecord(scenario=scenario, id=item_id, title=title or None, text=text or None, categories=categories), row


def _categories(value: Any, separator: str | None) -> tuple[str, ...]:
    """Categories from a list value, or from a string split on ``separator`` (default whitespace); deduplicated."""
    if value is None:
        return ()
    parts = value if isinstance(value, (list, tuple)) else str(value).split(separator)
    return tuple(dict.fromkeys(p for p in (_text(x) for x in parts) if p))
