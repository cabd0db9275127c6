"""The ingest kill matrix, for real: SIGKILL of a ``graphrec ingest`` process, SIGKILL of the database
under it (the embedded ArcadeDB JVM; a private Neo4j started by the test), and an interrupted ingest
followed by ``graphrec clear --yes``. Each ends with a rerun whose graph holds exactly the files'
items, users and interactions, none twice, and whose summary's "loaded" equals the graph's recount.

(SIGINT of training and write-back are in their own test file.)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphrec.store.arcade_process import free_port, pid_alive
from graphrec.store.connect import StoreConfig, open_store
from ingest.sources.synthetic import SyntheticFiles, generate
from tests.helpers import NEO4J_SCRIPT, cli_args, expected_counts, graph_counts, skip_or_fail

pytestmark = pytest.mark.slow

BATCH = "200"
#: Interaction rows that must be committed (per the checkpoint) before the kill.
KILL_AFTER = 1_000


@pytest.fixture
def files(tmp_path: Path) -> SyntheticFiles:
    """About 11,500 interactions: 58 batches of 200, so a kill lands well inside the interactions."""
    return generate(tmp_path / "data", seed=7, users=600, items_per_scenario=200)


@pytest.fixture(autouse=True)
def _no_leftover_servers(tmp_path: Path) -> Iterator[None]:
    """Embedded servers whose command was killed keep running for the next command; stop them at the end."""
    yield
    for state in tmp_path.glob("*/arcadedb/server.json"):
        try:
            pid = int(json.loads(state.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            continue
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def _cli(cfg: StoreConfig, *args: str) -> list[str]:
    return [sys.executable, "-m", "graphrec", *cli_args(cfg), *args]


def _checkpoint_rows(home: Path, stage_prefix: str) -> int:
    for p in (home / "state").glob("ingest-*.json"):
        try:
            data = json.loads(p.read_text())
        except (ValueError, OSError):
            continue
        return sum(v for k, v in data.get("committed", {}).items() if k.startswith(stage_prefix))
    return 0


def start_ingest_and_wait(cfg: StoreConfig, files: SyntheticFiles) -> subprocess.Popen[str]:
    """Start ``graphrec ingest`` and return once its checkpoint shows KILL_AFTER committed interaction rows."""
    proc = subprocess.Popen(
        _cli(cfg, "ingest", "--batch-size", BATCH, str(files.spec)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 180
    while _checkpoint_rows(cfg.home, "interactions:") < KILL_AFTER:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"ingest ended before it could be killed (rc {proc.returncode}): {out[-1000:]} {err[-2000:]}")
        assert time.monotonic() < deadline, "ingest made no progress"
        time.sleep(0.02)
    return proc


def rerun(cfg: StoreConfig, files: SyntheticFiles, out: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        _cli(cfg, "ingest", "--batch-size", BATCH, "--out", str(out), str(files.spec)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    return done


def assert_exact(cfg: StoreConfig, files: SyntheticFiles, tmp: Path, run: Path) -> None:
    """The graph holds the files' counts, nothing twice, and the run's "loaded" is the graph's count."""
    want = expected_counts(files.spec, tmp)
    with open_store(cfg) as store:
        got = graph_counts(store)
        pairs = store.read("MATCH (u:User)-[:INTERACTED]->(i:Item) RETURN u.id AS u, i.scenario AS s, i.id AS i")
        per_scenario = {
            r["s"]: r["n"]
            for r in store.read("MATCH (:User)-[r:INTERACTED]->(i:Item) RETURN i.scenario AS s, count(r) AS n")
        }
        markers = store.read("MATCH (m:GraphrecStore) RETURN m.id AS id")
    assert {k: got[k] for k in want} == want
    assert got["in_scenario"] == want["items"] and got["scenarios"] == 2
    assert len(pairs) == len({(p["u"], p["s"], p["i"]) for p in pairs}) == want["interactions"]  # none twice
    summary = json.loads((run / "summary.json").read_text())
    loaded = {name: c["interactions_loaded"] for name, c in summary["scenarios"].items()}
    assert loaded == per_scenario  # counted independently of the ingest's own recount
    assert loaded == {name: summary["recounted"][f"interactions:{name}"] for name in loaded}
    assert markers == [{"id": summary["store_id"]}]


def _config(backend: str, store_config: StoreConfig, tmp: Path) -> StoreConfig:
    """A fresh home of its own (the embedded store's graph is then the test's own)."""
    return (
        StoreConfig(home=tmp / "home", uri=store_config.uri) if backend == "neo4j" else StoreConfig(home=tmp / "home")
    )


