"""Cypher of the write-back stage: a training run's embeddings and serving vectors, ``RECOMMENDED`` and
``INTERESTED_IN`` edges, vector indexes (Neo4j), and the recipes that query them: recommend by vector
search (the model's ranking), recommend by brute-force dot product (any store), similar items."""

from __future__ import annotations

from graphrec.schema import ITEM_EMBEDDING_INDEX, ITEM_SERVING_INDEX, Label, Prop, Rel, VectorIndex
from graphrec.store.cypher.graph import delete_relationships_batch

SET_USER_EMBEDDINGS = f"""
UNWIND $rows AS row
MATCH (u:{Label.USER} {{{Prop.ID}: row.id}})
SET u.{Prop.EMBEDDING} = row.embedding, u.{Prop.SERVING_EMBEDDING} = row.serving, u.{Prop.EMBEDDING_RUN} = row.run
"""

SET_ITEM_EMBEDDINGS = f"""
UNWIND $rows AS row
MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: row.scenario, {Prop.ID}: row.id}})
SET i.{Prop.EMBEDDING} = row.embedding, i.{Prop.SERVING_EMBEDDING} = row.serving, i.{Prop.EMBEDDING_RUN} = row.run
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
        f"`vector.similarity_function`: '{ix.similarity}', "
        f"`vector.quantization.enabled`: {str(ix.quantized).lower()}}}}}"
    )


#: A vector index's configuration (``quantization`` is null on a server without the setting).
VECTOR_INDEX_DIMENSIONS = """
SHOW INDEXES YIELD name, type, options
WHERE name = $name AND type = 'VECTOR'
RETURN options.indexConfig['vector.dimensions'] AS dimensions,
    options.indexConfig['vector.quantization.enabled'] AS quantization
"""

#: Recommend by vector search (Neo4j): the top ``$k`` items of ``$scenario`` for user ``$user`` that the
#: user has not interacted with, in the model's order (the user's ``RECOMMENDED`` edges of the run). The
#: cosine index over the items' serving vectors, queried with the user's, ranks by the model's dot product
#: (:mod:`graphrec.serve.mips`); ``score`` is the index's ``(1 + cos) / 2``, not the model's score.
#: Neo4j 5.26's vector index has no pre-filter, so it fetches the ``$candidates`` nearest items of every
#: scenario and filters afterwards: fewer than ``$k`` + the user's interactions + the other scenarios'
#: items may leave fewer than ``$k`` rows. The index (HNSW) is approximate, and serving vectors, whose
#: cosines to a user lie close together, are a hard case for it: ``$candidates`` = the number of items
#: makes the search exhaustive and the list exactly the model's (README, "Vector search in Cypher").
RECOMMEND_BY_VECTOR_SEARCH = f"""
MATCH (u:{Label.USER} {{{Prop.ID}: $user}})
CALL db.index.vector.queryNodes('{ITEM_SERVING_INDEX.name}', $candidates, u.{Prop.SERVING_EMBEDDING})
YIELD node AS item, score
WHERE item.{Prop.SCENARIO} = $scenario AND NOT (u)-[:{Rel.INTERACTED}]->(item)
RETURN item.{Prop.ID} AS item, item.{Prop.TITLE} AS title, score
ORDER BY score DESC
LIMIT $k
"""

#: Recommend by brute-force dot product (any store, ArcadeDB included; no index): the same list as
#: :data:`RECOMMEND_BY_VECTOR_SEARCH`, with the model's score (the ``score`` of ``RECOMMENDED``), by scanning
#: every item of ``$scenario``: cost items × dimensions per query, so for small catalogues or checks.
RECOMMEND_BY_DOT_PRODUCT = f"""
MATCH (u:{Label.USER} {{{Prop.ID}: $user}})
MATCH (item:{Label.ITEM} {{{Prop.SCENARIO}: $scenario}})
WHERE item.{Prop.EMBEDDING} IS NOT NULL AND NOT (u)-[:{Rel.INTERACTED}]->(item)
WITH item, reduce(s = 0.0, j IN range(0, size(u.{Prop.EMBEDDING}) - 1) |
    s + u.{Prop.EMBEDDING}[j] * item.{Prop.EMBEDDING}[j]) AS score
RETURN item.{Prop.ID} AS item, item.{Prop.TITLE} AS title, score
ORDER BY score DESC
LIMIT $k
"""

#: Similar items (Neo4j): the ``$k`` items nearest by cosine of the learned embeddings to item
#: (``$scenario``, ``$id``), among the items of scenario ``$within`` (``null``: every scenario), the item
#: itself excluded; ``score`` is the index's ``(1 + cos) / 2``. As above, the ``$candidates`` nearest items
#: are fetched before the filter (``$k`` + 1 + the items outside ``$within`` leave ``$k``), approximately
#: unless ``$candidates`` is the number of items.
SIMILAR_ITEMS = f"""
MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: $scenario, {Prop.ID}: $id}})
CALL db.index.vector.queryNodes('{ITEM_EMBEDDING_INDEX.name}', $candidates, i.{Prop.EMBEDDING})
YIELD node AS other, score
WHERE other <> i AND ($within IS NULL OR other.{Prop.SCENARIO} = $within)
RETURN other.{Prop.SCENARIO} AS scenario, other.{Prop.ID} AS id, other.{Prop.TITLE} AS title, score
ORDER BY score DESC
LIMIT $k
"""
