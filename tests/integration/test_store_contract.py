"""One contract suite, run against a real ArcadeDB and a real Neo4j over Bolt."""

from __future__ import annotations

import pytest

from graphrec.errors import CapabilityError, QueryRefusedError, StoreError
from graphrec.schema import CONSTRAINTS, Label
from graphrec.store import cypher
from graphrec.store.bolt import GraphStore
from graphrec.store.connect import StoreConfig


def _users(store: GraphStore) -> int:
    return int(store.read(f"MATCH (u:{Label.USER}) RETURN count(u) AS n")[0]["n"])


def test_capabilities_identify_backend(store: GraphStore, backend: str) -> None:
    assert store.capabilities.backend == backend
    if backend == "neo4j":
        assert store.capabilities.vector_index
        store.capabilities.require_vector_index()
    else:
        assert not store.capabilities.vector_index
        with pytest.raises(CapabilityError, match="vector"):
            store.capabilities.require_vector_index()


def test_schema_is_idempotent_and_lists_constraints(store: GraphStore) -> None:
    store.ensure_schema()
    store.ensure_schema()
    rows = store.read("SHOW CONSTRAINTS YIELD name RETURN name")
    names = {r["name"] for r in rows}
    assert {c.name for c in CONSTRAINTS} <= names


def test_uniqueness_constraint_is_enforced(store: GraphStore) -> None:
    store.execute_write("CREATE (:User {id: $id})", {"id": "dup"})
    with pytest.raises(StoreError):
        store.execute_write("CREATE (:User {id: $id})", {"id": "dup"})
    assert _users(store) == 1


def test_batched_merge_is_idempotent(store: GraphStore) -> None:
    rows = [{"id": f"u{k}"} for k in range(2_345)]
    first = store.write_batches(cypher.MERGE_USERS, rows, batch_size=1_000)
    assert first.batches == 3 and first.rows == 2_345
    assert first.nodes_created == 2_345
    again = store.write_batches(cypher.MERGE_USERS, rows, batch_size=1_000)
    assert again.nodes_created == 0
    assert _users(store) == 2_345


def test_items_are_unique_per_scenario_and_keep_metadata(store: GraphStore) -> None:
    store.write_batches(cypher.MERGE_SCENARIOS, [{"name": "a"}, {"name": "b"}])
    rows = [
        {"scenario": "a", "id": "1", "title": "Dune", "text": "desert"},
        {"scenario": "b", "id": "1", "title": "Dune (novel)", "text": None},
    ]
    store.write_batches(cypher.MERGE_ITEMS, rows)
    # a later write without metadata keeps the earlier title/text (coalesce)
    store.write_batches(cypher.MERGE_ITEMS, [{"scenario": "a", "id": "1", "title": None, "text": None}])
    got = store.read("MATCH (i:Item) RETURN i.scenario AS s, i.id AS id, i.title AS t, i.text AS x ORDER BY s")
    assert got == [
        {"s": "a", "id": "1", "t": "Dune", "x": "desert"},
        {"s": "b", "id": "1", "t": "Dune (novel)", "x": None},
    ]


