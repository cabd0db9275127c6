"""Cypher of graphrec's schema: constraint and index DDL, and the inspection and repair queries
(:mod:`graphrec.store.repair`)."""

from __future__ import annotations

from graphrec.schema import CONSTRAINTS, INDEXES, PropertyIndex, UniqueConstraint


def create_constraint(c: UniqueConstraint) -> str:
    """DDL for a uniqueness constraint, idempotent (``IF NOT EXISTS``)."""
    props = ", ".join(f"n.{p}" for p in c.properties)
    target = props if len(c.properties) == 1 else f"({props})"
    return f"CREATE CONSTRAINT {c.name} IF NOT EXISTS FOR (n:{c.label}) REQUIRE {target} IS UNIQUE"


def create_index(ix: PropertyIndex) -> str:
    """DDL for a range index, idempotent (``IF NOT EXISTS``)."""
    props = ", ".join(f"n.{p}" for p in ix.properties)
    return f"CREATE INDEX {ix.name} IF NOT EXISTS FOR (n:{ix.label}) ON ({props})"


SCHEMA_DDL: tuple[str, ...] = tuple(create_constraint(c) for c in CONSTRAINTS) + tuple(
    create_index(ix) for ix in INDEXES
)

# --- inspection and repair (graphrec.store.repair) ---------------------------------------------

#: Constraints as both stores list them (no volatile columns), by name.
SHOW_CONSTRAINTS = """
SHOW CONSTRAINTS YIELD name, type, entityType, labelsOrTypes, properties
RETURN name, type, entityType, labelsOrTypes, properties ORDER BY name
"""

#: Indexes as both stores list them (no usage counters), by name.
SHOW_INDEXES = """
SHOW INDEXES YIELD name, type, entityType, labelsOrTypes, properties, owningConstraint
RETURN name, type, entityType, labelsOrTypes, properties, owningConstraint ORDER BY name
"""


def quote_name(name: str) -> str:
    """A schema object's name as a backtick-quoted Cypher identifier (names read from the database
    may hold any character, e.g. ArcadeDB's ``User[id]``)."""
    return "`" + name.replace("`", "``") + "`"


def drop_index(name: str) -> str:
    """DDL to drop an index by name (quoted: the name may come from the database)."""
    return f"DROP INDEX {quote_name(name)} IF EXISTS"


def drop_constraint(name: str) -> str:
    """DDL to drop a constraint by name (quoted: the name may come from the database)."""
    return f"DROP CONSTRAINT {quote_name(name)} IF EXISTS"


def duplicate_keys(c: UniqueConstraint) -> str:
    """Up to ``$limit`` key values that more than one node holds, which block constraint ``c``."""
    keys = ", ".join(f"n.{p} AS {p}" for p in c.properties)
    present = " AND ".join(f"n.{p} IS NOT NULL" for p in c.properties)
    return (
        f"MATCH (n:{c.label}) WHERE {present} WITH {keys}, count(*) AS copies WHERE copies > 1 "
        f"RETURN {', '.join(c.properties)}, copies ORDER BY copies DESC LIMIT $limit"
    )
