"""Mini-batch BPR with PyG's :class:`~torch_geometric.loader.LinkNeighborLoader`, for graphs whose
full-batch training does not fit in memory.

Each step samples the ``num_neighbors`` neighbourhoods of a batch of training pairs and their
negatives, and propagates over that subgraph only (:meth:`CrossScenarioLightGCN.propagate_sampled`)
with the *full* graph's normalisation, so that with every neighbour sampled a seed's embedding equals
the full-batch one. There is one loader per scenario: a pair's negative is drawn by PyG's triplet
sampling with ``dst_weight`` = that scenario's items, so negatives come from the positive's own
scenario; a negative that is one of the user's training items is left out of the loss (PyG's sampler
does not reject them; the full-batch sampler redraws).

PyG's neighbour sampling needs a compiled backend, ``pyg-lib`` (not on PyPI) or ``torch-sparse``
with ``torch-scatter`` (source only on PyPI, and their builds import torch:
``pip install --no-build-isolation torch-scatter==2.1.2 torch-sparse==0.6.18``, about 13 minutes on
2 cores). PyG warns that its torch-sparse sampler is deprecated in favour of pyg-lib; switch when
pyg-lib is installable. Validation still ranks with one full-graph propagation in inference mode,
which needs no autograd memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from graphrec.data.pyg import HeteroData, LinkNeighborLoader, NegativeSampling, pyg_typing
from graphrec.errors import ConfigError
from graphrec.schema import EdgeType, NodeType
from graphrec.train.sampling import observed_items

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    from graphrec.models.lightgcn import CrossScenarioLightGCN

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "install a neighbour-sampling backend: "
    "`pip install --no-build-isolation torch-scatter==2.1.2 torch-sparse==0.6.18` "
    "(builds from source, about 13 minutes on 2 cores; pyg-lib is not on PyPI), or train full-batch "
    "(no --num-neighbors)"
)


def neighbor_sampling_available() -> bool:
    """Whether PyG finds a neighbour-sampling backend (``pyg-lib`` or ``torch-sparse``)."""

    return bool(pyg_typing.WITH_PYG_LIB or pyg_typing.WITH_TORCH_SPARSE)


def require_neighbor_sampling() -> None:
    """Raise unless :func:`neighbor_sampling_available`.

    Raises:
        ConfigError: No backend, with the install command.
    """
    if not neighbor_sampling_available():
        raise ConfigError(f"mini-batch training (num_neighbors) needs pyg-lib or torch-sparse; {INSTALL_HINT}")


def check_num_neighbors(num_neighbors: Sequence[int], num_layers: int) -> None:
    """Check a per-hop neighbour list against a model with ``num_layers`` propagation layers.

    Raises:
        ConfigError: Not one entry per layer, or an entry that is neither positive nor ``-1`` (all).
    """
    hops = list(num_neighbors)
    if len(hops) != num_layers or any(h == 0 or h < -1 for h in hops):
        raise ConfigError(
            f"num_neighbors {hops}: give {num_layers} positive counts or -1 (all), one per propagation layer "
            f"(e.g. {[10] * num_layers})"
        )


def message_graph(data: HeteroData, *, topics: bool) -> HeteroData:
    """The edges a model propagates over, without features: interactions, and with ``topics`` the
    item–topic edges (weighted), each with its ``rev_`` reverse."""

    out = HeteroData()
    for node_type in (NodeType.USER, NodeType.ITEM, NodeType.TOPIC):
        out[node_type].num_nodes = data[node_type].num_nodes
    edge_types = [EdgeType.INTERACTS, EdgeType.REV_INTERACTS]
    if topics:
        edge_types += [EdgeType.HAS_TOPIC, EdgeType.REV_HAS_TOPIC]
    for edge_type in edge_types:
        out[edge_type].edge_index = data[edge_type].edge_index
        if "edge_weight" in data[edge_type]:
            out[edge_type].edge_weight = data[edge_type].edge_weight.float()
    return out


@dataclass(frozen=True)
class Degrees:
    """What a sampled subgraph needs from the full graph to weigh its edges.

    Attributes:
        weighted: Weighted degree of every node per node type: the ``D`` of
            :func:`~graphrec.models.lightgcn.normalized_adjacency`.
        in_edges: Number of incoming edges of every node per edge type (what the sampler draws from).
    """

    weighted: dict[str, torch.Tensor]
    in_edges: dict[tuple[str, str, str], torch.Tensor]


def node_degrees(graph: HeteroData) -> Degrees:
    """:class:`Degrees` of ``graph`` (a :func:`message_graph`)."""
    weighted = {t: torch.zeros(graph[t].num_nodes) for t in graph.node_types}
    in_edges = {}
    for edge_type in graph.edge_types:
        store = graph[edge_type]
        w = store.edge_weight if "edge_weight" in store else torch.ones(store.edge_index.shape[1])
        weighted[edge_type[-1]].index_add_(0, store.edge_index[1], w)
        in_edges[edge_type] = torch.bincount(store.edge_index[1], minlength=graph[edge_type[-1]].num_nodes).float()
    return Degrees(weighted, in_edges)


def sampled_adjacency(
    batch: HeteroData, degrees: Degrees
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The message matrix of a sampled subgraph over its ``[users | items | topics]`` and their rows.

    Entry ``[dst, src]`` is the full graph's ``w / sqrt(deg_src · deg_dst)`` for every sampled edge,
    scaled by ``(dst's incoming edges of that type) / (those sampled)``: a node that kept ``k`` of its
    ``n`` neighbours of a type gets an unbiased estimate of its full-graph aggregation instead of ``k/n``
    of it (training would otherwise see embeddings on a smaller scale than full-graph inference).
    With every neighbour sampled the factor is 1.

    Returns:
        ``(adj, (user rows, item rows, topic rows))``: sparse ``[n, n]`` and the nodes' full-graph rows.
    """
    types = (NodeType.USER, NodeType.ITEM, NodeType.TOPIC)
    user_rows, item_rows, topic_rows = (
        batch[t].n_id if t in batch.node_types and "n_id" in batch[t] else torch.zeros(0, dtype=torch.long)
        for t in types
    )
    rows = (user_rows, item_rows, topic_rows)
    offset = dict(zip(types, (0, len(rows[0]), len(rows[0]) + len(rows[1]))))  # users, then items, then topics
    row_of = dict(zip(types, rows))
    dst_all, src_all, val_all = [], [], []
    for edge_type in batch.edge_types:
        src_t, _, dst_t = edge_type
        store = batch[edge_type]
        src, dst = store.edge_index
        w = store.edge_weight if "edge_weight" in store else torch.ones(src.numel())
        g_src, g_dst = row_of[src_t][src], row_of[dst_t][dst]
        kept = torch.bincount(dst, minlength=len(row_of[dst_t])).float()
        scale = degrees.in_edges[edge_type][g_dst] / kept[dst]
        w = w * scale * degrees.weighted[src_t][g_src].rsqrt() * degrees.weighted[dst_t][g_dst].rsqrt()
        dst_all.append(dst + offset[dst_t])
        src_all.append(src + offset[src_t])
        val_all.append(w)
    n = sum(len(r) for r in rows)
    index = torch.stack([torch.cat(dst_all), torch.cat(src_all)]) if dst_all else torch.zeros(2, 0, dtype=torch.long)
    values = torch.cat(val_all) if val_all else torch.zeros(0)
    adj = torch.sparse_coo_tensor(index, values, (n, n), check_invariants=False).coalesce()  # built just above
    return adj, rows


