"""The read-only guard of ``graphrec query`` on both stores (issue 11 items 1, 2, 11).

Every write, schema, ``IN TRANSACTIONS``, ``LOAD CSV`` and writing-procedure variant below runs through
``graphrec query`` without ``--write`` and must fail, after which the graph (node and relationship
counts and a checksum of every label, type and property) and its schema (constraints and indexes)
must be exactly as before. The same variants run again with the up-front check switched off, so the
server's own guard is tested too (ArcadeDB: the read-only user; Neo4j: READ access mode). One small
graph is seeded per backend and reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from graphrec.cli import cli
from graphrec.store import readonly
from graphrec.store.connect import StoreConfig, open_store
from graphrec.store.repair import read_schema
from tests.helpers import cli_args

# (id, query, params): each must be refused in read-only mode and change nothing
WRITES: list[tuple[str, str, tuple[str, ...]]] = [
    ("create-node", "CREATE (:X {a: 1})", ()),
    ("create-return", "CREATE (n:User {id: 'new'}) RETURN n.id AS id", ()),
    ("create-rel", "MATCH (u:User {id: 'u1'}), (i:Item {id: 'i1'}) CREATE (u)-[:INTERACTED {rating: 9}]->(i)", ()),
    ("merge-node", "MERGE (u:User {id: 'merged'})", ()),
    ("merge-existing-on-match", "MERGE (u:User {id: 'u1'}) ON MATCH SET u.touched = true", ()),
    ("merge-on-create", "MERGE (u:User {id: 'x9'}) ON CREATE SET u.created = 1", ()),
    ("merge-rel", "MATCH (u:User {id: 'u2'}), (i:Item {id: 'i3'}) MERGE (u)-[:RECOMMENDED]->(i)", ()),
    ("set-prop", "MATCH (u:User) SET u.flag = 1", ()),
    ("set-map-plus", "MATCH (i:Item) SET i += {title: 'hacked'}", ()),
    ("set-map-replace", "MATCH (i:Item {id: 'i1'}) SET i = {id: 'i1'}", ()),
    ("set-label", "MATCH (u:User) SET u:Admin", ()),
    ("set-rel-prop", "MATCH ()-[r:INTERACTED]->() SET r.rating = 0", ()),
    ("remove-prop", "MATCH (i:Item) REMOVE i.title", ()),
    ("remove-label", "MATCH (u:User) REMOVE u:User", ()),
    ("delete-rel", "MATCH ()-[r]->() DELETE r", ()),
    ("delete-node", "MATCH (n:User {id: 'u3'}) DELETE n", ()),
    ("detach-delete", "MATCH (n) DETACH DELETE n", ()),
    ("detach-delete-newlines-case", "match (n)\n  DeTaCh\n\tdElEtE n", ()),
    ("foreach", "MATCH (u:User) WITH collect(u) AS us FOREACH (x IN us | SET x.f = 1)", ()),
    ("unit-subquery", "CALL { MATCH (u:User) SET u.sub = 1 }", ()),
    ("returning-subquery", "CALL { MATCH (u:User) SET u.sub = 1 RETURN count(u) AS c } RETURN c", ()),
    (
        "union-hidden-write",
        "MATCH (u:User) RETURN u.id AS id UNION MATCH (i:Item) SET i.title = 'x' RETURN i.id AS id",
        (),
    ),
    ("with-then-write", "MATCH (u:User) WITH u LIMIT 1 CREATE (u)-[:RECOMMENDED]->(:Item {id: 'ghost'})", ()),
    ("comment-before-write", "/* just a read */ MATCH (n) // no\n DETACH DELETE n", ()),
    ("string-then-write", "WITH 'MATCH (n) RETURN n' AS s MATCH (u:User) SET u.s = s", ()),
    ("param-values", "MATCH (u:User {id: $id}) SET u.title = $title", ("id=u1", "title=pwned")),
    ("param-list", "UNWIND $ids AS id CREATE (:User {id: id})", ('ids:json=["p1", "p2"]',)),
    ("in-tx-detach-delete", "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10 ROWS", ()),
    ("in-tx-create", "UNWIND range(1, 5) AS k CALL { WITH k CREATE (:X {k: k}) } IN TRANSACTIONS", ()),
    ("in-tx-set-lowercase", "match (u:User) call { with u set u.t = 1 } in transactions of 1 row", ()),
    ("in-tx-merge-newlines", "UNWIND [1] AS k\nCALL {\n WITH k MERGE (:X {k: k})\n}\nIN\nTRANSACTIONS", ()),
    ("in-tx-read-only-body", "MATCH (u:User) CALL { WITH u RETURN u.id AS i } IN TRANSACTIONS RETURN i", ()),
    ("in-tx-on-error", "MATCH (u:User) CALL { WITH u SET u.e = 1 } IN TRANSACTIONS ON ERROR CONTINUE", ()),
    ("in-tx-concurrent", "MATCH (u:User) CALL { WITH u SET u.c = 1 } IN 2 CONCURRENT TRANSACTIONS", ()),
    ("periodic-commit", "USING PERIODIC COMMIT 10 LOAD CSV FROM 'file:///etc/passwd' AS l CREATE (:X {l: l[0]})", ()),
    ("drop-constraint", "DROP CONSTRAINT graphrec_user_id IF EXISTS", ()),
    ("drop-constraint-quoted", "DROP CONSTRAINT `graphrec_item_key`", ()),
    ("drop-index", "DROP INDEX graphrec_item_scenario IF EXISTS", ()),
    ("create-index", "CREATE INDEX guard_ix IF NOT EXISTS FOR (n:User) ON (n.title)", ()),
    ("create-range-index-comment", "CREATE /* x */ RANGE INDEX guard_ix2 FOR (n:Item) ON (n.title)", ()),
    ("create-text-index", "CREATE TEXT INDEX guard_tx IF NOT EXISTS FOR (n:Item) ON (n.title)", ()),
    ("create-constraint", "CREATE CONSTRAINT guard_c IF NOT EXISTS FOR (n:Item) REQUIRE n.title IS UNIQUE", ()),
    ("create-vector-index", "CREATE VECTOR INDEX guard_v IF NOT EXISTS FOR (n:Item) ON (n.embedding)", ()),
    ("create-fulltext-index", "CREATE FULLTEXT INDEX guard_ft IF NOT EXISTS FOR (n:Item) ON EACH [n.title]", ()),
    ("explain-drop", "EXPLAIN DROP INDEX graphrec_item_scenario", ()),
    ("create-database", "CREATE DATABASE guarddb IF NOT EXISTS", ()),
    ("create-user", "CREATE USER guard SET PASSWORD 'secret123' CHANGE NOT REQUIRED", ()),
    ("load-csv-file", "LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l LIMIT 3", ()),
    ("load-csv-headers-http", "LOAD CSV WITH HEADERS FROM 'http://127.0.0.1:9/x.csv' AS l RETURN l", ()),
    (
        "load-csv-param-union",
        "MATCH (u:User) RETURN u.id AS l UNION LOAD CSV FROM $url AS l RETURN l[0] AS l",
        ("url=file:///etc/passwd",),
    ),
    ("load-csv-create", "LOAD CSV FROM 'file:///etc/hostname' AS l CREATE (:X {l: l[0]})", ()),
]

# procedures that write where the store has them (Neo4j); unknown procedures on ArcadeDB fail too
PROCEDURES: list[tuple[str, str, tuple[str, ...]]] = [
    ("proc-create-label", "CALL db.createLabel('GuardLabel')", ()),
    ("proc-create-property", "CALL db.createProperty('guardProp')", ()),
    ("proc-create-reltype", "CALL db.createRelationshipType('GUARD_REL')", ()),
    (
        "proc-vector-property",
        "MATCH (i:Item {id: 'i1'}) CALL db.create.setNodeVectorProperty(i, 'embedding', [1.0, 2.0])",
        (),
    ),
]

VARIANTS = WRITES + PROCEDURES

#: Variants that do not write: refused up front, but a server may run them (reading only)
READS_AT_SERVER = {
    "in-tx-read-only-body",
    "explain-drop",
    "load-csv-file",
    "load-csv-headers-http",
    "load-csv-param-union",
}


def _checksum(rows: list[dict[str, Any]]) -> str:
    text = json.dumps(sorted(json.dumps(r, sort_keys=True, default=str) for r in rows))
    return hashlib.sha256(text.encode()).hexdigest()


def graph_state(cfg: StoreConfig) -> dict[str, Any]:
    """Counts, a checksum of every node's labels and properties and every relationship's type,
    ends and properties, and the schema (constraints and indexes)."""
    with open_store(cfg, ensure_schema=False) as s:
        nodes = s.read("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props")
        rels = s.read("MATCH (a)-[r]->(b) RETURN type(r) AS type, properties(r) AS props, a.id AS a, b.id AS b")
        schema = [(o.kind, o.name, o.type, o.labels, o.properties, o.owner) for o in read_schema(s)]
    return {
        "nodes": len(nodes),
        "relationships": len(rels),
        "node_checksum": _checksum(nodes),
        "rel_checksum": _checksum(rels),
        "schema": schema,
    }


@pytest.fixture(scope="module", params=["arcadedb", "neo4j"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[StoreConfig, dict[str, Any]]]:
    """A small graph per backend (3 users, 3 items, 4 interactions), seeded once, with its state."""
    if request.param == "arcadedb":
        cfg = StoreConfig(home=request.getfixturevalue("arcadedb_home"))
    else:
        cfg = StoreConfig(home=tmp_path_factory.mktemp("guard-home"), uri=request.getfixturevalue("neo4j_uri"))
    with open_store(cfg) as s:
        s.clear()
        s.execute_write(
            "UNWIND ['u1', 'u2', 'u3'] AS id CREATE (:User {id: id}) "
            "WITH count(*) AS _ UNWIND ['i1', 'i2', 'i3'] AS id "
            "CREATE (:Item {scenario: 'books', id: id, title: 'T ' + id})",
            {},
        )
        s.execute_write(
            "UNWIND $rows AS row MATCH (u:User {id: row.u}), (i:Item {id: row.i}) "
            "CREATE (u)-[:INTERACTED {scenario: 'books', rating: row.r, ts: 1}]->(i)",
            {
                "rows": [
                    {"u": "u1", "i": "i1", "r": 5.0},
                    {"u": "u1", "i": "i2", "r": 3.0},
                    {"u": "u2", "i": "i2", "r": 4.0},
                    {"u": "u3", "i": "i3", "r": 1.0},
                ]
            },
        )
    state = graph_state(cfg)
    assert state["nodes"] == 6 and state["relationships"] == 4
    yield cfg, state


def run(cfg: StoreConfig, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*cli_args(cfg), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _args(query: str, params: tuple[str, ...]) -> list[str]:
    return ["query", query, *(a for p in params for a in ("--param", p))]


def test_there_are_at_least_40_variants() -> None:
    assert len({v[0] for v in VARIANTS}) == len(VARIANTS) >= 40


@pytest.mark.parametrize(("name", "query", "params"), WRITES, ids=[v[0] for v in WRITES])
def test_read_only_query_refuses_and_changes_nothing(
    seeded: tuple[StoreConfig, dict[str, Any]], name: str, query: str, params: tuple[str, ...]
) -> None:
    cfg, before = seeded
    code, out, err = run(cfg, *_args(query, params))
    assert code == 1, out
    assert "read-only" in err, err
    assert "--write" in err, err  # how to allow it
    if name.startswith("load-csv"):
        assert "--allow-load-csv" in err, err
    assert graph_state(cfg) == before


@pytest.mark.parametrize(("name", "query", "params"), PROCEDURES, ids=[v[0] for v in PROCEDURES])
def test_writing_procedures_fail_and_change_nothing(
    seeded: tuple[StoreConfig, dict[str, Any]], name: str, query: str, params: tuple[str, ...]
) -> None:
    cfg, before = seeded
    code, _, err = run(cfg, *_args(query, params))
    assert code == 1 and err.startswith("error:"), err
    if cfg.uri:  # Neo4j has these procedures: its READ session refuses them
        assert "read-only" in err, err
    assert graph_state(cfg) == before


@pytest.mark.parametrize(("name", "query", "params"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_the_server_refuses_what_the_up_front_check_would_miss(
    seeded: tuple[StoreConfig, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    query: str,
    params: tuple[str, ...],
) -> None:
    """With the up-front check off, the server's own guard (ArcadeDB's read-only user, Neo4j's READ
    access mode) still refuses every write; for the variants that only read (LOAD CSV, whose file
    policy is the server's and is tested below, a read-only IN TRANSACTIONS body, EXPLAIN), only the
    graph is checked."""
    cfg, before = seeded
    monkeypatch.setattr(readonly, "check_read_only", lambda *a, **k: None)
    code, _, err = run(cfg, *_args(query, params))
    if name not in READS_AT_SERVER:
        assert code == 1, err
    assert graph_state(cfg) == before


READS: list[tuple[str, str, tuple[str, ...], Any]] = [
    ("count", "MATCH (n) RETURN count(n) AS c", (), [{"c": 6}]),
    (
        "keywords-in-strings",
        "RETURN 'CREATE (:X)' AS a, \"DROP INDEX i\" AS b, 'CALL { } IN TRANSACTIONS' AS c, 'LOAD CSV' AS d",
        (),
        [{"a": "CREATE (:X)", "b": "DROP INDEX i", "c": "CALL { } IN TRANSACTIONS", "d": "LOAD CSV"}],
    ),
    (
        "keywords-in-comments",
        "// DETACH DELETE everything\nMATCH (u:User) /* SET u.x = 1 */ RETURN count(u) AS users",
        (),
        [{"users": 3}],
    ),
    (
        "keywords-as-names",
        "MATCH (u:User {id: 'u1'})-[r:INTERACTED]->(i) "
        "RETURN u.id AS create, r.rating AS `delete`, {set: 1}.set AS merge ORDER BY merge, `delete`",
        (),
        [{"create": "u1", "delete": 3.0, "merge": 1}, {"create": "u1", "delete": 5.0, "merge": 1}],
    ),
    (
        "param-named-like-keyword",
        "MATCH (i:Item) WHERE i.title = $set RETURN i.id AS id",
        ("set=T i2",),
        [{"id": "i2"}],
    ),
    ("escaped-quote-string", "RETURN 'it\\'s a DELETE' AS s", (), [{"s": "it's a DELETE"}]),
    (
        "read-subquery",
        "MATCH (u:User) CALL { WITH u MATCH (u)-[:INTERACTED]->(i) RETURN count(i) AS n } "
        "RETURN u.id AS id, n ORDER BY id",
        (),
        [{"id": "u1", "n": 2}, {"id": "u2", "n": 1}, {"id": "u3", "n": 1}],
    ),
    (
        "union-of-reads",
        "MATCH (u:User {id: 'u1'}) RETURN u.id AS id UNION MATCH (i:Item {id: 'i1'}) RETURN i.id AS id",
        (),
        None,
    ),
    (
        "show-constraints",
        "SHOW CONSTRAINTS YIELD name WHERE name = 'graphrec_user_id' RETURN name",
        (),
        [{"name": "graphrec_user_id"}],
    ),
]


@pytest.mark.parametrize(("name", "query", "params", "expected"), READS, ids=[r[0] for r in READS])
def test_legitimate_reads_still_work(
    seeded: tuple[StoreConfig, dict[str, Any]], name: str, query: str, params: tuple[str, ...], expected: Any
) -> None:
    cfg, before = seeded
    code, out, err = run(cfg, *_args(query, params), "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    if expected is None:
        assert sorted(r["id"] for r in rows) == ["i1", "u1"]
    else:
        assert rows == expected
    assert graph_state(cfg) == before


def test_write_flag_still_writes_and_allows_in_transactions(seeded: tuple[StoreConfig, dict[str, Any]]) -> None:
    cfg, before = seeded
    try:
        code, out, err = run(
            cfg, "query", "UNWIND [1, 2] AS k CALL { WITH k CREATE (:GuardTmp {k: k}) } IN TRANSACTIONS", "--write"
        )
        assert code == 0, err
        code, out, _ = run(cfg, "query", "MATCH (n:GuardTmp) RETURN count(n) AS c", "--format", "json")
        assert json.loads(out) == [{"c": 2}]
    finally:
        run(cfg, "query", "MATCH (n:GuardTmp) DETACH DELETE n", "--write")
    after = graph_state(cfg)
    assert {k: v for k, v in after.items() if k != "schema"} == {k: v for k, v in before.items() if k != "schema"}


def test_load_csv_file_urls_are_refused_by_the_server_even_with_write(neo4j_uri: str, tmp_path: Path) -> None:
    """The Neo4j of scripts/neo4j_server.sh (CI's) must not serve local files, whatever graphrec allows."""
    cfg = StoreConfig(home=tmp_path / "home", uri=neo4j_uri)
    for flags in (["--allow-load-csv"], ["--write"]):
        code, out, err = run(cfg, "query", "LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l LIMIT 3", *flags)
        assert code == 1, out
        assert "root:" not in out and "allow_csv_import_from_file_urls" in err, err


def test_arcadedb_refuses_load_csv_file_urls_even_when_allowed(arcadedb_home: Path) -> None:
    code, out, _err = run(
        StoreConfig(home=arcadedb_home),
        "query",
        "LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l LIMIT 3",
        "--allow-load-csv",
    )
    assert code == 1 and "root:" not in out, out


def test_read_only_user_is_private_and_cannot_write_over_bolt(arcadedb_home: Path) -> None:
    """The server itself refuses the read-only user's writes, schema changes and IN TRANSACTIONS."""
    import neo4j
    from neo4j.exceptions import ClientError

    from graphrec.home import arcadedb_dir
    from graphrec.store.arcade import EmbeddedArcadeDB
    from graphrec.store.arcade_users import READER_USER

    server = EmbeddedArcadeDB(arcadedb_dir(arcadedb_home))
    creds = server.root / "reader.json"
    assert creds.stat().st_mode & 0o077 == 0
    info = server.status()
    assert info is not None
    with neo4j.GraphDatabase.driver(info.uri, auth=(READER_USER, server.reader_password())) as driver:
        with driver.session(database=info.database) as session:
            assert session.run("RETURN 1 AS one").single()["one"] == 1
        for query in ("CREATE (:X)", "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS",
                      "DROP CONSTRAINT graphrec_user_id", "CREATE INDEX x FOR (n:X) ON (n.a)"):  # fmt: skip
            with pytest.raises(ClientError) as e, driver.session(database=info.database) as session:
                session.run(query).consume()
            assert e.value.code.endswith("Security.Forbidden"), e.value.code
    with (
        pytest.raises(neo4j.exceptions.AuthError),
        neo4j.GraphDatabase.driver(info.uri, auth=(READER_USER, "wrong")) as d,
    ):
        d.verify_connectivity()


# --- repair -----------------------------------------------------------------------------------


@pytest.fixture
def pristine(store_config: StoreConfig) -> tuple[StoreConfig, list[Any]]:
    return store_config, graph_state(store_config)["schema"]


def test_damaged_schema_is_repaired_exactly(pristine: tuple[StoreConfig, list[Any]]) -> None:
    cfg, schema = pristine
    # damage with --write: the constraint is gone after the command (the next --write command's schema step
    # would re-create it, so further damage goes through the library without that step)
    code, _, err = run(cfg, "query", "DROP CONSTRAINT graphrec_user_id", "--write")
    assert code == 0, err
    assert "graphrec_user_id" not in {row[1] for row in graph_state(cfg)["schema"]}
    with open_store(cfg, ensure_schema=False) as s:
        for ddl in ("DROP CONSTRAINT graphrec_topic_id", "DROP INDEX graphrec_item_scenario",
                    "CREATE INDEX guard_user_plain FOR (n:User) ON (n.id)",
                    "CREATE CONSTRAINT guard_topic FOR (n:Topic) REQUIRE n.id IS UNIQUE",
                    "CREATE INDEX guard_extra FOR (n:Foo) ON (n.x)",
                    "CREATE (:User {id: 'dup'}), (:User {id: 'dup'})"):  # fmt: skip
            s.run_query(ddl, write=True)
    damaged = graph_state(cfg)["schema"]
    # every write command now fails its schema step: the duplicates block the unique constraint ...
    code, _, err = run(cfg, "repair")
    assert code == 1 and "id='dup' (2 nodes)" in err and "graphrec_user_id" in err, err
    assert graph_state(cfg)["schema"] == damaged  # ... and a repair that cannot finish changes nothing
    code, _, err = run(cfg, "query", "MATCH (u:User {id: 'dup'}) WITH u LIMIT 1 DELETE u", "--write")
    assert code == 0, err
    code, out, err = run(cfg, "repair")
    assert code == 0, err
    assert "created graphrec_user_id" in out and "created graphrec_item_scenario" in out and "guard_topic" in out
    assert "kept index guard_extra" in out
    code, out, err = run(cfg, "repair", "--drop-extra")
    assert code == 0 and "dropped index guard_extra" in out, out + err
    assert graph_state(cfg)["schema"] == schema
    code, out, _ = run(cfg, "repair")
    assert code == 0 and "nothing to repair" in out
    assert graph_state(cfg)["schema"] == schema
    code, _, err = run(cfg, "query", "MERGE (u:User {id: 'dup'}) RETURN u.id AS id", "--write")
    assert code == 0 and "error" not in err, err


# --- errors that name the server's reason (item 11) ---------------------------------------------------


def test_arcadedb_syntax_error_names_the_parsers_reason_and_the_log(arcadedb_home: Path) -> None:
    code, _, err = run(StoreConfig(home=arcadedb_home), "query", "MATCH (n) RETURN n ORDER BY BY")
    assert code == 1
    assert "Check the server log" not in err
    assert "Variable 'BY' not defined" in err and str(arcadedb_home / "arcadedb" / "server.log") in err, err


@pytest.mark.arcadedb
def test_arcadedb_disk_full_names_the_cause(tmp_path: Path) -> None:
    """A real full disk: the home on a 48 MiB tmpfs (needs root and mount; skipped otherwise)."""
    from graphrec.errors import StoreError

    mnt = tmp_path / "small"
    mnt.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("a real full disk needs root to mount a small tmpfs")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        with open_store(StoreConfig(home=mnt / "home", heap="512m")) as s:
            blob = "x" * 100_000
            with pytest.raises(StoreError) as e:
                for b in range(200):
                    s.write_batch("UNWIND $rows AS row CREATE (:Blob {i: row.i, text: row.t})",
                                  [{"i": b * 50 + k, "t": blob} for k in range(50)])  # fmt: skip
        message = str(e.value)
        assert "No space left on device" in message and "server.log" in message, message
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.arcadedb
def test_a_server_started_without_the_read_only_user_is_given_it(tmp_path: Path) -> None:
    """A server started by an older graphrec (no read-only user) reloads the user graphrec adds, and
    then refuses that user's writes like a fresh one."""
    import time

    import neo4j
    from neo4j.exceptions import ClientError

    from graphrec.home import arcadedb_dir
    from graphrec.store.arcade import EmbeddedArcadeDB
    from graphrec.store.arcade_users import READER_GROUP, READER_USER

    cfg = StoreConfig(home=tmp_path / "home")
    server = EmbeddedArcadeDB(arcadedb_dir(cfg.home))
    info, _ = server.ensure_running(detached=True)
    try:
        users = server.root / "config" / "server-users.jsonl"
        users.write_text("".join(ln + "\n" for ln in users.read_text().splitlines() if READER_USER not in ln))
        groups_path = server.root / "config" / "server-groups.json"
        groups = json.loads(groups_path.read_text())
        del groups["databases"]["*"]["groups"][READER_GROUP]
        groups_path.write_text(json.dumps(groups))
        time.sleep(6)  # the server reloads its security files every 5 s
        code, out, err = run(cfg, "query", "RETURN 1 AS one", "--format", "json")
        assert code == 0 and json.loads(out) == [{"one": 1}], err
        with neo4j.GraphDatabase.driver(info.uri, auth=(READER_USER, server.reader_password())) as driver:
            with pytest.raises(ClientError) as e, driver.session(database=info.database) as session:
                session.run("CREATE (:X)").consume()
            assert e.value.code.endswith("Security.Forbidden")
    finally:
        server.stop()
