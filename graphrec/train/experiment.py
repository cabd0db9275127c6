"""One harness for graphrec and its baselines: build the model a :class:`ModelSpec` names, train it on
a split's training interactions, and evaluate it by full ranking per user slice.

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
* ``graphrec-no-bridge`` / ``graphrec-no-text-block`` — ``graphrec`` without its cold users' bridge block /
  without its text block (ablations).
* ``ease`` — target-only EASE (closed form, ridge of ``TARGET_EASE_L2`` chosen on validation; :mod:`graphrec.models.baselines`).
* ``text-knn`` — text kNN: users as the mean text vector of their training items, items as their own.
* ``bridge+ease`` — the closed-form reference for a coldstart-transfer split: users without target
  history by the kernel-ridge bridge from their EASE-smoothed source history (selected on a
  simulated-cold validation slice, :func:`graphrec.data.splits.simulated_cold`), the others by
  target-only EASE (:func:`graphrec.models.baselines.fit_bridge`, ``fit_target_ease``).

``graphrec``'s cold path is selected for cold users where there are users to simulate (a coldstart split,
or a production split with a source): its knowledge channel trains on the graph without the
simulated-cold validation users' target interactions (:func:`cold_path_split`, :func:`cold_path_inputs`),
early-stops on them, and cold users' popularity prior is chosen on them (:func:`select_cold_prior`).

Items without a training interaction (new or held-out items) are never drawn as BPR negatives; in
models with text features their layer 0 is their text alone (no untrained ID vector), and ``graphrec``
routes them, for every user, to its knowledge channel (the collaborative channel's ID vector of such
an item was never trained); items with few interactions can lean on it too, by a gate chosen on
validation (:func:`select_item_gate`), and such items get text kNN besides, weighted on validation
(:func:`text_block`, :func:`select_block_weight`).

Topic features are the weighted mean of their member items' text features (item text only: no
interaction enters them); user features are never stored (see :mod:`graphrec.features`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from graphrec.errors import ConfigError
from graphrec.eval.ranking import evaluate_ranking, group_by_user

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    import numpy as np
    import torch
    from torch_geometric.data import HeteroData

    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split
    from graphrec.models.bridge import BridgeModel
    from graphrec.models.lightgcn import CrossScenarioLightGCN
    from graphrec.models.routed import RoutedLightGCN
    from graphrec.train.loop import TrainConfig, TrainResult
    from graphrec.train.refit import Choices

logger = logging.getLogger(__name__)


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
            :func:`fit_routed`): train the knowledge channel again on the whole training graph for the
            chosen number of epochs (default true), so the users simulated cold still teach it the map
            from source to target; false keeps the channel trained without them.
        bridge: A routed spec's closed-form block for cold users, of this rank (default 256; 0: none):
            the kernel-ridge bridge from their source history (:func:`~graphrec.models.baselines.fit_bridge_model`,
            selected on the simulated-cold users), added to their knowledge score with a weight chosen
            on the same users (:func:`select_cold_prior`); needs users to simulate.
        text_block: A routed spec's text block (default true; needs ``text``): text kNN for items with
            little or no interaction evidence, ``w_t · (1 − h_i) · p_u · q_i`` with the weight and the item
            gate chosen on validation (:meth:`~graphrec.models.routed.RoutedLightGCN.set_text`,
            :func:`select_block_weight`).
        ease: A routed spec's closed-form block for warm users, of this rank (default 256; 0: none):
            target-only EASE (:func:`~graphrec.models.baselines.ease_embeddings`, its ridge chosen on
            validation) added to warm users' score with a weight chosen on validation
            (:func:`select_block_weight`); needs validation pairs on items with training interactions.
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
        ModelSpec("graphrec-no-ease", route=True, ease=0),
        ModelSpec("ease", kind="ease", text=False, topics=False, graph="target"),
        ModelSpec("text-knn", kind="text-knn", topics=False),
        ModelSpec("bridge+ease", kind="bridge", text=False, topics=False),
    )
}
GNN_MODELS: tuple[str, ...] = tuple(name for name, spec in MODELS.items() if spec.kind in ("gnn", "popularity"))
"""The presets a run folder can hold (``graphrec train --model``): the closed-form baselines are harness-only."""

COLD_PRIOR_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""Weights of the popularity prior of ``graphrec``'s cold users tried on simulated-cold users, relative
to the spread of the knowledge channel's scores (see :func:`select_cold_prior`; 8: popularity first)."""
BRIDGE_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 16.0)
"""Weights of the bridge block of ``graphrec``'s cold users tried on simulated-cold users (with a
``bridge`` rank; relative to the spread of the knowledge channel's scores, as the prior's)."""
ITEM_GATE_COUNTS = (0.0, 2.0, 10.0)
"""Gate counts of ``graphrec``'s item routing tried on validation (0: only items without interactions
go to the knowledge channel; see :class:`~graphrec.models.routed.RoutedLightGCN`)."""
EASE_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 16.0)
"""Weights of ``graphrec``'s warm-user EASE block tried on validation, relative to the spread of the routed
scores without it (see :func:`select_block_weight`; 16: EASE first)."""
EASE_MAX_ITEMS = 20_000
"""Most target items with interactions for which ``graphrec`` fits its EASE block (a dense items × items
inverse: 3.2 GB in float64 at the cap); above it the block is skipped with a warning."""
TEXT_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 16.0)
"""Weights of ``graphrec``'s text block tried on validation, relative to the spread of its scores (see
:func:`select_block_weight`; 16: text kNN first for the items that lean on it)."""
PRIOR_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)
"""Weights of ``graphrec``'s popularity prior tried on validation, relative to the spread of its scores
(see :func:`select_item_gate`)."""


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


