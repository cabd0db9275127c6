"""Metadata topics: categories/genres already in the data (``Item.categories``) become topics."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ingest.topics.base import TopicSet, labelled_topics

SOURCE = "metadata"


def metadata_topics(rows: Iterable[Mapping[str, Any]], *, min_items: int = 2) -> TopicSet:
    """One topic per category held by at least ``min_items`` items (a category of one item links nothing).

    Args:
        rows: ``{scenario, id, categories}`` per item.
        min_items: Minimum items per kept category (default 2).

    See :func:`ingest.topics.base.labelled_topics` for weights and the counts in ``meta``.
    """
    return labelled_topics(SOURCE, ((r["scenario"], r["id"], r["categories"] or []) for r in rows), min_items=min_items)
