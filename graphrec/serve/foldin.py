"""Fold-in: embed a user the model has never seen from the items they interacted with (any scenario),
with the trained weights and without retraining, and rank the target scenario's items for them.

A trained LightGCN-style channel embeds a user as the mean of its layers ``e⁰ … eᴸ``, with
``eˡ⁺¹ = Σ_i hᵢˡ / √(d_u d_i)`` over the user's items (``hᵢˡ`` the items' layer-``l`` embeddings, ``d`` the
degrees of the graph it was trained on) and ``e⁰`` its ID embedding. A new user has no ID embedding:
:class:`ChannelFoldIn` propagates from the items' saved layers and estimates ``e⁰`` from the propagated part
by a ridge map fitted, at training time, on the users the channel serves (no interaction of the new user
enters any weight). The routed model (:mod:`graphrec.models.routed`) then assembles the user's vector
exactly as it does for a user in the graph: a user without a target item in their history takes the
cold route (knowledge channel, cold users' popularity prior, the kernel-ridge bridge from their source
history, the text block), the others the warm route (both channels, the EASE block, the text block). The
closed-form blocks are linear in the history and reproduce a user in the graph exactly; the channels
reproduce one up to the ID estimate (``tests/unit/test_foldin.py`` checks both).

Everything here is NumPy: serving folds users in without torch. The parts are built from a fitted model
by :func:`graphrec.train.foldin.fold_in_parts` and saved in a run folder as ``foldin.npz``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from graphrec.errors import ConfigError, InputDataError, RunFolderError
from graphrec.home import replace_private

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.serve.recommend import Recommendation
    from graphrec.train.record import RunRecord

logger = logging.getLogger(__name__)

FOLD_IN_FILE = "foldin.npz"
"""The fold-in parts in a run folder."""


@dataclass(frozen=True)
class ChannelFoldIn:
    """What one LightGCN-style channel needs to embed a user from its items.

    Attributes:
        item_layers: float32 ``[L, num_items, dim]``: every item's layers ``0 … L−1`` on the trained graph.
        inv_sqrt_degree: float32 ``[num_items]``: ``1/√d_i`` of the trained graph (1 for an item without edges:
            the new user's is its only one).
        id_map: float32 ``[dim, dim]``: ridge map from a user's propagated part ``Σ_{l≥1} eˡ`` to its layer-0
            ID embedding, or ``None`` for a channel without user IDs.
        items_mean: Layer 0 includes the mean of the user's items' layer 0 (users ``"items"`` / ``"id+items"``).
        item_proj: float32 ``[dim, d_text]``: the trained projection of item text features into layer 0 (a
            channel with text features; ``None`` otherwise): how an item added after training is embedded.
        topic_layers: float32 ``[L, num_topics, dim]``: the topics' layers ``0 … L−1`` (a channel with topics).
        topic_inv_sqrt_degree: float32 ``[num_topics]``: ``1/√d_t`` of the trained graph.
    """

    item_layers: np.ndarray
    inv_sqrt_degree: np.ndarray
    id_map: np.ndarray | None = None
    items_mean: bool = False
    item_proj: np.ndarray | None = None
    topic_layers: np.ndarray | None = None
    topic_inv_sqrt_degree: np.ndarray | None = None

    @property
    def dim(self) -> int:
        """Embedding size."""
        return int(self.item_layers.shape[2])

    def propagated(self, items: np.ndarray) -> list[np.ndarray]:
        """The user's layers ``e¹ … eᴸ`` (each float32 ``[dim]``) from its item rows ``items`` (non-empty)."""
        weight = self.inv_sqrt_degree[items] / np.float32(np.sqrt(len(items)))
        return [weight @ layer[items] for layer in self.item_layers]

    def user(self, items: np.ndarray, *, id_embedding: np.ndarray | None = None) -> np.ndarray:
        """The user's final embedding (mean of layers ``0 … L``) from its item rows ``items``.

        Args:
            items: Item rows of the user's history in this channel's graph (empty: a zero vector).
            id_embedding: The user's own ID embedding where it has one (a user in the graph: the fold-in then
                reproduces its embedding); default the ridge estimate.
        """
        if not len(items):
            return np.zeros(self.dim, dtype=np.float32)
        layers = self.propagated(items)
        rest = np.sum(layers, axis=0)
        h0 = np.zeros(self.dim, dtype=np.float32)
        if id_embedding is not None:
            h0 = h0 + id_embedding
        elif self.id_map is not None:
            h0 = h0 + rest @ self.id_map
        if self.items_mean:
            h0 = h0 + self.item_layers[0][items].mean(0)
        return ((h0 + rest) / np.float32(len(layers) + 1)).astype(np.float32)


@dataclass(frozen=True)
class FoldIn:
    """A run's fold-in: how its model embeds a user from a history (see the module docstring).

    Attributes:
        kind: ``"routed"`` (:class:`~graphrec.models.routed.RoutedLightGCN`), ``"single"`` (one channel: the
            user's vector is the channel's embedding) or ``"ranking"`` (popularity: every user gets ``[1]``).
        width: Columns of the run's user vectors.
        target_items: Bool ``[num_items]``: the items that make a user warm (the target scenario's).
        channels: ``{"knowledge": …, "collaborative": …}`` (routed) or ``{"model": …}`` (single).
        weights: ``prior``, ``cold_prior``, ``bridge``, ``ease``, ``text`` (routed; absent blocks 0).
        blocks: Optional arrays: ``bridge_source_items`` (int64 item rows of the bridge's source columns),
            ``bridge_proj`` (float32 ``[n_source, r]``), ``bridge_source_ease`` (``[n_source, n_source]``, with
            ``bridge_gamma`` > 0), ``ease_user_map`` (``[num_items, r]``: a warm user sums its items' rows),
            ``text_user_map`` (``[num_items, d]``: a user is the mean of its items' unit text vectors),
            ``text_proj`` (``[d, d]``, optional: the text map that mean goes through,
            :mod:`graphrec.models.text_map`),
            ``text_scenario_means`` (``[len(scenarios), d]``: each scenario's mean unit text vector, which the
            text block's items are centred on).
        bridge_gamma: The bridge's source smoothing ``γ``.
        scenarios: The graph's scenarios, in the order of ``text_scenario_means``.
    """

    kind: str
    width: int
    target_items: np.ndarray
    channels: dict[str, ChannelFoldIn] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    blocks: dict[str, np.ndarray] = field(default_factory=dict)
    bridge_gamma: float = 0.0
    scenarios: tuple[str, ...] = ()

    def is_cold(self, items: np.ndarray) -> bool:
        """Whether a history of item rows ``items`` has no target item (the cold route)."""
        return not bool(self.target_items[items].any())

    def user_vector(self, items: np.ndarray, *, id_embeddings: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """The user vector (float32 ``[width]``) of a history of item rows ``items`` (each once).

        Args:
            items: Item rows (int64, unique).
            id_embeddings: ``{channel: the user's own ID embedding}`` for a user in the graph (tests: the
                fold-in then reproduces its vector); default the ridge estimates.
        """
        items = np.unique(np.asarray(items, dtype=np.int64))
        ids = id_embeddings or {}
        if self.kind == "ranking":
            return np.ones(self.width, dtype=np.float32)
        if self.kind == "single":
            return self.channels["model"].user(items, id_embedding=ids.get("model"))
        know = self.channels["knowledge"]
        cold = self.is_cold(items)
        k = know.user(items, id_embedding=ids.get("knowledge"))
        parts = [k]
        if cold:
            parts += [np.zeros(know.dim, np.float32), np.zeros(know.dim, np.float32)]
        else:
            c = self.channels["collaborative"].user(items, id_embedding=ids.get("collaborative"))
            parts += [c, -k]
        parts.append(np.array([self.weights["cold_prior" if cold else "prior"]], dtype=np.float32))
        if "bridge_proj" in self.blocks:
            b = self._bridge(items) if cold else np.zeros(self.blocks["bridge_proj"].shape[1], np.float32)
            parts.append(np.float32(self.weights["bridge"]) * b)
        if "ease_user_map" in self.blocks:
            ease_map = self.blocks["ease_user_map"]
            e = np.zeros(ease_map.shape[1], np.float32) if cold else ease_map[items].sum(0)
            parts.append(np.float32(self.weights["ease"]) * e)
        if "text_user_map" in self.blocks:
            text_map = self.blocks["text_user_map"]
            p = text_map[items].mean(0) if len(items) else np.zeros(text_map.shape[1], np.float32)
            if "text_proj" in self.blocks:
                p = p @ self.blocks["text_proj"]
            parts.append(np.float32(self.weights["text"]) * p)
        out = np.concatenate(parts).astype(np.float32)
        if out.shape != (self.width,):  # a run folder that does not match its model: say so, never rank garbage
            raise RunFolderError(f"fold-in gives a {out.shape[0]}-column user vector, the run's are {self.width}")
        return out

    def _bridge(self, items: np.ndarray) -> np.ndarray:
        """The bridge's user factor: the smoothed source profile ``x + γ·x·B_S`` (L2-normalised) times its map."""
        source = self.blocks["bridge_source_items"]
        cols = np.flatnonzero(np.isin(source, items))
        proj = self.blocks["bridge_proj"]
        if not len(cols):
            return np.zeros(proj.shape[1], dtype=np.float32)
        z = np.zeros(len(source), dtype=np.float32)
        z[cols] = 1.0
        if self.bridge_gamma and "bridge_source_ease" in self.blocks:
            z += np.float32(self.bridge_gamma) * self.blocks["bridge_source_ease"][cols].sum(0)
        norm = float(np.linalg.norm(z))
        return ((z / norm) @ proj).astype(np.float32) if norm > 0 else np.zeros(proj.shape[1], np.float32)

    # -- run folder ----------------------------------------------------------------------------------------
    def save(self, run_dir: Path) -> Path:
        """Write ``foldin.npz`` into ``run_dir``."""
        arrays: dict[str, Any] = {
            "kind": np.array(self.kind),
            "width": np.array(self.width),
            "target_items": self.target_items,
            "bridge_gamma": np.array(self.bridge_gamma),
            "weight_names": np.array(sorted(self.weights), dtype=str),
            "weight_values": np.array([self.weights[k] for k in sorted(self.weights)], dtype=np.float64),
            "scenarios": np.array(self.scenarios, dtype=str),
        }
        for name, ch in self.channels.items():
            arrays[f"channel/{name}/item_layers"] = ch.item_layers
            arrays[f"channel/{name}/inv_sqrt_degree"] = ch.inv_sqrt_degree
            arrays[f"channel/{name}/items_mean"] = np.array(ch.items_mean)
            for part in ("id_map", "item_proj", "topic_layers", "topic_inv_sqrt_degree"):
                if getattr(ch, part) is not None:
                    arrays[f"channel/{name}/{part}"] = getattr(ch, part)
        for name, value in self.blocks.items():
            arrays[f"block/{name}"] = value
        path = run_dir / FOLD_IN_FILE
        replace_private(path, lambda f: np.savez(f, **arrays))
        return path

    @classmethod
    def load(cls, run_dir: Path) -> FoldIn | None:
        """The fold-in parts of ``run_dir``, or ``None`` for a run saved without them.

        Raises:
            RunFolderError: The file is there but unreadable.
        """
        path = run_dir / FOLD_IN_FILE
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in z.files}
        except (OSError, ValueError) as e:
            raise RunFolderError(f"cannot read {path}: {e}; retrain to write it again") from e
        channels: dict[str, dict[str, Any]] = {}
        blocks: dict[str, np.ndarray] = {}
        for key, value in data.items():
            if key.startswith("channel/"):
                _, name, part = key.split("/", 2)
                channels.setdefault(name, {})[part] = value
            elif key.startswith("block/"):
                blocks[key.split("/", 1)[1]] = value
        return cls(
            kind=str(data["kind"]),
            width=int(data["width"]),
            target_items=data["target_items"].astype(bool),
            channels={
                name: ChannelFoldIn(
                    item_layers=p["item_layers"],
                    inv_sqrt_degree=p["inv_sqrt_degree"],
                    id_map=p.get("id_map"),
                    items_mean=bool(p["items_mean"]),
                    item_proj=p.get("item_proj"),
                    topic_layers=p.get("topic_layers"),
                    topic_inv_sqrt_degree=p.get("topic_inv_sqrt_degree"),
                )
                for name, p in channels.items()
            },
            weights=dict(zip(data["weight_names"].tolist(), data["weight_values"].tolist())),
            blocks=blocks,
            bridge_gamma=float(data["bridge_gamma"]),
            scenarios=tuple(data["scenarios"].tolist()) if "scenarios" in data else (),
        )


ItemRef = tuple[str | None, str]
"""An item of a history: ``(scenario or None, raw item id)``; without a scenario the id must name one item."""


def resolve_history(run: RunRecord, history: Sequence[ItemRef]) -> np.ndarray:
    """Item rows of ``history`` in ``run`` (unique, sorted).

    Raises:
        InputDataError: An empty history, an item the run does not know, or an id without a scenario
            that names items of several scenarios.
    """
    if not history:
        raise InputDataError("the history is empty; give at least one item the user interacted with")
    by_key = run.item_row()
    by_id = run.item_rows_by_id()
    rows: list[int] = []
    unknown: list[str] = []
    for scenario, item in history:
        if scenario is not None:
            row = by_key.get((scenario, item))
            if row is None:
                unknown.append(f"{scenario}:{item}")
            else:
                rows.append(row)
            continue
        found = by_id.get(item, [])
        if len(found) > 1:
            names = sorted(run.item_keys[r][0] for r in found)
            raise InputDataError(f"item id {item!r} names items of several scenarios ({names}); give its scenario too")
        if not found:
            unknown.append(item)
        else:
            rows.append(found[0])
    if unknown:
        raise InputDataError(
            f"{len(unknown)} item(s) of the history are not in run {run.name} (e.g. {unknown[:3]}); ingest them "
            "and retrain (or `graphrec refresh` new items), or drop them from the history"
        )
    return np.unique(np.asarray(rows, dtype=np.int64))


def fold_in_user(run: RunRecord, history: Sequence[ItemRef]) -> tuple[np.ndarray, np.ndarray]:
    """``(user vector [width], item rows of the history)`` of a user the run has never seen.

    Raises:
        ConfigError: The run has no fold-in parts (saved before fold-in existed, or a model without them).
        InputDataError: See :func:`resolve_history`.
    """
    fold = run.fold_in
    if fold is None:
        raise ConfigError(
            f"run {run.name} cannot fold in new users: it was saved without fold-in parts ({FOLD_IN_FILE}); "
            "retrain it with this version of graphrec"
        )
    rows = resolve_history(run, history)
    return fold.user_vector(rows), rows


def read_history(path: Path) -> list[ItemRef]:
    """A history file: one item per line, ``scenario,item_id`` or a bare ``item_id`` (then it must name one
    item of the run); an optional header line ``scenario,item_id`` or ``item_id``; blank lines and lines
    starting with ``#`` are ignored.

    Raises:
        InputDataError: The file cannot be read, a line has more than two fields, or it holds no item.
    """
    from graphrec.serve.recommend import data_lines

    out: list[ItemRef] = []
    lines = data_lines(
        path, what="history file", fix="one 'scenario,item_id' per line", headers=("scenario,item_id", "item_id")
    )
    for n, value in lines:
        fields = [f.strip() for f in value.split(",")]
        if len(fields) > 2 or not all(fields):
            raise InputDataError(f"{path}:{n}: {value!r} is not 'scenario,item_id' or 'item_id'; put one item per line")
        out.append((fields[0], fields[1]) if len(fields) == 2 else (None, fields[0]))
    if not out:
        raise InputDataError(f"history file {path} holds no item; put one 'scenario,item_id' per line")
    return out


def recommend_history(
    run: RunRecord, history: Sequence[ItemRef], *, scenario: str, k: int = 20, user_id: str = ""
) -> list[Recommendation]:
    """Top-``k`` items of ``scenario`` for a user the run has never seen, from their history (any scenario;
    the history's items are never recommended). The rows carry ``user_id`` (default ``""``).

    Raises:
        ConfigError: Unknown scenario, or a run without fold-in parts.
        InputDataError: A bad history (:func:`resolve_history`) or ``k`` < 1.
    """
    from graphrec.serve.recommend import Recommendation, top_positions

    if k < 1:
        raise InputDataError(f"k must be at least 1, got {k}")
    candidates = run.scenario_mask(scenario)
    user, rows = fold_in_user(run, history)
    scores = run.item @ user
    allowed = candidates.copy()
    allowed[rows] = False
    top = top_positions(np.where(allowed, scores, -np.inf), k)  # by score, ties by row (as the library's ranking)
    return [
        Recommendation(user_id, run.item_keys[i][1], rank, float(scores[i])) for rank, i in enumerate(top.tolist(), 1)
    ]