def topic_features(export: GraphExport, item_x: np.ndarray) -> np.ndarray:
    """Topic features: the membership-weighted mean of member items' text features, L2-normalised."""
    import numpy as np

    n_topics = len(export.topic_ids)
    out = np.zeros((n_topics, item_x.shape[1]), dtype=np.float32)
    if n_topics and export.has_topic.shape[1]:
        w = export.has_topic_weight.astype(np.float32)
        np.add.at(out, export.has_topic[1], item_x[export.has_topic[0]] * w[:, None])
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norm > 0, norm, 1.0)


@dataclass
class Inputs:
    """Everything a model of one spec trains on: training pairs, adjacency and features."""

    train: np.ndarray
    adj: torch.Tensor
    item_x: torch.Tensor | None
    topic_x: torch.Tensor | None
    num_topics: int
    candidates: np.ndarray
    target: int
    user_items: torch.Tensor | None = None
    source_items: torch.Tensor | None = None
    cold_users: torch.Tensor | None = None
    transfer_pairs: np.ndarray | None = None
    data: HeteroData | None = None
    item_counts: np.ndarray | None = None


def build_inputs(
    export: GraphExport, split: Split, spec: ModelSpec, *, target: str, item_x: np.ndarray | None
) -> Inputs:
    """Training pairs, the model's graph as ``HeteroData`` with its normalised adjacency, and features.

    Only ``split.train`` enters the graph (checked with
    :func:`~graphrec.data.splits.check_graph_has_no_held_out_edges` on every call).

    Raises:
        ConfigError: ``spec.text`` without item features, or an unknown target.
    """
    import numpy as np
    import torch

    from graphrec.data.export import to_hetero_data
    from graphrec.data.splits import check_graph_has_no_held_out_edges
    from graphrec.models.lightgcn import normalized_adjacency, user_item_mean
    from graphrec.schema import EdgeType, NodeType

    if target not in export.scenarios:
        raise ConfigError(f"target scenario {target!r} is not in the graph; it has {export.scenarios}")
    t = export.scenarios.index(target)
    train = split.train
    if spec.graph == "target":
        train = train[:, export.item_scenario[train[1]] == t]
    if spec.text and item_x is None:
        raise ConfigError(f"model {spec.name!r} needs item text features; run `graphrec embed` first")
    use_topics = spec.topics and len(export.topic_ids) > 0
    n_topics = len(export.topic_ids) if use_topics else 0
    # the model's graph, as PyG HeteroData (validated): training interactions only, checked below
    data = to_hetero_data(
        export,
        train,
        item_x=item_x if spec.text else None,
        topic_x=topic_features(export, item_x) if (spec.text and use_topics and item_x is not None) else None,
    )
    check_graph_has_no_held_out_edges(data, split)
    has_topic = data[EdgeType.HAS_TOPIC]
    adj = normalized_adjacency(
        data[NodeType.USER].num_nodes,
        data[NodeType.ITEM].num_nodes,
        n_topics,
        data[EdgeType.INTERACTS].edge_index.numpy(),
        has_topic.edge_index.numpy() if use_topics else None,
        has_topic.edge_weight.numpy() if use_topics else None,
    )
    x = data[NodeType.ITEM].x.float() if spec.text else None
    tx = data[NodeType.TOPIC].x.float() if (x is not None and use_topics) else None
    user_items = None
    if spec.users != "id":
        user_items = user_item_mean(len(export.user_ids), len(export.item_keys), train)
    inputs = Inputs(train, adj, x, tx, n_topics, export.item_scenario == t, t, user_items, data=data)
    inputs.item_counts = np.bincount(train[1], minlength=len(export.item_keys))
    if spec.transfer and spec.graph == "merged":
        is_target = inputs.candidates[train[1]]
        n_users = len(export.user_ids)
        has_source = users_with_items(train, ~inputs.candidates, n_users)
        has_target = users_with_items(train, inputs.candidates, n_users)
        inputs.source_items = user_item_mean(n_users, len(export.item_keys), train[:, ~is_target])
        inputs.cold_users = torch.from_numpy(has_source & ~has_target)
        inputs.transfer_pairs = train[:, is_target & has_source[train[0]]]
    return inputs


