"""What a routed model (``graphrec``, :class:`~graphrec.models.routed.RoutedLightGCN`) chooses on
validation once its channels are trained: the item gate and warm users' popularity prior
(:func:`select_item_gate`), and the weights of its closed-form blocks (:func:`select_block_weight`).

Every weight is chosen relative to the spread of the scores (:func:`relative_weight`), so that a choice means
the same on any model's scale and carries over to a refit (:func:`~graphrec.train.choices.apply_choices`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from graphrec.eval.ranking import dot_product_scores, evaluate_ranking, group_by_user
from graphrec.train.inputs import validation_candidates

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from graphrec.data.splits import Split
    from graphrec.models.routed import RoutedLightGCN
    from graphrec.train.inputs import Inputs

logger = logging.getLogger(__name__)


ITEM_GATE_COUNTS = (0.0, 2.0, 10.0)
"""Gate counts of ``graphrec``'s item routing tried on validation (0: only items without interactions
go to the knowledge channel; see :class:`~graphrec.models.routed.RoutedLightGCN`)."""
PRIOR_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)
"""Weights of ``graphrec``'s popularity prior tried on validation, relative to the spread of its scores
(see :func:`select_item_gate`)."""
TEXT_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 16.0)
"""Weights of ``graphrec``'s text block tried on validation, relative to the spread of its scores (see
:func:`select_block_weight`; 16: text kNN first for the items that lean on it)."""
EASE_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 16.0)
"""Weights of ``graphrec``'s warm-user EASE block tried on validation, relative to the spread of the routed
scores without it (see :func:`select_block_weight`; 16: EASE first)."""


def score_spread(users: torch.Tensor, items: torch.Tensor, user_rows: np.ndarray, candidates: np.ndarray) -> float:
    """Standard deviation of ``users[user_rows] @ items[candidates].T`` (up to 256 users; 0 without any), on
    the embeddings' device."""
    rows = torch.from_numpy(np.asarray(user_rows, dtype=np.int64)[:256]).to(users.device)
    if not len(rows):
        return 0.0
    return float((users[rows] @ items[torch.from_numpy(np.flatnonzero(candidates)).to(items.device)].T).std())


def relative_weight(r: float, spread: float, block_spread: float) -> float:
    """The weight of a block (or prior) chosen as ``r`` relative to the score spread: ``r · σ_s / σ_b`` with
    ``σ_s = spread`` (routed scores without the block) and ``σ_b = block_spread`` (the block's own); 0 for
    ``r = 0`` or a block without spread. The one rule selection (:func:`gate_weight_grid`) and a refit
    (:func:`~graphrec.train.choices.apply_choices`) convert by."""
    return r * spread / block_spread if r and block_spread > 0 else 0.0


def select_item_gate(
    model: RoutedLightGCN, inputs: Inputs, split: Split, *, cold_prior_weight: float | None = None
) -> dict[str, Any]:
    """Choose the routed model's item gate count (:data:`ITEM_GATE_COUNTS`) and popularity prior weight
    (:data:`PRIOR_WEIGHTS`) by validation Recall@20, set them and return the choice and the grid. With
    ``cold_prior_weight`` (cold users' ``β``, chosen on their own by the cold path), the prior chosen here is
    warm users' only and validation users served as cold are scored with that ``β`` (default: one prior for
    all users).

    A prior weight ``r`` means ``β = r · σ_s / σ_p``: ``σ_s`` is the standard deviation of the routed
    model's scores over (up to 256) validation users × the validation candidates, ``σ_p`` that of
    ``log(1 + n_i)`` over the candidates, so ``r`` is on the scale of the scores whatever the model's.
    Ties go to the first (smaller gate, no prior). Without a validation split: gate 0, no prior. The
    channels are propagated once.
    """
    model.eval()
    if not split.val.shape[1]:
        model.set_gate_count(0.0)
        model.set_prior_weight(0.0)
        model.clear_text()
        model.clear_ease()
        return {"gate_count": 0.0, "prior": 0.0, "beta": 0.0, "selected_on": "default (no validation split)"}
    with torch.inference_mode():
        channels = model.channels(inputs.adj)
    exclude = group_by_user(inputs.train)
    candidates = validation_candidates(split, inputs)
    cand = torch.from_numpy(np.flatnonzero(candidates)).to(model.item_prior.device)
    sample = np.unique(split.val[0])
    prior_spread = float(model.item_prior[cand].std()) if len(cand) > 1 else 0.0
    set_prior = prior_setter(model, cold_prior_weight)
    grid = gate_weight_grid(
        model, channels, split, exclude, candidates, sample,
        weights=PRIOR_WEIGHTS, block_spread=prior_spread, set_weight=set_prior, names=("prior", "beta"),
    )  # fmt: skip
    best = max(grid, key=lambda row: row["val_recall@20"])  # max keeps the first of equals
    model.set_gate_count(best["gate_count"])
    set_prior(best["beta"])
    logger.info(
        "item gate count %g, popularity prior %g (validation recall@20 %.4f)",
        best["gate_count"],
        best["prior"],
        best["val_recall@20"],
    )
    out: dict[str, Any] = {**best, "prior_gate": best["gate_count"], "selected_on": "validation", "grid": grid}
    if model.text_users is not None and model.text_items is not None:
        out["text"] = select_block_weight(model, channels, split, candidates, exclude, sample, block="text")
        out["gate_count"] = out["text"]["gate_count"]
    if model.ease_users is not None and model.ease_items is not None:
        out["ease"] = select_block_weight(
            model, channels, split, candidates, exclude, sample, block="ease", gates=(out["gate_count"],)
        )
    return out


