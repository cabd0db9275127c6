"""A training run's result in memory: what a run folder holds, before (or after) it is written.

:func:`record_run` turns a fitted model into a :class:`RunRecord` (embeddings with their raw ids, the
split, config, metrics, curves and weights); serving, write-back and evaluation read only the record,
so a freshly trained run is used as it is, and :func:`graphrec.train.rundir.write_run` /
:func:`~graphrec.train.rundir.load_run` move it to and from disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from graphrec.errors import ConfigError, TrainingDivergedError
from graphrec.results import run_metadata

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split
    from graphrec.eval.ranking import ScoreFn
    from graphrec.serve.foldin import FoldIn
    from graphrec.train.config import TrainConfig
    from graphrec.train.fitted import Fitted

SELECTIONS = ("item_gate", "cold_path", "channels", "refit")
"""Choices a training made on validation (``TrainResult.config`` keys), saved in ``metrics.json["selected"]``."""


@dataclass
class RunRecord:
    """A training run: embeddings, ids, split, config and metrics (in memory, or read from a folder).

    Attributes:
        name: The run's id, written as ``run`` on RECOMMENDED edges (its folder's name once saved).
        config: Model spec, training config, split meta, target/source (``config.json``).
        metrics: Run metadata, test metrics per slice, selections and history (``metrics.json``).
        user, item, topic: Final embeddings, rows aligned with ``user_ids`` / ``item_keys`` / ``topic_ids``.
        train, val, test: The split's ``(2, n)`` pairs of export rows.
        slices: User rows per slice (``cold``, ``warm``...).
        state: The model's ``state_dict``, on the CPU (``None`` for a model without weights, or a run read from disk:
            :func:`~graphrec.train.rundir.load_checkpoint` reads it).
        path: The run folder once saved or loaded; ``None`` for a run only in memory.
        fold_in: How the model embeds a user it has never seen from their items
            (:class:`~graphrec.serve.foldin.FoldIn`); ``None`` for a run saved without it.
    """

    name: str
    config: dict[str, Any]
    metrics: dict[str, Any]
    user: np.ndarray
    item: np.ndarray
    topic: np.ndarray
    user_ids: list[str]
    item_keys: list[tuple[str, str]]
    topic_ids: list[str]
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    slices: dict[str, np.ndarray] = field(default_factory=dict)
    state: dict[str, Any] | None = None
    path: Path | None = None
    fold_in: FoldIn | None = None

    @property
    def has_embeddings(self) -> bool:
        """Whether the embeddings are the model's own (``False`` for a ranking-only model such as
        popularity, whose 1-d "embeddings" only reproduce its ranking and are not written to the graph)."""
        return bool(self.config.get("embeddings", True))

    def score_fn(self, device: torch.device | None = None) -> ScoreFn:
        """Dot-product scores over the embeddings (what serving and ``evaluate`` rank by), on ``device``
        (default: the CPU; the embeddings are copied there once)."""
        import torch

        from graphrec.eval.ranking import dot_product_scores

        users, items = torch.from_numpy(self.user), torch.from_numpy(self.item)
        if device is not None:
            users, items = users.to(device), items.to(device)
        return dot_product_scores(users, items)

    @cached_property
    def _user_rows(self) -> dict[str, int]:
        return {u: k for k, u in enumerate(self.user_ids)}

    @cached_property
    def _item_scenarios(self) -> np.ndarray:
        return np.array([s for s, _ in self.item_keys])

    @cached_property
    def _known_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Every interaction's item row, grouped by user, and each user's start offset in it."""
        pairs = np.concatenate([self.train, self.val, self.test], axis=1)
        order = np.argsort(pairs[0], kind="stable")
        return pairs[1, order], np.searchsorted(pairs[0, order], np.arange(len(self.user_ids) + 1))

    @cached_property
    def _item_rows(self) -> dict[tuple[str, str], int]:
        return {key: k for k, key in enumerate(self.item_keys)}

    @cached_property
    def _item_rows_by_id(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for k, (_, item) in enumerate(self.item_keys):
            out.setdefault(item, []).append(k)
        return out

    def item_row(self) -> dict[tuple[str, str], int]:
        """``{(scenario, raw item id): row}`` (built once per run)."""
        return self._item_rows

    def item_rows_by_id(self) -> dict[str, list[int]]:
        """``{raw item id: rows}`` over every scenario (an id may name items of several)."""
        return self._item_rows_by_id

    def user_row(self) -> dict[str, int]:
        """``{raw user id: row}`` (built once per run)."""
        return self._user_rows

    def scenario_mask(self, scenario: str) -> np.ndarray:
        """Bool mask of the items of ``scenario``.

        Raises:
            ConfigError: The run has no item of that scenario.
        """
        mask = self._item_scenarios == scenario
        if not mask.any():
            names = sorted(set(self._item_scenarios.tolist()))
            raise ConfigError(f"scenario {scenario!r} has no items in run {self.name}; it has {names}")
        return mask

    def known_items(self, rows: Sequence[int]) -> dict[int, set[int]]:
        """``{user row: every item it interacted with in the run's graph}`` (train, validation and test:
        serving never recommends those) for ``rows``; the per-user index is built once per run."""
        items, starts = self._known_index
        return {r: set(items[starts[r] : starts[r + 1]].tolist()) for r in rows}


def non_finite(emb: dict[str, np.ndarray]) -> str | None:
    """``"<n> of <m> <kind> embeddings"`` for the first of ``emb`` (``{"user" | "item" | "topic": array}``)
    with rows holding NaN or inf; ``None`` when all are finite."""
    for kind, x in emb.items():
        finite = np.isfinite(x)
        bad = ~finite.all(axis=tuple(range(1, x.ndim))) if x.ndim > 1 else ~finite
        if bad.any():
            return f"{int(bad.sum())} of {len(bad)} {kind} embeddings"
    return None


def record_run(
    fitted: Fitted,
    export: GraphExport,
    split: Split,
    config: TrainConfig,
    *,
    name: str,
    target: str,
    source: str | None,
    extra: dict[str, Any] | None = None,
) -> RunRecord:
    """The :class:`RunRecord` of a fitted model: its embeddings (a ranking-only model gets 1-d ones that
    reproduce its ranking), the split, the run config and the metrics with their metadata.

    Args:
        name: The run's id (its folder's name when it is saved).
        target, source: The scenarios recorded in the config.
        extra: More config entries (e.g. ``{"store": agent}``).

    Raises:
        TrainingDivergedError: An embedding is not finite.
        ConfigError: A closed-form reference model (no embeddings; see ``GNN_MODELS``).
    """
    from graphrec.train.foldin import fold_in_parts  # torch: only where a model was fitted

    emb = fitted.embeddings()
    own = bool(emb)
    if not own:  # a ranking-only model: 1-d "embeddings" that reproduce its scores (popularity's counts)
        if fitted.popularity is None:
            raise ConfigError(
                f"model {fitted.spec.name!r} scores users without embeddings, so it has no run to record; "
                "train a GNN preset or popularity (graphrec.models.presets.GNN_MODELS)"
            )
        emb = {
            "user": np.ones((len(export.user_ids), 1), dtype=np.float32),
            "item": fitted.popularity.numpy()[:, None].astype(np.float32),
            "topic": np.zeros((0, 1), dtype=np.float32),
        }
    bad = non_finite(emb)
    if bad:
        raise TrainingDivergedError(
            f"{bad} of the trained model are not finite (NaN or inf): training diverged; nothing was saved. "
            f"Retrain with a lower learning rate (graphrec train --lr; this run used {config.lr:g})"
        )
    result = fitted.result
    run_config = {
        "model": asdict(fitted.spec),
        "train": asdict(config),
        "split": split.meta,
        "target": target,
        "source": source,
        **({} if own else {"embeddings": False}),
        **(extra or {}),
    }
    metrics = run_metadata(
        run=name,
        metrics=fitted.metrics,
        best_epoch=result.best_epoch if result else None,
        best_val=result.best_val if result else None,
        seconds_per_epoch=result.seconds_per_epoch if result else None,
        selected={k: v for k, v in (result.config if result else {}).items() if k in SELECTIONS},
        history=result.history if result else [],
    )
    return RunRecord(
        name=name,
        config=run_config,
        metrics=metrics,
        user=emb["user"],
        item=emb["item"],
        topic=emb["topic"],
        user_ids=list(export.user_ids),
        item_keys=list(export.item_keys),
        topic_ids=list(export.topic_ids) if len(emb["topic"]) else [],
        train=split.train,
        val=split.val,
        test=split.test,
        slices=dict(split.slices),
        state=None if fitted.model is None else {k: v.cpu() for k, v in fitted.model.state_dict().items()},
        fold_in=fold_in_parts(fitted, export, width=emb["user"].shape[1]),
    )
