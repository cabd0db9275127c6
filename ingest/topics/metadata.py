"""Metadata topics: categories/genres already in the data (``Item.categories``) become topics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ingest.topics.base import Membership, Topic, TopicSet

SOURCE = "metadata"


def metadata_topics(rows: Iterable[Mapping[str, Any]], *, min_items: int = 2) -> TopicSet:
    """One topic per category held by at least ``min_items`` items (a category of one item links nothing).

    Args:
        rows: ``{scenario, id, categories}`` per item.
        min_items: Minimum items per kept category (default 2).

    An item's membership weight is ``1 / (number of its kept categories)``. Dropped categories and
    items left without any are counted in ``meta``.
    """
    items = [(r["scenario"], r["id"], list(dict.fromkeys(r["categories"] or []))) for r in rows]
    sizes = Counter(c for _, _, cats in items for c in cats)
    kept = {c for c, n in sizes.items() if n >= min_items}
    memberships = []
    without = 0
    for scenario, item, cats in items:
        mine = [c for c in cats if c in kept]
        without += not mine
        memberships += [Membership(scenario, item, f"{SOURCE}:{c}", round(1 / len(mine), 4), SOURCE) for c in mine]
    topics = [Topic(f"{SOURCE}:{c}", c, SOURCE, (c,), sizes[c]) for c in sorted(kept)]
    return TopicSet(
        SOURCE,
        topics,
        memberships,
        meta={"min_items": min_items, "dropped_categories": len(sizes) - len(kept), "items_without_kept_category": without},
    )
