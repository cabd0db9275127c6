"""All Cypher that graphrec runs, in one place.

Labels, relationship types and property names come from :mod:`graphrec.schema`
(constants, never user values); every value travels as a query parameter, and
writes are ``UNWIND $rows`` batches.
"""

from __future__ import annotations

from graphrec.schema import (
    CONSTRAINTS,
    INDEXES,
    Label,
    Prop,
    PropertyIndex,
    Rel,
    UniqueConstraint,
    VectorIndex,
)


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

def delete_relationships_batch(pattern: str, where: str = "") -> str:
    """A batched delete of the relationships ``r`` matched by ``pattern`` (schema constants only):
    ``$limit`` per transaction, returning ``deleted`` (see :meth:`GraphStore.delete_in_batches`)."""
    return f"MATCH {pattern}\n{where}\nWITH r LIMIT $limit\nDELETE r\nRETURN count(*) AS deleted\n"


# --- ingest writes (rows are dicts; see ingest.pipeline) -------------------------------------

MERGE_SCENARIOS = f"""
UNWIND $rows AS row
MERGE (s:{Label.SCENARIO} {{{Prop.NAME}: row.name}})
RETURN count(*) AS matched
"""

MERGE_USERS = f"""
UNWIND $rows AS row
MERGE (u:{Label.USER} {{{Prop.ID}: row.id}})
RETURN count(*) AS matched
"""

#: Items: rows ``{scenario, id, title, text, categories}``; fields are only overwritten by non-null values
#: so that items first created from an interaction file keep metadata loaded later, and vice versa.
MERGE_ITEMS = f"""
UNWIND $rows AS row
MERGE (i:{Label.ITEM} {{{Prop.SCENARIO}: row.scenario, {Prop.ID}: row.id}})
SET i.{Prop.TITLE} = coalesce(row.title, i.{Prop.TITLE}),
    i.{Prop.TEXT} = coalesce(row.text, i.{Prop.TEXT}),
    i.{Prop.CATEGORIES} = coalesce(row.categories, i.{Prop.CATEGORIES})
RETURN count(*) AS matched
"""

#: Links each item of a batch (rows ``{scenario, id}``) to its Scenario node; ``matched`` counts the rows
#: whose item and scenario exist (the ingest checks it equals the rows sent).
MERGE_ITEM_SCENARIO = f"""
UNWIND $rows AS row
MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: row.scenario, {Prop.ID}: row.id}})
MATCH (s:{Label.SCENARIO} {{{Prop.NAME}: row.scenario}})
MERGE (i)-[:{Rel.IN_SCENARIO}]->(s)
RETURN count(*) AS matched
"""

#: Interactions: rows ``{user, scenario, item, rating, ts}``; users and items must exist.
#: ``scenario`` sits in the MERGE pattern (it is the item's scenario, so the pattern still
#: matches at most one relationship per user and item) rather than in the SET: a SET of
#: ``r.scenario`` makes Neo4j's planner add an Eager (read/set conflict with ``i.scenario``),
#: which materialises every row of the batch before writing. ``matched`` counts the rows whose user and
#: item exist, i.e. the relationships created or matched (the ingest checks it equals the rows sent; the
#: count is an aggregation over the written rows, not an Eager).
MERGE_INTERACTIONS = f"""
UNWIND $rows AS row
MATCH (u:{Label.USER} {{{Prop.ID}: row.user}})
MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: row.scenario, {Prop.ID}: row.item}})
MERGE (u)-[r:{Rel.INTERACTED} {{{Prop.SCENARIO}: row.scenario}}]->(i)
SET r.{Prop.RATING} = row.rating, r.{Prop.TS} = row.ts
RETURN count(*) AS matched
"""

#: The same write, one row per transaction: only for the batching benchmark.
MERGE_INTERACTION_SINGLE = f"""
MATCH (u:{Label.USER} {{{Prop.ID}: $user}})
MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: $scenario, {Prop.ID}: $item}})
MERGE (u)-[r:{Rel.INTERACTED} {{{Prop.SCENARIO}: $scenario}}]->(i)
SET r.{Prop.RATING} = $rating, r.{Prop.TS} = $ts
"""

#: The store's identity marker: returns its ``id``, creating the node with ``$id`` and ``$created`` when the
#: graph has none (``$name`` is :data:`graphrec.schema.STORE_MARKER_NAME`, unique by constraint).
MERGE_STORE_MARKER = f"""
MERGE (m:{Label.STORE} {{{Prop.NAME}: $name}})
ON CREATE SET m.{Prop.ID} = $id, m.{Prop.CREATED} = $created
RETURN m.{Prop.ID} AS id
"""

#: Deletes the marker first when the graph is cleared (so even an interrupted clear voids every checkpoint).
DELETE_STORE_MARKER_BATCH = f"""
MATCH (m:{Label.STORE})
WITH m LIMIT $limit
DETACH DELETE m
RETURN count(*) AS deleted
"""

# --- ingest recount (rows of keys; each returns counts of what the graph holds) ----------------