def test_sigkill_of_the_ingest_then_rerun_resumes_exactly(
    backend: str, store_config: StoreConfig, files: SyntheticFiles, tmp_path: Path
) -> None:
    cfg = _config(backend, store_config, tmp_path)
    proc = start_ingest_and_wait(cfg, files)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    committed = _checkpoint_rows(cfg.home, "interactions:")
    assert KILL_AFTER <= committed < expected_counts(files.spec, tmp_path)["interactions"]

    done = rerun(cfg, files, tmp_path / "run")
    assert "resumed:" in done.stdout and "ignoring the resume checkpoint" not in done.stderr
    assert "recounted in the graph:" in done.stdout
    assert_exact(cfg, files, tmp_path, tmp_path / "run")


def test_interrupted_ingest_then_clear_then_rerun_loads_everything(
    backend: str, store_config: StoreConfig, files: SyntheticFiles, tmp_path: Path
) -> None:
    """The reported silent loss: kill, ``graphrec clear --yes``, rerun said "loaded" into an empty graph."""
    cfg = _config(backend, store_config, tmp_path)
    proc = start_ingest_and_wait(cfg, files)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    cleared = subprocess.run(_cli(cfg, "clear", "--yes"), capture_output=True, text=True, timeout=300)
    assert cleared.returncode == 0, cleared.stderr[-2000:]
    assert "removed 1 ingest resume checkpoint\n" in cleared.stdout
    assert not list((cfg.home / "state").glob("ingest-*.json"))
    with open_store(cfg) as store:
        assert graph_counts(store)["items"] == 0

    done = rerun(cfg, files, tmp_path / "run")
    assert "resumed:" not in done.stdout
    assert_exact(cfg, files, tmp_path, tmp_path / "run")


@pytest.mark.arcadedb
def test_sigkill_of_the_embedded_arcadedb_then_rerun_recovers(files: SyntheticFiles, tmp_path: Path) -> None:
    """SIGKILL the ArcadeDB JVM during an ingest: a clear error; the rerun starts a new server on the same
    data, resumes, and ends with exact counts."""
    cfg = StoreConfig(home=tmp_path / "home")
    proc = start_ingest_and_wait(cfg, files)
    state = json.loads((cfg.home / "arcadedb" / "server.json").read_text())
    os.kill(state["pid"], signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, (out[-1000:], err[-2000:])
    assert "Traceback" not in err and "error: write failed" in err, err[-2000:]
    assert "stale embedded-server state" in err  # the dead server's state file was cleaned up
    done = rerun(cfg, files, tmp_path / "run")
    assert "resumed:" in done.stdout
    assert_exact(cfg, files, tmp_path, tmp_path / "run")


class PrivateNeo4j:
    """A Neo4j of this test alone (never the shared one), started and stopped by ``scripts/neo4j_server.sh``."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.port = free_port()
        self.env = {**os.environ, "NEO4J_RUN_DIR": str(run_dir), "NEO4J_HEAP": "512m"}

    def start(self) -> str:
        proc = subprocess.run(
            ["bash", str(NEO4J_SCRIPT), "start", str(self.port)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            skip_or_fail(f"could not start a private Neo4j: {proc.stderr[-2000:]}", "GRAPHREC_REQUIRE_NEO4J")
        return proc.stdout.strip().splitlines()[-1]

    def kill(self) -> None:
        """SIGKILL the server (a throw-away database: no graceful stop needed at the end either)."""
        pidfile = self.run_dir / "neo4j.pid"
        if pidfile.exists() and pid_alive(pid := int(pidfile.read_text())):
            os.kill(pid, signal.SIGKILL)
            while pid_alive(pid):
                time.sleep(0.05)


@pytest.fixture
def private_neo4j(tmp_path: Path) -> Iterator[PrivateNeo4j]:
    missing = [tool for tool in ("java", "javac", "mvn") if shutil.which(tool) is None]
    if missing:
        skip_or_fail(f"a private Neo4j needs {', '.join(missing)}", "GRAPHREC_REQUIRE_NEO4J")
    server = PrivateNeo4j(tmp_path / "neo4j-run")
    try:
        yield server
    finally:
        server.kill()


@pytest.mark.neo4j
def test_sigkill_of_neo4j_then_restart_and_rerun_recovers(
    private_neo4j: PrivateNeo4j, files: SyntheticFiles, tmp_path: Path
) -> None:
    """SIGKILL a (private) Neo4j during an ingest, restart it on the same data: the rerun resumes into the
    recovered database and ends with exact counts (transactions the kill cut off were never checkpointed)."""
    uri = private_neo4j.start()
    cfg = StoreConfig(home=tmp_path / "home", uri=uri)
    proc = start_ingest_and_wait(cfg, files)
    private_neo4j.kill()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, (out[-1000:], err[-2000:])
    assert "Traceback" not in err and "error: write failed" in err, err[-2000:]
    assert private_neo4j.start() == uri
    done = rerun(cfg, files, tmp_path / "run")
    assert "resumed:" in done.stdout
    assert_exact(cfg, files, tmp_path, tmp_path / "run")
