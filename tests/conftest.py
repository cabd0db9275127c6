"""Shared fixtures: real stores (embedded ArcadeDB and Neo4j over Bolt), real data paths.

Neo4j: ``GRAPHREC_TEST_NEO4J_URI`` points at a running server (CI starts one with
scripts/neo4j_server.sh); otherwise the tests start one themselves where Java and Maven
exist, and skip with the reason where they don't. With ``GRAPHREC_REQUIRE_NEO4J=1`` (set by
.ci/run) a missing Neo4j is an error, not a skip; ``GRAPHREC_REQUIRE_DATA=1`` does the same
for ../shared/data, and ``GRAPHREC_REQUIRE_MINIBATCH=1`` for the mini-batch backend (torch-sparse).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphrec.store.arcade_process import free_port

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
NEO4J_SCRIPT = REPO / "scripts" / "neo4j_server.sh"


def _require(env: str) -> bool:
    return os.environ.get(env, "") not in ("", "0", "false")


def skip_or_fail(reason: str, env: str) -> None:
    """Skip with ``reason``, or fail when ``env`` requires the resource (CI)."""
    if _require(env):
        pytest.fail(f"{reason} (required because {env} is set)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def neighbor_sampling() -> None:
    """PyG's neighbour sampling backend (torch-sparse or pyg-lib), needed by mini-batch training."""
    from graphrec.train.minibatch import INSTALL_HINT, neighbor_sampling_available

    if not neighbor_sampling_available():
        skip_or_fail(f"mini-batch training is an optional extra; {INSTALL_HINT}", "GRAPHREC_REQUIRE_MINIBATCH")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets folder (../shared/data beside the repository)."""
    if not (SHARED_DATA / "README.md").exists():
        skip_or_fail(f"real datasets not found at {SHARED_DATA}", "GRAPHREC_REQUIRE_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def arcadedb_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A graphrec home whose embedded ArcadeDB server runs for the whole session."""
    from graphrec.home import arcadedb_dir
    from graphrec.store.arcade import EmbeddedArcadeDB

    home = tmp_path_factory.mktemp("graphrec-home")
    server = EmbeddedArcadeDB(arcadedb_dir(home))
    server.ensure_running()
    yield home
    server.stop()


@pytest.fixture(scope="session")
def neo4j_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bolt URI of a real Neo4j 5.26 server (auth off)."""
    uri = os.environ.get("GRAPHREC_TEST_NEO4J_URI")
    if uri:
        yield uri
        return
    missing = [tool for tool in ("java", "javac", "mvn") if shutil.which(tool) is None]
    if missing:
        skip_or_fail(
            f"Neo4j tests need {', '.join(missing)} to fetch and start Neo4j 5.26 from Maven Central "
            "(or set GRAPHREC_TEST_NEO4J_URI to a running server)",
            "GRAPHREC_REQUIRE_NEO4J",
        )
    run_dir = tmp_path_factory.mktemp("neo4j-run")
    env = {**os.environ, "NEO4J_RUN_DIR": str(run_dir)}
    port = free_port()
    proc = subprocess.run(
        ["bash", str(NEO4J_SCRIPT), "start", str(port)], env=env, capture_output=True, text=True, timeout=900
    )
    if proc.returncode != 0:
        skip_or_fail(f"could not start Neo4j: {proc.stderr[-2000:]}", "GRAPHREC_REQUIRE_NEO4J")
    try:
        yield proc.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(NEO4J_SCRIPT), "stop"], env=env, capture_output=True, timeout=120)


@pytest.fixture(params=["arcadedb", "neo4j"])
def backend(request: pytest.FixtureRequest) -> str:
    """Runs a test once per store backend."""
    return str(request.param)


@pytest.fixture
def store_config(backend: str, request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A :class:`StoreConfig` for the backend under test, on an emptied graph."""
    from graphrec.store.connect import StoreConfig, open_store

    if backend == "arcadedb":
        cfg = StoreConfig(home=request.getfixturevalue("arcadedb_home"))
    else:
        cfg = StoreConfig(home=tmp_path / "home", uri=request.getfixturevalue("neo4j_uri"))
    with open_store(cfg) as store:
        store.clear()
    return cfg


@pytest.fixture
def store(store_config):  # type: ignore[no-untyped-def]
    """An open :class:`GraphStore` on an empty graph of the backend under test."""
    from graphrec.store.connect import open_store

    with open_store(store_config) as s:
        yield s


def cli_args(cfg) -> list[str]:  # type: ignore[no-untyped-def]
    """Global ``graphrec`` options that select the store of ``cfg``."""
    args = ["--home", str(cfg.home), "--no-progress"]
    if cfg.uri:
        args += ["--uri", cfg.uri]
    return args
