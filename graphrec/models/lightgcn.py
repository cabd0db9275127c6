"""LightGCN-style propagation over the cross-scenario graph, with items and topics initialised from
text features through a trainable projection.

Nodes of all types share one embedding space and one symmetric-normalised adjacency
``D^-1/2 A D^-1/2`` over user–item (training interactions only) and item–topic edges
(He et al., 2020, extended with topic nodes). Layer outputs are averaged. The default path is
full-batch sparse propagation with ``torch.sparse`` (no compiled extensions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


def normalized_adjacency(
    num_users: int,
    num_items: int,
    num_topics: int,
    user_item: np.ndarray,
    item_topic: np.ndarray | None = None,
    item_topic_weight: np.ndarray | None = None,
) -> Tensor:
    """Sparse ``D^-1/2 A D^-1/2`` over ``[users | items | topics]`` (symmetric, no self loops).

    Args:
        user_item: int64 ``[2, n]`` (user row, item row): the training interactions.
        item_topic: int64 ``[2, m]`` (item row, topic row), or ``None``.
        item_topic_weight: Edge weights of ``item_topic`` (default 1).
    """
    import numpy as np

    n = num_users + num_items + num_topics
    rows = [user_item[0], user_item[1] + num_users]
    cols = [user_item[1] + num_users, user_item[0]]
    vals = [np.ones(user_item.shape[1]), np.ones(user_item.shape[1])]
    if item_topic is not None and item_topic.shape[1]:
        w = item_topic_weight if item_topic_weight is not None else np.ones(item_topic.shape[1])
        rows += [item_topic[0] + num_users, item_topic[1] + num_users + num_items]
        cols += [item_topic[1] + num_users + num_items, item_topic[0] + num_users]
        vals += [w, w]
    r, c, v = (torch.from_numpy(np.concatenate(x)) for x in (rows, cols, vals))
    v = v.float()
    deg = torch.zeros(n).index_add_(0, r, v)
    inv_sqrt = deg.pow(-0.5)
    inv_sqrt[torch.isinf(inv_sqrt)] = 0.0
    v = inv_sqrt[r] * v * inv_sqrt[c]
    return torch.sparse_coo_tensor(torch.stack([r, c]), v, (n, n), check_invariants=True).coalesce()


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
    """

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
    ) -> None:
        super().__init__()
        self.num_users, self.num_items, self.num_topics = num_users, num_items, num_topics
        self.num_layers = num_layers
        self.user_emb = nn.Embedding(num_users, dim)
        self.item_emb = nn.Embedding(num_items, dim) if (item_x is None or id_embeddings) else None
        self.topic_emb = nn.Embedding(num_topics, dim) if num_topics and (topic_x is None or id_embeddings) else None
        self.register_buffer("item_x", item_x if item_x is not None else None)
        self.register_buffer("topic_x", topic_x if topic_x is not None else None)
        self.item_proj = nn.Linear(item_x.shape[1], dim, bias=False) if item_x is not None else None
        self.topic_proj = nn.Linear(topic_x.shape[1], dim, bias=False) if topic_x is not None else None
        for emb in (self.user_emb, self.item_emb, self.topic_emb):
            if emb is not None:
                nn.init.normal_(emb.weight, std=0.1)

    def initial(self) -> Tensor:
        """Layer-0 embeddings of ``[users | items | topics]``."""
        parts = [self.user_emb.weight, self._side(self.item_emb, self.item_proj, self.item_x, self.num_items)]
        if self.num_topics:
            parts.append(self._side(self.topic_emb, self.topic_proj, self.topic_x, self.num_topics))
        return torch.cat(parts)

    def _side(self, emb: nn.Embedding | None, proj: nn.Linear | None, x: Tensor | None, n: int) -> Tensor:
        out = torch.zeros(n, self.user_emb.embedding_dim, device=self.user_emb.weight.device)
        if emb is not None:
            out = out + emb.weight
        if proj is not None and x is not None:
            out = out + proj(x)
        return out

    def propagate(self, adj: Tensor) -> tuple[Tensor, Tensor]:
        """``(mean of layers 0..L, layer 0)`` for all nodes ``[users | items | topics]``."""
        h0 = self.initial()
        h, total = h0, h0
        for _ in range(self.num_layers):
            h = torch.sparse.mm(adj, h)
            total = total + h
        return total / (self.num_layers + 1), h0

    def forward(self, adj: Tensor) -> tuple[Tensor, Tensor]:
        """Propagate; returns ``(user embeddings, item embeddings)`` (mean over layers 0..L)."""
        out, _ = self.propagate(adj)
        return out[: self.num_users], out[self.num_users : self.num_users + self.num_items]
