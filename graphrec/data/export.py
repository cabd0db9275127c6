"""Export the graph from the store into index arrays and build PyG ``HeteroData`` from them.

:func:`export_graph` streams nodes and edges once and keeps the id maps (row ``k`` of a node
type ↔ raw id). :func:`to_hetero_data` builds the ``HeteroData`` from a chosen set of interaction
edges — the training split's — so held-out interactions never enter the message-passing graph.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from graphrec.data.pyg import HeteroData
from graphrec.errors import GraphRecError
from graphrec.schema import EdgeType, NodeType
from graphrec.store import cypher
from graphrec.store.bolt import GraphStore

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.features import ItemFeatures

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GraphExport:
    """The graph as index arrays with id maps.

    Attributes:
        user_ids: Raw user id of each user row.
        item_keys: ``(scenario, id)`` of each item row.
        topic_ids: Topic id of each topic row.
        scenarios: Scenario names; ``item_scenario[k]`` indexes into it.
        item_scenario: int64 ``[n_items]``.
        interactions: int64 ``[2, n_interactions]`` (user row, item row), all interactions.
        has_topic: int64 ``[2, n_memberships]`` (item row, topic row).
        has_topic_weight: float32 ``[n_memberships]``.
    """

    user_ids: list[str]
    item_keys: list[tuple[str, str]]
    topic_ids: list[str]
    scenarios: list[str]
    item_scenario: np.ndarray
    interactions: np.ndarray
    has_topic: np.ndarray
    has_topic_weight: np.ndarray

    @property
    def num_nodes(self) -> dict[str, int]:
        """Nodes per PyG node type."""
        return {
            NodeType.USER: len(self.user_ids),
            NodeType.ITEM: len(self.item_keys),
            NodeType.TOPIC: len(self.topic_ids),
        }


def export_graph(
    store: GraphStore, *, topic_sources: Sequence[str] | None = None, fetch_size: int = 10_000
) -> GraphExport:
    """Stream users, items, topics, ``INTERACTED`` and ``HAS_TOPIC`` from the store.

    Edges are read in chunks of ``fetch_size`` records straight into arrays preallocated from the store's
    count (grown if the graph gained edges meanwhile), so memory is the arrays plus one chunk: about 16 bytes
    per interaction (160 MB for 10M) besides the id maps — never a Python object per edge.

    Args:
        store: An open store.
        topic_sources: Only topics of these methods (``None``: all).
        fetch_size: Records per round trip.
    """
    user_ids = [r[0] for chunk in store.stream_chunks(cypher.EXPORT_USERS, fetch_size=fetch_size) for r in chunk]
    item_keys: list[tuple[str, str]] = [
        (r[0], r[1]) for chunk in store.stream_chunks(cypher.EXPORT_ITEMS, fetch_size=fetch_size) for r in chunk
    ]
    topics = [r for r in store.stream(cypher.EXPORT_TOPICS, fetch_size=fetch_size)]
    topic_ids = [r["id"] for r in topics if topic_sources is None or r["source"] in topic_sources]
    scenarios = sorted({s for s, _ in item_keys})
    scenario_row = {s: k for k, s in enumerate(scenarios)}
    user_row = {u: k for k, u in enumerate(user_ids)}
    item_row = {key: k for k, key in enumerate(item_keys)}
    topic_row = {t: k for k, t in enumerate(topic_ids)}

    pairs = _EdgeArrays(_count(store, cypher.COUNT_INTERACTED))
    for chunk in store.stream_chunks(cypher.EXPORT_INTERACTION_KEYS, fetch_size=fetch_size):
        pairs.add([user_row[u] for u, _, _ in chunk], [item_row[(s, i)] for _, s, i in chunk])
    members = _EdgeArrays(_count(store, cypher.COUNT_HAS_TOPIC), weighted=True)
    params = {"sources": list(topic_sources) if topic_sources else None}
    for chunk in store.stream_chunks(cypher.EXPORT_HAS_TOPIC, params, fetch_size=fetch_size):
        members.add([item_row[(s, i)] for s, i, _, _ in chunk], [topic_row[t] for _, _, t, _ in chunk],
                    [float(w or 0.0) for *_, w in chunk])  # fmt: skip
    interactions, _ = pairs.sorted()
    has_topic, weight = members.sorted()
    export = GraphExport(
        user_ids=user_ids,
        item_keys=item_keys,
        topic_ids=topic_ids,
        scenarios=scenarios,
        item_scenario=np.array([scenario_row[s] for s, _ in item_keys], dtype=np.int64),
        interactions=interactions,
        has_topic=has_topic,
        has_topic_weight=weight,
    )
    logger.info(
        "exported %s nodes, %d interactions, %d topic memberships",
        export.num_nodes, interactions.shape[1], has_topic.shape[1],
    )  # fmt: skip
    return export


def _count(store: GraphStore, query: str) -> int:
    return int(store.read(query)[0]["n"])


class _EdgeArrays:
    """Edges ``(source row, target row[, weight])`` appended chunk by chunk into preallocated arrays.

    Args:
        expected: Edges to make room for (the store's count); the arrays double if more arrive.
        weighted: Keep a float32 weight per edge.
    """

    def __init__(self, expected: int, *, weighted: bool = False) -> None:
        self.index = np.empty((2, max(expected, 1)), dtype=np.int64)
        self.weight = np.empty(self.index.shape[1], dtype=np.float32) if weighted else None
        self.size = 0

    def add(self, sources: list[int], targets: list[int], weights: list[float] | None = None) -> None:
        n = len(sources)
        end = self.size + n
        if end > self.index.shape[1]:  # the graph grew since it was counted
            capacity = max(end, 2 * self.index.shape[1])
            grown = np.empty((2, capacity), dtype=np.int64)
            grown[:, : self.size] = self.index[:, : self.size]
            self.index = grown
            if self.weight is not None:
                self.weight = np.concatenate([self.weight[: self.size], np.empty(capacity - self.size, np.float32)])
        self.index[0, self.size : end] = sources
        self.index[1, self.size : end] = targets
        if self.weight is not None and weights is not None:
            self.weight[self.size : end] = weights
        self.size = end

    def sorted(self) -> tuple[np.ndarray, np.ndarray]:
        """``(index [2, n], weights [n])`` sorted by source, target, then weight (weights empty if unweighted)."""
        index = self.index[:, : self.size]
        if self.weight is None:
            return index[:, np.lexsort((index[1], index[0]))], np.zeros(0, dtype=np.float32)
        weight = self.weight[: self.size]
        order = np.lexsort((weight, index[1], index[0]))
        return index[:, order], weight[order]


def item_feature_matrix(export: GraphExport, features: ItemFeatures) -> tuple[np.ndarray, np.ndarray]:
    """Item features aligned with ``export.item_keys``: ``(x [n_items, dim], has_text [n_items])``.

    Raises:
        GraphRecError: An item of the graph has no row in the feature file (rerun ``graphrec embed``).
    """
    row = features.row_of()
    missing = [key for key in export.item_keys if key not in row]
    if missing:
        raise GraphRecError(f"{len(missing)} items (e.g. {missing[0]}) have no features; rerun `graphrec embed`")
    index = np.array([row[key] for key in export.item_keys], dtype=np.int64)
    return features.x[index], features.has_text[index]


def to_hetero_data(
    export: GraphExport,
    train_interactions: np.ndarray,
    *,
    item_x: np.ndarray | None = None,
    topic_x: np.ndarray | None = None,
) -> HeteroData:
    """Build ``HeteroData`` with the given interaction edges (the training split) and all topic edges.

    Args:
        export: The exported graph.
        train_interactions: int64 ``[2, n]`` (user row, item row): the only interactions the graph gets.
        item_x: Optional item features ``[n_items, dim]``.
        topic_x: Optional topic features ``[n_topics, dim]``.

    Raises:
        GraphRecError: The result fails ``HeteroData.validate()``.
    """
    data = HeteroData()
    for node_type, n in export.num_nodes.items():
        data[node_type].num_nodes = n
    data[NodeType.ITEM].scenario = torch.from_numpy(export.item_scenario)
    if item_x is not None:
        data[NodeType.ITEM].x = torch.from_numpy(item_x)
    if topic_x is not None:
        data[NodeType.TOPIC].x = torch.from_numpy(topic_x)
    inter = torch.from_numpy(train_interactions)
    data[EdgeType.INTERACTS].edge_index = inter
    data[EdgeType.REV_INTERACTS].edge_index = inter.flip(0)
    topics = torch.from_numpy(export.has_topic)
    data[EdgeType.HAS_TOPIC].edge_index = topics
    data[EdgeType.HAS_TOPIC].edge_weight = torch.from_numpy(export.has_topic_weight)
    data[EdgeType.REV_HAS_TOPIC].edge_index = topics.flip(0)
    data[EdgeType.REV_HAS_TOPIC].edge_weight = torch.from_numpy(export.has_topic_weight)
    try:
        data.validate(raise_on_error=True)
    except ValueError as e:
        raise GraphRecError(f"exported HeteroData is invalid: {e}") from e
    return data
