"""Ingest integrity on real ArcadeDB and Neo4j: nothing is reported loaded that is not in the graph.

Each test interrupts a real ingest at a known batch (``on_batch``), changes the graph behind the
checkpoint's back the way a user or another command could, and checks the rerun: it either
rewrites what is missing, or stops with an :class:`IngestIntegrityError` naming the stage and the
numbers (and the run after that completes with exact counts).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from graphrec.errors import IngestIntegrityError
from graphrec.store.bolt import GraphStore
from ingest.checkpoint import checkpoint_path
from ingest.pipeline import ingest_spec
from ingest.prepare import prepare_dataset
from ingest.sources.synthetic import SyntheticFiles, generate
from ingest.spec import load_spec
from ingest.summary import IngestSummary
from tests.helpers import expected_counts, graph_counts


class Interrupt(Exception):
    """Stands for a crash at a known batch."""


def interrupt_after(stage_prefix: str, rows: int):  # type: ignore[no-untyped-def]
    """An ``on_batch`` hook that raises once ``rows`` rows of stages starting with ``stage_prefix`` committed."""
    seen = {"rows": 0}

    def hook(stage: str, n: int) -> None:
        if stage.startswith(stage_prefix):
            seen["rows"] += n
            if seen["rows"] >= rows:
                raise Interrupt(stage)

    return hook


@pytest.fixture
def files(tmp_path: Path) -> SyntheticFiles:
    return generate(tmp_path / "data", seed=5, users=150, items_per_scenario=40)


def ingest(store: GraphStore, files: SyntheticFiles, tmp: Path, tag: str, batch_size: int = 100, **kw) -> IngestSummary:  # type: ignore[no-untyped-def]
    return ingest_spec(
        store,
        load_spec(files.spec),
        run_dir=tmp / tag,
        state_dir=tmp / "state",
        batch_size=batch_size,
        progress=False,
        **kw,
    )


def interrupted(
    store: GraphStore,
    files: SyntheticFiles,
    tmp: Path,
    stage_prefix: str = "interactions:",
    rows: int = 500,
    batch_size: int = 100,
) -> None:
    with pytest.raises(Interrupt):
        ingest(store, files, tmp, "interrupted", batch_size, on_batch=interrupt_after(stage_prefix, rows))
    data = json.loads(checkpoint_path(tmp / "state", load_spec(files.spec)).read_text())
    assert not data["complete"] and data["store_id"]


def assert_complete(store: GraphStore, files: SyntheticFiles, tmp: Path, summary: IngestSummary) -> None:
    """The graph holds exactly the files' items, users and interactions, once each, and the summary says so."""
    want = expected_counts(files.spec, tmp)
    got = graph_counts(store)
    assert {k: got[k] for k in want} == want
    assert got["in_scenario"] == want["items"] and got["scenarios"] == 2
    pairs = store.read("MATCH (u:User)-[:INTERACTED]->(i:Item) RETURN u.id AS u, i.scenario AS s, i.id AS i")
    assert len(pairs) == len({(p["u"], p["s"], p["i"]) for p in pairs}) == want["interactions"]
    loaded = {name: c.interactions_loaded for name, c in summary.scenarios.items()}
    assert loaded == {name: summary.recounted[f"interactions:{name}"] for name in loaded}
    assert sum(loaded.values()) == want["interactions"] and summary.recounted["users"] == want["users"]
    saved = json.loads((Path(summary.rejects_path).parent / "summary.json").read_text())
    assert saved["recounted"] == summary.recounted and saved["store_id"] == summary.store_id