def prior_setter(model: RoutedLightGCN, cold_prior_weight: float | None) -> Callable[[float], None]:
    """A setter of the routed model's popularity prior ``β`` for selection and refit: every user's
    (:meth:`~graphrec.models.routed.RoutedLightGCN.set_prior_weight`), then, with ``cold_prior_weight``, cold
    users' own back to it (so validation scores them as they will be served)."""

    def set_prior(beta: float) -> None:
        model.set_prior_weight(beta)
        if cold_prior_weight is not None:
            model.set_cold_prior_weight(cold_prior_weight)

    return set_prior


def gate_weight_grid(
    model: RoutedLightGCN,
    channels: Any,
    split: Split,
    exclude: dict[int, set[int]],
    candidates: np.ndarray,
    sample: np.ndarray,
    *,
    weights: tuple[float, ...],
    block_spread: float,
    set_weight: Callable[[float], None],
    names: tuple[str, str],
    gates: tuple[float, ...] = ITEM_GATE_COUNTS,
) -> list[dict[str, float]]:
    """Validation Recall@20 of ``model`` for each item gate count (``gates``, default :data:`ITEM_GATE_COUNTS`)
    × relative weight ``r`` of one block: ``set_weight(r · σ_s / block_spread)``, ``σ_s`` the spread of the
    routed scores without the block at that gate (only ``r = 0`` where ``block_spread`` is 0). Rows
    ``{"gate_count", names[0]: r, names[1]: weight, "val_recall@20"}``, gate by gate; the model keeps
    the last setting."""
    grid: list[dict[str, float]] = []
    for gate in gates:
        model.set_gate_count(gate)
        set_weight(0.0)
        spread = routed_spread(model, channels, sample, candidates)
        for r in weights if block_spread > 0 else weights[:1]:
            weight = relative_weight(r, spread, block_spread)
            set_weight(weight)
            val = routed_val_recall(model, channels, split, exclude, candidates)
            grid.append({"gate_count": gate, names[0]: r, names[1]: weight, "val_recall@20": val})
    return grid


def routed_spread(model: RoutedLightGCN, channels: Any, sample: np.ndarray, candidates: np.ndarray) -> float:
    """:func:`score_spread` of ``model`` routed as it is now set, from its channels' embeddings."""
    with torch.inference_mode():
        users, items, _ = model.route(*channels)
    return score_spread(users, items, sample, candidates)


def routed_val_recall(
    model: RoutedLightGCN, channels: Any, split: Split, exclude: dict[int, set[int]], candidates: np.ndarray
) -> float:
    """Validation Recall@20 of ``model`` routed as it is now set, from its channels' embeddings."""
    with torch.inference_mode():
        users, items, _ = model.route(*channels)
    val = evaluate_ranking(dot_product_scores(users, items), split.val, exclude, candidates, ks=(20,))
    return float(val.get("all", {}).get("recall@20", 0.0))


def select_block_weight(
    model: RoutedLightGCN,
    channels: Any,
    split: Split,
    candidates: np.ndarray,
    exclude: dict[int, set[int]],
    sample: np.ndarray,
    *,
    block: Literal["text", "ease"],
    gates: tuple[float, ...] = ITEM_GATE_COUNTS,
) -> dict[str, Any]:
    """Choose the weight of one of the routed model's closed-form blocks by validation Recall@20, jointly
    with the item gate count over ``gates``, the popularity prior (and any block chosen before) as they are
    set; set them and return the choice and the grid.

    ``block``: ``"text"`` (:data:`TEXT_WEIGHTS`, over every gate: the gate decides which items lean on
    text) or ``"ease"`` (the warm users' EASE block, :data:`EASE_WEIGHTS`, at the gate already chosen). A
    weight ``r`` means ``w = r · σ_s / σ_b``: ``σ_s`` the spread of the routed scores without the block (as
    in :func:`select_item_gate`), ``σ_b`` that of the block's own scores over the same users and
    candidates. Ties go to no block, then the smaller gate; where no block is chosen it is removed, so the
    vectors carry no columns of zeros.
    """
    if block == "text":
        users_b, items_b, weights = model.text_users, model.text_items, TEXT_WEIGHTS
        set_weight, clear = model.set_text_weight, model.clear_text
    else:
        users_b, items_b, weights = model.ease_users, model.ease_items, EASE_WEIGHTS
        set_weight, clear = model.set_ease_weight, model.clear_ease
    assert users_b is not None and items_b is not None
    grid = gate_weight_grid(
        model, channels, split, exclude, candidates, sample, weights=weights,
        block_spread=score_spread(users_b, items_b, sample, candidates), set_weight=set_weight,
        names=(block, "weight"), gates=gates,
    )  # fmt: skip
    best = max(grid, key=lambda row: (row["val_recall@20"], -row[block], -row["gate_count"]))
    model.set_gate_count(best["gate_count"])
    set_weight(best["weight"])
    if not best["weight"]:
        clear()
    logger.info(
        "%s block %g, item gate count %g (validation recall@20 %.4f)",
        block,
        best[block],
        best["gate_count"],
        best["val_recall@20"],
    )
    return {**best, "grid": grid}