def test_interactions_merge_once_per_user_and_item(store: GraphStore) -> None:
    store.write_batches(cypher.MERGE_SCENARIOS, [{"name": "m"}])
    store.write_batches(cypher.MERGE_USERS, [{"id": "u1"}, {"id": "u2"}])
    store.write_batches(
        cypher.MERGE_ITEMS, [{"scenario": "m", "id": str(k), "title": None, "text": None} for k in range(3)]
    )
    rows = [
        {"user": "u1", "scenario": "m", "item": "0", "rating": 4.0, "ts": 100},
        {"user": "u1", "scenario": "m", "item": "1", "rating": None, "ts": None},
        {"user": "u2", "scenario": "m", "item": "0", "rating": 2.5, "ts": 7},
    ]
    stats = store.write_batches(cypher.MERGE_INTERACTIONS, rows, batch_size=2)
    assert stats.relationships_created == 3
    rows[0] = {**rows[0], "rating": 5.0}
    again = store.write_batches(cypher.MERGE_INTERACTIONS, rows)
    assert again.relationships_created == 0
    got = store.read(
        "MATCH (u:User)-[r:INTERACTED]->(i:Item) RETURN u.id AS u, i.id AS i, r.scenario AS s, r.rating AS rating, "
        "r.ts AS ts ORDER BY u, i"
    )
    assert got == [
        {"u": "u1", "i": "0", "s": "m", "rating": 5.0, "ts": 100},
        {"u": "u1", "i": "1", "s": "m", "rating": None, "ts": None},
        {"u": "u2", "i": "0", "s": "m", "rating": 2.5, "ts": 7},
    ]


def test_stream_reads_lazily_in_order(store: GraphStore) -> None:
    store.write_batches(cypher.MERGE_USERS, [{"id": f"u{k:05d}"} for k in range(25_000)])
    it = store.stream("MATCH (u:User) RETURN u.id AS id ORDER BY id", fetch_size=1_000)
    first = next(it)
    assert first == {"id": "u00000"}
    assert sum(1 for _ in it) == 24_999


def test_stream_chunks_reads_value_tuples_in_chunks(store: GraphStore) -> None:
    store.write_batches(cypher.MERGE_USERS, [{"id": f"u{k:05d}"} for k in range(2_500)])
    query = "MATCH (u:User) RETURN u.id AS id, size(u.id) AS n ORDER BY id"
    chunks = list(store.stream_chunks(query, fetch_size=1_000))
    assert [len(c) for c in chunks] == [1_000, 1_000, 500]
    assert tuple(chunks[0][0]) == ("u00000", 6) and tuple(chunks[-1][-1]) == ("u02499", 6)
    assert list(store.stream_chunks("MATCH (u:User) WHERE u.id = $id RETURN u.id", {"id": "nobody"})) == []


def test_run_query_is_read_only_by_default(store: GraphStore) -> None:
    with pytest.raises(QueryRefusedError, match="--write"):
        store.run_query("CREATE (n:User {id: $id}) RETURN n.id AS id", {"id": "x"})
    assert _users(store) == 0
    result = store.run_query("CREATE (n:User {id: $id}) RETURN n.id AS id", {"id": "x"}, write=True)
    assert result.rows == [{"id": "x"}] and result.counters["nodes_created"] == 1
    read = store.run_query("MATCH (n:User) WHERE n.id = $id RETURN n.id AS id, 1 + 1 AS two", {"id": "x"})
    assert read.keys == ["id", "two"] and read.rows == [{"id": "x", "two": 2}]


def test_parameters_are_never_interpolated(store: GraphStore) -> None:
    hostile = "x'}) DETACH DELETE n //"
    store.write_batches(cypher.MERGE_USERS, [{"id": hostile}, {"id": "other"}])
    assert store.read("MATCH (u:User {id: $id}) RETURN u.id AS id", {"id": hostile}) == [{"id": hostile}]
    assert _users(store) == 2


def test_syntax_error_is_a_store_error(store: GraphStore) -> None:
    with pytest.raises(StoreError, match="query failed"):
        store.run_query("MATCH (n RETURN n")


@pytest.mark.parametrize("write", [False, True], ids=["read-only", "write"])
def test_a_failed_query_names_the_servers_reason(
    store: GraphStore, backend: str, store_config: StoreConfig, write: bool
) -> None:
    """ArcadeDB in production mode tells the client only "check the server log": the error quotes the
    reason from that log and names the log; Neo4j tells the client its reason."""
    with pytest.raises(StoreError) as e:
        store.run_query("MATCH (t:Topic) RETURN t.label AS label ORDER BY label LIMT 5", write=write)
    message = str(e.value)
    assert message.startswith("query failed on ") and "Check the server log" not in message, message
    assert "LIMT" in message, message  # the parser's reason names the offending token on both stores
    if backend == "arcadedb":
        assert "line 1, column 55" in message and str(store_config.home / "arcadedb" / "server.log") in message


