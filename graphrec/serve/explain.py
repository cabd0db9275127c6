"""Why was an item recommended to a user: the topic paths and shared-user paths that connect them in
the graph (Cypher), with the run's score and rank where write-back stored them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphrec.errors import InputDataError
from graphrec.store import cypher

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.store.bolt import GraphStore


@dataclass
class Explanation:
    """The evidence behind ``user`` → ``item``.

    Attributes:
        recommendation: ``{score, rank, run, title}`` of the RECOMMENDED edge, or ``None`` if the
            current write-back did not put the item in the user's top K.
        topic_paths: Per shared topic: label, source, how many of the user's items lead to it
            (``via_items``, with examples), ``support`` (sum of membership weights along the paths)
            and the user's learned ``affinity`` (INTERESTED_IN score) where written.
        shared_users: Per item of the user: how many other users interacted with it and with the item.
    """

    user: str
    scenario: str
    item: str
    title: str | None
    recommendation: dict[str, Any] | None
    topic_paths: list[dict[str, Any]] = field(default_factory=list)
    shared_users: list[dict[str, Any]] = field(default_factory=list)


def explain(
    store: GraphStore, *, user: str, scenario: str, item: str, from_scenario: str | None = None, limit: int = 10
) -> Explanation:
    """Collect the paths that support recommending ``item`` (of ``scenario``) to ``user``.

    Args:
        from_scenario: Only paths that start from the user's items of this scenario (e.g. the source
            scenario, for a user the model saw as cold in the target); default all.
        limit: Paths of each kind.

    Raises:
        InputDataError: Unknown user or item.
    """
    params = {"user": user, "scenario": scenario, "item": item, "from_scenario": from_scenario, "limit": limit}
    if not store.read(cypher.USER_EXISTS, params)[0]["n"]:
        raise InputDataError(f"user {user!r} is not in the graph; check the id (raw ids as ingested)")
    found = store.read(cypher.ITEM_TITLE, params)
    if not found:
        raise InputDataError(f"item {item!r} of scenario {scenario!r} is not in the graph; check the id and --scenario")
    rec = store.read(cypher.EXPLAIN_RECOMMENDATION, params)
    return Explanation(
        user=user,
        scenario=scenario,
        item=item,
        title=found[0]["title"],
        recommendation=rec[0] if rec else None,
        topic_paths=store.read(cypher.EXPLAIN_TOPIC_PATHS, params),
        shared_users=store.read(cypher.EXPLAIN_SHARED_USERS, params),
    )
