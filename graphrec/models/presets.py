"""The model presets of the one harness for graphrec and its baselines (:func:`graphrec.train.fit.fit` builds
the model a :class:`ModelSpec` names, trains it on a split's training interactions and evaluates it by full
ranking per user slice). Importing this module loads no torch: the CLI lists the presets from it.

Models (:data:`MODELS`):

* ``popularity`` — training-interaction counts of the target scenario's items.
* ``bpr-mf`` — matrix factorisation with BPR on the merged interactions (LightGCN with 0 layers).
* ``lightgcn-target`` — ID-only LightGCN on the target scenario's training interactions only.
* ``lightgcn-merged`` — ID-only LightGCN on all scenarios' training interactions.
* ``graphrec`` — two channels over users, items and topics of all scenarios, routed per user
  (:class:`~graphrec.models.routed.RoutedLightGCN`): users with no target-scenario history are scored by
  the *knowledge* channel (``graphrec-single``), the others by the *collaborative* channel
  (``graphrec-no-bert``); one embedding space.
* ``graphrec-single`` — the knowledge channel alone for every user: LightGCN-style propagation over
  users, items and topics; items and topics start from BERT features through a trainable projection
  plus ID embeddings.
* ``graphrec-no-topics`` / ``graphrec-no-bert`` — ``graphrec-single`` without topic nodes / without
  BERT features (the latter is ``graphrec``'s collaborative channel).
* ``graphrec-transfer`` — ``graphrec-single`` plus the experimental cold-start transfer head.
* ``graphrec-no-source`` — ``graphrec`` on the target scenario's interactions only (ablation).
* ``graphrec-no-bridge`` / ``graphrec-no-text-block`` / ``graphrec-no-text-map`` — ``graphrec`` without its
  cold users' bridge block / without its text block / with the text block's plain mean profile, no text
  map (ablations).
* ``ease`` — target-only EASE (closed form, ridge of ``TARGET_EASE_L2`` chosen on validation;
  :mod:`graphrec.models.ease`).
* ``text-knn`` — text kNN: users as the mean text vector of their training items, items as their own.
* ``bridge+ease`` — the closed-form reference for a coldstart-transfer split: users without target
  history by the kernel-ridge bridge from their EASE-smoothed source history (selected on a
  simulated-cold validation slice, :func:`graphrec.data.splits.simulated_cold`), the others by
  target-only EASE (:func:`graphrec.models.bridge.fit_bridge`, ``fit_target_ease``).

``graphrec``'s cold path is selected for cold users where there are users to simulate (a coldstart split,
or a production split with a source): its knowledge channel trains on the graph without the
simulated-cold validation users' target interactions (:func:`~graphrec.train.cold_path.cold_path_split`,
:func:`~graphrec.train.cold_path.cold_path_inputs`), early-stops on them, and cold users' popularity prior is
chosen on them (:func:`~graphrec.train.cold_path.select_cold_prior`).

Items without a training interaction (new or held-out items) are never drawn as BPR negatives; in
models with text features their layer 0 is their text alone (no untrained ID vector), and ``graphrec``
routes them, for every user, to its knowledge channel (the collaborative channel's ID vector of such
an item was never trained); items with few interactions can lean on it too, by a gate chosen on
validation (:func:`~graphrec.train.selection.select_item_gate`), and such items get text kNN besides —
the user's side through a closed-form text map where validation prefers it
(:func:`~graphrec.train.blocks.select_text_map`) — weighted on validation
(:func:`~graphrec.train.blocks.text_block`, :func:`~graphrec.train.selection.select_block_weight`).

Topic features are the weighted mean of their member items' text features (item text only: no
interaction enters them); user features are never stored (see :mod:`graphrec.features`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from graphrec.errors import ConfigError


@dataclass(frozen=True)
class ModelSpec:
    """What to train.

    Attributes:
        name: Name in reports.
        kind: ``"gnn"`` (LightGCN-style, trained with BPR), ``"popularity"``, ``"ease"``, ``"text-knn"`` or ``"bridge"``
            (closed-form baselines: harness only, they have no embeddings to write back).
        num_layers: Propagation layers (0 is matrix factorisation; default 3).
        dim: Embedding size (default 64).
        text: Initialise items/topics from BERT features (default true).
        topics: Add topic nodes and item–topic edges (default true).
        ids: Trainable ID embeddings for items/topics (always for users; default true).
        graph: ``"merged"`` (all scenarios' training interactions) or ``"target"`` (the target's only).
        users: Layer-0 user representation: ``"id"`` (a trainable embedding per user, as in LightGCN),
            ``"items"`` (the mean of the user's training items' layer-0 embeddings: inductive) or
            ``"id+items"`` (their sum).
        transfer: Cold-start transfer head (see :class:`~graphrec.models.lightgcn.CrossScenarioLightGCN`):
            users without target history are embedded from their source items by a map trained on
            users who have both (default false; the experimental ``graphrec-transfer`` preset; it did
            not help on Amazon-KG, see BENCHMARKS.md).
        route: Two channels routed per user (:class:`~graphrec.models.routed.RoutedLightGCN`): users
            without target training interactions are scored by this spec's model (the knowledge
            channel), the others by the same model without BERT features (the collaborative channel);
            each channel trains and early-stops on its own (default false).
        cold_refit: A routed spec whose cold path was selected on simulated-cold users (see
            :func:`~graphrec.train.fit.fit_routed`): train the knowledge channel again on the whole training
            graph for the chosen number of epochs (default true), so the users simulated cold still teach it
            the map from source to target; false keeps the channel trained without them.
        bridge: A routed spec's closed-form block for cold users, of this rank (default 256; 0: none):
            the kernel-ridge bridge from their source history (:func:`~graphrec.models.bridge.fit_bridge_model`,
            selected on the simulated-cold users), added to their knowledge score with a weight chosen
            on the same users (:func:`~graphrec.train.cold_path.select_cold_prior`); needs users to simulate.
        text_block: A routed spec's text block (default true; needs ``text``): text kNN for items with
            little or no interaction evidence, ``w_t · (1 − h_i) · p_u · q_i`` with the weight and the item
            gate chosen on validation (:meth:`~graphrec.models.routed.RoutedLightGCN.set_text`,
            :func:`~graphrec.train.selection.select_block_weight`).
        text_map: Whether the text block's user side may go through a text map
            (:mod:`graphrec.models.text_map`; default true): the ridge, or none, chosen by the block's own
            validation Recall@20 (:func:`~graphrec.train.blocks.select_text_map`); false: text kNN's mean.
        ease: A routed spec's closed-form block for warm users, of this rank (default 256; 0: none):
            target-only EASE (:func:`~graphrec.models.ease.ease_embeddings`, its ridge chosen on
            validation) added to warm users' score with a weight chosen on validation
            (:func:`~graphrec.train.selection.select_block_weight`); needs validation pairs on items with
            training interactions.
        cold_lr_factors: Learning rates of a routed spec's knowledge channel tried on the simulated-cold
            users, as factors of the run's; the one whose best epoch scores highest there is kept (ties: the
            first) and the refit uses it. Default ``(1.0,)``: the run's rate only. ``(1.0, 0.2)`` also tries
            a fifth of it; measured on three pairs it never won except once, on 86 simulated-cold users of a
            1%-sparse target, where it cost 38% of that run's Recall@20 (BENCHMARKS.md), so it is not the
            default. Without users to simulate only the run's lr is used.
    """

    name: str
    kind: Literal["gnn", "popularity", "ease", "text-knn", "bridge"] = "gnn"
    num_layers: int = 3
    dim: int = 64
    text: bool = True
    topics: bool = True
    ids: bool = True
    graph: Literal["merged", "target"] = "merged"
    users: Literal["id", "items", "id+items"] = "id"
    transfer: bool = False
    route: bool = False
    cold_refit: bool = True
    bridge: int = 256
    text_block: bool = True
    text_map: bool = True
    ease: int = 256
    cold_lr_factors: tuple[float, ...] = (1.0,)

    def channel(self, name: Literal["knowledge", "collaborative"]) -> ModelSpec:
        """The single-channel spec of a routed spec's ``name`` channel."""
        spec = dataclasses.replace(self, name=f"{self.name}/{name}", route=False)
        return spec if name == "knowledge" else dataclasses.replace(spec, text=False, ids=True)


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("popularity", kind="popularity", text=False, topics=False),
        ModelSpec("bpr-mf", num_layers=0, text=False, topics=False),
        ModelSpec("lightgcn-target", text=False, topics=False, graph="target"),
        ModelSpec("lightgcn-merged", text=False, topics=False),
        ModelSpec("graphrec", route=True),
        ModelSpec("graphrec-single"),
        ModelSpec("graphrec-no-topics", topics=False),
        ModelSpec("graphrec-no-bert", text=False),
        ModelSpec("graphrec-transfer", transfer=True),
        ModelSpec("graphrec-no-source", route=True, graph="target"),
        ModelSpec("graphrec-no-bridge", route=True, bridge=0),
        ModelSpec("graphrec-no-text-block", route=True, text_block=False),
        ModelSpec("graphrec-no-text-map", route=True, text_map=False),
        ModelSpec("graphrec-no-ease", route=True, ease=0),
        ModelSpec("ease", kind="ease", text=False, topics=False, graph="target"),
        ModelSpec("text-knn", kind="text-knn", topics=False),
        ModelSpec("bridge+ease", kind="bridge", text=False, topics=False),
    )
}
GNN_MODELS: tuple[str, ...] = tuple(name for name, spec in MODELS.items() if spec.kind in ("gnn", "popularity"))
"""The presets a run folder can hold (``graphrec train --model``): the closed-form baselines are harness-only."""


def model_spec(name: str, **overrides: Any) -> ModelSpec:
    """The named preset of :data:`MODELS`, with field overrides (e.g. ``dim=128``).

    Raises:
        ConfigError: Unknown name or field.
    """
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    try:
        return dataclasses.replace(MODELS[name], **overrides)
    except TypeError as e:
        raise ConfigError(f"bad override for model {name!r}: {e}") from e
