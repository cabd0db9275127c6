"""Cypher of the ingest stage: batched merges of scenarios, users, items and interactions, the store's
identity marker, and the recounts that check what the graph holds."""

from __future__ import annotations

from graphrec.schema import Label, Prop, Rel

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

#: :data:`MERGE_INTERACTIONS` for a store whose relationship ``MERGE`` is slow (ArcadeDB; see
#: :attr:`graphrec.store.capabilities.StoreCapabilities.fast_relationship_merge`): the same relationships and
#: properties, and the same ``matched`` (one row per relationship found or created: a duplicate still counts
#: twice), written as a lookup (``OPTIONAL MATCH``) and a ``CREATE`` where none exists, else a ``SET``; a
#: ``CREATE`` with a null property leaves it absent, as the ``SET`` does. ArcadeDB reads every row's lookup
#: before it writes (an Eager), so the rows must hold each (user, scenario, item) once, which
#: :mod:`ingest.prepare` guarantees (a repeated pair is a reject).
UPSERT_INTERACTIONS = f"""
UNWIND $rows AS row
MATCH (u:{Label.USER} {{{Prop.ID}: row.user}})
MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: row.scenario, {Prop.ID}: row.item}})
OPTIONAL MATCH (u)-[r:{Rel.INTERACTED} {{{Prop.SCENARIO}: row.scenario}}]->(i)
FOREACH (_ IN CASE WHEN r IS NULL THEN [1] ELSE [] END |
    CREATE (u)-[:{Rel.INTERACTED} {{{Prop.SCENARIO}: row.scenario, {Prop.RATING}: row.rating, {Prop.TS}: row.ts}}]->(i))
FOREACH (_ IN CASE WHEN r IS NULL THEN [] ELSE [1] END | SET r.{Prop.RATING} = row.rating, r.{Prop.TS} = row.ts)
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

# --- bulk load (ingest.bulk): the target's checks before the import, the indexes after it -----------

#: The name of the session's database: the one a bulk import replaces.
DATABASE_NAME = """
CALL db.info() YIELD name
RETURN name
"""

#: ``nodes`` is 1 when the graph holds any node, else 0 (a bulk import needs an empty database).
ANY_NODE = """
MATCH (n)
WITH n LIMIT 1
RETURN count(n) AS nodes
"""

#: Waits until every index is online (constraints' and range indexes populated after a bulk import).
AWAIT_INDEXES = "CALL db.awaitIndexes($seconds)"