def scenario_loaders(
    graph: HeteroData,
    train: np.ndarray,
    item_scenario: np.ndarray,
    *,
    num_neighbors: list[int],
    batch_size: int,
) -> list[LinkNeighborLoader]:
    """One shuffling ``LinkNeighborLoader`` per scenario with training pairs: seeds are that scenario's
    ``(user, item)`` pairs, each with one negative item of the same scenario among the items with a
    training interaction (triplet sampling; as the full-batch sampler draws them)."""
    require_neighbor_sampling()

    observed = observed_items(train, len(item_scenario))
    loaders = []
    for s in np.unique(item_scenario[train[1]]).tolist():
        pairs = torch.from_numpy(np.ascontiguousarray(train[:, item_scenario[train[1]] == s]))
        negatives = NegativeSampling(
            "triplet", dst_weight=torch.from_numpy(((item_scenario == s) & observed).astype(np.float32))
        )
        loaders.append(
            LinkNeighborLoader(
                graph,
                num_neighbors=list(num_neighbors),
                edge_label_index=(EdgeType.INTERACTS, pairs),
                neg_sampling=negatives,
                batch_size=batch_size,
                shuffle=True,
            )
        )
    logger.info(
        "mini-batch training: %d loaders (one per scenario), %d batches per epoch, %s neighbours per hop",
        len(loaders), sum(len(loader) for loader in loaders), list(num_neighbors),
    )  # fmt: skip
    return loaders


