"""The up-front read-only check (graphrec.store.readonly): refuses writes, schema, IN TRANSACTIONS and
LOAD CSV wherever they hide, and accepts reads that only mention those words in strings, comments,
names and parameters."""

from __future__ import annotations

import pytest

from graphrec.errors import QueryRefusedError
from graphrec.store.readonly import check_read_only, find_violation, tokenize

REFUSED = [
    # (query, kind, construct)
    ("CREATE (:X {a: 1})", "write", "CREATE"),
    ("MATCH (n) SET n.x = 1", "write", "SET"),
    ("merge (u:User {id: 'x'})", "write", "MERGE"),
    ("MATCH (n) REMOVE n.x", "write", "REMOVE"),
    ("MATCH (n) DELETE n", "write", "DELETE"),
    ("MATCH (n)\n  detach\n  delete n", "write", "DETACH DELETE"),
    ("MATCH (n) WITH collect(n) AS ns FOREACH (x IN ns | SET x.y = 1)", "write", "FOREACH"),
    ("MATCH (n) RETURN n.id AS id UNION MATCH (m) SET m.x = 1 RETURN m.id AS id", "write", "SET"),
    (
        "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10 ROWS",
        "in_transactions",
        "CALL { ... } IN TRANSACTIONS",
    ),
    (
        "MATCH (n) CALL { WITH n RETURN n.id AS i } in transactions RETURN i",
        "in_transactions",
        "CALL { ... } IN TRANSACTIONS",
    ),
    (
        "UNWIND [1] AS i CALL { WITH i RETURN i AS j }\n/* c */ IN\n 3 CONCURRENT TRANSACTIONS RETURN j",
        "in_transactions",
        "CALL { ... } IN TRANSACTIONS",
    ),
    ("USING PERIODIC COMMIT LOAD CSV FROM 'x' AS l RETURN l", "in_transactions", "USING PERIODIC COMMIT"),
    ("DROP CONSTRAINT graphrec_user_id IF EXISTS", "schema", "DROP CONSTRAINT"),
    ("drop index graphrec_item_scenario", "schema", "DROP INDEX"),
    ("CREATE INDEX foo IF NOT EXISTS FOR (n:Foo) ON (n.x)", "schema", "CREATE INDEX"),
    ("CREATE RANGE INDEX foo FOR (n:Foo) ON (n.x)", "schema", "CREATE INDEX"),
    ("CREATE TEXT INDEX foo FOR (n:Foo) ON (n.x)", "schema", "CREATE INDEX"),
    ("CREATE VECTOR INDEX v FOR (n:Foo) ON (n.e)", "schema", "CREATE INDEX"),
    ("CREATE FULLTEXT INDEX f FOR (n:Foo) ON EACH [n.x]", "schema", "CREATE INDEX"),
    ("CREATE OR REPLACE DATABASE foo", "schema", "CREATE DATABASE"),
    ("create constraint c for (n:Foo) require n.x is unique", "schema", "CREATE CONSTRAINT"),
    ("EXPLAIN DROP INDEX foo", "schema", "DROP INDEX"),
    ("CYPHER runtime=slotted DROP INDEX foo", "schema", "DROP INDEX"),
    ("// comment\nDROP /* inline */ INDEX foo", "schema", "DROP INDEX"),
    ("CREATE USER bob SET PASSWORD 'x'", "schema", "CREATE USER"),
    ("ALTER DATABASE neo4j SET ACCESS READ WRITE", "schema", "ALTER DATABASE"),
    ("GRANT ROLE admin TO bob", "schema", "GRANT"),
    ("STOP DATABASE neo4j", "schema", "STOP DATABASE"),
    ("LOAD CSV FROM 'file:///etc/passwd' AS l RETURN l LIMIT 3", "load_csv", "LOAD CSV"),
    ("load  csv with headers from 'http://127.0.0.1:1/x' AS l RETURN l", "load_csv", "LOAD CSV"),
    ("MATCH (n) RETURN n LIMIT 1 UNION ALL LOAD CSV FROM $url AS n RETURN n", "load_csv", "LOAD CSV"),
    ("MATCH (n) RETURN 1 AS x; CREATE (m)", "write", "CREATE"),
    ("MATCH (n) WITH * CREATE (m)", "write", "CREATE"),
    ("MATCH (n) WITH n LIMIT 1 SET n.x = 1", "write", "SET"),
    ("MATCH (n) WHERE n.x IN [1] DELETE n", "write", "DELETE"),
    ("UNWIND [1] AS x CALL { CREATE (:X) }", "write", "CREATE"),
    ("MERGE (n:X {id: 1}) ON CREATE SET n.a = 1 ON MATCH SET n.b = 2", "write", "MERGE"),
]


