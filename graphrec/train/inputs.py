"""What a model of one :class:`~graphrec.models.presets.ModelSpec` trains on (:class:`Inputs`: training pairs,
the normalised adjacency of its graph, features) and the fresh model itself (:func:`build_model`).

Topic features are the weighted mean of their member items' text features (item text only: no
interaction enters them); user features are never stored (see :mod:`graphrec.features`). Items without a
training interaction (new or held-out items) have ``item_counts`` 0: they are never drawn as BPR
negatives, and in models with text features their layer 0 is their text alone (no untrained ID vector).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from graphrec.data.export import to_hetero_data
from graphrec.data.splits import check_graph_has_no_held_out_edges
from graphrec.errors import ConfigError
from graphrec.models.lightgcn import CrossScenarioLightGCN, node_degrees, normalized_adjacency, user_item_mean
from graphrec.models.routed import RoutedLightGCN
from graphrec.schema import EdgeType, NodeType

if TYPE_CHECKING:  # pragma: no cover
    from torch_geometric.data import HeteroData

    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split
    from graphrec.models.presets import ModelSpec


def topic_features(export: GraphExport, item_x: np.ndarray) -> np.ndarray:
    """Topic features: the membership-weighted mean of member items' text features, L2-normalised."""
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
    degree: np.ndarray | None = None
    """Weighted node degrees ``[users | items | topics]`` of the graph ``adj`` normalises
    (:func:`~graphrec.models.lightgcn.node_degrees`): a user folded in later is propagated with them."""

    def to(self, device: torch.device | str) -> Inputs:
        """These inputs with every tensor (the adjacency, features, user–item means, cold users) on ``device``;
        the NumPy arrays and the PyG graph ``data`` (mini-batch loaders sample on the CPU) stay. On the device
        the tensors already live on, the same tensors."""

        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device)

        return dataclasses.replace(
            self, adj=self.adj.to(device), item_x=move(self.item_x), topic_x=move(self.topic_x),
            user_items=move(self.user_items), source_items=move(self.source_items), cold_users=move(self.cold_users),
        )  # fmt: skip


def build_inputs(
    export: GraphExport, split: Split, spec: ModelSpec, *, target: str, item_x: np.ndarray | None
) -> Inputs:
    """Training pairs, the model's graph as ``HeteroData`` with its normalised adjacency, and features.

    Only ``split.train`` enters the graph (checked with
    :func:`~graphrec.data.splits.check_graph_has_no_held_out_edges` on every call).

    Raises:
        ConfigError: ``spec.text`` without item features, or an unknown target.
    """
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
    graph = (
        data[NodeType.USER].num_nodes,
        data[NodeType.ITEM].num_nodes,
        n_topics,
        data[EdgeType.INTERACTS].edge_index.numpy(),
        has_topic.edge_index.numpy() if use_topics else None,
        has_topic.edge_weight.numpy() if use_topics else None,
    )
    adj = normalized_adjacency(*graph)
    x = data[NodeType.ITEM].x.float() if spec.text else None
    tx = data[NodeType.TOPIC].x.float() if (x is not None and use_topics) else None
    user_items = None
    if spec.users != "id":
        user_items = user_item_mean(len(export.user_ids), len(export.item_keys), train)
    inputs = Inputs(train, adj, x, tx, n_topics, export.item_scenario == t, t, user_items, data=data)
    inputs.item_counts = np.bincount(train[1], minlength=len(export.item_keys))
    inputs.degree = node_degrees(*graph)
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
    spec: ModelSpec,
    export: GraphExport,
    inputs: Inputs,
    *,
    seed: int | None = None,
    knowledge_inputs: Inputs | None = None,
) -> CrossScenarioLightGCN | RoutedLightGCN:
    """A fresh model for ``spec``: a :class:`~graphrec.models.lightgcn.CrossScenarioLightGCN`
    (:func:`build_lightgcn`), or for a routed spec a :class:`~graphrec.models.routed.RoutedLightGCN` of two
    (:func:`build_routed`). Seed torch before calling, or pass ``seed`` (torch is then seeded before each
    channel, so a channel starts as its single-channel spec would). The model lives on the device of
    ``inputs`` (:meth:`Inputs.to`).

    Args:
        knowledge_inputs: A routed spec's knowledge channel's own inputs (its cold path's graph, see
            :func:`~graphrec.train.cold_path.cold_path_inputs`; default ``inputs``).
    """
    if spec.route:
        return build_routed(spec, export, inputs, seed=seed, knowledge_inputs=knowledge_inputs)
    return build_lightgcn(spec, export, inputs, seed=seed)


def build_routed(
    spec: ModelSpec,
    export: GraphExport,
    inputs: Inputs,
    *,
    seed: int | None = None,
    knowledge_inputs: Inputs | None = None,
) -> RoutedLightGCN:
    """A fresh :class:`~graphrec.models.routed.RoutedLightGCN` for a routed ``spec`` (see :func:`build_model`)."""
    if seed is not None:
        torch.manual_seed(seed)
    knowledge = build_lightgcn(spec.channel("knowledge"), export, knowledge_inputs or inputs, seed=seed)
    collaborative = build_lightgcn(
        spec.channel("collaborative"), export, dataclasses.replace(inputs, item_x=None, topic_x=None), seed=seed
    )
    counts = None if inputs.item_counts is None else torch.from_numpy(inputs.item_counts)
    model = RoutedLightGCN(knowledge, collaborative, routed_cold_users(export, inputs), item_counts=counts)
    return model.to(inputs.adj.device)


def build_lightgcn(
    spec: ModelSpec, export: GraphExport, inputs: Inputs, *, seed: int | None = None
) -> CrossScenarioLightGCN:
    """A fresh :class:`~graphrec.models.lightgcn.CrossScenarioLightGCN` for a single-channel ``spec`` (a routed
    spec's channel: :meth:`~graphrec.models.presets.ModelSpec.channel`); see :func:`build_model`. Its weights are
    drawn on the CPU (the same on any device), then the model moves to the device of ``inputs``
    (:meth:`Inputs.to`)."""
    if seed is not None:
        torch.manual_seed(seed)
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
    ).to(inputs.adj.device)


def users_with_items(pairs: np.ndarray, items: np.ndarray, num_users: int) -> np.ndarray:
    """Bool ``[num_users]``: users with at least one of ``pairs`` (user row, item row) on an item of the
    bool mask ``items``."""
    out = np.zeros(num_users, dtype=bool)
    out[pairs[0, items[pairs[1]]]] = True
    return out


def routed_cold_users(export: GraphExport, inputs: Inputs) -> torch.Tensor:
    """Bool ``[num_users]``: users without a target-scenario training interaction (routed to knowledge)."""
    return torch.from_numpy(~users_with_items(inputs.train, inputs.candidates, len(export.user_ids)))


def validation_candidates(split: Split, inputs: Inputs) -> np.ndarray:
    """The items validation ranks over (early stopping and every choice made on validation): the
    target scenario's items, or for the cold-item protocol only its validation items — the validation
    counterpart of the ``held-out-items`` ranking, the protocol's measure. (Ranked among all target
    items, new items seldom reach a top 20 at all, which leaves validation without a signal.)"""
    if split.meta.get("protocol") != "coldstart-items" or not split.val.shape[1]:
        return inputs.candidates
    only_val = np.zeros(len(inputs.candidates), dtype=bool)
    only_val[np.unique(split.val[1])] = True
    return only_val & inputs.candidates
