"""Strict parsing of field values: ids, ratings, timestamps and free text.

The rules, the same for every format (CSV, TSV, RecBole, JSON Lines, Parquet, MovieLens):

* **Ids** are strings or integers. Integers become their decimal text, bytes are decoded as UTF-8.
  Surrounding whitespace (anything :meth:`str.strip` removes: spaces, tabs, line breaks, no-break
  spaces) is removed; everything else is kept exactly (case, inner spaces, punctuation). Floats
  (``1.0``), booleans, JSON lists and objects, invalid UTF-8, control characters (U+0000-U+001F,
  U+007F) and lone UTF-16 surrogates are rejected with the reason.
* **Numbers** (ratings, numeric timestamps) are plain decimal numbers: ``4``, ``-3.5``, ``.5``,
  ``1e9``; no ``_`` separators, no ``NaN``/``Infinity``, no hex, no non-ASCII digits. Ratings must be
  finite; timestamps must fit a 64-bit integer (what the graph stores hold). A timestamp may also be
  an ISO-8601 date (``2024-05-01``, ``2024-05-01T10:00:00+02:00``; no zone means UTC), stored as Unix
  seconds.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ID_FIX = "store ids as strings or integers"


class BadValue(ValueError):
    """A field value that cannot be used.

    Attributes:
        kind: The reject kind (``id-type``, ``id-control``, ``encoding``, ``rating``, ``timestamp``).
        reason: What is wrong and how to fix it.
    """

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, float):
        return "floating-point number"
    if isinstance(value, dict):
        return "JSON object"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


def parse_id(value: Any, what: str) -> str | None:
    """The id held by ``value``, or ``None`` when it is missing or blank.

    Args:
        value: The raw value (string, integer, bytes, or anything a reader produced).
        what: Names the field in messages, e.g. ``"user id in column 'user_id'"``.

    Raises:
        BadValue: The value is not a string or integer, is not valid UTF-8, or holds a control
            character or a lone surrogate.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        raise BadValue("id-type", f"{what} is a boolean ({value!r}); {_ID_FIX}")
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if math.isnan(value):
            return None
        raise BadValue("id-type", f"{what} is a floating-point number ({value!r}); {_ID_FIX} (write 1, not 1.0)")
    elif isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadValue(
                "encoding",
                f"{what} is bytes that are not valid UTF-8 ({_shown(raw)}, byte {raw[e.start : e.start + 1]!r} at "
                f"{e.start + 1}); {_ID_FIX} in UTF-8",
            ) from e
    else:
        raise BadValue("id-type", f"{what} is a {_type_name(value)} ({_shown(value)}); {_ID_FIX}")
    text = text.strip()
    if not text:
        return None
    if text.isascii() and text.isprintable():  # the common case: nothing more to check
        return text
    if not text.isascii():
        m = _SURROGATE.search(text)
        if m is not None:
            raise BadValue(
                "encoding",
                f"{what} {_shown(text)} holds a lone UTF-16 surrogate (U+{ord(m.group()):04X}), which is not "
                "text; fix the id in the source (JSON \\ud800-style escapes must come in pairs)",
            )
    m = _CONTROL.search(text)
    if m is not None:
        raise BadValue(
            "id-control",
            f"{what} {_shown(text)} holds the control character U+{ord(m.group()):04X} at position {m.start() + 1}; "
            "remove control characters (NUL, tabs, line breaks) from ids",
        )
    return text


