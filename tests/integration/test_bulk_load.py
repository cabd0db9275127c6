"""Bulk loading (``graphrec ingest --bulk``, :mod:`ingest.bulk`) on a real Neo4j 5.26 and its real importer.

One spec — the synthetic quickstart data, files of the bad-input corpus with odd values (ids with spaces,
quotes and binary bytes, int64, ISO and fractional timestamps, missing ratings, items created from
interactions) and items whose text and categories hold quotes, separators, line breaks and NUL — is
ingested with ``MERGE`` into the session's Neo4j and bulk-loaded into a second Neo4j of
scripts/neo4j_server.sh (its own run folder and port): every node, relationship and property (value and
type), the schema and the ingest checkpoint must be the same, and a normal ingest of the same spec
afterwards must change nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphrec.schema import STORE_MARKER_NAME, Label, Prop
from graphrec.store import cypher
from graphrec.store.arcade_process import free_port
from graphrec.store.bolt import GraphStore
from graphrec.store.connect import StoreConfig, open_store
from ingest import api as ingest_api
from ingest.bulk.server import ScriptServer
from ingest.sources.synthetic import generate
from tests.bad_input_corpus import LOADABLE, write_spec
from tests.helpers import NEO4J_SCRIPT, invoke

#: Files of the bad-input corpus whose loaded values are odd (a scenario each; each scenario costs the bulk
#: path importer groups and recount queries on a freshly started server).
_CORPUS = {"whitespace_ids", "jsonl_surrogate_id", "parquet_binary_ids", "rating_strict", "timestamp_range",
           "timestamp_iso"}  # fmt: skip
#: The heap the bulk server is started with: the restart after the import must keep it.
_HEAP = "768m"

_EDGE_ITEMS = [
    {"id": "e1", "title": 'A "quoted", title; here', "text": "two\nlines, a tab\there and a NUL \u0000 end",
     "cats": ["a;b", "c,d", 'q"uote', "multi\nline", "é 😀"]},
    {"id": "e2", "title": "", "text": "back\\slash \\\" and \r\n CRLF", "cats": []},
    {"id": "e3", "title": "no categories"},
]  # fmt: skip
_EDGE_INTERACTIONS = [
    {"u": "x1", "i": "e1", "r": 4.5, "t": 1.5},
    {"u": "x2", "i": "e2"},
    {"u": 'quo"te', "i": "e3", "r": 1, "t": "2024-05-01T10:00:00"},
    {"u": "x1", "i": "e3", "r": 0.1, "t": 9223372036854775807},
]


def _spec(folder: Path) -> Path:
    """Synthetic data, the loadable corpus and the edge-case items in one spec."""
    synthetic = generate(folder, seed=3, users=120, items_per_scenario=60)
    corpus = write_spec(folder, [c for c in LOADABLE if c.name in _CORPUS])
    (folder / "edge_items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _EDGE_ITEMS), encoding="utf-8")
    (folder / "edge.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _EDGE_INTERACTIONS), encoding="utf-8")
    edge = (
        '[[scenario]]\nname = "edge"\n'
        'interactions = { path = "edge.jsonl", format = "jsonl", user = "u", item = "i", rating = "r?", '
        'timestamp = "t?" }\n'
        'items = { path = "edge_items.jsonl", format = "jsonl", id = "id", title = "title?", text = ["text?"], '
        'categories = "cats?" }\n\n'
    )
    spec = folder / "all.toml"
    spec.write_text(synthetic.spec.read_text() + "\n" + corpus.read_text() + edge, encoding="utf-8")
    return spec


@pytest.fixture(scope="module")
def bulk_server(neo4j_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScriptServer]:
    """A second Neo4j of scripts/neo4j_server.sh, in its own run folder, that the tests may stop and restart
    (``neo4j_uri``, the session's server, must exist first: it fetches the jars, or skips with the reason)."""
    run_dir = tmp_path_factory.mktemp("bulk-neo4j-run")
    env = {**os.environ, "NEO4J_RUN_DIR": str(run_dir), "NEO4J_HEAP": _HEAP}
    started = subprocess.run(
        ["bash", str(NEO4J_SCRIPT), "start", str(free_port())], env=env, capture_output=True, text=True, timeout=600
    )
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        yield ScriptServer(run_dir)
    finally:
        subprocess.run(["bash", str(NEO4J_SCRIPT), "stop"], env=env, capture_output=True, timeout=120)


def _typed(props: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """Properties with the type of each value (a float 4.0 is not an integer 4)."""
    return tuple(sorted((k, type(v).__name__, repr(v)) for k, v in props.items()))


def _node(labels: list[str], props: dict[str, Any]) -> tuple[Any, ...]:
    if Label.STORE in labels:  # its id and creation time are random per graph
        props = {k: v for k, v in props.items() if k not in (Prop.ID, Prop.CREATED)}
    return (tuple(sorted(labels)), _typed(props))


def dump(store: GraphStore) -> dict[str, Any]:
    """Every node, relationship and property (typed), and the ingest's schema, of the graph in ``store``."""
    nodes = sorted(_node(r["l"], r["p"]) for r in store.read("MATCH (n) RETURN labels(n) AS l, properties(n) AS p"))
    rels = sorted(
        (_node(r["la"], r["pa"]), r["t"], _typed(r["p"]), _node(r["lb"], r["pb"]))
        for r in store.read(
            "MATCH (a)-[r]->(b) RETURN labels(a) AS la, properties(a) AS pa, type(r) AS t, properties(r) AS p, "
            "labels(b) AS lb, properties(b) AS pb"
        )
    )
    return {
        "nodes": nodes,
        "relationships": rels,
        "constraints": store.read(cypher.SHOW_CONSTRAINTS),
        # the ingest's schema: vector indexes come from a write-back (graphrec.writeback), and the session's
        # server keeps those of earlier tests
        "indexes": [r for r in store.read(cypher.SHOW_INDEXES) if r["type"] != "VECTOR"],
    }


def _checkpoint(home: Path) -> dict[str, Any]:
    (path,) = (home / "state").glob("ingest-*.json")
    state = json.loads(path.read_text())
    return {"file": path.name, "committed": state["committed"], "complete": state["complete"]}


def test_bulk_load_builds_the_graph_merge_builds(neo4j_uri: str, bulk_server: ScriptServer, tmp_path: Path) -> None:
    spec = _spec(tmp_path / "data")
    merge_cfg = StoreConfig(home=tmp_path / "merge-home", uri=neo4j_uri)
    with open_store(merge_cfg) as store:
        store.clear()
        merged = ingest_api.ingest(store, spec, home=merge_cfg.home, run_dir=tmp_path / "merge-run")
        want = dump(store)
    bulk_cfg = StoreConfig(home=tmp_path / "bulk-home", uri=bulk_server.uri)
    with open_store(bulk_cfg) as store:
        store.clear()

    out = invoke(bulk_cfg, "ingest", str(spec), "--bulk", "--neo4j-run-dir", str(bulk_server.run_dir),
                 "--out", str(tmp_path / "bulk-run"))  # fmt: skip
    assert "bulk-imported interactions" in out and "every loaded row is there" in out, out
    with open_store(bulk_cfg) as store:
        got = dump(store)
        online = store.read("SHOW INDEXES YIELD name, state RETURN name, state")
        marker = store.read("MATCH (m:GraphrecStore {name: $n}) RETURN m.id AS id", {"n": STORE_MARKER_NAME})
    assert got["nodes"] == want["nodes"]
    assert got["relationships"] == want["relationships"]
    assert (got["constraints"], got["indexes"]) == (want["constraints"], want["indexes"])
    assert {r["state"] for r in online} == {"ONLINE"}
    # the edge cases arrived intact, in both graphs
    e1 = [n for n in got["nodes"] if ("title", "str", repr(_EDGE_ITEMS[0]["title"])) in n[1]]
    assert len(e1) == 1 and ("categories", "list", repr(_EDGE_ITEMS[0]["cats"])) in e1[0][1]
    # the same validation, rejects, counts, checkpoint and marker as the MERGE path
    bulk = json.loads((tmp_path / "bulk-run" / "summary.json").read_text())
    assert bulk["method"] == "bulk" and merged.method == "merge"
    assert bulk["scenarios"] == json.loads((tmp_path / "merge-run" / "summary.json").read_text())["scenarios"]
    assert bulk["recounted"] == merged.recounted and bulk["rejects_by_kind"] == merged.rejects_by_kind
    assert (tmp_path / "bulk-run" / "rejects.tsv").read_text() == (tmp_path / "merge-run" / "rejects.tsv").read_text()
    assert _checkpoint(bulk_cfg.home) == _checkpoint(merge_cfg.home)
    assert marker == [{"id": bulk["store_id"]}]
    assert not (tmp_path / "bulk-run" / "bulk-import").exists()  # the importer's files are removed
    # restarted as it was started
    pid = bulk_server.pid()
    assert pid is not None and f"-Xmx{_HEAP}" in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")

    # a normal ingest of the same spec afterwards changes nothing
    with open_store(bulk_cfg) as store:
        again = ingest_api.ingest(store, spec, home=bulk_cfg.home, run_dir=tmp_path / "again")
        assert dump(store) == got
    assert again.resumed_rows == 0 and again.store_id == bulk["store_id"] and again.recounted == merged.recounted

    # a second bulk load is refused: the database is no longer empty
    err = invoke(bulk_cfg, "ingest", str(spec), "--bulk", "--neo4j-run-dir", str(bulk_server.run_dir), ok=False)
    assert "is not empty" in err and "without --bulk" in err, err


def test_bulk_refusals(neo4j_uri: str, bulk_server: ScriptServer, tmp_path: Path) -> None:
    spec = generate(tmp_path / "data", seed=1, users=10, items_per_scenario=5).spec
    run = ["--neo4j-run-dir", str(bulk_server.run_dir)]
    embedded = invoke(StoreConfig(home=tmp_path / "h1"), "ingest", str(spec), "--bulk", ok=False)
    assert "embedded ArcadeDB" in embedded and "Ingest without --bulk" in embedded, embedded
    other = invoke(StoreConfig(home=tmp_path / "h2", uri=neo4j_uri), "ingest", str(spec), "--bulk", *run, ok=False)
    assert f"which serves {bulk_server.uri}, not {neo4j_uri}" in other, other
    missing = invoke(
        StoreConfig(home=tmp_path / "h3", uri=bulk_server.uri), "ingest", str(spec), "--bulk",
        "--neo4j-run-dir", str(tmp_path / "nowhere"), ok=False,
    )  # fmt: skip
    assert "no Neo4j started by scripts/neo4j_server.sh runs from" in missing, missing


@pytest.mark.slow  # a second stop, import and start of the server (40-100 s)
def test_failed_import_leaves_an_empty_running_database(bulk_server: ScriptServer, tmp_path: Path) -> None:
    from graphrec.errors import StoreError

    spec = generate(tmp_path / "data", seed=2, users=10, items_per_scenario=5).spec
    cfg = StoreConfig(home=tmp_path / "home", uri=bulk_server.uri)
    with open_store(cfg) as store:
        store.clear()
    with pytest.raises(StoreError, match=r"neo4j-admin database import full failed .*heap"):
        ingest_api.bulk_ingest(
            spec, neo4j_run_dir=bulk_server.run_dir, home=cfg.home, run_dir=tmp_path / "run", importer_heap="1k"
        )
    assert bulk_server.pid() is not None
    with open_store(cfg) as store:
        assert store.read(cypher.ANY_NODE) == [{"nodes": 0}]
    assert (tmp_path / "run" / "bulk-import" / "import.log").is_file()  # kept for the diagnosis
