"""Cypher of the knowledge stage: item texts for the encoder, topics and their memberships, the topic
graph and its figures, and the bridging-topic queries the quickstart shows."""

from __future__ import annotations

from graphrec.schema import Label, Prop, Rel
from graphrec.store.cypher.graph import delete_relationships_batch

#: Every item with its text fields, in a stable order (``$scenarios``: list of names, or null for all).
ITEM_TEXTS = f"""
MATCH (i:{Label.ITEM})
WHERE $scenarios IS NULL OR i.{Prop.SCENARIO} IN $scenarios
RETURN i.{Prop.SCENARIO} AS scenario, i.{Prop.ID} AS id, i.{Prop.TITLE} AS title, i.{Prop.TEXT} AS text
ORDER BY scenario, id
"""

#: Topics: rows ``{id, label, source, keywords, size}``.
MERGE_TOPICS = f"""
UNWIND $rows AS row
MERGE (t:{Label.TOPIC} {{{Prop.ID}: row.id}})
SET t.{Prop.LABEL} = row.label, t.{Prop.SOURCE} = row.source, t.{Prop.KEYWORDS} = row.keywords, t.{Prop.SIZE} = row.size
"""

#: Item→topic memberships: rows ``{scenario, item, topic, weight, source}``.
MERGE_HAS_TOPIC = f"""
UNWIND $rows AS row
MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: row.scenario, {Prop.ID}: row.item}})
MATCH (t:{Label.TOPIC} {{{Prop.ID}: row.topic}})
MERGE (i)-[r:{Rel.HAS_TOPIC}]->(t)
SET r.{Prop.WEIGHT} = row.weight, r.{Prop.SOURCE} = row.source
"""

#: Removes the topics (and their relationships) of one source before it is extracted again.
DELETE_TOPICS_OF_SOURCE_BATCH = f"""
MATCH (t:{Label.TOPIC} {{{Prop.SOURCE}: $source}})
WITH t LIMIT $limit
DETACH DELETE t
RETURN count(*) AS deleted
"""

#: Items per topic and scenario (``$source``: a topic source or null for all).
TOPIC_SPREAD = f"""
MATCH (t:{Label.TOPIC})
WHERE $source IS NULL OR t.{Prop.SOURCE} = $source
OPTIONAL MATCH (i:{Label.ITEM})-[:{Rel.HAS_TOPIC}]->(t)
RETURN t.{Prop.ID} AS id, t.{Prop.LABEL} AS label, t.{Prop.SOURCE} AS source, t.{Prop.BRIDGE_SCORE} AS bridge_score,
       i.{Prop.SCENARIO} AS scenario, count(i) AS items
ORDER BY id, scenario
"""

#: Items with metadata categories.
ITEM_CATEGORIES = f"""
MATCH (i:{Label.ITEM})
WHERE i.{Prop.CATEGORIES} IS NOT NULL
RETURN i.{Prop.SCENARIO} AS scenario, i.{Prop.ID} AS id, i.{Prop.CATEGORIES} AS categories
ORDER BY scenario, id
"""

#: Every item→topic membership (all sources).
TOPIC_MEMBERSHIPS = f"""
MATCH (i:{Label.ITEM})-[r:{Rel.HAS_TOPIC}]->(t:{Label.TOPIC})
RETURN i.{Prop.SCENARIO} AS scenario, i.{Prop.ID} AS item, t.{Prop.ID} AS topic, r.{Prop.WEIGHT} AS weight
"""

DELETE_RELATED_TOPICS_BATCH = delete_relationships_batch(f"(:{Label.TOPIC})-[r:{Rel.RELATED_TO}]->(:{Label.TOPIC})")

#: Topic graph edges: rows ``{a, b, weight, cooccurrence, similarity}``.
MERGE_RELATED_TOPICS = f"""
UNWIND $rows AS row
MATCH (a:{Label.TOPIC} {{{Prop.ID}: row.a}})
MATCH (b:{Label.TOPIC} {{{Prop.ID}: row.b}})
MERGE (a)-[r:{Rel.RELATED_TO}]->(b)
SET r.{Prop.WEIGHT} = row.weight, r.{Prop.COOCCURRENCE} = row.cooccurrence, r.{Prop.SIMILARITY} = row.similarity
"""

#: Topic figures: rows ``{id, balance, bridge_score, scenarios, items}``.
SET_TOPIC_STATS = f"""
UNWIND $rows AS row
MATCH (t:{Label.TOPIC} {{{Prop.ID}: row.id}})
SET t.{Prop.BALANCE} = row.balance, t.{Prop.BRIDGE_SCORE} = row.bridge_score,
    t.{Prop.SPREAD_SCENARIOS} = row.scenarios, t.{Prop.SPREAD_ITEMS} = row.items
"""

#: Topics with the highest bridge score (set by the topic graph).
TOP_BRIDGING_TOPICS = f"""
MATCH (t:{Label.TOPIC}) WHERE t.{Prop.BRIDGE_SCORE} > 0
RETURN t.{Prop.ID} AS id, t.{Prop.LABEL} AS label, t.{Prop.BRIDGE_SCORE} AS bridge_score, t.{Prop.SPREAD_ITEMS} AS items
ORDER BY t.{Prop.BRIDGE_SCORE} DESC, t.{Prop.ID} LIMIT $limit
"""

#: The example query the quickstart prints: discovered topics holding items of both scenarios $a and $b.
QUICKSTART_BRIDGING = (
    f"MATCH (t:{Label.TOPIC} {{{Prop.SOURCE}: 'discovered'}})<-[:{Rel.HAS_TOPIC}]-(i:{Label.ITEM}) "
    f"WITH t, sum(CASE i.{Prop.SCENARIO} WHEN $a THEN 1 ELSE 0 END) AS a, "
    f"sum(CASE i.{Prop.SCENARIO} WHEN $b THEN 1 ELSE 0 END) AS b "
    "WHERE a > 0 AND b > 0 "
    f"RETURN t.{Prop.LABEL} AS topic, a AS movies, b AS books ORDER BY CASE WHEN a < b THEN a ELSE b END DESC LIMIT 5"
)
