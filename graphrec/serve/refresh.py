"""Items added after training, made servable without retraining (``graphrec refresh``).

An item ingested after the run was trained has text (``graphrec embed`` gave it features) and perhaps topics
(``graphrec topics``), but no interaction and no trained ID vector. The model embeds such an item the way it
embeds an item nobody has interacted with: its knowledge channel's layer 0 is the trained projection of its
text, propagated over its topic edges with the topics' trained layers; the routed model's item gate is 0 for
it (the collaborative channel's part and the popularity prior vanish) and its text block is its unit text
vector less its scenario's mean. :func:`add_items` appends such items to a run (embeddings and fold-in
parts), so they are recommended, and a history that names them folds in.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from graphrec.errors import ConfigError
from graphrec.serve.foldin import ChannelFoldIn, FoldIn

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.export import GraphExport
    from graphrec.features import ItemFeatures
    from graphrec.train.record import RunRecord

logger = logging.getLogger(__name__)


def _channel_items(
    ch: ChannelFoldIn, x: np.ndarray, topic_edges: np.ndarray, topic_weight: np.ndarray, *, text: bool
) -> tuple[np.ndarray, ChannelFoldIn]:
    """Final embeddings ``[n, dim]`` of ``n`` new items in one channel, and the channel with their layers
    appended. ``topic_edges`` ``[2, m]`` (new item index, topic row) with ``topic_weight`` ``[m]``."""
    n, num_layers, dim = len(x), ch.item_layers.shape[0], ch.dim
    h = np.zeros((n, dim), dtype=np.float32)
    if text and ch.item_proj is not None:
        h = (x @ ch.item_proj.T).astype(np.float32)
    degree = np.zeros(n, dtype=np.float64)
    usable = ch.topic_layers is not None and ch.topic_inv_sqrt_degree is not None and topic_edges.shape[1] > 0
    if usable:
        np.add.at(degree, topic_edges[0], topic_weight)
    inv_sqrt = np.where(degree > 0, 1.0 / np.sqrt(np.where(degree > 0, degree, 1.0)), 1.0).astype(np.float32)
    layers = [h]
    for level in range(num_layers):
        nxt = np.zeros((n, dim), dtype=np.float32)
        if usable:
            assert ch.topic_layers is not None and ch.topic_inv_sqrt_degree is not None
            item, topic = topic_edges
            w = (topic_weight * inv_sqrt[item] * ch.topic_inv_sqrt_degree[topic]).astype(np.float32)
            np.add.at(nxt, item, w[:, None] * ch.topic_layers[level][topic])
        layers.append(nxt)
    final = np.mean(layers, axis=0).astype(np.float32)
    grown = dataclasses.replace(
        ch,
        item_layers=np.concatenate([ch.item_layers, np.stack(layers[:num_layers])], axis=1),
        inv_sqrt_degree=np.concatenate([ch.inv_sqrt_degree, inv_sqrt]),
    )
    return final, grown


def add_items(
    run: RunRecord,
    keys: list[tuple[str, str]],
    x: np.ndarray,
    *,
    topic_edges: np.ndarray | None = None,
    topic_weight: np.ndarray | None = None,
) -> RunRecord:
    """``run`` with new items appended (rows after the trained ones: every saved row index stays valid).

    Args:
        keys: ``(scenario, raw id)`` of each new item; scenarios must be the run's.
        x: Their text features ``[n, d_text]`` (``graphrec embed``; zero rows for items without text).
        topic_edges: int64 ``[2, m]`` (index into ``keys``, topic row of the run) HAS_TOPIC edges; default none.
        topic_weight: Their membership weights ``[m]`` (default 1).

    Raises:
        ConfigError: The run has no fold-in parts, an item is already in the run, or a scenario is not the run's.
    """
    fold = run.fold_in
    if fold is None:
        raise ConfigError(f"run {run.name} has no fold-in parts, so items cannot be added; retrain it")
    known = run.item_row()
    dup = [k for k in keys if k in known]
    if dup:
        raise ConfigError(f"{len(dup)} item(s) are already in run {run.name} (e.g. {dup[:3]})")
    scenarios = list(fold.scenarios)
    bad = sorted({s for s, _ in keys} - set(scenarios))
    if bad:
        raise ConfigError(f"scenario(s) {bad} are not in run {run.name}; it has {scenarios}")
    scen = np.array([scenarios.index(s) for s, _ in keys], dtype=np.int64)
    target = np.array([run.config.get("target") == s for s, _ in keys], dtype=bool)
    vectors, grown = item_vectors(fold, scen, target, x, topic_edges=topic_edges, topic_weight=topic_weight)
    if vectors.shape[1] != run.item.shape[1]:
        raise ConfigError(f"new items get {vectors.shape[1]}-column vectors, the run's are {run.item.shape[1]}")
    logger.info("added %d item(s) to run %s", len(keys), run.name)
    return dataclasses.replace(
        run, item=np.concatenate([run.item, vectors]), item_keys=[*run.item_keys, *keys], fold_in=grown
    )


def item_vectors(
    fold: FoldIn,
    scenario: np.ndarray,
    target: np.ndarray,
    x: np.ndarray,
    *,
    topic_edges: np.ndarray | None = None,
    topic_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, FoldIn]:
    """Item vectors ``[n, width]`` of ``n`` items without interactions (see the module docstring), and
    ``fold`` with them appended (so a history may name them).

    Args:
        scenario: Each item's scenario index (in ``fold.scenarios``).
        target: Whether each item is of the run's target scenario.
        x, topic_edges, topic_weight: See :func:`add_items`.
    """
    n = len(x)
    edges = np.zeros((2, 0), dtype=np.int64) if topic_edges is None else np.asarray(topic_edges, dtype=np.int64)
    weight = np.ones(edges.shape[1], dtype=np.float32) if topic_weight is None else np.asarray(topic_weight, np.float32)
    scen = scenario
    unit = x.astype(np.float32) / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12).astype(np.float32)
    channels = dict(fold.channels)
    blocks = dict(fold.blocks)
    if fold.kind == "ranking":
        vectors = np.zeros((n, fold.width), dtype=np.float32)  # popularity: no interaction, count 0
    elif fold.kind == "single":
        vectors, channels["model"] = _channel_items(channels["model"], x, edges, weight, text=True)
    else:
        k, channels["knowledge"] = _channel_items(channels["knowledge"], x, edges, weight, text=True)
        no_edges = edges[:, :0]
        _, channels["collaborative"] = _channel_items(channels["collaborative"], x, no_edges, weight[:0], text=False)
        zeros = np.zeros((n, k.shape[1]), dtype=np.float32)
        parts = [k, zeros, zeros, np.zeros((n, 1), dtype=np.float32)]  # gate 0: no collaborative part, prior 0
        for name in ("bridge_proj", "ease_user_map"):
            if name in blocks:
                parts.append(np.zeros((n, blocks[name].shape[1]), dtype=np.float32))
        if "ease_user_map" in blocks:
            blocks["ease_user_map"] = np.concatenate([blocks["ease_user_map"], parts[-1]])
        if "text_user_map" in blocks:
            parts.append(unit - blocks["text_scenario_means"][scen])
            blocks["text_user_map"] = np.concatenate([blocks["text_user_map"], unit])
        vectors = np.concatenate(parts, axis=1)
    grown = dataclasses.replace(
        fold, target_items=np.concatenate([fold.target_items, target]), channels=channels, blocks=blocks
    )
    return vectors, grown


@dataclass(frozen=True)
class RefreshReport:
    """What :func:`refresh_run` added and what it could not (nothing is dropped silently).

    Attributes:
        added: ``(scenario, id)`` of the items appended to the run.
        without_features: Items of the graph the run lacks that have no text features (run ``graphrec embed``).
        unknown_topic_edges: HAS_TOPIC edges of added items to topics the run does not know (topics made after
            training: they reach the model at the next training).
        without_topics: Added items without any usable topic edge (placed by their text alone).
    """

    added: list[tuple[str, str]] = field(default_factory=list)
    without_features: list[tuple[str, str]] = field(default_factory=list)
    unknown_topic_edges: int = 0
    without_topics: int = 0


def refresh_run(run: RunRecord, export: GraphExport, features: ItemFeatures) -> tuple[RunRecord, RefreshReport]:
    """``run`` with every item of ``export`` (the graph now) that it lacks, in its scenarios, appended by
    :func:`add_items` from their text ``features`` and their HAS_TOPIC edges to the run's topics.

    Raises:
        ConfigError: See :func:`add_items`.
    """
    known = run.item_row()
    scenarios = {s for s, _ in run.item_keys}
    missing = [r for r, key in enumerate(export.item_keys) if key not in known and key[0] in scenarios]
    row = features.row_of()
    with_features = [r for r in missing if export.item_keys[r] in row]
    report = RefreshReport(without_features=[export.item_keys[r] for r in missing if export.item_keys[r] not in row])
    if not with_features:
        return run, report
    keys = [export.item_keys[r] for r in with_features]
    x = features.x[[row[k] for k in keys]]
    position = {r: k for k, r in enumerate(with_features)}
    topic_row = {t: k for k, t in enumerate(run.topic_ids)}
    on = np.isin(export.has_topic[0], with_features)
    items, topics, weights = export.has_topic[0, on], export.has_topic[1, on], export.has_topic_weight[on]
    usable = np.array([export.topic_ids[t] in topic_row for t in topics], dtype=bool)
    edges = np.array(
        [[position[int(i)] for i in items[usable]], [topic_row[export.topic_ids[t]] for t in topics[usable]]],
        dtype=np.int64,
    ).reshape(2, -1)
    grown = add_items(run, keys, x, topic_edges=edges, topic_weight=weights[usable])
    report = dataclasses.replace(
        report,
        added=keys,
        unknown_topic_edges=int((~usable).sum()),
        without_topics=len(keys) - len(np.unique(edges[0])),
    )
    return grown, report