def build_model(
    spec: ModelSpec, export: GraphExport, inputs: Inputs, *, seed: int | None = None, knowledge_inputs: Inputs | None = None
) -> CrossScenarioLightGCN | RoutedLightGCN:
    """A fresh model for ``spec``: a :class:`CrossScenarioLightGCN`, or for a routed spec a
    :class:`~graphrec.models.routed.RoutedLightGCN` of two. Seed torch before calling, or pass ``seed``
    (torch is then seeded before each channel, so a channel starts as its single-channel spec would).

    Args:
        knowledge_inputs: A routed spec's knowledge channel's own inputs (its cold path's graph, see
            :func:`cold_path_inputs`; default ``inputs``).
    """
    import torch

    from graphrec.models.lightgcn import CrossScenarioLightGCN

    if seed is not None:
        torch.manual_seed(seed)
    if spec.route:
        from graphrec.models.routed import RoutedLightGCN

        knowledge = build_model(spec.channel("knowledge"), export, knowledge_inputs or inputs, seed=seed)
        collaborative = build_model(
            spec.channel("collaborative"), export, dataclasses.replace(inputs, item_x=None, topic_x=None), seed=seed
        )
        counts = None if inputs.item_counts is None else torch.from_numpy(inputs.item_counts)
        return RoutedLightGCN(knowledge, collaborative, routed_cold_users(export, inputs), item_counts=counts)  # type: ignore[arg-type]

    evidence = None
    if inputs.item_counts is not None:
        evidence = torch.from_numpy((inputs.item_counts > 0).astype("float32"))
    return CrossScenarioLightGCN(
        len(export.user_ids),
        len(export.item_keys),
        inputs.num_topics,
        dim=spec.dim,
        num_layers=spec.num_layers,
        item_x=inputs.item_x,
        topic_x=inputs.topic_x,
        id_embeddings=spec.ids,
        user_items=inputs.user_items,
        user_ids=spec.users != "items",
        source_items=inputs.source_items,
        cold_users=inputs.cold_users,
        item_evidence=evidence,
    )


def users_with_items(pairs: np.ndarray, items: np.ndarray, num_users: int) -> np.ndarray:
    """Bool ``[num_users]``: users with at least one of ``pairs`` (user row, item row) on an item of the
    bool mask ``items``."""
    import numpy as np

    out = np.zeros(num_users, dtype=bool)
    out[pairs[0, items[pairs[1]]]] = True
    return out


def routed_cold_users(export: GraphExport, inputs: Inputs) -> torch.Tensor:
    """Bool ``[num_users]``: users without a target-scenario training interaction (routed to knowledge)."""
    import torch

    return torch.from_numpy(~users_with_items(inputs.train, inputs.candidates, len(export.user_ids)))


def popularity_scores(train: np.ndarray, num_items: int) -> torch.Tensor:
    """Training-interaction count per item, as float scores ``[num_items]``."""
    import numpy as np
    import torch

    return torch.from_numpy(np.bincount(train[1], minlength=num_items).astype(np.float32))


def evaluate_slices(
    score: Any,
    split: Split,
    candidates: np.ndarray,
    *,
    on: Literal["val", "test"] = "test",
    ks: tuple[int, ...] = (10, 20),
) -> dict[str, dict[str, float]]:
    """Full-ranking metrics on ``split.test`` (or ``val``) for all users and each slice of ``split.slices``,
    the users' training items excluded (see :func:`~graphrec.eval.ranking.evaluate_ranking`).

    For a cold-item split (``split.meta["protocol"] == "coldstart-items"``) ``"all"`` and the slices rank
    all ``candidates`` (held-out items included), and ``"held-out-items"`` ranks only the held-out items
    of ``on`` (the usual cold-item ranking: the held-out items among themselves).

    Args:
        score: Maps a 1-D tensor of user rows to scores over all items (see :func:`rank_top_k`).
        candidates: Bool mask of rankable items (the target scenario's).
    """
    import numpy as np

    held_out = split.test if on == "test" else split.val
    exclude = group_by_user(split.train)
    out = evaluate_ranking(score, held_out, exclude, candidates, slices=split.slices, ks=ks)
    if out and split.meta.get("protocol") == "coldstart-items":
        only_held = np.zeros_like(np.asarray(candidates, dtype=bool))
        only_held[np.unique(held_out[1])] = True
        out["held-out-items"] = evaluate_ranking(score, held_out, exclude, only_held & candidates, ks=ks)["all"]
    return out


def validation_candidates(split: Split, inputs: Inputs) -> np.ndarray:
    """The items validation ranks over (early stopping and every choice made on validation): the
    target scenario's items, or for the cold-item protocol only its validation items — the validation
    counterpart of the ``held-out-items`` ranking, the protocol's measure. (Ranked among all target
    items, new items seldom reach a top 20 at all, which leaves validation without a signal.)"""
    import numpy as np

    if split.meta.get("protocol") != "coldstart-items" or not split.val.shape[1]:
        return inputs.candidates
    only_val = np.zeros(len(inputs.candidates), dtype=bool)
    only_val[np.unique(split.val[1])] = True
    return only_val & inputs.candidates


@dataclass
class Fitted:
    """A trained (or counted) model and what training recorded."""

    spec: ModelSpec
    inputs: Inputs
    model: CrossScenarioLightGCN | RoutedLightGCN | None
    popularity: torch.Tensor | None = None
    result: TrainResult | None = None
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    scorer: Callable[[torch.Tensor], torch.Tensor] | None = None
    """Score function of a closed-form baseline (``ease``, ``text-knn``, ``bridge+ease``); ``None`` for the others."""

    def score_fn(self) -> Any:
        """Score function over all items (one propagation, cached in the closure)."""

        if self.scorer is not None:
            return self.scorer
        if self.popularity is not None:
            pop = self.popularity

            def by_popularity(user_rows: torch.Tensor) -> torch.Tensor:
                return pop.expand(len(user_rows), -1)

            return by_popularity
        from graphrec.train.loop import score_fn

        assert self.model is not None
        self.model.eval()
        return score_fn(self.model, self.inputs.adj)

    def embeddings(self) -> dict[str, np.ndarray]:
        """Final (propagated) ``user``, ``item`` and ``topic`` embeddings as float32 arrays (users as
        :meth:`CrossScenarioLightGCN.forward` gives them: cold users by the transfer head).

        Topic embeddings of a model without topic nodes are the membership-weighted mean of their items'.
        """
        import torch

        if self.model is None:
            return {}
        self.model.eval()
        with torch.inference_mode():
            users, items, topics = self.model.embed(self.inputs.adj)
        return {"user": users.numpy().copy(), "item": items.numpy().copy(), "topic": topics.numpy().copy()}


