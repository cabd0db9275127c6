"""What a selection run chose on validation, and how a refit applies it (:mod:`graphrec.train.refit`).

:class:`Choices` holds the choices in units that carry over to a model trained on more data;
:func:`choices_of` reads them from a fitted model, :func:`apply_choices` sets them on a routed model
(called by :func:`graphrec.train.fit.fit_routed` instead of selecting).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from graphrec.train.inputs import validation_candidates
from graphrec.train.selection import prior_setter, relative_weight, routed_spread, score_spread

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.splits import Split
    from graphrec.models.routed import RoutedLightGCN
    from graphrec.train.fitted import Fitted
    from graphrec.train.inputs import Inputs


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
        text_l2: The text block's map ridge (relative, :func:`~graphrec.models.text_map.fit_text_map`; ``None``:
            no map, text kNN's mean profile).
        ease: EASE block weight, relative to the spread (0: none).
        ease_l2: The EASE ridge chosen (of the block, or of the ``ease`` baseline).
        sample: Validation users whose scores set the spreads (user rows).
        cold_prior: A routed model's cold-user prior weight (relative, as ``r`` of
            :func:`~graphrec.train.cold_path.select_cold_prior`) where the selection run chose its cold path
            on validation users the refit cannot simulate — users without any target training pair, most
            of a sparse target's (:func:`~graphrec.train.cold_path.cold_validation_targets`); the refit then
            keeps it, the bridge weight ``cold_bridge`` and the knowledge channel's ``epochs`` instead of
            choosing them again on simulated-cold users alone. ``None`` (default): the refit chooses again.
        cold_bridge: The bridge block's weight chosen with ``cold_prior`` (relative; 0: none).
    """

    epochs: dict[str, int]
    prior_gate: float = 0.0
    prior: float = 0.0
    text_gate: float | None = None
    text: float = 0.0
    text_l2: float | None = None
    ease: float = 0.0
    ease_l2: float | None = None
    sample: tuple[int, ...] = ()
    cold_prior: float | None = None
    cold_bridge: float = 0.0

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
    cold = config.get("cold_path", {})
    carry_cold = bool(cold.get("users", {}).get("natural_cold_users", 0)) and "prior" in cold
    return Choices(
        epochs={name: int(channels[name]["best_epoch"]) + 1 for name in ("knowledge", "collaborative")},
        prior_gate=float(gate["prior_gate"]),
        prior=float(gate["prior"]),
        text_gate=None if text is None else float(text["gate_count"]),
        text=0.0 if text is None else float(text["text"]),
        text_l2=None if text is None or text.get("map", {}).get("l2") is None else float(text["map"]["l2"]),
        ease=0.0 if ease is None else float(ease["ease"]),
        ease_l2=None if ease is None or not ease["ease"] else float(ease["params"]["l2"]),
        sample=sample,
        cold_prior=float(cold["prior"]) if carry_cold else None,
        cold_bridge=float(cold.get("bridge", 0.0)) if carry_cold else 0.0,
    )


def apply_choices(
    model: RoutedLightGCN, inputs: Inputs, split: Split, choices: Choices, *, cold_prior_weight: float | None = None
) -> dict[str, Any]:
    """Set a routed model's gate, prior and block weights from ``choices``, converting each relative
    weight to the model's own scale exactly as validation measured it
    (:func:`~graphrec.train.selection.gate_weight_grid`): the prior at its gate, then the text block at its
    gate, then EASE, each against the spread of the routed scores without it over ``choices.sample`` × the
    target candidates. With ``cold_prior_weight`` (cold users' ``β``, as in
    :func:`~graphrec.train.selection.select_item_gate`) cold users keep it throughout. Returns the weights set."""
    model.eval()
    with torch.inference_mode():
        channels = model.channels(inputs.adj)
    candidates = validation_candidates(split, inputs)
    sample = np.asarray(choices.sample, dtype=np.int64)
    cand = torch.from_numpy(np.flatnonzero(candidates)).to(model.item_prior.device)

    def carried(r: float, block_spread: float) -> float:
        return relative_weight(r, routed_spread(model, channels, sample, candidates), block_spread) if r else 0.0

    set_prior = prior_setter(model, cold_prior_weight)
    model.set_gate_count(choices.prior_gate)
    for set_weight in (set_prior, model.set_text_weight, model.set_ease_weight):
        set_weight(0.0)
    prior_spread = float(model.item_prior[cand].std()) if len(cand) > 1 else 0.0
    beta = carried(choices.prior, prior_spread)
    set_prior(beta)
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
