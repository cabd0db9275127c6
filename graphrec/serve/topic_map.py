"""The service page's topic map: a run's topic embeddings projected to 2-D (PCA, seeded), each topic with
its size (member items) and scenario balance (share of its member items per scenario) from the graph.

Torch-free: it reads the run's topic arrays and ids, never the model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.decomposition import PCA

from graphrec.errors import ConfigError
from graphrec.store import cypher

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.store.bolt import GraphStore

logger = logging.getLogger(__name__)

#: Topics the map shows by default (the largest by member items); the rest are counted, not drawn.
DEFAULT_LIMIT = 500


@dataclass(frozen=True)
class TopicPoint:
    """One topic on the map.

    Attributes:
        id: The topic's id (as in the graph and the run).
        label: Its label in the graph, or ``None`` if the graph no longer holds the topic.
        x, y: Its place: the first two principal components of the run's topic embeddings, scaled
            together (one factor, so distances keep their proportions) into [-1, 1].
        items: Member items (``HAS_TOPIC``) in the graph.
        balance: ``{scenario: share of the member items}`` (sums to 1; empty without members).
    """

    id: str
    label: str | None
    x: float
    y: float
    items: int
    balance: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicMap:
    """The map: the topics drawn (largest first), how many the run has, and the run's scenarios."""

    run: str
    total: int
    scenarios: list[str]
    topics: list[TopicPoint]

    def as_json(self) -> dict[str, Any]:
        """The map as the JSON object ``GET /topic-map`` answers."""
        return asdict(self)


def project(embeddings: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """2-D coordinates of ``embeddings`` (``(n, d)``): their first two principal components, centred,
    divided by the largest absolute coordinate (so the map fits [-1, 1] with its proportions kept).

    Fewer than two components (one topic, or all topics equal along all but one direction) leave the
    missing axis at 0. Deterministic for a given ``seed`` (PCA's signs are fixed by scikit-learn).

    Raises:
        ConfigError: ``embeddings`` is not a finite 2-D array.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise ConfigError(f"topic embeddings must be a 2-D array (topics x dimensions), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ConfigError("topic embeddings hold NaN or inf; the run is damaged: retrain it (graphrec train)")
    out = np.zeros((len(x), 2))
    n_components = min(2, len(x), x.shape[1])
    if len(x) > 1 and n_components > 0 and float(np.ptp(x, axis=0).max()) > 0:
        coords = PCA(n_components=n_components, svd_solver="full", random_state=seed).fit_transform(x)
        out[:, :n_components] = coords
    scale = float(np.abs(out).max(initial=0.0))
    return out / scale if scale > 0 else out


def topic_members(store: GraphStore, topic_ids: Sequence[str]) -> dict[str, tuple[str | None, dict[str, int]]]:
    """``{topic id: (label, {scenario: member items})}`` from the graph, for the topics of ``topic_ids``
    it holds (an id the graph no longer has is absent)."""
    members: dict[str, tuple[str | None, dict[str, int]]] = {}
    for row in store.read(cypher.TOPIC_SCENARIO_ITEMS, {"ids": list(topic_ids)}):
        counts = members.setdefault(row["topic"], (row["label"], {}))[1]
        if row["scenario"] is not None and row["items"]:
            counts[row["scenario"]] = int(row["items"])
    return members


def build_topic_map(
    run: str,
    topic_ids: Sequence[str],
    embeddings: np.ndarray,
    members: Mapping[str, tuple[str | None, Mapping[str, int]]],
    *,
    limit: int = DEFAULT_LIMIT,
    seed: int = 0,
) -> TopicMap:
    """The map of a run's topics.

    The projection is of every topic of the run (so a topic's place does not depend on ``limit``); the
    ``limit`` largest by member items (then by id) are returned, largest first.

    Args:
        run: The run's name.
        topic_ids: The run's topic ids, aligned with ``embeddings``' rows.
        embeddings: The run's topic embeddings (``RunRecord.topic``).
        members: :func:`topic_members` of the graph; topics of the run it lacks get no label and no items.
        limit: Topics returned (at least 1).
        seed: PCA's seed.

    Raises:
        ConfigError: ``limit`` < 1, or ids and embeddings disagree in length.
    """
    if limit < 1:
        raise ConfigError(f"limit must be at least 1, got {limit}")
    if len(topic_ids) != len(embeddings):
        raise ConfigError(
            f"run {run} has {len(topic_ids)} topic ids but {len(embeddings)} topic embeddings; the run is damaged: "
            "retrain it (graphrec train)"
        )
    xy = project(embeddings, seed=seed) if len(topic_ids) else np.zeros((0, 2))
    missing = [t for t in topic_ids if t not in members]
    if missing:
        logger.warning(
            "%d of run %s's %d topics are no longer in the graph (e.g. %s): drawn without label or items",
            len(missing), run, len(topic_ids), missing[:3],
        )  # fmt: skip
    points = []
    for k, topic in enumerate(topic_ids):
        label, counts = members.get(topic, (None, {}))
        total = sum(counts.values())
        balance = {s: n / total for s, n in sorted(counts.items())} if total else {}
        points.append(TopicPoint(topic, label, float(xy[k, 0]), float(xy[k, 1]), total, balance))
    points.sort(key=lambda p: (-p.items, p.id))
    scenarios = sorted({s for _, counts in members.values() for s in counts})
    return TopicMap(run=run, total=len(points), scenarios=scenarios, topics=points[:limit])


def topic_map(
    store: GraphStore,
    run: str,
    topic_ids: Sequence[str],
    embeddings: np.ndarray,
    *,
    limit: int = DEFAULT_LIMIT,
    seed: int = 0,
) -> TopicMap:
    """:func:`build_topic_map` with the members read from ``store`` (one query)."""
    return build_topic_map(
        run, topic_ids, embeddings, topic_members(store, topic_ids) if topic_ids else {}, limit=limit, seed=seed
    )
