"""The topic graph on a small hand-made example."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.topics.graph import bridge_score, build_topic_graph


def m(scenario: str, item: str, topic: str, weight: float = 1.0) -> dict[str, object]:
    return {"scenario": scenario, "item": item, "topic": topic, "weight": weight}


def test_cooccurrence_similarity_and_bridge_scores() -> None:
    memberships = [
        # "war" spans both scenarios; "battles" shares three of its items; "cooking" is books only
        *(m("movies", f"m{k}", "war") for k in range(6)),
        *(m("books", f"b{k}", "war") for k in range(6)),
        *(m("movies", f"m{k}", "battles") for k in range(3)),
        *(m("books", f"c{k}", "cooking") for k in range(4)),
    ]
    vectors = {("movies", f"m{k}"): np.array([1.0, 0.0]) for k in range(6)}
    vectors |= {("books", f"b{k}"): np.array([0.9, 0.1]) for k in range(6)}
    vectors |= {("books", f"c{k}"): np.array([0.0, 1.0]) for k in range(4)}
    g = build_topic_graph(memberships, ["books", "movies"], item_vectors=vectors, min_shared=2, min_similarity=0.5)
    assert set(g.nodes) == {"war", "battles", "cooking"}
    edge = g.edges["battles", "war"]
    war_centroid = np.array([0.95, 0.05]) / np.linalg.norm([0.95, 0.05])  # mean of its items' vectors, normalised
    assert edge["cooccurrence"] == pytest.approx(3 / 12) and edge["similarity"] == pytest.approx(
        war_centroid[0], abs=1e-4
    )
    assert edge["weight"] == pytest.approx((0.25 + edge["similarity"]) / 2, abs=1e-4)
    assert not g.has_edge("cooking", "war")  # no shared items, orthogonal centroids
    assert g.nodes["war"]["items"] == {"movies": 6, "books": 6} and g.nodes["war"]["balance"] == 1.0
    assert g.nodes["war"]["bridge_score"] == pytest.approx(1 - np.exp(-6 / 5), abs=1e-4)
    assert g.nodes["cooking"]["bridge_score"] == 0.0 and g.nodes["battles"]["bridge_score"] == 0.0


def test_bridge_score_grows_with_the_minority() -> None:
    assert bridge_score({"a": 10, "b": 10}, 2) > bridge_score({"a": 18, "b": 2}, 2) > bridge_score({"a": 20}, 2) == 0.0
    assert bridge_score({}, 2) == 0.0
