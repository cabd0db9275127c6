"""Typed records that sources produce and the pipeline writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RawRow:
    """One input record before validation.

    Attributes:
        path: The file it came from.
        line: 1-based line number (record number for Parquet).
        values: Column name → raw value (strings for delimited files, JSON values for JSON Lines).
    """

    path: str
    line: int
    values: dict[str, Any]


@dataclass(frozen=True)
class Reject:
    """A record that was skipped, with the reason. Written to the rejects file and counted.

    Attributes:
        path: The file it came from.
        line: 1-based line number (record number for Parquet).
        reason: Why it was skipped and how to fix it.
        record: The raw record text (truncated).
        kind: Short category used to count rejects by cause:

            * ``encoding``: bytes not valid in the declared encoding (or a binary id not valid UTF-8);
            * ``blank``: an empty line;
            * ``field-count``: a delimited record with the wrong number of fields;
            * ``quoting``: malformed CSV quoting (a quote never closed, text after a closing quote);
            * ``field-size``: a CSV field over the ``csv`` module's 128 KiB limit;
            * ``header``: a line equal to the header (files joined together) or to declared ``columns``;
            * ``json``: a line that is not one JSON object;
            * ``missing-id``: an empty or missing user/item id;
            * ``id-type``: an id that is not a string or integer (float, boolean, list, object);
            * ``id-control``: an id holding a control character (NUL, tab, line break...);
            * ``rating``: a rating that is not a finite plain number;
            * ``timestamp``: neither a plain number within int64 nor an ISO-8601 date;
            * ``duplicate``: a repeated interaction or item id;
            * ``unknown-item``: an interaction whose item is in none of the scenario's item files.
    """

    path: str
    line: int
    reason: str
    record: str = ""
    kind: str = "invalid"


@dataclass(frozen=True)
class ItemRecord:
    """A validated item.

    Attributes:
        scenario: Scenario name.
        id: Item id as in the source, surrounding whitespace removed (see :mod:`ingest.values`).
        title: Display title, or ``None``.
        text: Text assembled from the spec's text fields, or ``None`` when empty.
        categories: Categories/genres from the spec's ``categories`` column (metadata topics).
    """

    scenario: str
    id: str
    title: str | None
    text: str | None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class InteractionRecord:
    """A validated user–item interaction.

    Attributes:
        scenario: Scenario name.
        user: User id (surrounding whitespace removed, otherwise as in the source).
        item: Item id (likewise).
        rating: Rating, or ``None`` when the source has none.
        ts: Timestamp (Unix seconds; ISO-8601 dates are converted), within int64, or ``None``.
    """

    scenario: str
    user: str
    item: str
    rating: float | None
    ts: int | float | None
