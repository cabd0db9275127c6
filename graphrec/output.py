"""Rendering query results as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def to_json(keys: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    """An array of objects keyed by the RETURN aliases, in column order."""
    return json.dumps([{k: _plain(r.get(k)) for k in keys} for r in rows], indent=2, ensure_ascii=False)


def to_csv(keys: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    """CSV with a header row; lists and maps are written as JSON."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(keys)
    for r in rows:
        cells = []
        for k in keys:
            v = _plain(r.get(k))
            cells.append(json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else ("" if v is None else v))
        w.writerow(cells)
    return buf.getvalue()


def print_table(keys: Sequence[str], rows: Sequence[dict[str, Any]], *, title: str | None = None) -> None:
    """Print a rich table to stdout."""
    from rich.console import Console  # lazy: the CLI imports this module; only tables need rich
    from rich.table import Table

    table = Table(title=title)
    for k in keys:
        table.add_column(k)
    for r in rows:
        table.add_row(*("" if r.get(k) is None else str(_plain(r.get(k))) for k in keys))
    Console().print(table)
