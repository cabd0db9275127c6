"""Cypher of the service's page: the figures its topic map needs from the graph."""

from __future__ import annotations

from graphrec.schema import Label, Prop, Rel

#: Per topic of ``$ids`` (a run's topic ids) and scenario: its label and how many member items
#: (``HAS_TOPIC``) it has there. Rows ``{topic, label, scenario, items}``; a topic without members has
#: one row with ``scenario`` null and ``items`` 0; a topic id no longer in the graph has no row.
TOPIC_SCENARIO_ITEMS = f"""
UNWIND $ids AS id
MATCH (t:{Label.TOPIC} {{{Prop.ID}: id}})
OPTIONAL MATCH (i:{Label.ITEM})-[:{Rel.HAS_TOPIC}]->(t)
RETURN t.{Prop.ID} AS topic, t.{Prop.LABEL} AS label, i.{Prop.SCENARIO} AS scenario, count(i) AS items
ORDER BY topic, scenario
"""
