"""The ingestion layer's Python API (ingest.api) on a real store: ingest a generated dataset, extract
discovered topics with features embedded on demand, build the topic graph, list topics in each order."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from graphrec.errors import ConfigError
from graphrec.store.bolt import GraphStore
from ingest import api
from ingest.sources.synthetic import generate


def test_ingest_then_topics_through_the_api(
    store: GraphStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    files = generate(tmp_path / "data", seed=0, users=60, items_per_scenario=60)
    summary = api.ingest(store, files.spec, state_dir=tmp_path / "state", run_dir=tmp_path / "run")
    assert set(summary.scenarios) == {"movies", "books"} and summary.rejected == 0
    assert summary.recounted["users"] == summary.users > 0
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["users"] == summary.users

    features = tmp_path / "features" / "item_features.npz"
    with caplog.at_level(logging.INFO, logger="ingest"):
        report = api.extract_topics(
            store,
            method="discovered",
            n_topics=6,
            features_path=features,
            embedding_cache_path=tmp_path / "cache.sqlite",
        )
    assert report.embedded and features.exists() and report.features_path == features
    assert "embedding the items' text now" in caplog.text and "clustering 120 items into 6 topics" in caplog.text
    assert (report.method, report.topics, report.replaced) == ("discovered", 6, 0)
    assert report.memberships >= 120 and report.meta["items_without_text"] == 0 and "hard_labels" not in report.meta
    again = api.extract_topics(
        store, method="discovered", n_topics=6, features_path=features, embedding_cache_path=tmp_path / "c2"
    )
    assert (
        not again.embedded and again.replaced == 6 and not (tmp_path / "c2").exists()
    )  # the file is read, nothing embedded

    by_size = api.list_topics(store)
    assert by_size.total == 6 and len(by_size) == 6
    assert by_size.columns == ["id", "label", "items", "books", "movies", "balance", "bridge_score"]
    assert [r["items"] for r in by_size] == sorted((r["items"] for r in by_size), reverse=True)
    assert all(r["bridge_score"] == "-" for r in by_size)  # before the topic graph

    graph = api.build_topic_graph(store, features_path=features)
    assert graph.topics == 6 and graph.with_features and graph.scenarios == ["books", "movies"]
    assert (
        max(graph.cooccurrence_edges, graph.similarity_edges)
        <= graph.edges
        <= graph.cooccurrence_edges + graph.similarity_edges
    )
    assert graph.top_bridging and graph.top_bridging[0]["bridge_score"] > 0
    by_bridge = api.list_topics(store, sort="bridge", limit=3)
    assert len(by_bridge) == 3 and by_bridge.total == 6
    scores = [r["bridge_score"] for r in by_bridge]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == max(r["bridge_score"] for r in api.list_topics(store))
    by_balance = api.list_topics(store, sort="balance", source="discovered")
    weights = [-r["balance"] * min(r["items"], 50) for r in by_balance]
    assert weights == sorted(weights)
    assert api.list_topics(store, source="metadata") == []


def test_api_refuses_bad_options_before_writing(store: GraphStore, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown topic method 'lda'"):
        api.extract_topics(store, method="lda")
    with pytest.raises(ConfigError, match="needs llm_base_url and llm_model"):
        api.extract_topics(store, method="llm")
    with pytest.raises(ConfigError, match="needs a taxonomy file"):
        api.extract_topics(store, method="zero-shot", features_path=tmp_path / "none.npz")
    with pytest.raises(ConfigError, match="unknown topic order 'name'"):
        api.list_topics(store, sort="name")
    assert not (tmp_path / "none.npz").exists()
