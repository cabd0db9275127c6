"""Every label, relationship type and property the Cypher of :mod:`graphrec.store.cypher` names is declared
in :mod:`graphrec.schema` (the single source of truth): no literal name that the schema does not know."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from graphrec import schema
from graphrec.schema import CONSTRAINTS, INDEXES, VECTOR_INDEXES, Label, Prop, Rel
from graphrec.store import cypher

#: Variables whose ``x.key`` is no graph property: ``row`` is a parameter row of ``UNWIND $rows AS row``,
#: ``options`` a column of ``SHOW INDEXES``.
_NOT_ENTITIES = {"row", "options"}
_QUOTED = re.compile(r"'[^']*'|`[^`]*`")
_PROCEDURE = re.compile(r"\bCALL\s+[\w.]+")
_PROPERTY = re.compile(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)")
_PATTERN_MAP = re.compile(r"[(\[][^()\[\]{}]*\{([^{}]*)\}")
_MAP_KEY = re.compile(r"(\w+)\s*:")
_NODE_LABEL = re.compile(r"\(\w*:(\w+)")
_REL_TYPE = re.compile(r"\[\w*:(\w+)")


def _declared(cls: type) -> set[str]:
    return {v for k, v in vars(cls).items() if k.isupper() and isinstance(v, str)}


def _texts() -> Iterator[tuple[str, str]]:
    """``(name, cypher)`` of every query text of the package, builders applied to the schema's objects."""
    for name in cypher.__all__:
        value = getattr(cypher, name)
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, tuple):
            yield from ((f"{name}[{k}]", v) for k, v in enumerate(value))
    for c in CONSTRAINTS:
        yield f"duplicate_keys({c.name})", cypher.duplicate_keys(c)
    for ix in VECTOR_INDEXES:
        yield f"create_vector_index({ix.name})", cypher.create_vector_index(ix)
    for ix in INDEXES:
        yield f"create_index({ix.name})", cypher.create_index(ix)


def undeclared_names(text: str) -> set[str]:
    """The properties, labels and relationship types ``text`` names that :mod:`graphrec.schema` lacks."""
    text = _PROCEDURE.sub(" ", _QUOTED.sub("''", text))
    props = {p for var, p in _PROPERTY.findall(text) if var not in _NOT_ENTITIES}
    for body in _PATTERN_MAP.findall(text):
        props |= set(_MAP_KEY.findall(body))
    missing = {f"property {p}" for p in props - _declared(Prop)}
    missing |= {f"label {x}" for x in set(_NODE_LABEL.findall(text)) - _declared(Label)}
    missing |= {f"relationship type {x}" for x in set(_REL_TYPE.findall(text)) - _declared(Rel)}
    return missing


def test_the_checker_finds_a_literal_name() -> None:
    assert undeclared_names("MATCH (n:User {id: $id})-[r:LIKES]->(m:Thing) SET n.mood = row.mood") == {
        "property mood",
        "label Thing",
        "relationship type LIKES",
    }
    assert undeclared_names("MATCH (t:Topic {source: 'a.b'}) RETURN options.x, t.label") == set()


def test_every_name_in_the_cypher_module_is_declared_in_the_schema() -> None:
    offenders = {name: sorted(found) for name, text in _texts() if (found := undeclared_names(text))}
    assert offenders == {}, f"declare these in {schema.__name__} and build the Cypher from the constants"


def _literal_names(text: str) -> set[str]:
    """Properties, labels and relationship types written out in ``text`` (a literal part of the source)."""
    text = _PROCEDURE.sub(" ", _QUOTED.sub("''", text))
    found = {f"property {p}" for var, p in _PROPERTY.findall(text) if var not in _NOT_ENTITIES}
    for body in _PATTERN_MAP.findall(text):
        found |= {f"property {k}" for k in _MAP_KEY.findall(body)}
    found |= {f"label {x}" for x in _NODE_LABEL.findall(text)}
    return found | {f"relationship type {x}" for x in _REL_TYPE.findall(text)}


def test_the_cypher_source_spells_no_name_out() -> None:
    """Names come from the schema's constants (``n.{Prop.ID}``), never as literals (``n.id``) in the source."""
    offenders = []
    for path in sorted(Path(cypher.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
        }  # fmt: skip
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                offenders += [f"{path.name}:{node.lineno} {n}" for n in sorted(_literal_names(node.value))]
    assert offenders == []


def test_every_cypher_text_is_checked() -> None:
    names = {name for name, _ in _texts()}
    assert {"MERGE_TOPICS", "QUICKSTART_BRIDGING", "QUICKSTART_LEARNED_TOPICS", "SET_TOPIC_STATS"} <= names
    assert len(names) > 50
