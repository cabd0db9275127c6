"""The topic graph: ``RELATED_TO`` edges between topics, scenario spread and a bridge score per topic.

Edges join topics that share items (co-occurrence: Jaccard overlap of their item sets, at least
``min_shared`` items) or whose centroids are close (cosine similarity of the weighted mean of their
items' vectors, the ``top_k`` nearest above ``min_similarity``). ``weight = (cooccurrence + similarity) / 2``
with a missing part counted as 0.

Bridge score of a topic, in [0, 1): ``balance × (1 − exp(−minority / 5))`` where ``balance`` is the
normalised entropy of its items over the scenarios (1 = evenly spread) and ``minority`` the number of
its items outside its largest scenario — high only for topics that hold a fair number of items of
more than one scenario.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from graphrec.store import cypher
from graphrec.store.bolt import GraphStore
from ingest.topics.base import scenario_balance, write_rows

logger = logging.getLogger(__name__)


def bridge_score(items_per_scenario: Mapping[str, int], n_scenarios: int) -> float:
    """See the module docstring."""
    total = sum(items_per_scenario.values())
    if total == 0:
        return 0.0
    minority = total - max(items_per_scenario.values())
    return round(scenario_balance(items_per_scenario, n_scenarios) * (1 - math.exp(-minority / 5)), 4)


@dataclass(frozen=True)
class TopicGraphSummary:
    """What :func:`build_topic_graph` produced."""

    topics: int
    edges: int
    cooccurrence_edges: int
    similarity_edges: int


def build_topic_graph(
    memberships: Iterable[Mapping[str, Any]],
    scenarios: Sequence[str],
    *,
    item_vectors: Mapping[tuple[str, str], np.ndarray] | None = None,
    min_shared: int = 2,
    min_similarity: float = 0.5,
    top_k: int = 5,
) -> nx.Graph:
    """Build the topic graph from ``{scenario, item, topic, weight}`` memberships.

    Nodes carry ``items`` (per scenario), ``balance`` and ``bridge_score``; edges ``weight``,
    ``cooccurrence`` and ``similarity``.
    """
    logger.info("reading topic memberships")
    members: dict[str, dict[tuple[str, str], float]] = defaultdict(dict)
    for m in memberships:
        members[m["topic"]][(m["scenario"], m["item"])] = float(m["weight"] or 0.0)
    logger.info(
        "topic graph over %d topics: co-occurrence edges%s",
        len(members),
        " and centroid similarities" if item_vectors else "",
    )
    g = nx.Graph()
    for topic, items in members.items():
        spread = dict(Counter(s for s, _ in items))
        g.add_node(
            topic,
            items=spread,
            balance=scenario_balance(spread, len(scenarios)),
            bridge_score=bridge_score(spread, len(scenarios)),
        )
    topics_of: dict[tuple[str, str], list[str]] = defaultdict(list)
    for topic, items in members.items():
        for key in items:
            topics_of[key].append(topic)
    shared: Counter[tuple[str, str]] = Counter()
    for ts in topics_of.values():
        ts = sorted(ts)
        for i in range(len(ts)):
            for j in range(i + 1, len(ts)):
                shared[(ts[i], ts[j])] += 1
    for (a, b), n in shared.items():
        if n >= min_shared:
            jaccard = n / (len(members[a]) + len(members[b]) - n)
            g.add_edge(a, b, cooccurrence=round(jaccard, 4), similarity=None)
    if item_vectors:
        names = [t for t in members if any(k in item_vectors for k in members[t])]
        centroids = []
        for t in names:
            vecs = [(item_vectors[k], w) for k, w in members[t].items() if k in item_vectors]
            c = sum(v * max(w, 1e-6) for v, w in vecs)
            centroids.append(c / max(float(np.linalg.norm(c)), 1e-12))
        if len(names) > 1:
            cm = np.stack(centroids)
            sims = cm @ cm.T
            np.fill_diagonal(sims, -1.0)
            for i, row in enumerate(sims):
                for j in np.argsort(-row)[:top_k]:
                    if row[j] < min_similarity:
                        break
                    u, v = sorted((names[i], names[int(j)]))
                    data = g.get_edge_data(u, v) or {"cooccurrence": None}
                    g.add_edge(u, v, cooccurrence=data["cooccurrence"], similarity=round(float(row[j]), 4))
    for _, _, d in g.edges(data=True):
        d["weight"] = round(((d["cooccurrence"] or 0.0) + max(d["similarity"] or 0.0, 0.0)) / 2, 4)
    return g


def write_topic_graph(
    store: GraphStore, g: nx.Graph, scenarios: Sequence[str], *, progress: bool = False
) -> TopicGraphSummary:
    """Replace the store's ``RELATED_TO`` edges with ``g``'s and set each topic's figures (a progress bar
    per write with ``progress``)."""
    logger.info("writing %d RELATED_TO edges and the figures of %d topics", g.number_of_edges(), g.number_of_nodes())
    store.delete_related_topics()
    edges = [{"a": u, "b": v, **d} for u, v, d in g.edges(data=True)]
    write_rows(store, cypher.MERGE_RELATED_TOPICS, edges, desc="RELATED_TO edges", progress=progress)
    stats = [
        {
            "id": t,
            "balance": d["balance"],
            "bridge_score": d["bridge_score"],
            "scenarios": list(scenarios),
            "items": [d["items"].get(s, 0) for s in scenarios],
        }
        for t, d in g.nodes(data=True)
    ]
    write_rows(store, cypher.SET_TOPIC_STATS, stats, desc="topic figures", progress=progress)
    return TopicGraphSummary(
        topics=g.number_of_nodes(),
        edges=g.number_of_edges(),
        cooccurrence_edges=sum(1 for *_, d in g.edges(data=True) if d["cooccurrence"] is not None),
        similarity_edges=sum(1 for *_, d in g.edges(data=True) if d["similarity"] is not None),
    )