def merge_channel_results(results: dict[str, TrainResult]) -> TrainResult:
    """One :class:`TrainResult` for a routed model: the collaborative channel's best epoch and
    validation recall (validation users have target history, so that channel scores them), the
    knowledge channel's curve as ``loss``/``val_…`` with the collaborative one beside it, seconds per
    epoch summed (one epoch of both), and each channel's own result under ``config["channels"]``."""
    from dataclasses import asdict

    from graphrec.train.loop import TrainResult

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
        config={**know.config, "channels": {name: {k: v for k, v in asdict(r).items() if k != "history"} for name, r in results.items()}},
    )


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

    Deterministic under ``config.seed``.

    Args:
        on_epoch: Called as ``on_epoch(channel, epoch, model, adj)`` after each epoch (``channel`` is
            ``"knowledge"``/``"collaborative"`` for a routed spec, else ``""``; ``adj`` the graph it
            propagates over); for diagnostics.
        choices: What a selection run chose (:class:`~graphrec.train.refit.Choices`), applied instead of
            selecting: for a refit on a split without validation (:func:`~graphrec.train.refit.fit_refit`).
    """
    import numpy as np

    from graphrec.train.loop import train_bpr

    inputs = build_inputs(export, split, spec, target=target, item_x=item_x)
    if spec.kind == "popularity":
        fitted = Fitted(spec, inputs, None, popularity=popularity_scores(inputs.train, len(export.item_keys)))
    elif spec.kind == "ease":
        fitted = fit_ease(export, split, spec, inputs, target=target, l2=None if choices is None else choices.ease_l2)
    elif spec.kind == "bridge":
        fitted = fit_bridge_reference(export, split, spec, inputs, target=target)
    elif spec.kind == "text-knn":
        assert item_x is not None  # build_inputs checked it
        fitted = fit_text_knn(export, spec, inputs, item_x)
    elif spec.route:
        np.random.seed(config.seed)
        fitted = fit_routed(
            export, split, spec, config, inputs, target=target, item_x=item_x, progress=progress, on_epoch=on_epoch, choices=choices
        )  # fmt: skip
    else:
        np.random.seed(config.seed)
        model = build_model(spec, export, inputs, seed=config.seed)
        if choices is not None:
            config = dataclasses.replace(config, epochs=choices.epochs[""])
        result = train_bpr(
            model, inputs.adj, inputs.train, split.val, export.item_scenario, validation_candidates(split, inputs), config,
            transfer_pairs=inputs.transfer_pairs, data=inputs.data, progress=progress,
            on_epoch=None if on_epoch is None else functools.partial(on_epoch, ""), desc=spec.name,
        )  # fmt: skip
        fitted = Fitted(spec, inputs, model, result=result)
    fitted.metrics = evaluate_slices(fitted.score_fn(), split, inputs.candidates, ks=(10, 20))
    return fitted


def select_item_gate(model: RoutedLightGCN, inputs: Inputs, split: Split) -> dict[str, Any]:
    """Choose the routed model's item gate count (:data:`ITEM_GATE_COUNTS`) and popularity prior weight
    (:data:`PRIOR_WEIGHTS`) by validation Recall@20, set them and return the choice and the grid.

    A prior weight ``r`` means ``β = r · σ_s / σ_p``: ``σ_s`` is the standard deviation of the routed
    model's scores over (up to 256) validation users × the validation candidates, ``σ_p`` that of
    ``log(1 + n_i)`` over the candidates, so ``r`` is on the scale of the scores whatever the model's.
    Ties go to the first (smaller gate, no prior). Without a validation split: gate 0, no prior. The
    channels are propagated once.
    """
    import numpy as np
    import torch

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
    cand = torch.from_numpy(np.flatnonzero(candidates))
    sample = np.unique(split.val[0])
    prior_spread = float(model.item_prior[cand].std()) if len(cand) > 1 else 0.0
    grid = gate_weight_grid(
        model, channels, split, exclude, candidates, sample,
        weights=PRIOR_WEIGHTS, block_spread=prior_spread, set_weight=model.set_prior_weight, names=("prior", "beta"),
    )  # fmt: skip
    best = max(grid, key=lambda row: row["val_recall@20"])  # max keeps the first of equals
    model.set_gate_count(best["gate_count"])
    model.set_prior_weight(best["beta"])
    logger.info(
        "item gate count %g, popularity prior %g (validation recall@20 %.4f)", best["gate_count"], best["prior"], best["val_recall@20"]
    )
    out: dict[str, Any] = {**best, "prior_gate": best["gate_count"], "selected_on": "validation", "grid": grid}
    if model.text_users is not None and model.text_items is not None:
        out["text"] = select_block_weight(model, channels, split, candidates, exclude, sample, block="text")
        out["gate_count"] = out["text"]["gate_count"]
    if model.ease_users is not None and model.ease_items is not None:
        out["ease"] = select_block_weight(model, channels, split, candidates, exclude, sample, block="ease", gates=(out["gate_count"],))
    return out


def gate_weight_grid(
    model: RoutedLightGCN,
    channels: Any,
    split: Split,
    exclude: dict[int, np.ndarray],
    candidates: np.ndarray,
    sample: np.ndarray,
    *,
    weights: tuple[float, ...],
    block_spread: float,
    set_weight: Callable[[float], None],
    names: tuple[str, str],
    gates: tuple[float, ...] = ITEM_GATE_COUNTS,
) -> list[dict[str, float]]:
    """Validation Recall@20 of ``model`` for each item gate count (``gates``, default :data:`ITEM_GATE_COUNTS`) × relative
    weight ``r`` of one block: ``set_weight(r · σ_s / block_spread)``, ``σ_s`` the spread of the routed
    scores without the block at that gate (only ``r = 0`` where ``block_spread`` is 0). Rows
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


