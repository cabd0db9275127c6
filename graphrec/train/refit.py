"""Production training: select on validation, then train again on every interaction with those choices.

A model selected on a validation split was trained without those interactions; a production model
(``graphrec train --split none``) has no validation at all, so nothing would choose its epochs, its
item gate, its popularity prior or the weights of its closed-form blocks. :func:`fit_refit` makes the
two runs of the usual recipe (as scikit-learn's ``refit=True`` does):

1. *Selection*: on the split's validation — or, where it has none, on validation carved from its
   training interactions (:func:`~graphrec.data.splits.holdout_validation`) — fit as usual: every
   choice is made there (:func:`~graphrec.train.fit.fit`).
2. *Refit*: train the same spec again on training + validation, with those choices (:class:`Choices`)
   instead of a selection: each channel for its chosen number of epochs, the blocks' weights carried
   over relative to the score spread (the unit they were chosen in), EASE at its chosen ridge. A
   routed model's cold path is selected again on simulated-cold users of the full training data —
   except where the selection run chose it with validation users who have no target training pair
   (:func:`~graphrec.train.cold_path.cold_validation_targets`; most users of a sparse target), whom the
   refit's split, without validation, cannot hold: there the refit keeps the selection run's cold prior,
   bridge weight and knowledge epochs (:attr:`~graphrec.train.choices.Choices.cold_prior`). Validation
   carved by :func:`~graphrec.data.splits.holdout_validation` has no such users (it holds out pairs of users
   who keep target training pairs), so a ``--split none`` run chooses on simulated-cold users in both runs.

The run records both: the refit's ``result.config["refit"]`` holds the choices and the selection run's
validation figures.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from graphrec.data.splits import holdout_validation, merged_validation
from graphrec.errors import ConfigError
from graphrec.train.choices import choices_of
from graphrec.train.fit import fit

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split
    from graphrec.models.presets import ModelSpec
    from graphrec.train.config import TrainConfig
    from graphrec.train.fitted import Fitted

logger = logging.getLogger(__name__)

VALIDATION_FRACTION = 0.1
"""Share of each target user's training interactions carved out for selection where a split has no
validation (as the coldstart protocol's validation share)."""


def fit_refit(
    export: GraphExport,
    split: Split,
    spec: ModelSpec,
    config: TrainConfig,
    *,
    target: str,
    item_x: np.ndarray | None = None,
    progress: bool = False,
    validation_fraction: float = VALIDATION_FRACTION,
) -> tuple[Fitted, Split]:
    """Select ``spec`` on validation, then train it again on training + validation with those choices;
    evaluate the refit on ``split.test``.

    Where ``split`` has no validation (``--split none``) it is carved from training with
    :func:`~graphrec.data.splits.holdout_validation` (seeded by ``config.seed``).

    Returns:
        ``(the refit model, the split it was trained on)`` (training = ``split``'s training +
        validation; ``result.config["refit"]`` records the choices and the selection run).

    Raises:
        ConfigError: A model that cannot be refit (the harness-only ``bridge+ease`` and ``text-knn``), or
            no validation could be carved.
    """
    if spec.kind in ("bridge", "text-knn"):
        raise ConfigError(f"model {spec.name!r} has nothing to refit; train it without --refit")
    carved = not split.val.shape[1]
    selection_split = (
        holdout_validation(split, export, target=target, seed=config.seed, fraction=validation_fraction)
        if carved
        else split
    )
    logger.info(
        "refit: selecting on %d validation pairs%s",
        selection_split.val.shape[1],
        " carved from training" if carved else "",
    )
    selection = fit(export, selection_split, spec, config, target=target, item_x=item_x, progress=progress)
    choices = choices_of(selection, selection_split)
    full = merged_validation(selection_split)
    logger.info("refit: training again on %d interactions with %s", full.train.shape[1], choices.record())
    final = fit(export, full, spec, config, target=target, item_x=item_x, progress=progress, choices=choices)
    if final.result is not None:
        sel = selection.result
        no_record = {"carved_from": None, "pairs": int(selection_split.val.shape[1])}
        final.result.config["refit"] = {
            "choices": choices.record(),
            "validation": selection_split.meta.get("validation", no_record),
            "selection": None if sel is None else {"best_epoch": sel.best_epoch, "best_val": sel.best_val,
                                                   **{k: sel.config[k] for k in ("item_gate", "channels", "l2")
                                                      if k in sel.config}},
        }  # fmt: skip
    return final, full
