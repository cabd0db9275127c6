"""Topics on both stores, on the synthetic quickstart data whose hidden themes are the answer."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from sklearn.metrics import normalized_mutual_info_score

from graphrec.cli import cli
from graphrec.features import ItemFeatures
from graphrec.home import features_file
from graphrec.store.connect import StoreConfig, open_store
from ingest.sources.synthetic import THEMES
from ingest.topics.base import topic_spreads
from tests.helpers import cli_args


def invoke(cfg: StoreConfig, *args: str) -> str:
    result = CliRunner().invoke(cli, [*cli_args(cfg), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def themes_of(cfg: StoreConfig) -> dict[tuple[str, str], str]:
    """The hidden theme of every synthetic item, from the generated files (not from the graph)."""
    base = cfg.home / "quickstart" / "seed0"
    out = {}
    for scenario in ("movies", "books"):
        with open(base / f"synthetic_{scenario}_items.tsv", encoding="utf-8") as fh:
            out.update({(scenario, r["item_id"]): r["theme"] for r in csv.DictReader(fh, delimiter="\t")})
    return out


def test_discovered_and_zero_shot_topics_link_scenarios(store_config: StoreConfig, tmp_path: Path) -> None:
    invoke(store_config, "quickstart", "--users", "60", "--items", "120")
    invoke(store_config, "embed")
    out = invoke(store_config, "topics", "extract", "--method", "discovered", "--n-topics", "8")
    assert "8 topics" in out and "0 items without text" in out
    truth = themes_of(store_config)
    with open_store(store_config) as store:
        rows = store.read(
            "MATCH (i:Item)-[r:HAS_TOPIC {source: 'discovered'}]->(t:Topic) "
            "RETURN i.scenario AS s, i.id AS id, t.id AS topic, r.weight AS w ORDER BY s, id, w DESC"
        )
        primary: dict[tuple[str, str], str] = {}
        for r in rows:
            primary.setdefault((r["s"], r["id"]), r["topic"])
        assert set(primary) == set(truth)  # every item has a topic
        keys = sorted(truth)
        nmi = normalized_mutual_info_score([truth[k] for k in keys], [primary[k] for k in keys])
        rng = np.random.default_rng(0)
        random_nmi = normalized_mutual_info_score([truth[k] for k in keys], rng.integers(0, 8, len(keys)))
        assert nmi > 0.6 and random_nmi < 0.1, (nmi, random_nmi)
        assert all(0 < r["w"] <= 1 for r in rows)
        spreads = topic_spreads(store, source="discovered", scenarios=["books", "movies"])
        assert sum(1 for t in spreads if t.items.get("books") and t.items.get("movies")) >= 6
    # rerun replaces, never duplicates
    invoke(store_config, "topics", "extract", "--method", "discovered", "--n-topics", "8")
    with open_store(store_config) as store:
        assert store.read("MATCH (t:Topic {source: 'discovered'}) RETURN count(t) AS n") == [{"n": 8}]

    taxonomy = tmp_path / "themes.txt"
    taxonomy.write_text(
        "# one theme per line\n" + "\n".join(f"{t}: stories about {', '.join(w[:3])}" for t, w in THEMES.items()) + "\n"
    )
    out = invoke(
        store_config, "topics", "extract", "--method", "zero-shot", "--taxonomy", str(taxonomy), "--threshold", "0.2"
    )
    assert f"{len(THEMES)} topics" in out
    with open_store(store_config) as store:
        best = store.read(
            "MATCH (i:Item)-[r:HAS_TOPIC {source: 'zero-shot'}]->(t:Topic) WITH i, t, r ORDER BY r.weight DESC "
            "WITH i, collect(t.label)[0] AS label RETURN i.scenario AS s, i.id AS id, label"
        )
    correct = sum(1 for r in best if truth[(r["s"], r["id"])] == r["label"])
    assert len(best) >= 0.8 * len(truth) and correct >= 0.8 * len(best), (len(best), correct)
    out = invoke(store_config, "topics", "extract", "--method", "metadata")
    assert f"metadata: {len(THEMES)} topics" in out and "0 categories with fewer than 2 items dropped" in out
    with open_store(store_config) as store:
        spreads = topic_spreads(store, source="metadata", scenarios=["books", "movies"])
        assert {t.label for t in spreads} == set(THEMES)
        assert all(t.items["books"] > 0 and t.items["movies"] > 0 for t in spreads)
        per_item = store.read(
            "MATCH (i:Item)-[r:HAS_TOPIC {source: 'metadata'}]->(t:Topic) "
            "RETURN i.scenario AS s, i.id AS id, t.label AS label, r.weight AS w"
        )
    assert len(per_item) == len(truth) and all(
        truth[(r["s"], r["id"])] == r["label"] and r["w"] == 1.0 for r in per_item
    )
    out = invoke(store_config, "topics", "graph")
    assert "RELATED_TO edges" in out
    with open_store(store_config) as store:
        related = store.read(
            "MATCH (:Topic)-[r:RELATED_TO]->(:Topic) RETURN count(r) AS n, min(r.weight) AS lo, max(r.weight) AS hi"
        )
        themes = store.read(
            "MATCH (t:Topic {source: 'metadata'}) RETURN t.label AS label, t.bridge_score AS bridge, "
            "t.spread_scenarios AS s, t.spread_items AS n ORDER BY label"
        )
    assert related[0]["n"] > 0 and 0 < related[0]["lo"] <= related[0]["hi"] <= 1
    assert [t["label"] for t in themes] == sorted(THEMES)
    assert all(t["bridge"] > 0.9 and t["s"] == ["books", "movies"] and min(t["n"]) > 0 for t in themes)
    listing = invoke(store_config, "topics", "list", "--sort", "balance")
    assert "balance" in listing and "zero-shot:" in listing
    bridges = invoke(store_config, "topics", "list", "--source", "metadata", "--sort", "bridge")
    assert "bridge_score" in bridges and "metadata:crime" in bridges
    with open_store(store_config) as store:
        spreads = topic_spreads(store, source="metadata", scenarios=["books", "movies"])
    assert all(t.bridge_score is not None and t.bridge_score > 0.9 for t in spreads)


def test_features_must_cover_the_store(store_config: StoreConfig) -> None:
    invoke(store_config, "quickstart", "--users", "30", "--items", "20")
    invoke(store_config, "embed")
    with open_store(store_config) as store:
        store.execute_write("MERGE (:Item {scenario: 'books', id: 'late-arrival', title: 'New'})", {})
    result = CliRunner().invoke(cli, [*cli_args(store_config), "topics", "extract"])
    assert result.exit_code == 1 and "rerun `graphrec embed`" in result.stderr
    feats = ItemFeatures.load(features_file(store_config.home))
    assert "late-arrival" not in feats.ids


def test_llm_topics_through_a_local_openai_compatible_server(store_config: StoreConfig) -> None:
    from tests.llm_server import chat_server

    invoke(store_config, "quickstart", "--users", "30", "--items", "40")
    truth = themes_of(store_config)
    with chat_server() as (url, state):
        args = [
            "topics",
            "extract",
            "--method",
            "llm",
            "--llm-base-url",
            url,
            "--llm-model",
            "m",
            "--llm-batch-size",
            "16",
        ]
        out = invoke(store_config, *args)
        assert "items failed" in out and " 0 items failed" in out
        first_requests = state.requests
        assert first_requests == -(-len(truth) // 16)
        with open_store(store_config) as store:
            rows = store.read(
                "MATCH (i:Item)-[r:HAS_TOPIC {source: 'llm'}]->(t:Topic) "
                "RETURN i.scenario AS s, i.id AS id, t.label AS label"
            )
            spreads = topic_spreads(store, source="llm", scenarios=["books", "movies"])
        assert {(r["s"], r["id"]) for r in rows} == set(truth)
        assert all(
            truth[(r["s"], r["id"])] in {r2["label"] for r2 in rows if (r2["s"], r2["id"]) == (r["s"], r["id"])}
            for r in rows
        )
        assert sum(1 for t in spreads if t.items.get("books") and t.items.get("movies")) >= 6
        invoke(store_config, *args)  # rerun: every answer from the cache
        assert state.requests == first_requests