def batch_schedule(loaders: list[Any], rng: np.random.Generator) -> np.ndarray:
    """Which loader each step of an epoch draws from: every loader's batches, interleaved at random."""
    return rng.permutation(np.concatenate([np.full(len(loader), k) for k, loader in enumerate(loaders)]))


def pair_keys(pairs: np.ndarray, num_items: int) -> torch.Tensor:
    """Sorted int64 keys ``user · num_items + item`` of ``(user, item)`` pairs, for :func:`triplet_scores`."""
    return torch.from_numpy(pairs[0] * num_items + pairs[1]).unique()


def is_pair(keys: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """``torch.isin(keys, known)`` for the sorted ``known`` of :func:`pair_keys`, by binary search: the same
    mask, about 10× faster than ``isin``'s sort of both for a batch of keys against every training pair."""
    if not len(known):
        return torch.zeros(keys.shape, dtype=torch.bool)
    at = torch.searchsorted(known, keys).clamp_(max=len(known) - 1)
    return known[at] == keys


def triplet_scores(
    model: CrossScenarioLightGCN, batch: HeteroData, degrees: Degrees, positives: torch.Tensor
) -> tuple[torch.Tensor, ...]:
    """``(positive scores, negative scores, layer-0 of the batch's users, positives, negatives)`` of one
    sampled batch, from one propagation over its subgraph.

    The batch is sampled and weighed on the CPU; its message matrix, rows and triplets then move to the
    model's device for the propagation.

    Args:
        positives: :func:`pair_keys` of the training pairs. PyG's triplet sampler may draw a user's own
            training item as its negative; such triplets are left out (the full-batch sampler redraws).
    """
    adj, rows = sampled_adjacency(batch, degrees)
    user_store, item_store = batch[EdgeType.INTERACTS[0]], batch[EdgeType.INTERACTS[-1]]
    u, i, j = user_store.src_index, item_store.dst_pos_index, item_store.dst_neg_index.view(-1)
    keep = ~is_pair(rows[0][u] * model.num_items + rows[1][j], positives)
    return subgraph_scores(model, adj, rows, u[keep], i[keep], j[keep])


def subgraph_scores(
    model: CrossScenarioLightGCN,
    adj: torch.Tensor,
    rows: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    u: torch.Tensor,
    i: torch.Tensor,
    j: torch.Tensor,
) -> tuple[torch.Tensor, ...]:
    """What :func:`triplet_scores` returns, for triplets given by their local rows ``u`` (among the subgraph's
    users), ``i`` and ``j`` (among its items) in the subgraph ``adj, rows`` of :func:`sampled_adjacency`:
    one propagation on the model's device."""
    device = next(model.parameters()).device
    u, i, j = u.to(device), i.to(device), j.to(device)
    adj = adj.to(device)
    rows = (rows[0].to(device), rows[1].to(device), rows[2].to(device))
    out, h0 = model.propagate_sampled(adj, rows)
    n_u = len(rows[0])
    users, items = out[:n_u], out[n_u:]
    return (users[u] * items[i]).sum(1), (users[u] * items[j]).sum(1), h0[u], h0[n_u + i], h0[n_u + j]
