"""Graph statistics: node and relationship counts, per-scenario figures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphrec.store import cypher
from graphrec.store.bolt import GraphStore

#: Keys per read of a recount (one ``UNWIND $rows`` query per batch).
RECOUNT_BATCH_SIZE = 20_000


@dataclass(frozen=True)
class GraphStats:
    """Counts read from the store.

    Attributes:
        nodes: Nodes per label.
        relationships: Relationships per type.
        scenarios: One row per scenario: ``scenario``, ``items``, ``items_with_interactions``,
            ``users``, ``interactions``.
    """

    nodes: dict[str, int]
    relationships: dict[str, int]
    scenarios: list[dict[str, Any]]


def scenario_names(store: GraphStore) -> list[str]:
    """Names of the scenarios in the store, sorted."""
    return [r["name"] for r in store.read(cypher.SCENARIO_NAMES)]


def graph_stats(store: GraphStore) -> GraphStats:
    """Read :class:`GraphStats` from the store."""
    return GraphStats(
        nodes={r["label"]: int(r["count"]) for r in store.read(cypher.COUNT_NODES_BY_LABEL)},
        relationships={r["type"]: int(r["count"]) for r in store.read(cypher.COUNT_RELS_BY_TYPE)},
        scenarios=store.read(cypher.SCENARIO_STATS),
    )


def recount(
    store: GraphStore, query: str, rows: Sequence[Mapping[str, Any]], *, batch_size: int = RECOUNT_BATCH_SIZE
) -> dict[str, int]:
    """Count what the graph holds of ``rows`` (keys), with a ``cypher.RECOUNT_*`` query.

    Args:
        store: An open store.
        query: ``UNWIND $rows AS row MATCH ... RETURN count(..) AS name, ...`` (one row of counts).
        rows: The keys to look up, e.g. ``{"scenario", "id"}`` for items.
        batch_size: Keys per read query.

    Returns:
        Each count column summed over all batches (``{}`` for no rows).
    """
    totals: Counter[str] = Counter()
    for start in range(0, len(rows), batch_size):
        for record in store.read(query, {"rows": list(rows[start : start + batch_size])}):
            totals.update({k: int(v) for k, v in record.items()})
    return dict(totals)
