"""The cold path of a routed model (``graphrec``): where there are users to simulate (a coldstart split, or a
production split with a source) its knowledge channel trains on the graph without the simulated-cold
validation users' target interactions (:func:`cold_path_split`, :func:`cold_path_inputs`), early-stops on
them (:func:`select_cold_lr`), and cold users' popularity prior and bridge block are weighted on them
(:func:`select_cold_prior`), the weights carried over to the channel that serves (:func:`carried_cold_weights`).

Both choices are made on every validation user who is served as cold (:func:`cold_validation_targets`): the
simulated-cold ones and, where the split has them, validation users with no target training interaction
at all — in a sparse target (1–10% of its interactions) most users are, and the cold path's choices score
them too.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from graphrec.data.splits import (
    SIMULATED_COLD,
    SIMULATED_COLD_PROTOCOLS,
    cold_path_train,
    scenario_index,
    simulated_cold,
    simulated_cold_targets,
)
from graphrec.errors import ConfigError
from graphrec.eval.ranking import dot_product_scores, evaluate_ranking, group_by_user
from graphrec.train.inputs import build_inputs, build_lightgcn
from graphrec.train.selection import score_spread

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split
    from graphrec.models.bridge import BridgeModel
    from graphrec.models.presets import ModelSpec
    from graphrec.models.routed import RoutedLightGCN
    from graphrec.train.config import TrainConfig
    from graphrec.train.inputs import Inputs
    from graphrec.train.loop import TrainResult

logger = logging.getLogger(__name__)


COLD_PRIOR_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""Weights of the popularity prior of ``graphrec``'s cold users tried on simulated-cold users, relative
to the spread of the knowledge channel's scores (see :func:`select_cold_prior`; 8: popularity first)."""
BRIDGE_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 16.0)
"""Weights of the bridge block of ``graphrec``'s cold users tried on simulated-cold users (with a
``bridge`` rank; relative to the spread of the knowledge channel's scores, as the prior's)."""


def cold_path_split(export: GraphExport, split: Split, *, target: str) -> Split | None:
    """``split`` with a simulated-cold validation slice (:func:`~graphrec.data.splits.simulated_cold`,
    seeded by the split's seed) for a routed model's cold path, or ``None`` where there is none to make:
    not a cold-user or production split, no source scenario, or no shared user to simulate (logged)."""
    source = split.meta.get("source")
    if split.meta.get("protocol") not in SIMULATED_COLD_PROTOCOLS or not isinstance(source, str):
        return None
    if SIMULATED_COLD in split.slices:
        return split
    try:
        return simulated_cold(split, export, source=source, target=target, seed=int(split.meta.get("seed", 0)))
    except ConfigError as e:
        logger.warning("cold path selected on warm validation users only: %s", e)
        return None


def cold_validation_targets(split: Split, export: GraphExport, *, target: str) -> tuple[np.ndarray, dict[str, int]]:
    """The validation pairs a cold path is selected on: the simulated-cold ones
    (:func:`~graphrec.data.splits.simulated_cold_targets`) and the ``target`` validation pairs of the other
    users without any target training pair (:func:`~graphrec.data.splits.cold_path_train`) — users the
    routed model serves as cold too (none in a cold-user split, whose validation users are warm; most of a
    sparse target's). Returns ``(int64 [2, n] sorted pairs, counts)``, counts
    ``{"simulated_cold_users", "natural_cold_users", "natural_cold_pairs"}``.

    Raises:
        ConfigError: The split has no simulated-cold slice, or ``target`` is not a scenario of the graph.
    """
    simulated = simulated_cold_targets(split, export)
    t_idx = scenario_index(export, target)
    train = cold_path_train(split)
    with_target = np.unique(train[0, export.item_scenario[train[1]] == t_idx])
    val = split.val[:, export.item_scenario[split.val[1]] == t_idx]
    sim_users = np.asarray(split.slices[SIMULATED_COLD])
    natural = val[:, ~np.isin(val[0], with_target) & ~np.isin(val[0], sim_users)]
    pairs = np.concatenate([simulated, natural], axis=1)
    pairs = pairs[:, np.lexsort((pairs[1], pairs[0]))]
    counts = {
        "simulated_cold_users": len(sim_users),
        "natural_cold_users": len(np.unique(natural[0])),
        "natural_cold_pairs": int(natural.shape[1]),
    }
    return pairs, counts


