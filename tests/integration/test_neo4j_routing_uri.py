"""A ``neo4j://`` routing URI — what a Neo4j cluster or Aura is reached by — opens graphrec's store as it is.

A single Neo4j instance answers the routing procedure with itself, so the same code path that would route
reads and writes across a cluster's members runs here against the real test server: the driver graphrec
opens is the routing one, an ingest writes through it, and the CLI's read-only queries and statistics read
through it the same graph that ``bolt://`` reads.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import neo4j
import pytest

from graphrec.store.connect import StoreConfig, open_store
from ingest.sources.synthetic import generate
from tests.helpers import graph_counts, invoke


@pytest.mark.parametrize("backend", ["neo4j"])
def test_a_neo4j_routing_uri_opens_the_store_and_reads_and_writes(store_config: StoreConfig, tmp_path: Path) -> None:
    assert store_config.uri is not None and store_config.uri.startswith("bolt://")
    routing = dataclasses.replace(store_config, uri="neo4j://" + store_config.uri.removeprefix("bolt://"))
    with open_store(routing) as store:
        assert isinstance(store._driver, neo4j.Neo4jDriver)  # the routing driver (bolt:// opens a BoltDriver)
        assert store.read("RETURN 1 AS one") == [{"one": 1}]
    files = generate(tmp_path / "data", seed=0, users=30, items_per_scenario=20)
    out = invoke(routing, "ingest", str(files.spec))  # writes through the routing driver
    assert "interactions" in out
    with open_store(store_config) as direct:
        counts = graph_counts(direct)
    assert counts["interactions"] > 0 and counts["users"] == 30
    with open_store(routing) as store:
        assert graph_counts(store) == counts
    users = json.loads(invoke(routing, "query", "MATCH (u:User) RETURN count(u) AS n", "--format", "json"))
    assert users == [{"n": counts["users"]}]  # a read-only query, routed to a reader
    assert str(counts["interactions"]) in invoke(routing, "stats").replace(",", "")
