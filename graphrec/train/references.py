"""The reference models of the harness, counted or in closed form (no training loop): ``popularity``,
``ease``, ``text-knn`` and ``bridge+ease`` (:data:`~graphrec.models.presets.MODELS`). Each returns a
:class:`~graphrec.train.fitted.Fitted` whose scorer is a :class:`~graphrec.train.scorer.PopularityScorer` or a
:class:`~graphrec.train.scorer.FunctionScorer` (no embeddings to write back)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from graphrec.data.splits import SIMULATED_COLD, simulated_cold
from graphrec.errors import ConfigError
from graphrec.eval.ranking import dot_product_scores
from graphrec.models.bridge import combined_reference, fit_bridge
from graphrec.models.ease import TARGET_EASE_L2, fit_target_ease
from graphrec.models.text_knn import text_profiles
from graphrec.train.fitted import Fitted
from graphrec.train.inputs import users_with_items, validation_candidates
from graphrec.train.loop import TrainResult
from graphrec.train.scorer import FunctionScorer, PopularityScorer

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split
    from graphrec.models.presets import ModelSpec
    from graphrec.train.inputs import Inputs


def popularity_scores(train: np.ndarray, num_items: int) -> torch.Tensor:
    """Training-interaction count per item, as float scores ``[num_items]``."""
    return torch.from_numpy(np.bincount(train[1], minlength=num_items).astype(np.float32))


def fit_popularity(export: GraphExport, spec: ModelSpec, inputs: Inputs) -> Fitted:
    """Popularity: the training-interaction count of each item (:func:`popularity_scores`); nothing is selected."""
    return Fitted(spec, inputs, PopularityScorer(popularity_scores(inputs.train, len(export.item_keys))))


def fit_ease(
    export: GraphExport, split: Split, spec: ModelSpec, inputs: Inputs, *, target: str, l2: float | None = None
) -> Fitted:
    """Target-only EASE (:func:`graphrec.models.ease.fit_target_ease`), its ridge chosen on
    validation over :func:`~graphrec.train.inputs.validation_candidates` (or ``l2`` where given: a refit)."""
    l2s = TARGET_EASE_L2 if l2 is None else (l2,)
    scorer, params = fit_target_ease(
        export, split, target=target, l2s=l2s, val_candidates=validation_candidates(split, inputs)
    )
    result = TrainResult(best_epoch=0, best_val=params["val_recall@20"], config=params)
    return Fitted(spec, inputs, FunctionScorer(scorer), result=result)


def fit_text_knn(export: GraphExport, spec: ModelSpec, inputs: Inputs, item_x: np.ndarray) -> Fitted:
    """Text kNN over every scenario's training items (no parameters to select)."""
    users, items = text_profiles(inputs.train, item_x, len(export.user_ids))
    return Fitted(
        spec, inputs, FunctionScorer(dot_product_scores(users, items)), result=TrainResult(best_epoch=0, best_val=0.0)
    )


def fit_bridge_reference(export: GraphExport, split: Split, spec: ModelSpec, inputs: Inputs, *, target: str) -> Fitted:
    """The ``bridge+ease`` reference: the bridge for users without target training interactions, target-only
    EASE for the others, each selected on validation (the bridge on a simulated-cold slice, added to the
    split with its own seed when it has none).

    Raises:
        ConfigError: The split has no source scenario (the bridge needs a coldstart-transfer split).
    """
    source = split.meta.get("source")
    if not isinstance(source, str):
        raise ConfigError(
            f"model {spec.name!r} maps users' source history to the target: it needs a coldstart-transfer split "
            f"with a source scenario (this split's protocol is {split.meta.get('protocol')!r})"
        )
    seed = int(split.meta.get("seed", 0))
    if SIMULATED_COLD not in split.slices:
        split = simulated_cold(split, export, source=source, target=target, seed=seed)
    cold_fn, bridge = fit_bridge(export, split, source=source, target=target, seed=seed)
    warm_fn, ease = fit_target_ease(export, split, target=target)
    cold = ~users_with_items(inputs.train, inputs.candidates, len(export.user_ids))
    result = TrainResult(
        best_epoch=0, best_val=float(ease.get("val_recall@20", 0.0)), config={"bridge": bridge, "ease": ease}
    )
    return Fitted(spec, inputs, FunctionScorer(combined_reference(cold_fn, warm_fn, cold)), result=result)