def relative_weight(r: float, spread: float, block_spread: float) -> float:
    """The weight of a block (or prior) chosen as ``r`` relative to the score spread: ``r · σ_s / σ_b`` with
    ``σ_s = spread`` (routed scores without the block) and ``σ_b = block_spread`` (the block's own); 0 for
    ``r = 0`` or a block without spread. The one rule selection (:func:`gate_weight_grid`) and a refit
    (:func:`~graphrec.train.refit.apply_choices`) convert by."""
    return r * spread / block_spread if r and block_spread > 0 else 0.0


def routed_spread(model: RoutedLightGCN, channels: Any, sample: np.ndarray, candidates: np.ndarray) -> float:
    """:func:`score_spread` of ``model`` routed as it is now set, from its channels' embeddings."""
    import torch

    with torch.inference_mode():
        users, items, _ = model.route(*channels)
    return score_spread(users, items, sample, candidates)


def routed_val_recall(
    model: RoutedLightGCN, channels: Any, split: Split, exclude: dict[int, np.ndarray], candidates: np.ndarray
) -> float:
    """Validation Recall@20 of ``model`` routed as it is now set, from its channels' embeddings."""
    import torch

    from graphrec.eval.ranking import dot_product_scores

    with torch.inference_mode():
        users, items, _ = model.route(*channels)
    val = evaluate_ranking(dot_product_scores(users, items), split.val, exclude, candidates, ks=(20,))
    return float(val.get("all", {}).get("recall@20", 0.0))


def select_block_weight(
    model: RoutedLightGCN,
    channels: Any,
    split: Split,
    candidates: np.ndarray,
    exclude: dict[int, np.ndarray],
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
        block_spread=score_spread(users_b, items_b, sample, candidates), set_weight=set_weight, names=(block, "weight"), gates=gates,
    )  # fmt: skip
    best = max(grid, key=lambda row: (row["val_recall@20"], -row[block], -row["gate_count"]))
    model.set_gate_count(best["gate_count"])
    set_weight(best["weight"])
    if not best["weight"]:
        clear()
    logger.info("%s block %g, item gate count %g (validation recall@20 %.4f)", block, best[block], best["gate_count"], best["val_recall@20"])
    return {**best, "grid": grid}


def ease_block(
    export: GraphExport, split: Split, inputs: Inputs, *, target: str, rank: int, max_items: int = EASE_MAX_ITEMS
) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]] | None:
    """Target-only EASE as the routed model's warm-user block: its ridge chosen on validation
    (:func:`~graphrec.models.baselines.fit_target_ease`), then ``rank``-d vectors
    (:func:`~graphrec.models.baselines.ease_embeddings`). ``None`` where validation has no pair on an item
    with a training interaction (nothing to choose the ridge or the weight on: the cold-item protocol,
    a production split without a carved validation), and — with a warning — where the target has more than
    ``max_items`` items with interactions (EASE inverts a dense items × items matrix: 8 bytes × items², several
    times)."""

    from graphrec.models.ease import fit_target_ease

    counts = inputs.item_counts
    assert counts is not None  # build_inputs sets it
    if not split.val.shape[1] or not (counts[split.val[1]] > 0).any():
        return None
    items = ease_items(export, inputs, target=target)
    if len(items) > max_items:
        logger.warning(
            "no EASE block: the target %r has %d items with interactions, more than %d (its dense items x items "
            "inverse would take %.1f GB); pass ModelSpec(ease=0) to silence this", target, len(items), max_items, 8 * len(items) ** 2 / 1e9,
        )  # fmt: skip
        return None
    _, params = fit_target_ease(export, split, target=target, val_candidates=validation_candidates(split, inputs))
    users_e, items_e, _ = ease_block_at(export, split, inputs, target=target, rank=rank, l2=params["l2"])  # type: ignore[misc]
    return users_e, items_e, {k: v for k, v in params.items() if k != "seconds"}


def ease_items(export: GraphExport, inputs: Inputs, *, target: str) -> np.ndarray:
    """The items of the EASE block: the target's items with a training interaction (export rows)."""
    import numpy as np

    from graphrec.data.splits import scenario_index

    assert inputs.item_counts is not None  # build_inputs sets it
    return np.flatnonzero((export.item_scenario == scenario_index(export, target)) & (inputs.item_counts > 0))


