"""Cypher of the write-back stage: a training run's embeddings, ``RECOMMENDED`` and ``INTERESTED_IN``
edges, vector indexes (Neo4j) and the nearest-item search through them."""

from __future__ import annotations

from graphrec.schema import Label, Prop, Rel, VectorIndex
from graphrec.store.cypher.graph import delete_relationships_batch

SET_USER_EMBEDDINGS = f"""
UNWIND $rows AS row
MATCH (u:{Label.USER} {{{Prop.ID}: row.id}})
SET u.{Prop.EMBEDDING} = row.embedding, u.{Prop.EMBEDDING_RUN} = row.run
"""

SET_ITEM_EMBEDDINGS = f"""
UNWIND $rows AS row
MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: row.scenario, {Prop.ID}: row.id}})
SET i.{Prop.EMBEDDING} = row.embedding, i.{Prop.EMBEDDING_RUN} = row.run
"""

SET_TOPIC_EMBEDDINGS = f"""
UNWIND $rows AS row
MATCH (t:{Label.TOPIC} {{{Prop.ID}: row.id}})
SET t.{Prop.EMBEDDING} = row.embedding, t.{Prop.EMBEDDING_RUN} = row.run
"""

#: Remove the recommendations into one scenario (any run), a batch at a time.
DELETE_RECOMMENDED_BATCH = delete_relationships_batch(
    f"(:{Label.USER})-[r:{Rel.RECOMMENDED}]->(i:{Label.ITEM})", f"WHERE i.{Prop.SCENARIO} = $scenario"
)

CREATE_RECOMMENDED = f"""
UNWIND $rows AS row
MATCH (u:{Label.USER} {{{Prop.ID}: row.user}})
MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: row.scenario, {Prop.ID}: row.item}})
CREATE (u)-[:{Rel.RECOMMENDED} {{{Prop.SCORE}: row.score, {Prop.RANK}: row.rank, {Prop.RUN}: row.run}}]->(i)
"""

DELETE_INTERESTED_IN_BATCH = delete_relationships_batch(f"(:{Label.USER})-[r:{Rel.INTERESTED_IN}]->(:{Label.TOPIC})")

CREATE_INTERESTED_IN = f"""
UNWIND $rows AS row
MATCH (u:{Label.USER} {{{Prop.ID}: row.user}})
MATCH (t:{Label.TOPIC} {{{Prop.ID}: row.topic}})
CREATE (u)-[:{Rel.INTERESTED_IN} {{{Prop.SCORE}: row.score, {Prop.RANK}: row.rank, {Prop.RUN}: row.run}}]->(t)
"""


def create_vector_index(ix: VectorIndex) -> str:
    """DDL for a vector index (Neo4j 5.26); the dimension is the ``$dimensions`` parameter."""
    return (
        f"CREATE VECTOR INDEX {ix.name} IF NOT EXISTS FOR (n:{ix.label}) ON (n.{ix.property}) "
        "OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, "
        f"`vector.similarity_function`: '{ix.similarity}'}}}}"
    )


VECTOR_INDEX_DIMENSIONS = """
SHOW INDEXES YIELD name, type, options
WHERE name = $name AND type = 'VECTOR'
RETURN options.indexConfig['vector.dimensions'] AS dimensions
"""

#: Items nearest to an item by embedding, through the vector index (Neo4j only).
SIMILAR_ITEMS = f"""
MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: $scenario, {Prop.ID}: $id}})
CALL db.index.vector.queryNodes($index, $k, i.{Prop.EMBEDDING}) YIELD node, score
WHERE node <> i
RETURN node.{Prop.SCENARIO} AS scenario, node.{Prop.ID} AS id, node.{Prop.TITLE} AS title, score
"""