def cold_path_inputs(
    export: GraphExport, split: Split, spec: ModelSpec, *, target: str, item_x: np.ndarray | None
) -> Inputs:
    """The knowledge channel's inputs for ``split`` with a simulated-cold slice: its training pairs and
    graph without the simulated-cold users' target training interactions
    (:func:`~graphrec.data.splits.cold_path_train`)."""
    return build_inputs(
        export,
        dataclasses.replace(split, train=cold_path_train(split)),
        spec.channel("knowledge"),
        target=target,
        item_x=item_x,
    )


def select_cold_lr(
    model: RoutedLightGCN,
    spec: ModelSpec,
    export: GraphExport,
    knowledge_inputs: Inputs,
    config: TrainConfig,
    train: Callable[..., TrainResult],
    targets: np.ndarray,
) -> tuple[TrainResult, TrainConfig, dict[str, float]]:
    """Train the knowledge channel of ``model`` at each of ``spec.cold_lr_factors`` × ``config.lr`` on its cold
    path's graph, early-stopping on the simulated-cold users' ``targets``, and keep the best (ties: the first).

    Args:
        train: ``train(channel, inputs, val, config) -> TrainResult`` (restores the channel's best epoch).

    Returns:
        ``(the kept channel's result, its config, best validation Recall by lr)``; ``model.knowledge`` is
        the kept channel.
    """
    best: tuple[TrainResult, TrainConfig, Any] | None = None
    tried: dict[str, float] = {}
    for k, factor in enumerate(spec.cold_lr_factors or (1.0,)):
        cfg = dataclasses.replace(config, lr=config.lr * factor)
        # the first is the routed model's own channel (seeded as this one would be)
        channel = (
            model.knowledge
            if k == 0
            else build_lightgcn(spec.channel("knowledge"), export, knowledge_inputs, seed=config.seed)
        )
        result = train(channel, knowledge_inputs, targets, cfg)
        tried[f"{cfg.lr:g}"] = result.best_val
        if best is None or result.best_val > best[0].best_val:
            best = (result, cfg, channel)
    assert best is not None
    model.knowledge = best[2]
    if len(tried) > 1:
        logger.info(
            "knowledge channel's lr on simulated-cold users: %s (best validation Recall by lr %s)", best[1].lr, tried
        )
    return best[0], best[1], tried


def select_cold_prior(
    model: RoutedLightGCN,
    knowledge_inputs: Inputs,
    split: Split,
    export: GraphExport,
    *,
    bridge: BridgeModel | None = None,
) -> dict[str, Any]:
    """Choose cold users' popularity prior weight (:data:`COLD_PRIOR_WEIGHTS`) — and with a ``bridge``, the
    weight of its scores (:data:`BRIDGE_WEIGHTS`, jointly) — by Recall@20 on the cold validation users of
    ``split`` (:func:`cold_validation_targets`: the simulated-cold users' target validation and hidden
    training pairs, and the validation pairs of users without target training; ranked over the target's
    items by the knowledge channel on its cold path's graph, with popularity counted on that graph's
    training pairs, and the bridge's out-of-fold scores for the simulated-cold users, its scores for the
    others, who are not among the users it is fitted on) and return the choice (``prior`` and ``bridge``:
    relative weights ``r``; ``beta``: the prior weight for this knowledge channel) and the grid; the model
    is not changed. ``r`` is relative to the score spread as in
    :func:`~graphrec.train.selection.select_item_gate`. Ties go to the smaller weights.
    """
    target = str(split.meta["simulated_cold"]["target"])
    targets, counts = cold_validation_targets(split, export, target=target)
    model.eval()
    with torch.inference_mode():
        users, items, _ = model.knowledge.embed(knowledge_inputs.adj)
    prior = torch.from_numpy(
        np.log1p(np.bincount(knowledge_inputs.train[1], minlength=items.shape[0])).astype(np.float32)
    ).to(items.device)
    candidates = knowledge_inputs.candidates
    spread = score_spread(users, items, np.asarray(split.slices[SIMULATED_COLD]), candidates)
    cand = torch.from_numpy(np.flatnonzero(candidates)).to(items.device)
    prior_spread = float(prior[cand].std()) if len(cand) > 1 else 0.0
    exclude = group_by_user(knowledge_inputs.train)
    oof, b_spread = None, 0.0
    bridge_weights: tuple[float, ...] = (0.0,)
    if bridge is not None:
        oof = bridge_validation_score_fn(bridge)
        b_spread = float(torch.from_numpy(bridge.val_scores).std()) if bridge.val_scores.size > 1 else 0.0
        bridge_weights = BRIDGE_WEIGHTS if b_spread > 0 else (0.0,)
    grid: list[dict[str, float]] = []
    for r in COLD_PRIOR_WEIGHTS if prior_spread > 0 else COLD_PRIOR_WEIGHTS[:1]:
        beta = r * spread / prior_spread if r else 0.0
        base = dot_product_scores(
            torch.cat([users, users.new_full((users.shape[0], 1), beta)], 1), torch.cat([items, prior[:, None]], 1)
        )
        for rb in bridge_weights:
            w = rb * spread / b_spread if rb else 0.0

            def score(rows: torch.Tensor, base: Any = base, w: float = w) -> torch.Tensor:
                scores = base(rows)  # on the model's device; the bridge's out-of-fold scores are on the CPU
                return scores + w * oof(rows).to(scores.device) if (w and oof is not None) else scores

            val = evaluate_ranking(score, targets, exclude, candidates, ks=(20,))
            grid.append(
                {"prior": r, "beta": beta, "bridge": rb, "val_recall@20": val.get("all", {}).get("recall@20", 0.0)}
            )
    best = max(grid, key=lambda row: row["val_recall@20"])
    logger.info(
        "cold users: popularity prior %g, bridge %g (cold validation recall@20 %.4f; %d simulated-cold users, "
        "%d validation users without target training)",
        best["prior"], best["bridge"], best["val_recall@20"], counts["simulated_cold_users"],
        counts["natural_cold_users"],
    )  # fmt: skip
    return {
        **best, "selected_on": SIMULATED_COLD, "record": split.meta.get("simulated_cold"), "users": counts,
        "grid": grid,
    }  # fmt: skip