def ease_block_at(
    export: GraphExport, split: Split, inputs: Inputs, *, target: str, rank: int, l2: float | None
) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]] | None:
    """The EASE block of :func:`ease_block` at a ridge already chosen (a refit: no validation); ``None``
    without one."""
    import torch

    from graphrec.models.ease import ease_embeddings

    items = ease_items(export, inputs, target=target)
    if l2 is None or not len(items):
        return None
    users_e, items_e = ease_embeddings(split.train, len(export.user_ids), len(export.item_keys), items, l2=l2, rank=rank)
    return torch.from_numpy(users_e), torch.from_numpy(items_e), {"l2": l2}


def cold_path_split(export: GraphExport, split: Split, *, target: str) -> Split | None:
    """``split`` with a simulated-cold validation slice (:func:`~graphrec.data.splits.simulated_cold`,
    seeded by the split's seed) for a routed model's cold path, or ``None`` where there is none to make:
    not a cold-user or production split, no source scenario, or no shared user to simulate (logged)."""
    from graphrec.data.splits import (
        SIMULATED_COLD,
        SIMULATED_COLD_PROTOCOLS,
        simulated_cold,
    )

    source = split.meta.get("source")
    if split.meta.get("protocol") not in SIMULATED_COLD_PROTOCOLS or not isinstance(source, str):
        return None
    if SIMULATED_COLD in split.slices:
        return split
    try:
        return simulated_cold(split, export, source=source, target=target, seed=int(split.meta.get("seed", 0)))  # type: ignore[call-overload]
    except ConfigError as e:
        logger.warning("cold path selected on warm validation users only: %s", e)
        return None


def cold_path_inputs(export: GraphExport, split: Split, spec: ModelSpec, *, target: str, item_x: np.ndarray | None) -> Inputs:
    """The knowledge channel's inputs for ``split`` with a simulated-cold slice: its training pairs and
    graph without the simulated-cold users' target training interactions
    (:func:`~graphrec.data.splits.cold_path_train`)."""
    from graphrec.data.splits import cold_path_train

    return build_inputs(export, dataclasses.replace(split, train=cold_path_train(split)), spec.channel("knowledge"), target=target, item_x=item_x)


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
    (:func:`~graphrec.train.refit.apply_choices`) instead.

    Where there are users to simulate (:func:`cold_path_split`) the knowledge channel is first trained on
    its cold path's graph (:func:`cold_path_inputs`), early-stopping on the simulated-cold users, and cold
    users' prior — with ``spec.bridge``, also the weight of the kernel-ridge bridge fitted on the same
    split (:func:`~graphrec.models.baselines.fit_bridge_model`) — is chosen on them
    (:func:`select_cold_prior`); with ``spec.cold_refit`` the channel is then trained again on the whole
    training graph for the chosen number of epochs. Both weights carry over relative to the score spread
    (:func:`carried_cold_weights`), and the bridge enters as a ``spec.bridge``-rank block
    (:meth:`~graphrec.models.routed.RoutedLightGCN.set_bridge`). ``on_epoch`` sees the selection run as
    channel ``"knowledge/simulated-cold"``.
    """
    import torch

    from graphrec.data.splits import SIMULATED_COLD, simulated_cold_targets
    from graphrec.train.loop import train_bpr
    from graphrec.train.summary import channel_label

    cold_split = cold_path_split(export, split, target=target)
    knowledge_inputs = inputs if cold_split is None else cold_path_inputs(export, cold_split, spec, target=target, item_x=item_x)
    model = build_model(spec, export, inputs, seed=config.seed, knowledge_inputs=knowledge_inputs)
    candidates = validation_candidates(split, inputs)

    def train(name: str, channel: Any, own: Inputs, val: np.ndarray, cfg: TrainConfig, evaluate_with: Any = None) -> TrainResult:
        return train_bpr(
            channel, own.adj, own.train, val, export.item_scenario, candidates, cfg,
            transfer_pairs=own.transfer_pairs, data=own.data, progress=progress,
            on_epoch=None if on_epoch is None else functools.partial(on_epoch, name), channel=name.split("/")[0],
            evaluate_with=evaluate_with, desc=channel_label(name),
        )  # fmt: skip

    results: dict[str, TrainResult] = {}
    cold_path: dict[str, Any] = {"selected_on": "validation (no simulated-cold users: not a cold-user or production split with a source)"}

    def epochs_of(channel: str) -> TrainConfig:
        return config if choices is None else dataclasses.replace(config, epochs=choices.epochs[channel])

    if cold_split is None:
        results["knowledge"] = train("knowledge", model.knowledge, inputs, split.val, epochs_of("knowledge"))
    else:
        selection, cold_config, tried = select_cold_lr(
            model, spec, export, knowledge_inputs, config, functools.partial(train, "knowledge/simulated-cold"),
            simulated_cold_targets(cold_split, export),
        )  # fmt: skip
        model.set_knowledge_graph(knowledge_inputs.adj)
        bridge = None
        if spec.bridge:
            from graphrec.models.bridge import fit_bridge_model

            source = str(cold_split.meta["source"])
            bridge = fit_bridge_model(export, cold_split, source=source, target=target, seed=int(split.meta.get("seed", 0)))  # type: ignore[call-overload]
        cold_path = select_cold_prior(model, knowledge_inputs, cold_split, export, bridge=bridge)
        cold_path["selection"] = {"best_epoch": selection.best_epoch, "best_val": selection.best_val, "epochs_run": len(selection.history),
                                  "lr": cold_config.lr, "best_val_by_lr": tried}  # fmt: skip
        results["knowledge"] = selection
        if spec.cold_refit:
            epochs = selection.best_epoch + 1
            model.knowledge = build_model(spec.channel("knowledge"), export, inputs, seed=config.seed)  # type: ignore[assignment]
            model.set_knowledge_graph(None)
            refit = train("knowledge", model.knowledge, inputs, split.val[:, :0], dataclasses.replace(cold_config, epochs=epochs))
            results["knowledge"] = dataclasses.replace(refit, best_epoch=selection.best_epoch, best_val=selection.best_val)
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
            cold_path["bridge_weight"] = weight
            cold_path["bridge_params"] = {k: v for k, v in bridge.params.items() if k != "grid"}
    results["collaborative"] = train("collaborative", model.collaborative, inputs, split.val, epochs_of("collaborative"), evaluate_with=model)
    if spec.text_block and item_x is not None and (choices is None or choices.text):
        users_t, items_t, topics_t = text_block(export, inputs, item_x)
        model.set_text(users_t, items_t, 0.0, topics=topics_t)  # weight: select_item_gate
    if choices is None:
        ease = ease_block(export, split, inputs, target=target, rank=spec.ease) if spec.ease else None
    else:
        ease = ease_block_at(export, split, inputs, target=target, rank=spec.ease, l2=choices.ease_l2) if spec.ease and choices.ease else None
    if ease is not None:
        model.set_ease(ease[0], ease[1], 0.0)  # weight: select_item_gate
    fitted = Fitted(spec, inputs, model, result=merge_channel_results(results))
    assert fitted.result is not None
    if choices is None:
        fitted.result.config["item_gate"] = select_item_gate(model, inputs, split)  # sets one prior for all users
    else:
        from graphrec.train.refit import apply_choices

        fitted.result.config["item_gate"] = apply_choices(model, inputs, split, choices)
    if ease is not None and "ease" in fitted.result.config["item_gate"]:
        fitted.result.config["item_gate"]["ease"]["params"] = ease[2]
    if "beta" in cold_path:
        model.set_cold_prior_weight(cold_path["beta"])
    fitted.result.config["cold_path"] = cold_path
    return fitted


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
        channel = model.knowledge if k == 0 else build_model(spec.channel("knowledge"), export, knowledge_inputs, seed=config.seed)
        result = train(channel, knowledge_inputs, targets, cfg)
        tried[f"{cfg.lr:g}"] = result.best_val
        if best is None or result.best_val > best[0].best_val:
            best = (result, cfg, channel)
    assert best is not None
    model.knowledge = best[2]
    if len(tried) > 1:
        logger.info("knowledge channel's lr on simulated-cold users: %s (best validation Recall by lr %s)", best[1].lr, tried)
    return best[0], best[1], tried


def text_block(export: GraphExport, inputs: Inputs, item_x: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The routed model's text block ``(users [num_users, d], items [num_items, d], topics [num_topics, d])``:
    text kNN profiles of the training pairs (:func:`~graphrec.models.baselines.text_profiles`); each item's
    unit text vector less its scenario's mean, so the block reorders the items that lean on text without
    lifting them as a group above the others (a constant per user and scenario); each topic's text (the
    weighted mean of its members' unit vectors, :func:`topic_features`) less the topics' mean."""
    import numpy as np
    import torch

    from graphrec.models.text_knn import text_profiles

    users, items = text_profiles(inputs.train, item_x, len(export.user_ids))
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