#: Rows ``{scenario, id}``: how many of the items exist, and how many of those are linked to their scenario.
RECOUNT_ITEMS = f"""
UNWIND $rows AS row
MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: row.scenario, {Prop.ID}: row.id}})
OPTIONAL MATCH (i)-[l:{Rel.IN_SCENARIO}]->(:{Label.SCENARIO} {{{Prop.NAME}: row.scenario}})
RETURN count(DISTINCT i) AS items, count(l) AS in_scenario
"""

#: Rows ``{user, scenario, items}`` (one per user and scenario, ``items`` the item ids): the user's
#: ``INTERACTED`` relationships to those items (a duplicate relationship counts twice). Grouped by user
#: because one row per interaction (two index seeks and an Expand(Into) each) is 20-70x slower. The
#: user is matched first and the item carries no label, so that the only plan expands from the user:
#: with ``(i:Item)``, a plan cached while the graph was empty seeks the items and expands all their
#: users instead (20x slower here, far worse for popular items).
RECOUNT_INTERACTIONS = f"""
UNWIND $rows AS row
MATCH (u:{Label.USER} {{{Prop.ID}: row.user}})
WITH row, u
MATCH (u)-[r:{Rel.INTERACTED}]->(i)
WHERE r.{Prop.SCENARIO} = row.scenario AND i.{Prop.SCENARIO} = row.scenario AND i.{Prop.ID} IN row.items
RETURN count(r) AS interactions
"""

#: Rows ``{id}``: how many of the users exist.
RECOUNT_USERS = f"""
UNWIND $rows AS row
MATCH (u:{Label.USER} {{{Prop.ID}: row.id}})
RETURN count(u) AS users
"""

#: Rows ``{name}``: how many of the scenarios exist.
RECOUNT_SCENARIOS = f"""
UNWIND $rows AS row
MATCH (s:{Label.SCENARIO} {{{Prop.NAME}: row.name}})
RETURN count(s) AS scenarios
"""

# --- knowledge -------------------------------------------------------------------------------

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
SET t.{Prop.LABEL} = row.label, t.{Prop.SOURCE} = row.source, t.keywords = row.keywords, t.size = row.size
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
SET r.{Prop.WEIGHT} = row.weight, r.cooccurrence = row.cooccurrence, r.similarity = row.similarity
"""

#: Topic figures: rows ``{id, balance, bridge_score, scenarios, items}``.
SET_TOPIC_STATS = f"""
UNWIND $rows AS row
MATCH (t:{Label.TOPIC} {{{Prop.ID}: row.id}})
SET t.{Prop.BALANCE} = row.balance, t.{Prop.BRIDGE_SCORE} = row.bridge_score,
    t.spread_scenarios = row.scenarios, t.spread_items = row.items