def _decoded(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return value


def parse_rating(value: Any, column: str) -> float | None:
    """A finite rating, or ``None`` when the value is missing or blank.

    Raises:
        BadValue: Not a plain decimal number, or not finite.
    """
    value = _decoded(value)
    fix = "write a plain decimal number such as 4 or 3.5 (no '_', NaN or Infinity)"
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadValue("rating", f"rating {value!r} in column {column!r} is a boolean; {fix}")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if NUMBER.fullmatch(text) is None:
            raise BadValue("rating", f"rating {_shown(value)} in column {column!r} is not a number; {fix}")
        number = float(text)
    elif isinstance(value, int):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
    elif isinstance(value, float):
        number = value
    elif isinstance(value, Decimal):  # Parquet decimal columns
        number = float(value) if value.is_finite() else math.nan
    else:
        raise BadValue("rating", f"rating {_shown(value)} in column {column!r} is a {_type_name(value)}; {fix}")
    if not math.isfinite(number):
        raise BadValue("rating", f"rating {_shown(value)} in column {column!r} is not a finite number; {fix}")
    return number


def _in_int64(number: int, value: Any, column: str) -> int:
    if not INT64_MIN <= number <= INT64_MAX:
        raise BadValue(
            "timestamp",
            f"timestamp {_shown(value)} in column {column!r} is out of range: the graph stores hold 64-bit "
            "integers (about ±9.2e18); write Unix seconds",
        )
    return number


def parse_timestamp(value: Any, column: str) -> int | float | None:
    """A timestamp: an integer (Unix seconds, or an ISO-8601 date converted to them), a finite float,
    or ``None`` when missing or blank.

    Raises:
        BadValue: Neither a plain decimal number nor an ISO-8601 date, not finite, or outside int64.
    """
    value = _decoded(value)
    fix = "write Unix seconds (a plain decimal number) or an ISO-8601 date such as 2024-05-01T10:00:00"
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadValue("timestamp", f"timestamp {value!r} in column {column!r} is a boolean; {fix}")
    if isinstance(value, int):
        return _in_int64(value, value, column)
    if isinstance(value, Decimal):  # Parquet decimal columns
        if not value.is_finite():
            raise BadValue("timestamp", f"timestamp {_shown(value)} in column {column!r} is not a finite number; {fix}")
        if value == value.to_integral_value():
            return _in_int64(int(value), value, column)
        value = float(value)
    if isinstance(value, float):
        number: float = value
    elif isinstance(value, datetime):
        return _in_int64(int(_aware(value).timestamp()), value, column)
    elif isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp())
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if INTEGER.fullmatch(text):
            if len(text.lstrip("+-").lstrip("0")) > 19:  # beyond int64; int() refuses > 4300 digits anyway
                return _in_int64(INT64_MAX + 1, value, column)
            return _in_int64(int(text), value, column)
        if NUMBER.fullmatch(text):
            number = float(text)
        else:
            try:
                dt = datetime.fromisoformat(text)
            except ValueError as e:
                raise BadValue(
                    "timestamp",
                    f"timestamp {_shown(value)} in column {column!r} is neither a number (Unix time) nor an "
                    f"ISO-8601 date; {fix}",
                ) from e
            return _in_int64(int(_aware(dt).timestamp()), value, column)
    else:
        raise BadValue("timestamp", f"timestamp {_shown(value)} in column {column!r} is a {_type_name(value)}; {fix}")
    if not math.isfinite(number):
        raise BadValue("timestamp", f"timestamp {_shown(value)} in column {column!r} is not a finite number; {fix}")
    if number.is_integer():
        return _in_int64(int(number), value, column)
    return number


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def text_value(value: Any) -> str:
    """Free text (titles, descriptions, categories) from a raw value; surrounding whitespace removed.

    Lists and JSON objects are joined with ``", "``, bytes are decoded as UTF-8 (bad bytes become
    U+FFFD), lone surrogates become U+FFFD, missing values and NaN are ``""``.
    """
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(t for t in (text_value(v) for v in value) if t)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {t}" for k, v in value.items() if (t := text_value(v)))
    return replace_surrogates(str(_decoded(value)).strip())


def replace_surrogates(text: str) -> str:
    """``text`` with lone UTF-16 surrogates (and bytes undecodable under ``surrogateescape``) as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if not text.isascii() else text
