"""All Cypher that graphrec runs, in one place: one module per stage, every name re-exported here.

* :mod:`~graphrec.store.cypher.schema`: constraint and index DDL, schema inspection and repair;
* :mod:`~graphrec.store.cypher.ingest`: batched merges of the ingest, the store marker, recounts;
* :mod:`~graphrec.store.cypher.topics`: item texts, topics, the topic graph (the knowledge layer);
* :mod:`~graphrec.store.cypher.export`: the graph read into PyG;
* :mod:`~graphrec.store.cypher.writeback`: embeddings, recommendations, learned topic affinities, vector indexes,
  the recipes: recommend by vector search or dot product, similar items;
* :mod:`~graphrec.store.cypher.explain`: the paths behind a recommendation;
* :mod:`~graphrec.store.cypher.page`: the service page's topic map;
* :mod:`~graphrec.store.cypher.serve`: the service's readiness probe and a user's learned topics;
* :mod:`~graphrec.store.cypher.graph`: statistics and clearing the graph.

Labels, relationship types and property names come from :mod:`graphrec.schema` (constants, never user
values; ``tests/unit/test_cypher_schema_names.py`` checks every property named here is declared there);
every value travels as a query parameter, and writes are ``UNWIND $rows`` batches. Import the names from
this package (``from graphrec.store import cypher``; ``cypher.MERGE_USERS``).
"""

from __future__ import annotations

from graphrec.store.cypher.explain import (
    EXPLAIN_RECOMMENDATION,
    EXPLAIN_SHARED_USERS,
    EXPLAIN_TOPIC_PATHS,
    ITEM_TITLE,
    ITEM_TITLES,
    QUICKSTART_LEARNED_TOPICS,
    USER_EXISTS,
)
from graphrec.store.cypher.export import (
    COUNT_HAS_TOPIC,
    COUNT_INTERACTED,
    EXPORT_HAS_TOPIC,
    EXPORT_INTERACTION_KEYS,
    EXPORT_INTERACTIONS,
    EXPORT_ITEMS,
    EXPORT_TOPICS,
    EXPORT_USERS,
)
from graphrec.store.cypher.graph import (
    COUNT_NODES_BY_LABEL,
    COUNT_RELS_BY_TYPE,
    DELETE_ALL_BATCH,
    DELETE_INTERACTIONS_BATCH,
    SCENARIO_NAMES,
    SCENARIO_STATS,
    delete_relationships_batch,
)
from graphrec.store.cypher.ingest import (
    ANY_NODE,
    AWAIT_INDEXES,
    DATABASE_NAME,
    DELETE_STORE_MARKER_BATCH,
    MERGE_INTERACTION_SINGLE,
    MERGE_INTERACTIONS,
    MERGE_ITEM_SCENARIO,
    MERGE_ITEMS,
    MERGE_SCENARIOS,
    MERGE_STORE_MARKER,
    MERGE_USERS,
    RECOUNT_INTERACTIONS,
    RECOUNT_ITEMS,
    RECOUNT_SCENARIOS,
    RECOUNT_USERS,
    UPSERT_INTERACTIONS,
)
from graphrec.store.cypher.page import TOPIC_SCENARIO_ITEMS
from graphrec.store.cypher.schema import (
    SCHEMA_DDL,
    SHOW_CONSTRAINTS,
    SHOW_INDEXES,
    create_constraint,
    create_index,
    drop_constraint,
    drop_index,
    duplicate_keys,
    quote_name,
)
from graphrec.store.cypher.serve import PING, USER_TOPICS
from graphrec.store.cypher.topics import (
    DELETE_RELATED_TOPICS_BATCH,
    DELETE_TOPICS_OF_SOURCE_BATCH,
    ITEM_CATEGORIES,
    ITEM_TEXTS,
    MERGE_HAS_TOPIC,
    MERGE_RELATED_TOPICS,
    MERGE_TOPICS,
    QUICKSTART_BRIDGING,
    SET_TOPIC_STATS,
    TOP_BRIDGING_TOPICS,
    TOPIC_MEMBERSHIPS,
    TOPIC_SPREAD,
)
from graphrec.store.cypher.writeback import (
    CREATE_INTERESTED_IN,
    CREATE_RECOMMENDED,
    DELETE_INTERESTED_IN_BATCH,
    DELETE_RECOMMENDED_BATCH,
    RECOMMEND_BY_DOT_PRODUCT,
    RECOMMEND_BY_VECTOR_SEARCH,
    SET_ITEM_EMBEDDINGS,
    SET_TOPIC_EMBEDDINGS,
    SET_USER_EMBEDDINGS,
    SIMILAR_ITEMS,
    VECTOR_INDEX_DIMENSIONS,
    create_vector_index,
)

