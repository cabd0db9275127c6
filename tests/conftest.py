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
from tests.helpers import NEO4J_SCRIPT, SHARED_DATA, missing_data_reason, skip_or_fail

# Fixtures that reach a store backend, and the marker (pyproject.toml) a test using one gets.
BACKEND_FIXTURES = {"neo4j_uri": "neo4j", "arcadedb_home": "arcadedb"}
BACKENDS = ("arcadedb", "neo4j")


def added_markers(item: pytest.Item) -> set[str]:
    """The markers collection adds to ``item``: ``neo4j`` / ``arcadedb`` for the backend it runs on (a
    parameter ``"neo4j"`` / ``"arcadedb"`` of a backend-parametrised fixture, such as ``backend``, or a
    fixture of BACKEND_FIXTURES), ``data`` when it reads the real datasets (``shared_data``)."""
    names = set(getattr(item, "fixturenames", ()))
    marks = {BACKEND_FIXTURES[name] for name in names & BACKEND_FIXTURES.keys()}
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        marks |= {value for value in callspec.params.values() if isinstance(value, str) and value in BACKENDS}
    if "shared_data" in names:
        marks.add("data")
    return marks


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Apply the backend and data markers, so that ``-m "not neo4j"`` or ``-m arcadedb`` select by backend."""
    for item in items:
        for name in sorted(added_markers(item)):
            if item.get_closest_marker(name) is None:
                item.add_marker(name)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``data("ml-100k", ...)`` is skipped, naming the missing files and the README, while
    those datasets are not in ../shared/data (failed under GRAPHREC_REQUIRE_DATA)."""
    names = tuple(name for marker in item.iter_markers("data") for name in marker.args)
    if names:
        reason = missing_data_reason(names)
        if reason:
            skip_or_fail(reason, "GRAPHREC_REQUIRE_DATA")


@pytest.fixture(scope="session")
def neighbor_sampling() -> None:
    """PyG's neighbour sampling backend (torch-sparse or pyg-lib), needed by mini-batch training."""
    from graphrec.train.minibatch import INSTALL_HINT, neighbor_sampling_available

    if not neighbor_sampling_available():
        skip_or_fail(f"mini-batch training is an optional extra; {INSTALL_HINT}", "GRAPHREC_REQUIRE_MINIBATCH")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets folder (../shared/data beside the repository)."""
    reason = missing_data_reason()
    if reason:
        skip_or_fail(reason, "GRAPHREC_REQUIRE_DATA")
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
