"""LightGCN-style propagation over the cross-scenario graph, with items and topics initialised from
text features through a trainable projection.

Nodes of all types share one embedding space and one symmetric-normalised adjacency
``D^-1/2 A D^-1/2`` over user–item (training interactions only) and item–topic edges
(He et al., 2020, extended with topic nodes). Layer outputs are averaged. The default path is
full-batch sparse propagation with ``torch.sparse`` (no compiled extensions).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn


def normalized_adjacency(
    num_users: int,
    num_items: int,
    num_topics: int,
    user_item: np.ndarray,
    item_topic: np.ndarray | None = None,
    item_topic_weight: np.ndarray | None = None,
) -> Tensor:
    """Sparse CSR ``D^-1/2 A D^-1/2`` over ``[users | items | topics]`` (symmetric, no self loops).

    Args:
        user_item: int64 ``[2, n]`` (user row, item row): the training interactions.
        item_topic: int64 ``[2, m]`` (item row, topic row), or ``None``.
        item_topic_weight: Edge weights of ``item_topic`` (default 1).
    """
    n = num_users + num_items + num_topics
    r, c, v = _edges(num_users, num_items, user_item, item_topic, item_topic_weight)
    deg = torch.zeros(n).index_add_(0, r, v)
    inv_sqrt = deg.pow(-0.5)
    inv_sqrt[torch.isinf(inv_sqrt)] = 0.0
    v = inv_sqrt[r] * v * inv_sqrt[c]
    coo = torch.sparse_coo_tensor(torch.stack([r, c]), v, (n, n), check_invariants=True).coalesce()
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state": CSR mm is all we use
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta", category=UserWarning)
        return coo.to_sparse_csr()


def node_degrees(
    num_users: int,
    num_items: int,
    num_topics: int,
    user_item: np.ndarray,
    item_topic: np.ndarray | None = None,
    item_topic_weight: np.ndarray | None = None,
) -> np.ndarray:
    """Weighted degrees ``[users | items | topics]`` (float32) of the graph :func:`normalized_adjacency`
    normalises: each interaction counts 1 at both ends, each item–topic edge its weight (summed as that
    function sums them, so the two agree to the bit)."""
    r, _, v = _edges(num_users, num_items, user_item, item_topic, item_topic_weight)
    return torch.zeros(num_users + num_items + num_topics).index_add_(0, r, v).numpy()


def _edges(
    num_users: int,
    num_items: int,
    user_item: np.ndarray,
    item_topic: np.ndarray | None,
    item_topic_weight: np.ndarray | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """``(rows, cols, float weights)`` of both directions of every edge over ``[users | items | topics]``."""
    rows = [user_item[0], user_item[1] + num_users]
    cols = [user_item[1] + num_users, user_item[0]]
    vals = [np.ones(user_item.shape[1]), np.ones(user_item.shape[1])]
    if item_topic is not None and item_topic.shape[1]:
        w = item_topic_weight if item_topic_weight is not None else np.ones(item_topic.shape[1])
        rows += [item_topic[0] + num_users, item_topic[1] + num_users + num_items]
        cols += [item_topic[1] + num_users + num_items, item_topic[0] + num_users]
        vals += [w, w]
    r, c, v = (torch.from_numpy(np.concatenate(x)) for x in (rows, cols, vals))
    return r, c, v.float()


class _SymmetricSpMM(torch.autograd.Function):
    """``adj @ h`` for a symmetric sparse ``adj``: the gradient is ``adj @ grad`` again, which avoids
    transposing the sparse matrix in backward (≈3× faster per layer than autograd through ``torch.sparse.mm``)."""

    @staticmethod
    def forward(ctx: Any, adj: Tensor, h: Tensor) -> Tensor:
        ctx.adj = adj
        return torch.sparse.mm(adj, h)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, Tensor]:
        return None, torch.sparse.mm(ctx.adj, grad)


def symmetric_spmm(adj: Tensor, h: Tensor) -> Tensor:
    """``adj @ h`` with a cheap backward; ``adj`` must be symmetric (as :func:`normalized_adjacency`'s is)."""
    return _SymmetricSpMM.apply(adj, h)


class CrossScenarioLightGCN(nn.Module):
    """LightGCN with text-initialised items and topics.

    Args:
        num_users: Users.
        num_items: Items (all scenarios).
        num_topics: Topics (0 for the no-topic ablation).
        dim: Embedding size (default 64).
        num_layers: Propagation layers (default 3).
        item_x: Item text features ``[num_items, d_text]`` or ``None`` (ID-only ablation).
        topic_x: Topic text features ``[num_topics, d_text]`` or ``None``.
        id_embeddings: Add a trainable ID embedding to items/topics that have text features (default true).
        user_items: Row-normalised sparse ``[num_users, num_items]`` of training interactions. When
            given, a user's layer-0 embedding is the mean of its items' layer-0 embeddings (plus its ID
            embedding if ``user_ids``): users are represented by what they interacted with, so a user
            with no history in a scenario is placed by its other scenarios' items, and a user the
            model has never seen can be folded in from its items.
        user_ids: Trainable user ID embeddings (default true; false needs ``user_items``).
        source_items: Row-normalised sparse ``[num_users, num_items]`` over each user's training items
            of the *source* scenarios (all but the target). Enables the cold-start transfer head: a
            user's *source view* is ``W · mean(final embeddings of its source items)``, trained (see
            :func:`graphrec.train.loop.train_bpr`) to rank the target items of users who have both, and
            used as the embedding of ``cold_users``.
        cold_users: Bool ``[num_users]``: users with source interactions and no target training
            interaction; ``forward`` gives them their source view.
        item_evidence: Float ``[num_items]`` in ``[0, 1]``: the weight of each item's ID embedding in its
            layer 0, for a model with text features (ignored without them: an ID-only model has nothing
            else). :func:`graphrec.train.inputs.build_inputs` gives 1 to items with a training
            interaction and 0 to items without (a new or held-out item): an untrained ID vector is
            noise, so such an item starts from its text and topics alone. Default: 1 for every item.

    Every tensor the model holds is a parameter or a buffer, so ``model.to(device)`` moves it whole.
    """

    item_x: Tensor | None
    topic_x: Tensor | None
    item_evidence: Tensor | None
    user_items: Tensor | None
    source_items: Tensor | None
    cold_users: Tensor | None

    def __init__(
        self,
        num_users: int,
        num_items: int,
        num_topics: int = 0,
        *,
        dim: int = 64,
        num_layers: int = 3,
        item_x: Tensor | None = None,
        topic_x: Tensor | None = None,
        id_embeddings: bool = True,
        user_items: Tensor | None = None,
        user_ids: bool = True,
        source_items: Tensor | None = None,
        cold_users: Tensor | None = None,
        item_evidence: Tensor | None = None,
    ) -> None:
        super().__init__()
        if not user_ids and user_items is None:
            raise ValueError("user_ids=False needs user_items (users are then the mean of their items)")
        self.num_users, self.num_items, self.num_topics = num_users, num_items, num_topics
        self.num_layers = num_layers
        self.dim = dim
        # graph-derived tensors are buffers (``.to(device)`` moves them); those rebuilt from the training split
        # (sparse user_items / source_items, cold_users, item_evidence) are not part of the state_dict
        self.register_buffer("user_items", user_items, persistent=False)
        self.user_emb = nn.Embedding(num_users, dim) if user_ids else None
        self.item_emb = nn.Embedding(num_items, dim) if (item_x is None or id_embeddings) else None
        self.topic_emb = nn.Embedding(num_topics, dim) if num_topics and (topic_x is None or id_embeddings) else None
        self.register_buffer("item_x", item_x if item_x is not None else None)
        self.register_buffer("topic_x", topic_x if topic_x is not None else None)
        gate = item_x is not None and self.item_emb is not None
        evidence = item_evidence.float()[:, None] if item_evidence is not None and gate else None
        self.register_buffer("item_evidence", evidence, persistent=False)
        self.item_proj = nn.Linear(item_x.shape[1], dim, bias=False) if item_x is not None else None
        self.topic_proj = nn.Linear(topic_x.shape[1], dim, bias=False) if topic_x is not None else None
        self.register_buffer("source_items", source_items, persistent=False)
        self.register_buffer("cold_users", cold_users, persistent=False)
        self.transfer = nn.Linear(dim, dim, bias=False) if source_items is not None else None
        if self.transfer is not None:
            nn.init.eye_(self.transfer.weight)
        for emb in (self.user_emb, self.item_emb, self.topic_emb):  # (user_emb is None without user IDs)
            if emb is not None:
                nn.init.normal_(emb.weight, std=0.1)

    def initial(self, rows: tuple[Tensor, Tensor, Tensor] | None = None) -> Tensor:
        """Layer-0 embeddings of ``[users | items | topics]``.

        Args:
            rows: ``(user rows, item rows, topic rows)`` to compute only those nodes' embeddings, in that
                order (a sampled subgraph's nodes); default all nodes.
        """
        user_rows, item_rows, topic_rows = rows if rows is not None else (None, None, None)
        items = self._items(item_rows)
        users = None
        if self.user_emb is not None:
            users = self.user_emb.weight if user_rows is None else self.user_emb(user_rows)
        if self.user_items is not None:  # the mean of the user's items: needs all items' layer 0
            all_items = items if item_rows is None else self._items()
            from_items = torch.sparse.mm(self.user_items, all_items)
            from_items = from_items if user_rows is None else from_items[user_rows]
            users = from_items if users is None else users + from_items
        assert users is not None  # __init__ refuses a model with neither user IDs nor user_items
        parts = [users, items]
        if self.num_topics:
            parts.append(self._side(self.topic_emb, self.topic_proj, self.topic_x, self.num_topics, topic_rows))
        return torch.cat(parts)

    def _items(self, rows: Tensor | None = None) -> Tensor:
        """Layer-0 item embeddings (all, or ``rows``): ID part weighted by :attr:`item_evidence`, plus text."""
        if self.item_evidence is None:
            return self._side(self.item_emb, self.item_proj, self.item_x, self.num_items, rows)
        assert self.item_emb is not None and self.item_proj is not None and self.item_x is not None
        weight = self.item_evidence if rows is None else self.item_evidence[rows]
        ids = self.item_emb.weight if rows is None else self.item_emb(rows)
        return weight * ids + self.item_proj(self.item_x if rows is None else self.item_x[rows])

    def _side(
        self, emb: nn.Embedding | None, proj: nn.Linear | None, x: Tensor | None, n: int, rows: Tensor | None = None
    ) -> Tensor:
        size = n if rows is None else len(rows)
        device = x.device if x is not None else emb.weight.device if emb is not None else None
        out = torch.zeros(size, self.dim, device=device)
        if emb is not None:
            out = out + (emb.weight if rows is None else emb(rows))
        if proj is not None and x is not None:
            out = out + proj(x if rows is None else x[rows])
        return out

    def propagate(self, adj: Tensor) -> tuple[Tensor, Tensor]:
        """``(mean of layers 0..L, layer 0)`` for all nodes ``[users | items | topics]``."""
        return self._mean_of_layers(self.initial(), functools.partial(symmetric_spmm, adj))

    def propagate_sampled(self, adj: Tensor, rows: tuple[Tensor, Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """:meth:`propagate` over a sampled subgraph (mini-batch training).

        Args:
            adj: Sparse ``[n, n]`` message matrix over the subgraph's ``[users | items | topics]``
                (``adj[dst, src]`` = the full graph's normalised edge weight; not symmetric: a sampled
                subgraph holds the edges into the nodes it expands), see
                :func:`graphrec.train.minibatch.sampled_adjacency`.
            rows: The subgraph's ``(user rows, item rows, topic rows)`` in the full graph.

        Returns:
            ``(mean of layers 0..L, layer 0)`` for the subgraph's nodes. With every neighbour sampled
            for ``L`` hops the seeds' rows equal :meth:`propagate`'s.
        """
        return self._mean_of_layers(self.initial(rows), functools.partial(torch.sparse.mm, adj))

    def layers(self, adj: Tensor) -> list[Tensor]:
        """Every layer's embeddings ``[h0, h1, …, hL]`` of all nodes ``[users | items | topics]`` (one
        propagation; what :meth:`propagate` averages), e.g. to fold in a user from its items' layers."""
        h = self.initial()
        out = [h]
        for _ in range(self.num_layers):
            h = symmetric_spmm(adj, h)
            out.append(h)
        return out

    def _mean_of_layers(self, h0: Tensor, step: Callable[[Tensor], Tensor]) -> tuple[Tensor, Tensor]:
        """``(mean of h0, step(h0), …, step^L(h0), h0)``: LightGCN's layer combination."""
        h, total = h0, h0
        for _ in range(self.num_layers):
            h = step(h)
            total = total + h
        return total / (self.num_layers + 1), h0

    def source_view(self, items: Tensor) -> Tensor:
        """Every user as seen from its source-scenario items only: ``W · (source_items @ items)``."""
        if self.transfer is None or self.source_items is None:
            raise ValueError("the model was built without source_items (no cold-start transfer head)")
        return self.transfer(torch.sparse.mm(self.source_items, items))

    def embed(self, adj: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One propagation; ``(users, items, topics)`` final embeddings (mean over layers 0..L).

        With the transfer head, cold users' embeddings are their source views.
        """
        out, _ = self.propagate(adj)
        users = out[: self.num_users]
        items = out[self.num_users : self.num_users + self.num_items]
        if self.transfer is not None and self.cold_users is not None and bool(self.cold_users.any()):
            users = torch.where(self.cold_users[:, None], self.source_view(items), users)
        return users, items, out[self.num_users + self.num_items :]

    def forward(self, adj: Tensor) -> tuple[Tensor, Tensor]:
        """Propagate; returns ``(user embeddings, item embeddings)`` as :meth:`embed` gives them."""
        users, items, _ = self.embed(adj)
        return users, items


def user_item_mean(num_users: int, num_items: int, user_item: np.ndarray) -> Tensor:
    """Row-normalised sparse CSR ``[num_users, num_items]``: row ``u`` averages user ``u``'s training items."""
    r, c = (torch.from_numpy(np.ascontiguousarray(x)) for x in (user_item[0], user_item[1]))
    deg = torch.zeros(num_users).index_add_(0, r, torch.ones(len(r)))
    v = 1.0 / deg[r]
    coo = torch.sparse_coo_tensor(torch.stack([r, c]), v, (num_users, num_items), check_invariants=True).coalesce()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta", category=UserWarning)
        return coo.to_sparse_csr()
