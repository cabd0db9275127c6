"""Cypher over the whole graph: statistics, and the batched deletes that clear it."""

from __future__ import annotations

from graphrec.schema import Label, Prop, Rel


def delete_relationships_batch(pattern: str, where: str = "") -> str:
    """A batched delete of the relationships ``r`` matched by ``pattern`` (schema constants only):
    ``$limit`` per transaction, returning ``deleted`` (see :meth:`GraphStore.delete_in_batches`)."""
    return f"MATCH {pattern}\n{where}\nWITH r LIMIT $limit\nDELETE r\nRETURN count(*) AS deleted\n"


COUNT_NODES_BY_LABEL = """
MATCH (n)
UNWIND labels(n) AS label
RETURN label, count(*) AS count
ORDER BY label
"""

COUNT_RELS_BY_TYPE = """
MATCH ()-[r]->()
RETURN type(r) AS type, count(*) AS count
ORDER BY type
"""

SCENARIO_NAMES = f"MATCH (s:{Label.SCENARIO}) RETURN s.{Prop.NAME} AS name ORDER BY name"

SCENARIO_STATS = f"""
MATCH (s:{Label.SCENARIO})
OPTIONAL MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: s.{Prop.NAME}}})
WITH s, count(i) AS items
OPTIONAL MATCH (u:{Label.USER})-[r:{Rel.INTERACTED}]->(j:{Label.ITEM} {{{Prop.SCENARIO}: s.{Prop.NAME}}})
RETURN s.{Prop.NAME} AS scenario, items,
       count(DISTINCT j) AS items_with_interactions,
       count(DISTINCT u) AS users, count(r) AS interactions
ORDER BY scenario
"""

DELETE_INTERACTIONS_BATCH = delete_relationships_batch(f"()-[r:{Rel.INTERACTED}]->()")

DELETE_ALL_BATCH = """
MATCH (n)
WITH n LIMIT $limit
DETACH DELETE n
RETURN count(*) AS deleted
"""
