"""What the store's reads and writes return: write counters and fully read query results."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

DEFAULT_BATCH_SIZE = 10_000
"""Rows per write transaction unless a caller says otherwise."""


@dataclass
class WriteStats:
    """Counters accumulated over batched writes.

    Attributes:
        rows: Rows sent.
        batches: Transactions committed.
        nodes_created: Nodes created (server counters).
        relationships_created: Relationships created (server counters).
        properties_set: Properties set (server counters).
        seconds: Wall-clock time spent in the writes.
    """

    rows: int = 0
    batches: int = 0
    nodes_created: int = 0
    relationships_created: int = 0
    properties_set: int = 0
    seconds: float = 0.0

    def add(self, other: WriteStats) -> None:
        """Accumulate another stats object into this one."""
        for name in ("rows", "batches", "nodes_created", "relationships_created", "properties_set", "seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class QueryResult:
    """A fully read query result.

    Attributes:
        keys: Column names (the RETURN aliases), in order.
        rows: One dict per record, keyed by ``keys``.
        counters: Server update counters as a plain dict (only non-zero entries).
    """

    keys: list[str]
    rows: list[dict[str, Any]]
    counters: dict[str, int] = field(default_factory=dict)


def batched(rows: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    """``rows`` in lists of ``size`` (the last one shorter), consumed lazily."""
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch


def counters_dict(counters: Any) -> dict[str, int]:
    """The non-zero entries of a driver's ``SummaryCounters`` as a plain dict."""
    names = (
        "nodes_created",
        "nodes_deleted",
        "relationships_created",
        "relationships_deleted",
        "properties_set",
        "labels_added",
        "labels_removed",
        "indexes_added",
        "indexes_removed",
        "constraints_added",
        "constraints_removed",
        "system_updates",
    )
    return {n: int(getattr(counters, n)) for n in names if getattr(counters, n, 0)}
