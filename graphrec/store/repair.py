"""Read a store's constraints and indexes, and restore graphrec's schema (``graphrec repair``).

graphrec's schema is :data:`graphrec.schema.CONSTRAINTS` and :data:`graphrec.schema.INDEXES`, created
by :data:`graphrec.store.cypher.SCHEMA_DDL`. A damaged schema (a constraint dropped or redefined, an
index under another name on the same properties, ArcadeDB's leftover property-type constraint after
a dropped unique constraint) is repaired by dropping what conflicts and creating what is missing, on
both stores and idempotently. Duplicate keys, which make a unique constraint impossible, are
reported with examples; graphrec never deletes data to repair a schema.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphrec.errors import StoreError
from graphrec.schema import CONSTRAINTS, INDEXES, VECTOR_INDEXES
from graphrec.store import cypher

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.store.bolt import GraphStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchemaObject:
    """A constraint or index as the store lists it.

    Attributes:
        kind: ``"constraint"`` or ``"index"``.
        name: Its name.
        type: ``UNIQUENESS``, ``NODE_PROPERTY_TYPE``, ``RANGE``, ``LOOKUP``, ``VECTOR``, ...
        labels: Labels or relationship types it applies to.
        properties: Its properties, in order.
        owner: For an index, the constraint that owns it.
    """

    kind: str
    name: str
    type: str
    labels: tuple[str, ...]
    properties: tuple[str, ...]
    owner: str | None = None

    @property
    def target(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``(labels, properties)``: what it constrains or indexes."""
        return self.labels, self.properties


def read_schema(store: GraphStore) -> list[SchemaObject]:
    """Every constraint and index of the store, constraints first, each sorted by name."""

    def as_tuple(value: Any) -> tuple[str, ...]:
        return tuple(str(v) for v in value or ())

    constraints = [
        SchemaObject("constraint", r["name"], str(r["type"]), as_tuple(r["labelsOrTypes"]), as_tuple(r["properties"]))
        for r in store.read(cypher.SHOW_CONSTRAINTS)
    ]
    indexes = [
        SchemaObject(
            "index",
            r["name"],
            str(r["type"]),
            as_tuple(r["labelsOrTypes"]),
            as_tuple(r["properties"]),
            r["owningConstraint"],
        )
        for r in store.read(cypher.SHOW_INDEXES)
    ]
    return constraints + indexes


@dataclass
class RepairReport:
    """What :func:`repair_schema` did.

    Attributes:
        dropped: Objects dropped (conflicting, mis-defined, or extra with ``drop_extra``).
        created: graphrec's constraints and indexes that were missing and were created.
        extra: Objects that are not graphrec's and were left in place.
    """

    dropped: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


def _wanted() -> dict[str, SchemaObject]:
    objs = [SchemaObject("constraint", c.name, "UNIQUENESS", (c.label,), c.properties) for c in CONSTRAINTS]
    objs += [SchemaObject("index", ix.name, "RANGE", (ix.label,), ix.properties) for ix in INDEXES]
    return {o.name: o for o in objs}


def _matches(have: SchemaObject, want: SchemaObject) -> bool:
    return (have.kind, have.type, have.target) == (want.kind, want.type, want.target) and (
        have.kind == "constraint" or have.owner is None
    )


def _intact(current: list[SchemaObject]) -> set[str]:
    """Names of graphrec's constraints and indexes that ``current`` holds as graphrec defines them."""
    wanted = _wanted()
    return {o.name for o in current if o.name in wanted and _matches(o, wanted[o.name])}


def _describe(o: SchemaObject) -> str:
    return f"{o.kind} {o.name} ({o.type} on {':'.join(o.labels)}({', '.join(o.properties)}))"


def _plan(current: list[SchemaObject], *, drop_extra: bool) -> tuple[list[SchemaObject], list[SchemaObject]]:
    """``(to_drop, extra_kept)`` for the current schema."""
    wanted = _wanted()
    targets = {w.target for w in wanted.values()}
    ok = _intact(current)
    keep_always = {v.name for v in VECTOR_INDEXES}
    to_drop: list[SchemaObject] = []
    extra: list[SchemaObject] = []
    for o in current:
        if o.name in ok or (o.kind == "index" and o.owner is not None and o.owner in ok):
            continue  # graphrec's own, or the index behind one of its constraints
        if o.kind == "index" and o.owner is not None:
            continue  # dropped with its constraint
        if o.name in wanted or o.target in targets:
            to_drop.append(o)  # mis-defined, or in the way of graphrec's (e.g. a leftover property type)
        elif o.type == "LOOKUP" or o.name in keep_always:
            continue  # the store's own token indexes; graphrec's vector indexes
        elif drop_extra:
            to_drop.append(o)
        else:
            extra.append(o)
    # indexes first, property-type constraints last: ArcadeDB refuses to drop a property's type while an index uses it
    to_drop.sort(key=lambda o: 0 if o.kind == "index" else 2 if o.type == "NODE_PROPERTY_TYPE" else 1)
    return to_drop, extra


def _check_duplicates(store: GraphStore, current: list[SchemaObject]) -> None:
    intact = _intact(current)
    for c in CONSTRAINTS:
        if c.name in intact:
            continue
        rows = store.read(cypher.duplicate_keys(c), {"limit": 5})
        if rows:
            examples = "; ".join(
                ", ".join(f"{p}={r[p]!r}" for p in c.properties) + f" ({r['copies']} nodes)" for r in rows
            )
            raise StoreError(
                f"cannot restore constraint {c.name}: several :{c.label} nodes share the key "
                f"({', '.join(c.properties)}), e.g. {examples}. They were written while the constraint was missing; "
                f'remove or merge the extra copies (inspect them with `graphrec query "MATCH (n:{c.label}) WHERE '
                f'n.{c.properties[0]} = $v RETURN n" --param v=...`, delete with --write), then rerun `graphrec repair`'
            )


def repair_schema(store: GraphStore, *, drop_extra: bool = False) -> RepairReport:
    """Restore exactly the constraints and indexes of :data:`graphrec.store.cypher.SCHEMA_DDL` (idempotent).

    Args:
        store: An open store (connected with write access).
        drop_extra: Also drop constraints and indexes that are not graphrec's (the store's own
            lookup indexes and graphrec's vector indexes are always kept).

    Returns:
        What was dropped, created, and left in place.

    Raises:
        StoreError: Duplicate keys block a unique constraint (the message gives examples and the
            fix), or the schema still differs after the repair.
    """
    report = RepairReport()
    before = read_schema(store)
    _check_duplicates(store, before)  # before any change: a repair that cannot finish changes nothing
    to_drop, extra = _plan(before, drop_extra=drop_extra)
    report.extra = [_describe(o) for o in extra]
    for o in to_drop:
        ddl = cypher.drop_constraint(o.name) if o.kind == "constraint" else cypher.drop_index(o.name)
        logger.info("dropping %s", _describe(o))
        store.run_query(ddl, write=True)
        report.dropped.append(_describe(o))
    present = {o.name for o in read_schema(store)}
    store.ensure_schema()
    after = read_schema(store)
    report.created = [name for name in _wanted() if name not in present and any(o.name == name for o in after)]
    remaining, _ = _plan(after, drop_extra=drop_extra)
    intact = _intact(after)
    missing = [n for n in _wanted() if n not in intact]
    if remaining or missing:
        raise StoreError(
            "the schema still differs from graphrec's after the repair: "
            f"missing {missing or 'nothing'}, conflicting {[_describe(o) for o in remaining] or 'nothing'}; "
            "see the server log, fix it with `graphrec query --write`, and rerun `graphrec repair`"
        )
    return report