def test_interrupted_then_cleared_then_rerun_writes_everything(
    store: GraphStore, files: SyntheticFiles, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The reported bug: the checkpoint survived a clear, the rerun skipped the stages it listed and
    'loaded' everything into an empty graph. Now the cleared graph's new identity voids the checkpoint."""
    interrupted(store, files, tmp_path)
    marker = store.read("MATCH (m:GraphrecStore) RETURN m.id AS id")
    assert store.clear() > 0
    assert graph_counts(store)["items"] == 0 and store.read("MATCH (m:GraphrecStore) RETURN m.id AS id") == []
    with caplog.at_level(logging.WARNING, logger="ingest.checkpoint"):
        summary = ingest(store, files, tmp_path, "rerun")
    assert "ignoring the resume checkpoint" in caplog.text and "starts over" in caplog.text
    assert summary.resumed_rows == 0 and summary.store_id != marker[0]["id"]
    assert_complete(store, files, tmp_path, summary)


def test_resume_into_the_same_graph_skips_committed_rows(
    store: GraphStore, files: SyntheticFiles, tmp_path: Path
) -> None:
    """A crash mid-way still resumes exactly (the marker matches), and a second rerun is a no-op on counts."""
    interrupted(store, files, tmp_path, rows=700)
    summary = ingest(store, files, tmp_path, "rerun")
    assert summary.resumed_rows >= 700
    assert_complete(store, files, tmp_path, summary)
    again = ingest(store, files, tmp_path, "again")
    assert again.resumed_rows == 0 and again.store_id == summary.store_id
    assert_complete(store, files, tmp_path, again)


def test_a_batch_whose_endpoints_are_gone_stops_the_ingest(
    store: GraphStore, files: SyntheticFiles, tmp_path: Path
) -> None:
    """Users deleted behind a checkpoint (the marker survives): the first interactions batch past the
    checkpoint matches nothing, which is an error naming the stage, the batch and the numbers."""
    interrupted(store, files, tmp_path, rows=300)
    store.execute_write("MATCH (u:User) DETACH DELETE u", {})
    with pytest.raises(IngestIntegrityError) as e:
        ingest(store, files, tmp_path, "rerun")
    msg = str(e.value)
    assert "ingest stage 'interactions:movies', batch 1 (rows 301-400 of" in msg
    assert "sent 100 rows but the server wrote or matched 0" in msg and "user and item" in msg
    assert "rerun `graphrec ingest" in msg
    assert not checkpoint_path(tmp_path / "state", load_spec(files.spec)).exists()
    assert not (tmp_path / "rerun" / "summary.json").exists()
    summary = ingest(store, files, tmp_path, "fixed")
    assert summary.resumed_rows == 0
    assert_complete(store, files, tmp_path, summary)


def test_scenario_links_check_their_endpoints(store: GraphStore, files: SyntheticFiles, tmp_path: Path) -> None:
    """The same check on the IN_SCENARIO stage: items deleted after their stage committed."""
    interrupted(store, files, tmp_path, stage_prefix="in_scenario:movies", rows=20, batch_size=20)
    store.execute_write("MATCH (i:Item) DETACH DELETE i", {})
    with pytest.raises(IngestIntegrityError) as e:
        ingest(store, files, tmp_path, "rerun", batch_size=20)
    assert (
        "ingest stage 'in_scenario:movies', batch 1 (rows 21-40 of 40): sent 20 rows but the server wrote or "
        "matched 0; the other 20 did not find their item and scenario in the graph"
    ) in str(e.value)
    assert_complete(store, files, tmp_path, ingest(store, files, tmp_path, "fixed"))


def test_lost_relationships_are_caught_by_the_recount(store: GraphStore, files: SyntheticFiles, tmp_path: Path) -> None:
    """Relationships deleted behind a checkpoint: every batch past it matches, but the final recount
    finds fewer interactions than loaded, names the stage and the numbers, and the rerun restores them."""
    interrupted(store, files, tmp_path, rows=500)
    store.execute_write("MATCH (:User)-[r:INTERACTED]->(:Item {scenario: 'movies'}) WITH r LIMIT 37 DELETE r", {})
    movies = prepare_dataset(load_spec(files.spec), tmp_path / "rejects.tsv", IngestSummary(spec="x"))["movies"]
    with pytest.raises(IngestIntegrityError) as e:
        ingest(store, files, tmp_path, "rerun")
    n = len(movies.interactions)
    assert "the recount after the ingest differs from what was loaded" in str(e.value)
    assert f"interactions:movies: {n} loaded, {n - 37} in the graph" in str(e.value)
    assert "books" not in str(e.value).split("in the graph")[0]  # only the stage that differs is named
    assert_complete(store, files, tmp_path, ingest(store, files, tmp_path, "fixed"))


def test_duplicate_relationships_are_an_error(store: GraphStore, files: SyntheticFiles, tmp_path: Path) -> None:
    """A second INTERACTED between one user and item (written outside the ingest) is matched twice by the
    rerun's MERGE: more rows matched than sent is an error too, not a silent double count."""
    assert_complete(store, files, tmp_path, ingest(store, files, tmp_path, "first"))
    store.execute_write(
        "MATCH (u:User)-[r:INTERACTED]->(i:Item) WITH u, r, i LIMIT 1 "
        "CREATE (u)-[:INTERACTED {scenario: r.scenario, rating: r.rating}]->(i)",
        {},
    )
    with pytest.raises(IngestIntegrityError, match="more than one node or relationship for some of these keys"):
        ingest(store, files, tmp_path, "rerun")


def test_unreadable_checkpoint_warns_and_starts_over(
    store: GraphStore, files: SyntheticFiles, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    interrupted(store, files, tmp_path)
    path = checkpoint_path(tmp_path / "state", load_spec(files.spec))
    path.write_text(path.read_text()[:25])  # truncated by a full disk or a crash of the file system
    with caplog.at_level(logging.WARNING, logger="ingest.checkpoint"):
        summary = ingest(store, files, tmp_path, "rerun")
    assert f"ignoring the unreadable resume checkpoint {path}" in caplog.text
    assert summary.resumed_rows == 0
    assert_complete(store, files, tmp_path, summary)


def test_checkpoint_of_another_database_is_not_resumed(
    arcadedb_home: Path, neo4j_uri: str, files: SyntheticFiles, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One home, two stores: an ingest interrupted on ArcadeDB, then the same spec into Neo4j. The
    checkpoint (same spec, same state folder) belongs to the ArcadeDB graph and is not resumed on Neo4j."""
    from graphrec.store.connect import StoreConfig, open_store

    with (
        open_store(StoreConfig(home=arcadedb_home)) as arcade,
        open_store(StoreConfig(home=tmp_path / "h", uri=neo4j_uri)) as neo,
    ):
        arcade.clear()
        neo.clear()
        interrupted(arcade, files, tmp_path)
        with caplog.at_level(logging.WARNING, logger="ingest.checkpoint"):
            summary = ingest(neo, files, tmp_path, "neo4j")
        assert "ignoring the resume checkpoint" in caplog.text and "ArcadeDB" in caplog.text
        assert summary.resumed_rows == 0
        assert_complete(neo, files, tmp_path, summary)


def test_batch_size_below_one_is_a_config_error(store: GraphStore, files: SyntheticFiles, tmp_path: Path) -> None:
    from graphrec.errors import ConfigError

    with pytest.raises(ConfigError, match="batch size must be at least 1 row, got 0"):
        ingest(store, files, tmp_path, "zero", batch_size=0)
