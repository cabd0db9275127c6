"""Ingest end to end on real ArcadeDB and Neo4j: counts, idempotency, rejects, kill-and-resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphrec.stats import graph_stats
from graphrec.store.bolt import GraphStore
from graphrec.store.connect import StoreConfig
from ingest.pipeline import IngestSummary, ingest_spec, prepare_dataset
from ingest.sources.synthetic import generate
from ingest.spec import load_spec
from tests.conftest import cli_args


def expected_counts(spec_path: Path, tmp: Path) -> dict[str, int]:
    """Counts computed from the files alone (no database), to compare the graph against."""
    summary = IngestSummary(spec=str(spec_path))
    prepared = prepare_dataset(load_spec(spec_path), tmp / "expected-rejects.tsv", summary)
    return {
        "items": sum(len(p.items) for p in prepared.values()),
        "interactions": sum(len(p.interactions) for p in prepared.values()),
        "users": len({i.user for p in prepared.values() for i in p.interactions}),
    }


def graph_counts(store: GraphStore) -> dict[str, int]:
    s = graph_stats(store)
    return {
        "items": s.nodes.get("Item", 0),
        "interactions": s.relationships.get("INTERACTED", 0),
        "users": s.nodes.get("User", 0),
        "in_scenario": s.relationships.get("IN_SCENARIO", 0),
        "scenarios": s.nodes.get("Scenario", 0),
    }


def test_synthetic_ingest_counts_and_idempotent_rerun(store: GraphStore, tmp_path: Path) -> None:
    files = generate(tmp_path / "data", seed=3, users=120, items_per_scenario=60)
    spec = load_spec(files.spec)
    want = expected_counts(files.spec, tmp_path)
    s1 = ingest_spec(store, spec, run_dir=tmp_path / "r1", state_dir=tmp_path / "state", progress=False)
    got1 = graph_counts(store)
    assert {k: got1[k] for k in want} == want
    assert got1["in_scenario"] == want["items"] and got1["scenarios"] == 2
    assert s1.rejected == 0 and s1.users == want["users"]
    items = store.read("MATCH (i:Item {scenario: $s, id: $id}) RETURN i.title AS t, i.text AS x", {"s": "books", "id": "b0001"})
    assert len(items) == 1 and items[0]["t"] and "about" in items[0]["x"]
    s2 = ingest_spec(store, spec, run_dir=tmp_path / "r2", state_dir=tmp_path / "state", progress=False)
    assert graph_counts(store) == got1
    assert s2.resumed_rows == 0
    saved = json.loads((tmp_path / "r2" / "summary.json").read_text())
    assert saved["scenarios"]["movies"]["interactions_loaded"] == s2.scenarios["movies"].interactions_loaded > 0
    assert saved["metadata"]["store"] == store.capabilities.agent and "neo4j" in saved["metadata"]["versions"]


def test_rejected_rows_never_reach_the_graph(store: GraphStore, tmp_path: Path) -> None:
    (tmp_path / "i.tsv").write_text("user_id\titem_id\trating\nu1\tA\t5\nu2\tA\tbad\nu3\tZ\t1\nu1\tA\t4\nu4\tB\n")
    (tmp_path / "items.tsv").write_text("id\ttitle\nA\tAlpha\nB\tBeta\n")
    (tmp_path / "spec.toml").write_text(
        '[[scenario]]\nname = "s"\n'
        'interactions = { path = "i.tsv", format = "tsv", user = "user_id", item = "item_id", rating = "rating" }\n'
        'items = { path = "items.tsv", format = "tsv", id = "id", title = "title" }\n'
    )
    summary = ingest_spec(store, load_spec(tmp_path / "spec.toml"), run_dir=tmp_path / "r", state_dir=tmp_path / "st", progress=False)
    assert summary.rejects_by_kind == {"duplicate": 1, "field-count": 1, "rating": 1, "unknown-item": 1}
    rows = store.read("MATCH (u:User)-[r:INTERACTED]->(i:Item) RETURN u.id AS u, i.id AS i, r.rating AS rating")
    assert rows == [{"u": "u1", "i": "A", "rating": 5.0}]
    assert graph_counts(store)["items"] == 2  # B is catalogue without interactions
    lines = (tmp_path / "r" / "rejects.tsv").read_text().splitlines()
    assert len(lines) == 1 + 4 and lines[0].split("\t") == ["file", "line", "kind", "reason", "record"]


def _checkpoint_rows(home: Path, stage_prefix: str) -> int:
    for p in (home / "state").glob("ingest-*.json"):
        try:
            data = json.loads(p.read_text())
        except (ValueError, OSError):
            continue
        return sum(v for k, v in data.get("committed", {}).items() if k.startswith(stage_prefix))
    return 0


def _cli(cfg: StoreConfig, *args: str) -> list[str]:
    return [sys.executable, "-m", "graphrec", *cli_args(cfg), *args]


@pytest.mark.slow
def test_kill_ingest_process_midway_then_resume(store_config: StoreConfig, backend: str, tmp_path: Path) -> None:
    """SIGKILL the ingest process after some batches committed; the rerun resumes with no loss, no duplicates."""
    home = tmp_path / "home-kill"
    cfg = StoreConfig(home=home, uri=store_config.uri) if backend == "neo4j" else StoreConfig(home=home)
    files = generate(tmp_path / "data", seed=7, users=2_500, items_per_scenario=400)
    want = expected_counts(files.spec, tmp_path)
    cmd = _cli(cfg, "ingest", "--batch-size", "500", str(files.spec))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while _checkpoint_rows(home, "interactions:") < 2_000:
        assert proc.poll() is None, f"ingest ended before it could be killed: {proc.stdout.read().decode()[-2000:]}"  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "ingest made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    committed = _checkpoint_rows(home, "interactions:")
    assert 0 < committed < want["interactions"]

    rerun = subprocess.run(_cli(cfg, "ingest", "--batch-size", "500", str(files.spec)), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "resumed:" in rerun.stdout
    from graphrec.store.connect import open_store

    with open_store(cfg) as s:
        got = graph_counts(s)
    assert {k: got[k] for k in want} == want
    # and a third run is a no-op on counts
    again = subprocess.run(_cli(cfg, "ingest", str(files.spec)), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    with open_store(cfg) as s:
        assert graph_counts(s) == got


@pytest.mark.slow
def test_embedded_database_dies_midway_then_rerun_recovers(tmp_path: Path) -> None:
    """SIGKILL the ArcadeDB JVM during an ingest: a clear error; the rerun recovers the stale server and completes."""
    home = tmp_path / "home-dbkill"
    cfg = StoreConfig(home=home)
    files = generate(tmp_path / "data", seed=11, users=2_500, items_per_scenario=400)
    want = expected_counts(files.spec, tmp_path)
    proc = subprocess.Popen(_cli(cfg, "ingest", "--batch-size", "500", str(files.spec)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while _checkpoint_rows(home, "interactions:") < 2_000:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    state = json.loads((home / "arcadedb" / "server.json").read_text())
    os.kill(state["pid"], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, (out[-1000:], err[-2000:])
    assert "Traceback" not in err
    assert "error: write failed" in err, err[-2000:]
    assert "stale embedded-server state" in err  # the dead server's state file was cleaned up
    rerun = subprocess.run(_cli(cfg, "ingest", str(files.spec)), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "resumed:" in rerun.stdout
    from graphrec.store.connect import open_store

    with open_store(cfg) as s:
        got = graph_counts(s)
    assert {k: got[k] for k in want} == want
