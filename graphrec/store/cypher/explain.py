"""Cypher of the explain stage: why an item is recommended to a user (topic and shared-user paths)."""

from __future__ import annotations

from graphrec.schema import Label, Prop, Rel

USER_EXISTS = f"MATCH (u:{Label.USER} {{{Prop.ID}: $user}}) RETURN count(u) AS n"
ITEM_TITLE = f"MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: $scenario, {Prop.ID}: $item}}) RETURN i.{Prop.TITLE} AS title"
#: Titles of a list of items (``$ids``) of ``$scenario``: rows ``{id, title}`` (``graphrec recommend``'s table).
ITEM_TITLES = f"""
UNWIND $ids AS id
MATCH (i:{Label.ITEM} {{{Prop.SCENARIO}: $scenario, {Prop.ID}: id}})
RETURN i.{Prop.ID} AS id, i.{Prop.TITLE} AS title
"""

#: The user's recommendation edge to the item, if a training run wrote one.
EXPLAIN_RECOMMENDATION = f"""
MATCH (u:{Label.USER} {{{Prop.ID}: $user}})
      -[r:{Rel.RECOMMENDED}]->(i:{Label.ITEM} {{{Prop.SCENARIO}: $scenario, {Prop.ID}: $item}})
RETURN r.{Prop.SCORE} AS score, r.{Prop.RANK} AS rank, r.{Prop.RUN} AS run, i.{Prop.TITLE} AS title
"""

#: Topic paths user → item they interacted with → topic ← recommended item, per topic, with the
#: user's learned affinity to the topic (INTERESTED_IN) where the run wrote one.
EXPLAIN_TOPIC_PATHS = f"""
MATCH (u:{Label.USER} {{{Prop.ID}: $user}})-[:{Rel.INTERACTED}]->(j:{Label.ITEM})
      -[hj:{Rel.HAS_TOPIC}]->(t:{Label.TOPIC})
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

#: The quickstart's query on learned topics: the user's INTERESTED_IN topics (by learned score) that
#: the recommended item also has, with the user's own items behind them — the bridge of the recommendation.
QUICKSTART_LEARNED_TOPICS = (
    f"MATCH (u:{Label.USER} {{{Prop.ID}: $user}})-[a:{Rel.INTERESTED_IN}]->(t:{Label.TOPIC}) "
    f"OPTIONAL MATCH (t)<-[:{Rel.HAS_TOPIC}]-(i:{Label.ITEM} {{{Prop.SCENARIO}: $scenario, {Prop.ID}: $item}}) "
    f"OPTIONAL MATCH (u)-[:{Rel.INTERACTED}]->(j:{Label.ITEM})-[:{Rel.HAS_TOPIC}]->(t) "
    f"RETURN a.{Prop.RANK} AS rank, t.{Prop.LABEL} AS topic, a.{Prop.SCORE} AS affinity, "
    "i IS NOT NULL AS behind_recommendation, count(DISTINCT j) AS user_items ORDER BY rank"
)