"""

# --- export to PyG ------------------------------------------------------------------------------

EXPORT_USERS = f"MATCH (u:{Label.USER}) RETURN u.{Prop.ID} AS id ORDER BY id"
EXPORT_ITEMS = f"MATCH (i:{Label.ITEM}) RETURN i.{Prop.SCENARIO} AS scenario, i.{Prop.ID} AS id ORDER BY scenario, id"
EXPORT_TOPICS = f"MATCH (t:{Label.TOPIC}) RETURN t.{Prop.ID} AS id, t.{Prop.SOURCE} AS source ORDER BY id"
EXPORT_INTERACTIONS = f"""
MATCH (u:{Label.USER})-[r:{Rel.INTERACTED}]->(i:{Label.ITEM})
RETURN u.{Prop.ID} AS user, i.{Prop.SCENARIO} AS scenario, i.{Prop.ID} AS item, r.{Prop.RATING} AS rating, r.{Prop.TS} AS ts
"""
EXPORT_HAS_TOPIC = f"""
MATCH (i:{Label.ITEM})-[r:{Rel.HAS_TOPIC}]->(t:{Label.TOPIC})
WHERE $sources IS NULL OR t.{Prop.SOURCE} IN $sources
RETURN i.{Prop.SCENARIO} AS scenario, i.{Prop.ID} AS item, t.{Prop.ID} AS topic, r.{Prop.WEIGHT} AS weight
"""

#: Topics with the highest bridge score (set by the topic graph).
TOP_BRIDGING_TOPICS = f"""
MATCH (t:{Label.TOPIC}) WHERE t.{Prop.BRIDGE_SCORE} > 0
RETURN t.{Prop.ID} AS id, t.{Prop.LABEL} AS label, t.{Prop.BRIDGE_SCORE} AS bridge_score, t.spread_items AS items
ORDER BY t.{Prop.BRIDGE_SCORE} DESC, t.{Prop.ID} LIMIT $limit
"""

#: The example query the quickstart prints: discovered topics holding items of both scenarios $a and $b.
QUICKSTART_BRIDGING = (
    "MATCH (t:Topic {source: 'discovered'})<-[:HAS_TOPIC]-(i:Item) "
    "WITH t, sum(CASE i.scenario WHEN $a THEN 1 ELSE 0 END) AS a, sum(CASE i.scenario WHEN $b THEN 1 ELSE 0 END) AS b "
    "WHERE a > 0 AND b > 0 "
    "RETURN t.label AS topic, a AS movies, b AS books ORDER BY CASE WHEN a < b THEN a ELSE b END DESC LIMIT 5"
)

#: The quickstart's query on learned topics: the user's INTERESTED_IN topics (by learned score) that
#: the recommended item also has, with the user's own items behind them — the bridge of the recommendation.
QUICKSTART_LEARNED_TOPICS = (
    "MATCH (u:User {id: $user})-[a:INTERESTED_IN]->(t:Topic) "
    "OPTIONAL MATCH (t)<-[:HAS_TOPIC]-(i:Item {scenario: $scenario, id: $item}) "
    "OPTIONAL MATCH (u)-[:INTERACTED]->(j:Item)-[:HAS_TOPIC]->(t) "
    "RETURN a.rank AS rank, t.label AS topic, a.score AS affinity, i IS NOT NULL AS behind_recommendation, "
    "count(DISTINCT j) AS user_items ORDER BY rank"
)

# --- statistics ------------------------------------------------------------------------------

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

# --- write-back of a training run ------------------------------------------------------------

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
        f"OPTIONS {{indexConfig: {{`vector.dimensions`: $dimensions, `vector.similarity_function`: '{ix.similarity}'}}}}"
    )


def drop_index(name: str) -> str:
    """DDL to drop an index by name (quoted: the name may come from the database, see :func:`quote_name`)."""
    return f"DROP INDEX {quote_name(name)} IF EXISTS"


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

# --- explanations ----------------------------------------------------------------------------

USER_EXISTS = f"MATCH (u:{Label.USER} {{{Prop.ID}: $user}}) RETURN count(u) AS n"
ITEM_TITLE = f"MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: $scenario, {Prop.ID}: $item}}) RETURN i.{Prop.TITLE} AS title"

#: The user's recommendation edge to the item, if a training run wrote one.
EXPLAIN_RECOMMENDATION = f"""
MATCH (u:{Label.USER} {{{Prop.ID}: $user}})-[r:{Rel.RECOMMENDED}]->(i:{Label.ITEM} {{{Prop.SCENARIO}: $scenario, {Prop.ID}: $item}})
RETURN r.{Prop.SCORE} AS score, r.{Prop.RANK} AS rank, r.{Prop.RUN} AS run, i.{Prop.TITLE} AS title
"""

#: Topic paths user → item they interacted with → topic ← recommended item, per topic, with the
#: user's learned affinity to the topic (INTERESTED_IN) where the run wrote one.
EXPLAIN_TOPIC_PATHS = f"""
MATCH (u:{Label.USER} {{{Prop.ID}: $user}})-[:{Rel.INTERACTED}]->(j:{Label.ITEM})-[hj:{Rel.HAS_TOPIC}]->(t:{Label.TOPIC})
      <-[hi:{Rel.HAS_TOPIC}]-(i:{Label.ITEM} {{{Prop.SCENARIO}: $scenario, {Prop.ID}: $item}})
WHERE j <> i AND ($from_scenario IS NULL OR j.{Prop.SCENARIO} = $from_scenario)
WITH u, t, hi, count(DISTINCT j) AS via_items, collect(DISTINCT j.{Prop.TITLE})[0..3] AS examples,
     sum(coalesce(hj.{Prop.WEIGHT}, 1.0)) AS path_weight
OPTIONAL MATCH (u)-[a:{Rel.INTERESTED_IN}]->(t)
RETURN t.{Prop.ID} AS topic, t.{Prop.LABEL} AS label, t.{Prop.SOURCE} AS source, via_items, examples,
       path_weight * coalesce(hi.{Prop.WEIGHT}, 1.0) AS support, a.{Prop.SCORE} AS affinity
ORDER BY support DESC, topic
LIMIT $limit
"""

#: Shared-user paths user → item j ← other user → recommended item, per item j of the user.
EXPLAIN_SHARED_USERS = f"""
MATCH (u:{Label.USER} {{{Prop.ID}: $user}})-[:{Rel.INTERACTED}]->(j:{Label.ITEM})<-[:{Rel.INTERACTED}]-(v:{Label.USER})
      -[:{Rel.INTERACTED}]->(i:{Label.ITEM} {{{Prop.SCENARIO}: $scenario, {Prop.ID}: $item}})
WHERE v <> u AND j <> i AND ($from_scenario IS NULL OR j.{Prop.SCENARIO} = $from_scenario)
RETURN j.{Prop.SCENARIO} AS scenario, j.{Prop.ID} AS item, j.{Prop.TITLE} AS title, count(DISTINCT v) AS shared_users
ORDER BY shared_users DESC, scenario, item
LIMIT $limit
"""

# --- schema inspection and repair (graphrec.store.repair) --------------------------------------

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
