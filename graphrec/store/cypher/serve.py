"""Cypher of ``graphrec serve``: a readiness probe and the user's learned topics (read-only)."""

from __future__ import annotations

from graphrec.schema import Label, Prop, Rel

#: The cheapest query that proves the store answers (``/readyz``).
PING = "RETURN 1 AS ok"

#: The user's learned topic affinities (``INTERESTED_IN``, written back by training), best first, at most
#: ``$limit``: rows ``{topic, label, source, score, rank, run}``.
USER_TOPICS = f"""
MATCH (u:{Label.USER} {{{Prop.ID}: $user}})-[a:{Rel.INTERESTED_IN}]->(t:{Label.TOPIC})
RETURN t.{Prop.ID} AS topic, t.{Prop.LABEL} AS label, t.{Prop.SOURCE} AS source, a.{Prop.SCORE} AS score,
       a.{Prop.RANK} AS rank, a.{Prop.RUN} AS run
ORDER BY a.{Prop.RANK}, t.{Prop.ID}
LIMIT $limit
"""
