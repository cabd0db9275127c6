"""JSON Lines (one JSON object per line), e.g. Amazon reviews 2018/2023 and their metadata; ``.gz`` ok."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from ingest.records import RawRow, Reject
from ingest.sources.lines import parse_lines, shown


def read_jsonl(path: Path, *, encoding: str = "utf-8") -> Iterator[RawRow | Reject]:
    """Yield each JSON object as a :class:`RawRow`; malformed lines become :class:`Reject` s (kind ``json``).

    Values are kept as JSON gives them (ids are checked later, in :mod:`ingest.values`: strings and
    integers only, surrounding whitespace removed). ``NaN``/``Infinity`` literals parse, and are
    rejected there as ratings or timestamps.

    Raises:
        InputDataError: Missing, unreadable, empty or truncated file.
    """
    return parse_lines(path, encoding, partial(_json_row, str(path)))


def _json_row(spath: str, number: int, text: str) -> RawRow | Reject:
    """One line as a JSON object, or the reject saying why it is not one."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        reason = f"not valid JSON ({e.msg} at column {e.colno}); write one JSON object per line"
        return Reject(spath, number, reason, shown(text), kind="json")
    except (ValueError, RecursionError) as e:  # e.g. an integer of > 4300 digits, nesting too deep
        reason = f"JSON that Python cannot read ({e}); write one flat JSON object per line"
        return Reject(spath, number, reason, shown(text), kind="json")
    if not isinstance(value, dict):
        reason = f"expected a JSON object, got {type(value).__name__}; write one JSON object per line"
        return Reject(spath, number, reason, shown(text), kind="json")
    return RawRow(spath, number, value)
