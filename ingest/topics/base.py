"""Topic records and writing them to the store."""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tqdm.auto import tqdm

from graphrec.store import cypher
from graphrec.store.bolt import GraphStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Topic:
    """A topic node.

    Attributes:
        id: Unique id, prefixed by its source (``discovered:12``, ``zero-shot:space opera``).
        label: Human-readable label.
        source: Extraction method (``discovered``, ``zero-shot``, ...).
        keywords: Top keywords, most specific first.
        size: Items assigned to it.
    """

    id: str
    label: str
    source: str
    keywords: tuple[str, ...] = ()
    size: int = 0


@dataclass(frozen=True)
class Membership:
    """An item's membership in a topic.

    Attributes:
        scenario: Item scenario.
        item: Raw item id.
        topic: Topic id.
        weight: Membership weight in (0, 1]; an item's weights within one source sum to at most 1.
        source: Extraction method.
    """

    scenario: str
    item: str
    topic: str
    weight: float
    source: str


@dataclass
class TopicSet:
    """Topics of one source and the memberships of items in them."""

    source: str
    topics: list[Topic] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


def labelled_topics(source: str, labelled: Iterable[tuple[str, str, Sequence[str]]], *, min_items: int = 2) -> TopicSet:
    """Topics from labels attached to items (categories, LLM answers): one topic per label that at
    least ``min_items`` items carry (a label of one item links nothing).

    Args:
        source: Topic source; ids are ``"<source>:<label>"``.
        labelled: ``(scenario, item, labels)`` per item.
        min_items: Minimum items per kept label (default 2).

    An item's membership weight is ``1 / (number of its kept labels)``. ``meta`` counts the dropped
    labels (``dropped_topics``) and the items left without any kept label (``items_without_kept_topic``).
    """
    items = [(scenario, item, list(dict.fromkeys(labels))) for scenario, item, labels in labelled]
    sizes = Counter(label for _, _, labels in items for label in labels)
    kept = {label for label, n in sizes.items() if n >= min_items}
    memberships = []
    without = 0
    for scenario, item, labels in items:
        mine = [label for label in labels if label in kept]
        without += not mine
        memberships += [Membership(scenario, item, f"{source}:{t}", round(1 / len(mine), 4), source) for t in mine]
    topics = [Topic(f"{source}:{t}", t, source, (t,), sizes[t]) for t in sorted(kept)]
    return TopicSet(
        source,
        topics,
        memberships,
        meta={"min_items": min_items, "dropped_topics": len(sizes) - len(kept), "items_without_kept_topic": without},
    )


def write_rows(
    store: GraphStore,
    query: str,
    rows: list[dict[str, Any]],
    *,
    desc: str,
    progress: bool = False,
    batch_size: int = 10_000,
) -> None:
    """Write ``rows`` with ``query`` in batches, with a progress bar named ``desc`` when ``progress``."""
    with tqdm(total=len(rows), desc=desc, unit="row", disable=not progress, leave=False) as bar:
        store.write_batches(query, rows, batch_size=batch_size, on_batch=bar.update)


def write_topics(
    store: GraphStore, topics: TopicSet, *, batch_size: int = 10_000, progress: bool = False
) -> dict[str, int]:
    """Replace the store's topics of ``topics.source`` with these (idempotent).

    Args:
        store: An open store.
        topics: The topics and memberships to write.
        batch_size: Rows per write transaction.
        progress: Show a progress bar per write.

    Returns:
        Counts: ``deleted`` old topic nodes, ``topics`` and ``memberships`` written.
    """
    logger.info(
        "writing %d %s topics and %d HAS_TOPIC edges", len(topics.topics), topics.source, len(topics.memberships)
    )
    deleted = store.delete_topics(topics.source)
    rows = [{**asdict(t), "keywords": list(t.keywords)} for t in topics.topics]
    write_rows(store, cypher.MERGE_TOPICS, rows, desc="Topic nodes", progress=progress, batch_size=batch_size)
    memberships = [asdict(m) for m in topics.memberships]
    write_rows(
        store, cypher.MERGE_HAS_TOPIC, memberships, desc="HAS_TOPIC edges", progress=progress, batch_size=batch_size
    )
    logger.info(
        "wrote %d %s topics, %d memberships (replaced %d)", len(rows), topics.source, len(topics.memberships), deleted
    )
    return {"deleted": deleted, "topics": len(rows), "memberships": len(topics.memberships)}


@dataclass(frozen=True)
class TopicSpread:
    """How a topic's items spread over scenarios.

    Attributes:
        id: Topic id.
        label: Topic label.
        source: Extraction method.
        items: Items per scenario.
        balance: Normalised entropy of that spread over ``n_scenarios`` scenarios: 0 when all items
            are in one scenario, 1 when they are spread evenly.
        bridge_score: Set by ``graphrec topics graph`` (:mod:`ingest.topics.graph`); ``None`` before.
    """

    id: str
    label: str
    source: str
    items: dict[str, int]
    balance: float
    bridge_score: float | None = None


def topic_spreads(
    store: GraphStore, *, source: str | None = None, scenarios: Sequence[str] | None = None
) -> list[TopicSpread]:
    """Read every topic's scenario spread from the store (largest topics first)."""
    per: dict[str, dict[str, Any]] = {}
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for r in store.stream(cypher.TOPIC_SPREAD, {"source": source}):
        per[r["id"]] = {"label": r["label"], "source": r["source"], "bridge_score": r["bridge_score"]}
        if r["scenario"] is not None:
            counts[r["id"]][r["scenario"]] = int(r["items"])
    all_scenarios = list(scenarios) if scenarios else sorted({s for c in counts.values() for s in c})
    out = []
    for tid, info in per.items():
        c = counts.get(tid, {})
        out.append(
            TopicSpread(
                tid, info["label"], info["source"], c, scenario_balance(c, len(all_scenarios)), info["bridge_score"]
            )
        )
    return sorted(out, key=lambda t: (-sum(t.items.values()), t.id))


def scenario_balance(counts: Mapping[str, int], n_scenarios: int) -> float:
    """Normalised entropy of items over ``n_scenarios`` scenarios: 0 = all in one, 1 = evenly spread."""
    total = sum(counts.values())
    if total == 0 or n_scenarios < 2:
        return 0.0
    entropy = -sum((c / total) * math.log(c / total) for c in counts.values() if c)
    return max(0.0, round(entropy / math.log(n_scenarios), 4))
