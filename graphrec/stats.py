"""Graph statistics: node and relationship counts, per-scenario figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphrec.store import cypher
from graphrec.store.bolt import GraphStore


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