__all__ = [
    "ANY_NODE",
    "AWAIT_INDEXES",
    "COUNT_HAS_TOPIC",
    "COUNT_INTERACTED",
    "COUNT_NODES_BY_LABEL",
    "COUNT_RELS_BY_TYPE",
    "CREATE_INTERESTED_IN",
    "CREATE_RECOMMENDED",
    "DATABASE_NAME",
    "DELETE_ALL_BATCH",
    "DELETE_INTERACTIONS_BATCH",
    "DELETE_INTERESTED_IN_BATCH",
    "DELETE_RECOMMENDED_BATCH",
    "DELETE_RELATED_TOPICS_BATCH",
    "DELETE_STORE_MARKER_BATCH",
    "DELETE_TOPICS_OF_SOURCE_BATCH",
    "EXPLAIN_RECOMMENDATION",
    "EXPLAIN_SHARED_USERS",
    "EXPLAIN_TOPIC_PATHS",
    "EXPORT_HAS_TOPIC",
    "EXPORT_INTERACTIONS",
    "EXPORT_INTERACTION_KEYS",
    "EXPORT_ITEMS",
    "EXPORT_TOPICS",
    "EXPORT_USERS",
    "ITEM_CATEGORIES",
    "ITEM_TEXTS",
    "ITEM_TITLE",
    "ITEM_TITLES",
    "MERGE_HAS_TOPIC",
    "MERGE_INTERACTIONS",
    "MERGE_INTERACTION_SINGLE",
    "MERGE_ITEMS",
    "MERGE_ITEM_SCENARIO",
    "MERGE_RELATED_TOPICS",
    "MERGE_SCENARIOS",
    "MERGE_STORE_MARKER",
    "MERGE_TOPICS",
    "MERGE_USERS",
    "PING",
    "QUICKSTART_BRIDGING",
    "QUICKSTART_LEARNED_TOPICS",
    "RECOMMEND_BY_DOT_PRODUCT",
    "RECOMMEND_BY_VECTOR_SEARCH",
    "RECOUNT_INTERACTIONS",
    "RECOUNT_ITEMS",
    "RECOUNT_SCENARIOS",
    "RECOUNT_USERS",
    "SCENARIO_NAMES",
    "SCENARIO_STATS",
    "SCHEMA_DDL",
    "SET_ITEM_EMBEDDINGS",
    "SET_TOPIC_EMBEDDINGS",
    "SET_TOPIC_STATS",
    "SET_USER_EMBEDDINGS",
    "SHOW_CONSTRAINTS",
    "SHOW_INDEXES",
    "SIMILAR_ITEMS",
    "TOPIC_MEMBERSHIPS",
    "TOPIC_SCENARIO_ITEMS",
    "TOPIC_SPREAD",
    "TOP_BRIDGING_TOPICS",
    "UPSERT_INTERACTIONS",
    "USER_EXISTS",
    "USER_TOPICS",
    "VECTOR_INDEX_DIMENSIONS",
    "create_constraint",
    "create_index",
    "create_vector_index",
    "delete_relationships_batch",
    "drop_constraint",
    "drop_index",
    "duplicate_keys",
    "quote_name",
]
