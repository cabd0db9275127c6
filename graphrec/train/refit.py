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
   routed model's cold path is selected on simulated-cold users of the full training data, as without
   a refit (it never used the validation split).

The run records both: the refit's ``result.config["refit"]`` holds the choices and the selection run's
validation figures.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from graphrec.data.splits import holdout_validation, merged_validation
from graphrec.errors import ConfigError
from graphrec.train.fit import fit
from graphrec.train.inputs import validation_candidates
from graphrec.train.selection import relative_weight, routed_spread, score_spread

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split
    from graphrec.models.presets import ModelSpec
    from graphrec.models.routed import RoutedLightGCN
    from graphrec.train.config import TrainConfig
    from graphrec.train.fitted import Fitted
    from graphrec.train.inputs import Inputs

logger = logging.getLogger(__name__)

VALIDATION_FRACTION = 0.1
"""Share of each target user's training interactions carved out for selection where a split has no
validation (as the coldstart protocol's validation share)."""


@dataclass(frozen=True)
class Choices:
    """What validation chose, in units that carry over to a model trained on more data.

    Attributes:
        epochs: Epochs to train, by channel (``""`` for a single model; ``"knowledge"``,
            ``"collaborative"`` for a routed one): the selection run's best epoch + 1. A routed model's
            knowledge channel uses its entry only where it has no cold path to select on simulated-cold
            users (no source scenario); otherwise the refit selects it there again (``cold_path``).
        prior_gate: Item gate count at which the popularity prior was chosen.
        prior: Popularity prior weight, relative to the score spread (``r`` of :func:`select_item_gate`).
        text_gate: Item gate count chosen with the text block (``None``: no text block).
        text: Text block weight, relative to the spread (0: none).
        ease: EASE block weight, relative to the spread (0: none).
        ease_l2: The EASE ridge chosen (of the block, or of the ``ease`` baseline).
        sample: Validation users whose scores set the spreads (user rows).
    """

    epochs: dict[str, int]
    prior_gate: float = 0.0
    prior: float = 0.0
    text_gate: float | None = None
    text: float = 0.0
    ease: float = 0.0
    ease_l2: float | None = None
    sample: tuple[int, ...] = ()

    @property
    def gate_count(self) -> float:
        """The item gate count the model serves with."""
        return self.prior_gate if self.text_gate is None else self.text_gate

    def record(self) -> dict[str, Any]:
        """JSON-ready, without the sample users (their count instead)."""
        out = {k: v for k, v in asdict(self).items() if k != "sample"}
        return {**out, "gate_count": self.gate_count, "sample_users": len(self.sample)}


def choices_of(selected: Fitted, split: Split) -> Choices:
    """The :class:`Choices` of a model fitted on ``split`` (which has validation pairs)."""
    result = selected.result
    if result is None:  # popularity: nothing chosen
        return Choices(epochs={})
    config = result.config
    if selected.spec.kind == "ease":
        return Choices(epochs={}, ease_l2=float(config["l2"]))
    if not selected.spec.route:
        return Choices(epochs={"": result.best_epoch + 1})
    channels = config["channels"]
    gate = config["item_gate"]
    text, ease = gate.get("text"), gate.get("ease")
    sample = tuple(int(u) for u in np.unique(split.val[0]))
    return Choices(
        epochs={name: int(channels[name]["best_epoch"]) + 1 for name in ("knowledge", "collaborative")},
        prior_gate=float(gate["prior_gate"]),
        prior=float(gate["prior"]),
        text_gate=None if text is None else float(text["gate_count"]),
        text=0.0 if text is None else float(text["text"]),
        ease=0.0 if ease is None else float(ease["ease"]),
        ease_l2=None if ease is None or not ease["ease"] else float(ease["params"]["l2"]),
        sample=sample,
    )


def apply_choices(model: RoutedLightGCN, inputs: Inputs, split: Split, choices: Choices) -> dict[str, Any]:
    """Set a routed model's gate, prior and block weights from ``choices``, converting each relative
    weight to the model's own scale exactly as validation measured it
    (:func:`~graphrec.train.selection.gate_weight_grid`): the prior at its gate, then the text block at its
    gate, then EASE, each against the spread of the routed scores without it over ``choices.sample`` × the
    target candidates. Returns the weights set."""
    model.eval()
    with torch.inference_mode():
        channels = model.channels(inputs.adj)
    candidates = validation_candidates(split, inputs)
    sample = np.asarray(choices.sample, dtype=np.int64)
    cand = torch.from_numpy(np.flatnonzero(candidates))

    def carried(r: float, block_spread: float) -> float:
        return relative_weight(r, routed_spread(model, channels, sample, candidates), block_spread) if r else 0.0

    model.set_gate_count(choices.prior_gate)
    for set_weight in (model.set_prior_weight, model.set_text_weight, model.set_ease_weight):
        set_weight(0.0)
    prior_spread = float(model.item_prior[cand].std()) if len(cand) > 1 else 0.0
    beta = carried(choices.prior, prior_spread)
    model.set_prior_weight(beta)
    out: dict[str, Any] = {
        "gate_count": choices.gate_count,
        "prior": choices.prior,
        "beta": beta,
        "selected_on": "refit: validation of the selection run",
    }
    for name, r, users_b, items_b, set_weight, clear in (
        ("text", choices.text, model.text_users, model.text_items, model.set_text_weight, model.clear_text),
        ("ease", choices.ease, model.ease_users, model.ease_items, model.set_ease_weight, model.clear_ease),
    ):
        if users_b is None or items_b is None or not r:
            clear()
            continue
        if name == "text":
            model.set_gate_count(choices.gate_count)
        weight = carried(r, score_spread(users_b, items_b, sample, candidates))
        set_weight(weight)
        out[name] = {"gate_count": choices.gate_count, name: r, "weight": weight}
    model.set_gate_count(choices.gate_count)
    return out


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