@pytest.mark.parametrize(("query", "kind", "construct"), REFUSED)
def test_refused_constructs_are_named(query: str, kind: str, construct: str) -> None:
    v = find_violation(query)
    assert v is not None and (v.kind, v.construct) == (kind, construct)
    with pytest.raises(QueryRefusedError) as e:
        check_read_only(query)
    assert construct in str(e.value) and f"line {v.line}, column {v.column}" in str(e.value)
    hint = "--allow-load-csv" if kind == "load_csv" else "--write"
    assert hint in str(e.value)


def test_position_is_reported() -> None:
    v = find_violation("MATCH (n)\nWITH n\n  SET n.x = 1")
    assert v is not None and (v.line, v.column) == (3, 3)


def test_schema_and_in_transactions_take_precedence_over_plain_writes() -> None:
    v = find_violation("MATCH (n) CALL { WITH n SET n.x = 1 } IN TRANSACTIONS")
    assert v is not None and v.kind == "in_transactions"


def test_load_csv_allowed_when_asked() -> None:
    assert find_violation("LOAD CSV FROM 'file:///x.csv' AS l RETURN l", allow_load_csv=True) is None
    # still a write
    v = find_violation("LOAD CSV FROM 'file:///x.csv' AS l CREATE (:X {v: l[0]})", allow_load_csv=True)
    assert v is not None and v.kind == "write"


ACCEPTED = [
    "MATCH (n) RETURN count(n) AS c",
    "RETURN 'CREATE (:X)' AS s, \"DROP INDEX foo\" AS t, 'LOAD CSV FROM x' AS u",
    "RETURN 'it\\'s CREATE' AS s",
    "RETURN 'CALL { } IN TRANSACTIONS' AS s // DELETE everything\n",
    "/* SET n.x = 1; DROP CONSTRAINT c */ MATCH (n) RETURN n LIMIT 1",
    "MATCH (n:`CREATE`) RETURN n.`delete` AS `set`",
    "MATCH (n) WHERE n.set = 1 OR n.delete = 2 OR n.merge = 3 RETURN n.create AS x",
    "MATCH (n:Create)-[:DELETE]->(m:Set) RETURN n, m",
    "RETURN {create: 1, delete: 2, set: 3, load: 4, drop: 5} AS m",
    "MATCH (n) WHERE n.id = $create OR n.id = $set RETURN n",
    "MATCH (n) RETURN n.id AS create, n.x AS remove",
    "WITH [1, 2] AS transactions UNWIND transactions AS t RETURN t IN transactions AS b",
    "MATCH (n) CALL { WITH n RETURN n.id AS i } RETURN i",
    "SHOW INDEXES YIELD name RETURN name",
    "SHOW CONSTRAINTS",
    "MATCH (drop) RETURN drop",
    "MATCH (n) WITH n.x AS merge, n.y AS set RETURN merge, set ORDER BY merge, set",
    "MATCH (n) WHERE n.a = 1 AND create > 2 OR NOT delete RETURN [x IN remove WHERE x > set] AS l",
    "MATCH (n) RETURN CASE WHEN merge THEN create ELSE foreach END AS v",
    "CALL db.labels() YIELD label RETURN label",
    "MATCH (u:User {id: 'x'}) OPTIONAL MATCH (u)-[r]->(i) RETURN u, collect(r) AS rs",
    'RETURN "unterminated \' inside" AS s',
]


@pytest.mark.parametrize("query", ACCEPTED)
def test_legitimate_reads_pass(query: str) -> None:
    assert find_violation(query) is None
    check_read_only(query)


def test_tokenizer_skips_comments_and_keeps_strings_whole() -> None:
    toks = tokenize("MATCH /* x */ (n) // y\nRETURN 'a // b' AS `c``d`")
    assert [t.text for t in toks] == ["MATCH", "(", "n", ")", "RETURN", "'a // b'", "AS", "`c``d`"]
    assert toks[4].line == 2 and toks[4].column == 1


def test_unterminated_comment_or_string_swallows_the_rest() -> None:
    assert find_violation("MATCH (n) RETURN n /* CREATE (x)") is None
    assert find_violation("RETURN 'x CREATE (y)") is None
