"""The closed-form blocks of a routed model (``graphrec``): target-only EASE for warm users
(:func:`ease_block`) and text kNN for items with little or no interaction evidence (:func:`text_block`, its
user side optionally through a text map chosen on validation, :func:`select_text_map`); their weights are
chosen on validation (:func:`~graphrec.train.selection.select_block_weight`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch

from graphrec.data.splits import scenario_index
from graphrec.eval.ranking import dot_product_scores, evaluate_ranking, group_by_user
from graphrec.models.ease import ease_factors, fit_target_ease
from graphrec.models.text_knn import text_profiles, unit_rows
from graphrec.models.text_map import TEXT_MAP_L2, fit_text_map, fit_text_maps
from graphrec.train.inputs import topic_features, validation_candidates

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split
    from graphrec.train.inputs import Inputs

logger = logging.getLogger(__name__)


EASE_MAX_ITEMS = 20_000
"""Most target items with interactions for which ``graphrec`` fits its EASE block (a dense items × items
inverse: 3.2 GB in float64 at the cap); above it the block is skipped with a warning."""


class EaseBlock(NamedTuple):
    """The EASE block: user and item vectors, its parameters (JSON-safe), and the per-item rows a user's
    vector sums (``user_map``, float32 ``[num_items, rank]``: how a user who arrives later is folded in)."""

    users: torch.Tensor
    items: torch.Tensor
    params: dict[str, Any]
    user_map: np.ndarray


def ease_block(
    export: GraphExport, split: Split, inputs: Inputs, *, target: str, rank: int, max_items: int = EASE_MAX_ITEMS
) -> EaseBlock | None:
    """Target-only EASE as the routed model's warm-user block: its ridge chosen on validation
    (:func:`~graphrec.models.ease.fit_target_ease`), then ``rank``-d vectors
    (:func:`~graphrec.models.ease.ease_embeddings`). ``None`` where validation has no pair on an item
    with a training interaction (nothing to choose the ridge or the weight on: the cold-item protocol,
    a production split without a carved validation), and — with a warning — where the target has more than
    ``max_items`` items with interactions (EASE inverts a dense items × items matrix: 8 bytes × items², several
    times)."""

    counts = inputs.item_counts
    assert counts is not None  # build_inputs sets it
    if not split.val.shape[1] or not (counts[split.val[1]] > 0).any():
        return None
    items = ease_items(export, inputs, target=target)
    if len(items) > max_items:
        logger.warning(
            "no EASE block: the target %r has %d items with interactions, more than %d (its dense items x items "
            "inverse would take %.1f GB); pass ModelSpec(ease=0) to silence this",
            target, len(items), max_items, 8 * len(items) ** 2 / 1e9,
        )  # fmt: skip
        return None
    _, params = fit_target_ease(export, split, target=target, val_candidates=validation_candidates(split, inputs))
    block = ease_block_at(export, split, inputs, target=target, rank=rank, l2=params["l2"])
    assert block is not None  # an l2 was just chosen, over the target items with interactions
    return block._replace(params={k: v for k, v in params.items() if k != "seconds"})


def ease_items(export: GraphExport, inputs: Inputs, *, target: str) -> np.ndarray:
    """The items of the EASE block: the target's items with a training interaction (export rows)."""
    assert inputs.item_counts is not None  # build_inputs sets it
    return np.flatnonzero((export.item_scenario == scenario_index(export, target)) & (inputs.item_counts > 0))


def ease_block_at(
    export: GraphExport, split: Split, inputs: Inputs, *, target: str, rank: int, l2: float | None
) -> EaseBlock | None:
    """The EASE block of :func:`ease_block` at a ridge already chosen (a refit: no validation); ``None``
    without one."""
    items = ease_items(export, inputs, target=target)
    if l2 is None or not len(items):
        return None
    users_e, items_e, user_map = ease_factors(
        split.train, len(export.user_ids), len(export.item_keys), items, l2=l2, rank=rank
    )
    return EaseBlock(torch.from_numpy(users_e), torch.from_numpy(items_e), {"l2": l2}, user_map)


