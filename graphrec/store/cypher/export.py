"""Cypher of the export stage: the graph read into PyG (users, items, topics and their edges)."""

from __future__ import annotations

from graphrec.schema import Label, Prop, Rel

EXPORT_USERS = f"MATCH (u:{Label.USER}) RETURN u.{Prop.ID} AS id ORDER BY id"
EXPORT_ITEMS = f"MATCH (i:{Label.ITEM}) RETURN i.{Prop.SCENARIO} AS scenario, i.{Prop.ID} AS id ORDER BY scenario, id"
EXPORT_TOPICS = f"MATCH (t:{Label.TOPIC}) RETURN t.{Prop.ID} AS id, t.{Prop.SOURCE} AS source ORDER BY id"
EXPORT_INTERACTIONS = f"""
MATCH (u:{Label.USER})-[r:{Rel.INTERACTED}]->(i:{Label.ITEM})
RETURN u.{Prop.ID} AS user, i.{Prop.SCENARIO} AS scenario, i.{Prop.ID} AS item,
       r.{Prop.RATING} AS rating, r.{Prop.TS} AS ts
"""
EXPORT_HAS_TOPIC = f"""
MATCH (i:{Label.ITEM})-[r:{Rel.HAS_TOPIC}]->(t:{Label.TOPIC})
WHERE $sources IS NULL OR t.{Prop.SOURCE} IN $sources
RETURN i.{Prop.SCENARIO} AS scenario, i.{Prop.ID} AS item, t.{Prop.ID} AS topic, r.{Prop.WEIGHT} AS weight
"""
EXPORT_INTERACTION_KEYS = f"""
MATCH (u:{Label.USER})-[:{Rel.INTERACTED}]->(i:{Label.ITEM})
RETURN u.{Prop.ID} AS user, i.{Prop.SCENARIO} AS scenario, i.{Prop.ID} AS item
"""
COUNT_INTERACTED = f"MATCH ()-[r:{Rel.INTERACTED}]->() RETURN count(r) AS n"
COUNT_HAS_TOPIC = f"MATCH ()-[r:{Rel.HAS_TOPIC}]->() RETURN count(r) AS n"
