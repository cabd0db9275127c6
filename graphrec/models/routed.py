"""Two channels in one embedding space, routed per user by target-scenario history.

A user with target training interactions is scored by the *collaborative* channel (LightGCN over the
same graph with ID-only item/topic embeddings); a user without (a cold user: history in other
scenarios only) by the *knowledge* channel (items/topics initialised from BERT features). The two are
concatenated so that one dot product serves both::

    user = [g · u_knowledge, (1 − g) · u_collaborative],  g = 1 for cold users, else 0
    item = [i_knowledge, i_collaborative]                  (topics likewise)

so ``user · item`` is the routed channel's score, and every consumer of embeddings (ranking,
write-back, vector indexes, ``INTERESTED_IN``) works unchanged.

Items are routed too, by interaction evidence. The collaborative channel's item vector is an ID
embedding, which an item nobody has interacted with (a new catalogue entry) does not have; so with
``item_content`` (text features) the model also holds a linear *content map* ``M`` from an item's
content features to the collaborative space, fitted in closed form on the items that have
interactions (:meth:`RoutedLightGCN.fit_content_map`), and each item's collaborative vector is::

    i_collaborative = h · i_id + (1 − h) · content_i · M,   h = n_i / (n_i + c)

with ``n_i`` the item's training interactions (``c = 0``: only items without any use the map). A cold
item therefore lands where items with similar text sit in the collaborative space, and warm users can
rank it against the items they know.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from graphrec.models.lightgcn import CrossScenarioLightGCN


class RoutedLightGCN(nn.Module):
    """Knowledge channel for cold users, collaborative channel for the others (see the module docstring).

    Args:
        knowledge: The BERT-initialised model.
        collaborative: The ID-only model over the same graph (same users, items and topics).
        cold_users: Bool ``[num_users]``: users without target training interactions.
        item_content: Float ``[num_items, d]`` content features of every item (text, topics), or ``None``
            for no item routing. The content map ``[d, collaborative.dim]`` and the item gate
            ``[num_items]`` are buffers of the state_dict; until :meth:`fit_content_map` runs the gate is
            1 (every item uses its ID vector).
    """

    def __init__(
        self,
        knowledge: CrossScenarioLightGCN,
        collaborative: CrossScenarioLightGCN,
        cold_users: Tensor,
        item_content: Tensor | None = None,
    ) -> None:
        super().__init__()
        if (knowledge.num_users, knowledge.num_items, knowledge.num_topics) != (
            collaborative.num_users, collaborative.num_items, collaborative.num_topics,
        ):  # fmt: skip
            raise ValueError("the two channels must cover the same users, items and topics")
        self.knowledge = knowledge
        self.collaborative = collaborative
        self.register_buffer("cold_users", cold_users.to(torch.bool), persistent=False)
        self.num_users, self.num_items, self.num_topics = knowledge.num_users, knowledge.num_items, knowledge.num_topics
        if item_content is not None and item_content.shape[0] != self.num_items:
            raise ValueError(f"item_content has {item_content.shape[0]} rows for {self.num_items} items")
        self.register_buffer("item_content", None if item_content is None else item_content.float(), persistent=False)
        d = 0 if item_content is None else item_content.shape[1]
        self.register_buffer("content_map", torch.zeros(d, collaborative.dim) if d else None)
        self.register_buffer("item_gate", torch.ones(self.num_items) if d else None)

    def channels(self, adj: Tensor) -> tuple[tuple[Tensor, Tensor, Tensor], tuple[Tensor, Tensor, Tensor]]:
        """Each channel's own ``(users, items, topics)`` (one propagation each), before routing."""
        return self.knowledge.embed(adj), self.collaborative.embed(adj)

    def route(
        self, knowledge: tuple[Tensor, Tensor, Tensor], collaborative: tuple[Tensor, Tensor, Tensor]
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Concatenate the channels' embeddings, users gated by :attr:`cold_users`, items by :attr:`item_gate`."""
        (u_k, i_k, t_k), (u_c, i_c, t_c) = knowledge, collaborative
        if self.item_content is not None and self.content_map is not None and self.item_gate is not None:
            h = self.item_gate[:, None]
            i_c = h * i_c + (1 - h) * (self.item_content @ self.content_map)
        g = self.cold_users.to(u_k.dtype)[:, None]
        return torch.cat([g * u_k, (1 - g) * u_c], 1), torch.cat([i_k, i_c], 1), torch.cat([t_k, t_c], 1)

    def embed(self, adj: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(users, items, topics)``: each channel propagated once, concatenated, users and items gated."""
        return self.route(*self.channels(adj))

    @torch.no_grad()
    def fit_content_map(
        self, collaborative_items: Tensor, item_counts: Tensor, *, ridge: float, gate_count: float
    ) -> None:
        """Fit the content map and set the item gate (see the module docstring).

        ``M = argmin ‖C_w · M − I_w‖² + ridge · ‖M‖²`` over the items ``w`` with a training interaction
        (``C``: :attr:`item_content`, ``I``: the collaborative channel's final item embeddings), solved
        in closed form; then ``item_gate = n / (n + gate_count)`` (``gate_count = 0``: 1 for items with
        an interaction, 0 for the others).

        Args:
            collaborative_items: The collaborative channel's item embeddings ``[num_items, dim]``.
            item_counts: Training interactions per item ``[num_items]``.
            ridge: L2 weight of the map (> 0).
            gate_count: Interactions at which an item's ID vector and its mapped content weigh equally
                (>= 0).
        """
        if self.item_content is None or self.content_map is None or self.item_gate is None:
            raise ValueError("the model was built without item_content: there is no content map to fit")
        counts = item_counts.float()
        seen = counts > 0
        x, y = self.item_content[seen], collaborative_items[seen].float()
        gram = x.T @ x + ridge * torch.eye(x.shape[1], dtype=x.dtype)
        self.content_map.copy_(torch.linalg.solve(gram, x.T @ y))
        gate = counts / (counts + gate_count) if gate_count > 0 else seen.float()
        self.item_gate.copy_(torch.nan_to_num(gate, nan=0.0))

    def forward(self, adj: Tensor) -> tuple[Tensor, Tensor]:
        """``(user embeddings, item embeddings)`` as :meth:`embed` gives them."""
        users, items, _ = self.embed(adj)
        return users, items
