"""The entry point of the one harness for graphrec and its baselines: :func:`fit` builds the model a
:class:`~graphrec.models.presets.ModelSpec` names (:mod:`graphrec.models.presets` lists them), trains it on a
split's training interactions and evaluates it by full ranking per user slice
(:func:`~graphrec.eval.slices.evaluate_slices`).

A routed spec (``graphrec``) trains its two channels in :func:`fit_routed`: the knowledge channel on its cold
path (:mod:`graphrec.train.cold_path`), then the collaborative one; then its gate, prior and closed-form
blocks (:mod:`graphrec.train.blocks`) are chosen on validation (:mod:`graphrec.train.selection`). The reference
models are counted or closed-form (:mod:`graphrec.train.references`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from graphrec.data.splits import SIMULATED_COLD
from graphrec.device import resolve_device
from graphrec.eval.slices import evaluate_slices
from graphrec.models.bridge import fit_bridge_model
from graphrec.models.text_knn import unit_rows
from graphrec.models.text_map import TEXT_MAP_L2
from graphrec.train.blocks import ease_block, ease_block_at, select_text_map, text_block, text_map_at
from graphrec.train.choices import apply_choices
from graphrec.train.cold_path import (
    carried_cold_weights,
    cold_path_inputs,
    cold_path_split,
    cold_validation_targets,
    select_cold_lr,
    select_cold_prior,
)
from graphrec.train.fitted import Fitted
from graphrec.train.inputs import build_inputs, build_lightgcn, build_routed, validation_candidates
from graphrec.train.loop import TrainResult, train_bpr
from graphrec.train.references import (
    fit_bridge_reference,
    fit_ease,
    fit_popularity,
    fit_text_knn,
)
from graphrec.train.scorer import ModelScorer
from graphrec.train.selection import select_item_gate
from graphrec.train.summary import channel_label

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split
    from graphrec.models.lightgcn import CrossScenarioLightGCN
    from graphrec.models.presets import ModelSpec
    from graphrec.train.choices import Choices
    from graphrec.train.config import TrainConfig
    from graphrec.train.inputs import Inputs

logger = logging.getLogger(__name__)


def fit(
    export: GraphExport,
    split: Split,
    spec: ModelSpec,
    config: TrainConfig,
    *,
    target: str,
    item_x: np.ndarray | None = None,
    progress: bool = False,
    on_epoch: Callable[[str, int, CrossScenarioLightGCN, torch.Tensor], None] | None = None,
    choices: Choices | None = None,
) -> Fitted:
    """Train ``spec`` on ``split.train`` (early stopping on ``split.val``) and evaluate on ``split.test``.

    Deterministic under ``config.seed`` (on the CPU; a GPU's sums may differ in the last bits). A GNN trains
    on ``config.device`` (:func:`~graphrec.device.resolve_device`); the references, closed-form or counted,
    on the CPU.

    Args:
        on_epoch: Called as ``on_epoch(channel, epoch, model, adj)`` after each epoch (``channel`` is
            ``"knowledge"``/``"collaborative"`` for a routed spec, else ``""``; ``adj`` the graph it
            propagates over); for diagnostics.
        choices: What a selection run chose (:class:`~graphrec.train.choices.Choices`), applied instead of
            selecting: for a refit on a split without validation (:func:`~graphrec.train.refit.fit_refit`).
    """
    inputs = build_inputs(export, split, spec, target=target, item_x=item_x)
    if spec.kind == "popularity":
        fitted = fit_popularity(export, spec, inputs)
    elif spec.kind == "ease":
        fitted = fit_ease(export, split, spec, inputs, target=target, l2=None if choices is None else choices.ease_l2)
    elif spec.kind == "bridge":
        fitted = fit_bridge_reference(export, split, spec, inputs, target=target)
    elif spec.kind == "text-knn":
        assert item_x is not None  # build_inputs checked it
        fitted = fit_text_knn(export, spec, inputs, item_x)
    elif spec.route:
        np.random.seed(config.seed)
        inputs = inputs.to(resolve_device(config.device))
        fitted = fit_routed(
            export, split, spec, config, inputs, target=target, item_x=item_x, progress=progress, on_epoch=on_epoch,
            choices=choices,
        )  # fmt: skip
    else:
        np.random.seed(config.seed)
        inputs = inputs.to(resolve_device(config.device))
        model = build_lightgcn(spec, export, inputs, seed=config.seed)
        if choices is not None:
            config = dataclasses.replace(config, epochs=choices.epochs[""])
        result = train_bpr(
            model, inputs.adj, inputs.train, split.val, export.item_scenario, validation_candidates(split, inputs),
            config, transfer_pairs=inputs.transfer_pairs, data=inputs.data, progress=progress,
            on_epoch=None if on_epoch is None else functools.partial(on_epoch, ""), desc=spec.name,
        )  # fmt: skip
        fitted = Fitted(spec, inputs, ModelScorer(model, inputs.adj), model, result=result)
    fitted.metrics = evaluate_slices(fitted.score_fn(), split, inputs.candidates, ks=(10, 20))
    return fitted


def fit_routed(
    export: GraphExport,
    split: Split,
    spec: ModelSpec,
    config: TrainConfig,
    inputs: Inputs,
    *,
    target: str,
    item_x: np.ndarray | None,
    progress: bool = False,
    on_epoch: Callable[[str, int, CrossScenarioLightGCN, torch.Tensor], None] | None = None,
    choices: Choices | None = None,
) -> Fitted:
    """Train a routed spec's two channels (see :func:`fit`), in order: the knowledge channel, then the
    collaborative one, early-stopping on the routed model (so new items and cold users are scored as they
    will be served); then choose the item gate and the warm users' prior on validation. With ``choices``
    (a refit) each channel trains for its chosen epochs and the gate, prior and blocks are set from them
    (:func:`~graphrec.train.choices.apply_choices`) instead. The model trains on the device of ``inputs``
    (:meth:`~graphrec.train.inputs.Inputs.to`).

    Where there are users to simulate (:func:`~graphrec.train.cold_path.cold_path_split`) the knowledge
    channel is first trained on its cold path's graph (:func:`~graphrec.train.cold_path.cold_path_inputs`),
    early-stopping on the validation users served as cold (the simulated-cold ones and any without target
    training: :func:`~graphrec.train.cold_path.cold_validation_targets`), and cold users' prior — with
    ``spec.bridge``, also the weight of the kernel-ridge bridge fitted on the same split
    (:func:`~graphrec.models.bridge.fit_bridge_model`) — is chosen on the same users
    (:func:`~graphrec.train.cold_path.select_cold_prior`). With ``spec.cold_refit`` the channel is then
    trained again on the whole training graph for the chosen number of epochs. Both weights carry over
    relative to the score spread (:func:`~graphrec.train.cold_path.carried_cold_weights`), and the bridge
    enters as a ``spec.bridge``-rank block (:meth:`~graphrec.models.routed.RoutedLightGCN.set_bridge`). The
    item gate and warm users' prior are then chosen on validation with cold users scored by their own prior.
    ``on_epoch`` sees the selection run as channel ``"knowledge/simulated-cold"``.
    """
    cold_split = cold_path_split(export, split, target=target)
    knowledge_inputs = (
        inputs
        if cold_split is None
        else cold_path_inputs(export, cold_split, spec, target=target, item_x=item_x).to(inputs.adj.device)
    )
    model = build_routed(spec, export, inputs, seed=config.seed, knowledge_inputs=knowledge_inputs)
    candidates = validation_candidates(split, inputs)

    def train(
        name: str, channel: Any, own: Inputs, val: np.ndarray, cfg: TrainConfig, evaluate_with: Any = None
    ) -> TrainResult:
        return train_bpr(
            channel, own.adj, own.train, val, export.item_scenario, candidates, cfg,
            transfer_pairs=own.transfer_pairs, data=own.data, progress=progress,
            on_epoch=None if on_epoch is None else functools.partial(on_epoch, name), channel=name.split("/")[0],
            evaluate_with=evaluate_with, desc=channel_label(name),
        )  # fmt: skip

    results: dict[str, TrainResult] = {}
    fold_in_blocks: dict[str, Any] = {}
    cold_path: dict[str, Any] = {
        "selected_on": "validation (no simulated-cold users: not a cold-user or production split with a source)"
    }

    def epochs_of(channel: str) -> TrainConfig:
        return config if choices is None else dataclasses.replace(config, epochs=choices.epochs[channel])

    if cold_split is None:
        results["knowledge"] = train("knowledge", model.knowledge, inputs, split.val, epochs_of("knowledge"))
    else:
        selection, cold_config, tried = select_cold_lr(
            model, spec, export, knowledge_inputs, config, functools.partial(train, "knowledge/simulated-cold"),
            cold_validation_targets(cold_split, export, target=target)[0],
        )  # fmt: skip
        model.set_knowledge_graph(knowledge_inputs.adj)
        bridge = None
        if spec.bridge:
            source = str(cold_split.meta["source"])
            bridge = fit_bridge_model(
                export, cold_split, source=source, target=target, seed=int(split.meta.get("seed", 0))
            )
        cold_path = select_cold_prior(model, knowledge_inputs, cold_split, export, bridge=bridge)
        cold_path["selection"] = {"best_epoch": selection.best_epoch, "best_val": selection.best_val,
                                  "epochs_run": len(selection.history), "lr": cold_config.lr,
                                  "best_val_by_lr": tried}  # fmt: skip
        epochs = selection.best_epoch + 1
        if choices is not None and choices.cold_prior is not None:
            # a refit whose selection run chose the cold path on users it cannot simulate here: kept
            cold_path = carry_cold_choices(cold_path, choices)
            epochs = choices.epochs["knowledge"]
        results["knowledge"] = selection
        if spec.cold_refit:
            model.knowledge = build_lightgcn(spec.channel("knowledge"), export, inputs, seed=config.seed)
            model.set_knowledge_graph(None)
            refit = train(
                "knowledge", model.knowledge, inputs, split.val[:, :0], dataclasses.replace(cold_config, epochs=epochs)
            )
            results["knowledge"] = dataclasses.replace(refit, best_epoch=epochs - 1, best_val=selection.best_val)
        # the weights chosen above, carried over to the knowledge channel that serves (the prior's only
        # when refit: without, the selected channel serves and its β stands)
        beta, weight = carried_cold_weights(
            model, inputs, prior=cold_path["prior"] if spec.cold_refit else 0.0, bridge=bridge,
            bridge_weight=cold_path["bridge"], fallback_users=cold_split.slices[SIMULATED_COLD],
        )  # fmt: skip
        if spec.cold_refit:
            cold_path["beta"] = beta
            cold_path["refit"] = {"epochs": epochs, "beta": beta}
        if bridge is not None:
            users_b, items_b = bridge.embeddings(len(export.user_ids), spec.bridge)
            model.set_bridge(torch.from_numpy(users_b), torch.from_numpy(items_b), weight)
            fold_in_blocks.update(bridge.fold_in_blocks(spec.bridge), bridge_gamma=float(bridge.params["gamma"]))
            cold_path["bridge_weight"] = weight
            cold_path["bridge_params"] = {k: v for k, v in bridge.params.items() if k != "grid"}
    results["collaborative"] = train(
        "collaborative", model.collaborative, inputs, split.val, epochs_of("collaborative"), evaluate_with=model
    )
    text_map_record: dict[str, Any] | None = None
    if spec.text_block and item_x is not None and (choices is None or choices.text):
        if choices is None:
            grid = TEXT_MAP_L2 if spec.text_map else (None,)
            text_map, text_map_record = select_text_map(export, inputs, split, item_x, grid=grid)
        else:
            text_map = text_map_at(export, inputs, item_x, l2=choices.text_l2)
            text_map_record = {"l2": choices.text_l2, "selected_on": "refit: validation of the selection run"}
        users_t, items_t, topics_t = text_block(export, inputs, item_x, text_map=text_map)
        model.set_text(users_t, items_t, 0.0, topics=topics_t)  # weight: select_item_gate
        unit = unit_rows(item_x)
        fold_in_blocks["text_user_map"] = unit
        if text_map is not None:
            fold_in_blocks["text_proj"] = text_map
        fold_in_blocks["text_scenario_means"] = np.stack([scenario_mean(unit, export.item_scenario == s)
                                                          for s in range(len(export.scenarios))])  # fmt: skip
    if choices is None:
        ease = ease_block(export, split, inputs, target=target, rank=spec.ease) if spec.ease else None
    else:
        ease = (
            ease_block_at(export, split, inputs, target=target, rank=spec.ease, l2=choices.ease_l2)
            if spec.ease and choices.ease
            else None
        )
    if ease is not None:
        model.set_ease(ease.users, ease.items, 0.0)  # weight: select_item_gate
        fold_in_blocks["ease_user_map"] = ease.user_map
    fitted = Fitted(
        spec, inputs, ModelScorer(model, inputs.adj), model, result=merge_channel_results(results),
        knowledge_inputs=knowledge_inputs if model.knowledge_adj is not None else None, fold_in_blocks=fold_in_blocks,
    )  # fmt: skip
    assert fitted.result is not None
    if choices is None:
        # one prior for warm users; cold users keep theirs where the cold path chose it (validation users
        # served as cold, as most of a sparse target's are, are scored with it)
        fitted.result.config["item_gate"] = select_item_gate(
            model, inputs, split, cold_prior_weight=cold_path.get("beta")
        )
    else:
        fitted.result.config["item_gate"] = apply_choices(
            model, inputs, split, choices, cold_prior_weight=cold_path.get("beta")
        )
    if ease is not None and "ease" in fitted.result.config["item_gate"]:
        fitted.result.config["item_gate"]["ease"]["params"] = ease.params
    if text_map_record is not None and "text" in fitted.result.config["item_gate"]:
        fitted.result.config["item_gate"]["text"]["map"] = text_map_record
    if "beta" in cold_path:
        model.set_cold_prior_weight(cold_path["beta"])
    fitted.result.config["cold_path"] = cold_path
    return fitted


def carry_cold_choices(cold_path: dict[str, Any], choices: Choices) -> dict[str, Any]:
    """``cold_path`` (a refit's :func:`~graphrec.train.cold_path.select_cold_prior` record) with the prior and
    bridge weights of ``choices`` (the selection run's) in place of its own, ``beta`` the grid's for that
    prior (0 where the grid has none), and what it chose itself kept under ``"refit_grid_choice"``."""
    assert choices.cold_prior is not None
    own = {k: cold_path[k] for k in ("prior", "bridge", "beta", "val_recall@20")}
    beta = next((row["beta"] for row in cold_path["grid"] if row["prior"] == choices.cold_prior), 0.0)
    return {
        **cold_path, "prior": choices.cold_prior, "bridge": choices.cold_bridge, "beta": beta,
        "selected_on": "refit: cold validation of the selection run", "refit_grid_choice": own,
    }  # fmt: skip


def scenario_mean(unit: np.ndarray, of: np.ndarray) -> np.ndarray:
    """The mean of ``unit``'s rows in the bool mask ``of`` (zeros where it is empty)."""
    return unit[of].mean(0) if of.any() else np.zeros(unit.shape[1], dtype=unit.dtype)


def merge_channel_results(results: dict[str, TrainResult]) -> TrainResult:
    """One :class:`~graphrec.train.loop.TrainResult` for a routed model: the collaborative channel's best epoch and
    validation recall (validation users have target history, so that channel scores them), the
    knowledge channel's curve as ``loss``/``val_…`` with the collaborative one beside it, seconds per
    epoch summed (one epoch of both), and each channel's own result under ``config["channels"]``."""
    know, collab = results["knowledge"], results["collaborative"]
    history = []
    for epoch in range(max(len(know.history), len(collab.history))):
        row: dict[str, float] = {"epoch": epoch}
        if epoch < len(know.history):
            row.update({k: v for k, v in know.history[epoch].items() if k != "epoch"})
        if epoch < len(collab.history):
            row.update({f"collaborative_{k}": v for k, v in collab.history[epoch].items() if k != "epoch"})
        history.append(row)
    return TrainResult(
        best_epoch=collab.best_epoch,
        best_val=collab.best_val,
        history=history,
        seconds_per_epoch=know.seconds_per_epoch + collab.seconds_per_epoch,
        config={
            **know.config,
            "channels": {name: {k: v for k, v in asdict(r).items() if k != "history"} for name, r in results.items()},
        },
    )