def bridge_validation_score_fn(bridge: BridgeModel) -> Callable[[torch.Tensor], torch.Tensor]:
    """``bridge``'s scores for selection: out of fold for its simulated-cold users (:attr:`BridgeModel.val_users`),
    its fitted scores for any other (users it was not fitted on: without target training pairs)."""
    oof, full = bridge.val_score_fn(), bridge.score_fn()
    val_users = set(np.asarray(bridge.val_users).tolist())

    def score(rows: torch.Tensor) -> torch.Tensor:
        out = oof(rows)
        others = torch.tensor([int(u) not in val_users for u in rows.tolist()], dtype=torch.bool)
        if bool(others.any()):
            out[others] = full(rows[others].cpu())
        return out

    return score


def carried_cold_weights(
    model: RoutedLightGCN,
    inputs: Inputs,
    *,
    prior: float,
    bridge: BridgeModel | None = None,
    bridge_weight: float = 0.0,
    fallback_users: np.ndarray | None = None,
) -> tuple[float, float]:
    """The weights ``(β, w)`` of cold users' popularity prior and bridge block on ``model`` for the
    relative weights ``prior`` and ``bridge_weight`` chosen by :func:`select_cold_prior`: each times the
    spread of the knowledge channel's scores (over ``inputs``) for the model's cold users (or
    ``fallback_users`` where it has none; up to 256) over the candidates, over the spread of
    ``log(1 + n_i)`` / of the bridge's scores for the same users. One propagation; 0 for a weight of 0."""
    with_bridge = bridge is not None and bool(bridge_weight)
    if not prior and not with_bridge:
        return 0.0, 0.0
    model.eval()
    with torch.inference_mode():
        users, items, _ = model.channels(inputs.adj)[0]
    rows = np.flatnonzero(model.cold_users.cpu().numpy())
    if not len(rows) and fallback_users is not None:
        rows = np.asarray(fallback_users)
    rows = rows[:256]
    spread = score_spread(users, items, rows, inputs.candidates)
    cand = torch.from_numpy(np.flatnonzero(inputs.candidates)).to(model.item_prior.device)
    beta = w = 0.0
    if prior:
        prior_spread = float(model.item_prior[cand].std()) if len(cand) > 1 else 0.0
        beta = prior * spread / prior_spread if prior_spread > 0 else 0.0
    if with_bridge:
        assert bridge is not None
        b = bridge.score_fn()(torch.from_numpy(rows))[:, cand.cpu()]
        b_spread = float(b.std()) if b.numel() > 1 else 0.0
        w = bridge_weight * spread / b_spread if b_spread > 0 else 0.0
    return beta, w
