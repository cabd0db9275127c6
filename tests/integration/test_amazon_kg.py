"""Amazon-KG Movies_and_TV + Books from ../shared/data, ingested into ArcadeDB and Neo4j: exact counts.

(A re-ingest is idempotent: test_ingest.py checks it on both stores with synthetic files of the same
shape (two scenarios, catalogue and enrichment files: test_enriched_items_rerun_is_idempotent), where a
second full Amazon-KG ingest here cost a minute per store.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphrec.cli import cli
from graphrec.store.connect import StoreConfig
from tests.helpers import REPO, cli_args

SPEC = REPO / "ingest" / "specs" / "amazon-kg.toml"
SPEC_INTERACTIONS_ONLY = REPO / "ingest" / "specs" / "amazon-kg-interactions-only.toml"

PER_SCENARIO = """
MATCH (u:User)-[r:INTERACTED]->(i:Item {scenario: $s})
RETURN count(DISTINCT u) AS users, count(DISTINCT i) AS items_with_interactions, count(r) AS interactions
"""
TOTALS = """
MATCH (u:User) WITH count(u) AS users
MATCH (i:Item) WITH users, count(i) AS items
MATCH ()-[r:INTERACTED]->() RETURN users, items, count(r) AS interactions
"""
ITEMS_PER_SCENARIO = "MATCH (i:Item)-[:IN_SCENARIO]->(s:Scenario {name: $s}) RETURN count(i) AS items"


def query(cfg: StoreConfig, cypher: str, **params: str) -> list[dict[str, int]]:
    args = [*cli_args(cfg), "query", cypher, "--format", "json"]
    for k, v in params.items():
        args += ["--param", f"{k}={v}"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def ingest(cfg: StoreConfig, spec: Path) -> str:
    result = CliRunner().invoke(cli, [*cli_args(cfg), "ingest", str(spec)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "rejected 0 rows" in result.stdout
    return result.stdout


def assert_amazon_counts(cfg: StoreConfig, *, movie_items: int, book_items: int) -> None:
    assert query(cfg, PER_SCENARIO, s="movies") == [
        {"users": 5_648, "items_with_interactions": 4_779, "interactions": 67_066}
    ]
    assert query(cfg, PER_SCENARIO, s="books") == [
        {"users": 10_485, "items_with_interactions": 8_318, "interactions": 115_572}
    ]
    assert query(cfg, TOTALS) == [{"users": 15_071, "items": movie_items + book_items, "interactions": 182_638}]
    assert query(cfg, ITEMS_PER_SCENARIO, s="movies") == [{"items": movie_items}]
    assert query(cfg, ITEMS_PER_SCENARIO, s="books") == [{"items": book_items}]


@pytest.mark.slow
@pytest.mark.data("amazon-kg", "amazon-kg-metadata")
def test_amazon_kg_counts_in_both_stores(store_config: StoreConfig, shared_data: Path) -> None:
    out = ingest(store_config, SPEC)
    assert "loaded 67066 interactions" in out and "loaded 115572 interactions" in out
    assert_amazon_counts(store_config, movie_items=4_896, book_items=8_696)
    titles = query(
        store_config, "MATCH (i:Item {scenario: $s, id: $id}) RETURN i.title AS title", s="movies", id="0767804325"
    )
    assert titles == [{"title": "Absence of Malice"}]
    shared = query(
        store_config,
        "MATCH (m:Item {scenario: 'movies'})<-[:INTERACTED]-(u:User)-[:INTERACTED]->(b:Item {scenario: 'books'}) "
        "RETURN count(DISTINCT u) AS shared",
    )
    assert shared == [{"shared": 1_062}]


@pytest.mark.slow
@pytest.mark.data("amazon-kg")
def test_amazon_kg_interactions_only(store_config: StoreConfig, shared_data: Path) -> None:
    ingest(store_config, SPEC_INTERACTIONS_ONLY)
    assert_amazon_counts(store_config, movie_items=4_779, book_items=8_318)