def text_block(
    export: GraphExport, inputs: Inputs, item_x: np.ndarray, *, text_map: np.ndarray | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The routed model's text block ``(users [num_users, d], items [num_items, d], topics [num_topics, d])``:
    text kNN profiles of the training pairs (:func:`~graphrec.models.text_knn.text_profiles`), times
    ``text_map`` (``[d, d]``, :func:`select_text_map`) where given; each item's
    unit text vector less its scenario's mean, so the block reorders the items that lean on text without
    lifting them as a group above the others (a constant per user and scenario); each topic's text (the
    weighted mean of its members' unit vectors, :func:`~graphrec.train.inputs.topic_features`) less the topics' mean."""
    users, items = text_profiles(inputs.train, item_x, len(export.user_ids))
    if text_map is not None:
        users = users @ torch.from_numpy(text_map)
    scenario = torch.from_numpy(np.asarray(export.item_scenario, dtype=np.int64))
    centred = items.clone()
    for s in torch.unique(scenario):
        of = scenario == s
        centred[of] -= items[of].mean(0)
    topics = torch.zeros(inputs.num_topics, items.shape[1])
    if inputs.num_topics:
        topics = torch.from_numpy(topic_features(export, items.numpy()))
        topics -= topics.mean(0)
    return users, centred, topics


def select_text_map(
    export: GraphExport,
    inputs: Inputs,
    split: Split,
    item_x: np.ndarray,
    *,
    grid: tuple[float | None, ...] = TEXT_MAP_L2,
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Choose the text block's user side by the validation Recall@20 of the block alone: text kNN's mean
    profile (``None`` in ``grid``) or the closed-form text map (:func:`~graphrec.models.text_map.fit_text_map`)
    at each relative ridge of ``grid`` (default :data:`~graphrec.models.text_map.TEXT_MAP_L2`), ranking over
    the validation candidates (:func:`~graphrec.train.inputs.validation_candidates`), training items excluded.
    Ties go to the earlier entry. Returns ``(the map or None, {"l2": chosen, "grid": rows})``; without
    validation pairs, no map."""
    if not split.val.shape[1]:
        return None, {"l2": None, "selected_on": "default (no validation split)"}
    profiles, items, _ = text_block(export, inputs, item_x)
    ridges = tuple(l2 for l2 in grid if l2 is not None)
    fitted = iter(fit_text_maps(inputs.train, unit_rows(item_x), len(export.user_ids), l2s=ridges) if ridges else [])
    exclude = group_by_user(inputs.train)
    candidates = validation_candidates(split, inputs)
    rows: list[dict[str, Any]] = []
    best: tuple[float, np.ndarray | None, float | None] = (-1.0, None, None)
    for l2 in grid:
        text_map = None if l2 is None else next(fitted)
        users = profiles if text_map is None else profiles @ torch.from_numpy(text_map)  # as text_block maps them
        val = evaluate_ranking(dot_product_scores(users, items), split.val, exclude, candidates, ks=(20,))
        recall = float(val.get("all", {}).get("recall@20", 0.0))
        rows.append({"l2": l2, "val_recall@20": recall})
        if recall > best[0]:
            best = (recall, text_map, l2)
    logger.info("text block: map %s (validation recall@20 of the block alone %.4f)", best[2], best[0])
    return best[1], {"l2": best[2], "val_recall@20": best[0], "grid": rows}


def text_map_at(export: GraphExport, inputs: Inputs, item_x: np.ndarray, *, l2: float | None) -> np.ndarray | None:
    """The text map at a ridge already chosen (a refit: no validation); ``None`` for none."""
    return None if l2 is None else fit_text_map(inputs.train, unit_rows(item_x), len(export.user_ids), l2=l2)