def score_spread(users: torch.Tensor, items: torch.Tensor, user_rows: np.ndarray, candidates: np.ndarray) -> float:
    """Standard deviation of ``users[user_rows] @ items[candidates].T`` (up to 256 users; 0 without any)."""
    import numpy as np
    import torch

    rows = torch.from_numpy(np.asarray(user_rows, dtype=np.int64)[:256])
    if not len(rows):
        return 0.0
    return float((users[rows] @ items[torch.from_numpy(np.flatnonzero(candidates))].T).std())


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
    import numpy as np
    import torch

    with_bridge = bridge is not None and bool(bridge_weight)
    if not prior and not with_bridge:
        return 0.0, 0.0
    model.eval()
    with torch.inference_mode():
        users, items, _ = model.channels(inputs.adj)[0]
    rows = np.flatnonzero(model.cold_users.numpy())
    if not len(rows) and fallback_users is not None:
        rows = np.asarray(fallback_users)
    rows = rows[:256]
    spread = score_spread(users, items, rows, inputs.candidates)
    cand = torch.from_numpy(np.flatnonzero(inputs.candidates))
    beta = w = 0.0
    if prior:
        prior_spread = float(model.item_prior[cand].std()) if len(cand) > 1 else 0.0
        beta = prior * spread / prior_spread if prior_spread > 0 else 0.0
    if with_bridge:
        assert bridge is not None
        b = bridge.score_fn()(torch.from_numpy(rows))[:, cand]
        b_spread = float(b.std()) if b.numel() > 1 else 0.0
        w = bridge_weight * spread / b_spread if b_spread > 0 else 0.0
    return beta, w