def test_clear_removes_everything(store: GraphStore) -> None:
    store.write_batches(cypher.MERGE_USERS, [{"id": str(k)} for k in range(1_500)])
    assert store.clear(batch_size=500) == 1_500
    assert _users(store) == 0


def _interactions(store: GraphStore) -> list[tuple[str, str, dict[str, object]]]:
    rows = store.read(
        "MATCH (u:User)-[r:INTERACTED]->(i:Item) RETURN u.id AS user, i.id AS item, properties(r) AS props"
    )
    return sorted(((r["user"], r["item"], r["props"]) for r in rows), key=repr)


def test_interaction_writes_are_the_same_on_both_query_shapes(store: GraphStore, backend: str) -> None:
    """MERGE_INTERACTIONS and UPSERT_INTERACTIONS (ArcadeDB's ingest shape) make the same relationships with the
    same properties and return the same ``matched`` over a first load, a rerun with changed and removed values, a
    row whose user is missing, and a pair that holds two relationships; the ingest picks the store's shape."""
    from ingest.pipeline import interactions_write

    expected = cypher.MERGE_INTERACTIONS if backend == "neo4j" else cypher.UPSERT_INTERACTIONS
    assert interactions_write(store) == expected
    assert store.capabilities.fast_relationship_merge == (backend == "neo4j")
    store.write_batches(cypher.MERGE_SCENARIOS, [{"name": "m"}])
    store.write_batches(cypher.MERGE_USERS, [{"id": f"u{k}"} for k in range(3)])
    store.write_batches(cypher.MERGE_ITEMS, [{"scenario": "m", "id": f"i{k}"} for k in range(4)])

    def row(user: str, item: str, rating: float | None, ts: int | None) -> dict[str, object]:
        return {"user": user, "scenario": "m", "item": item, "rating": rating, "ts": ts}

    first = [
        row("u0", "i0", 4.0, 10),
        row("u0", "i1", None, 11),
        row("u1", "i1", 2.5, None),
        row("u2", "i3", None, None),
    ]
    rerun = [
        row("u0", "i0", 5.0, 10),
        row("u0", "i1", 3.0, None),
        row("u1", "i2", 1.0, 12),
        row("nobody", "i0", 1.0, 1),
    ]
    outcomes = []
    for query in (cypher.MERGE_INTERACTIONS, cypher.UPSERT_INTERACTIONS):
        store.delete_interactions()
        steps = [store.write_returning(query, {"rows": first})[0]["matched"], _interactions(store)]
        steps += [store.write_returning(query, {"rows": rerun})[0]["matched"], _interactions(store)]
        store.execute_write(  # a second relationship for one pair: both are matched (and updated)
            "MATCH (u:User {id: 'u2'}), (i:Item {id: 'i3'}) CREATE (u)-[:INTERACTED {scenario: 'm'}]->(i)", {}
        )
        steps += [store.write_returning(query, {"rows": [row("u2", "i3", 1.5, 7)]})[0]["matched"], _interactions(store)]
        outcomes.append(steps)
    merged, upserted = outcomes
    assert upserted == merged
    assert merged[0] == 4 and merged[2] == 3 and merged[4] == 2
    assert merged[3] == [
        ("u0", "i0", {"scenario": "m", "rating": 5.0, "ts": 10}),
        ("u0", "i1", {"scenario": "m", "rating": 3.0}),
        ("u1", "i1", {"scenario": "m", "rating": 2.5}),
        ("u1", "i2", {"scenario": "m", "rating": 1.0, "ts": 12}),
        ("u2", "i3", {"scenario": "m"}),
    ]
