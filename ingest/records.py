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
        kind: Short category used to count rejects by cause (``encoding``, ``field-count``,
            ``blank``, ``json``, ``missing-id``, ``rating``, ``timestamp``, ``duplicate``, ``unknown-item``).
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
        id: Raw item id, exactly as in the source.
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
        user: Raw user id.
        item: Raw item id.
        rating: Rating, or ``None`` when the source has none.
        ts: Timestamp as given (Unix seconds for most sources), or ``None``.
    """

    scenario: str
    user: str
    item: str
    rating: float | None
    ts: int | float | None