def select_cold_prior(
    model: RoutedLightGCN, knowledge_inputs: Inputs, split: Split, export: GraphExport, *, bridge: BridgeModel | None = None
) -> dict[str, Any]:
    """Choose cold users' popularity prior weight (:data:`COLD_PRIOR_WEIGHTS`) — and with a ``bridge``, the
    weight of its scores (:data:`BRIDGE_WEIGHTS`, jointly) — by Recall@20 on the simulated-cold users of
    ``split`` (their target validation and hidden training pairs, ranked over the target's items by the
    knowledge channel on its cold path's graph, with popularity counted on that graph's training pairs
    and the bridge's out-of-fold scores) and return the choice (``prior`` and ``bridge``: relative weights
    ``r``; ``beta``: the prior weight for this knowledge channel) and the grid; the model is not changed.
    ``r`` is relative to the score spread as in :func:`select_item_gate`. Ties go to the smaller weights.
    """
    import numpy as np
    import torch

    from graphrec.data.splits import SIMULATED_COLD, simulated_cold_targets
    from graphrec.eval.ranking import dot_product_scores

    targets = simulated_cold_targets(split, export)
    model.eval()
    with torch.inference_mode():
        users, items, _ = model.knowledge.embed(knowledge_inputs.adj)
    prior = torch.from_numpy(np.log1p(np.bincount(knowledge_inputs.train[1], minlength=items.shape[0])).astype(np.float32))
    candidates = knowledge_inputs.candidates
    spread = score_spread(users, items, np.asarray(split.slices[SIMULATED_COLD]), candidates)
    cand = torch.from_numpy(np.flatnonzero(candidates))
    prior_spread = float(prior[cand].std()) if len(cand) > 1 else 0.0
    exclude = group_by_user(knowledge_inputs.train)
    oof, b_spread = None, 0.0
    bridge_weights: tuple[float, ...] = (0.0,)
    if bridge is not None:
        oof = bridge.val_score_fn()
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
                return base(rows) + w * oof(rows) if (w and oof is not None) else base(rows)

            val = evaluate_ranking(score, targets, exclude, candidates, ks=(20,))
            grid.append({"prior": r, "beta": beta, "bridge": rb, "val_recall@20": val.get("all", {}).get("recall@20", 0.0)})
    best = max(grid, key=lambda row: row["val_recall@20"])
    logger.info(
        "cold users: popularity prior %g, bridge %g (simulated-cold recall@20 %.4f, %d users)",
        best["prior"], best["bridge"], best["val_recall@20"], len(split.slices[SIMULATED_COLD]),
    )  # fmt: skip
    return {**best, "selected_on": SIMULATED_COLD, "record": split.meta.get("simulated_cold"), "grid": grid}


def fit_ease(export: GraphExport, split: Split, spec: ModelSpec, inputs: Inputs, *, target: str, l2: float | None = None) -> Fitted:
    """Target-only EASE (:func:`graphrec.models.baselines.fit_target_ease`), its ridge chosen on
    validation over :func:`validation_candidates` (or ``l2`` where given: a refit)."""
    from graphrec.models.ease import TARGET_EASE_L2, fit_target_ease
    from graphrec.train.loop import TrainResult

    l2s = TARGET_EASE_L2 if l2 is None else (l2,)
    scorer, params = fit_target_ease(export, split, target=target, l2s=l2s, val_candidates=validation_candidates(split, inputs))
    result = TrainResult(best_epoch=0, best_val=params["val_recall@20"], config=params)
    return Fitted(spec, inputs, None, result=result, scorer=scorer)


def fit_text_knn(export: GraphExport, spec: ModelSpec, inputs: Inputs, item_x: np.ndarray) -> Fitted:
    """Text kNN over every scenario's training items (no parameters to select)."""
    from graphrec.eval.ranking import dot_product_scores
    from graphrec.models.text_knn import text_profiles
    from graphrec.train.loop import TrainResult

    users, items = text_profiles(inputs.train, item_x, len(export.user_ids))
    return Fitted(spec, inputs, None, result=TrainResult(best_epoch=0, best_val=0.0), scorer=dot_product_scores(users, items))


def fit_bridge_reference(export: GraphExport, split: Split, spec: ModelSpec, inputs: Inputs, *, target: str) -> Fitted:
    """The ``bridge+ease`` reference: the bridge for users without target training interactions, target-only
    EASE for the others, each selected on validation (the bridge on a simulated-cold slice, added to the
    split with its own seed when it has none).

    Raises:
        ConfigError: The split has no source scenario (the bridge needs a coldstart-transfer split).
    """
    from graphrec.data.splits import SIMULATED_COLD, simulated_cold
    from graphrec.models.bridge import combined_reference, fit_bridge
    from graphrec.models.ease import fit_target_ease
    from graphrec.train.loop import TrainResult

    source = split.meta.get("source")
    if not isinstance(source, str):
        raise ConfigError(
            f"model {spec.name!r} maps users' source history to the target: it needs a coldstart-transfer split "
            f"with a source scenario (this split's protocol is {split.meta.get('protocol')!r})"
        )
    seed = int(split.meta.get("seed", 0))  # type: ignore[call-overload]
    if SIMULATED_COLD not in split.slices:
        split = simulated_cold(split, export, source=source, target=target, seed=seed)
    cold_fn, bridge = fit_bridge(export, split, source=source, target=target, seed=seed)
    warm_fn, ease = fit_target_ease(export, split, target=target)
    cold = ~users_with_items(inputs.train, inputs.candidates, len(export.user_ids))
    result = TrainResult(best_epoch=0, best_val=float(ease.get("val_recall@20", 0.0)), config={"bridge": bridge, "ease": ease})
    return Fitted(spec, inputs, None, result=result, scorer=combined_reference(cold_fn, warm_fn, cold))
