"""Two channels in one embedding space, routed per user by target-scenario history.

A user with target training interactions is scored by the *collaborative* channel (LightGCN over the
same graph with ID-only item/topic embeddings); a user without (a cold user: history in other
scenarios only) by the *knowledge* channel (items/topics initialised from BERT features). The two are
concatenated so that one dot product serves both::

    user = [g · u_knowledge, (1 − g) · u_collaborative],  g = 1 for cold users, else 0
    item = [i_knowledge, i_collaborative]                  (topics likewise)

so ``user · item`` is the routed channel's score, and every consumer of embeddings (ranking,
write-back, vector indexes, ``INTERESTED_IN``) works unchanged.
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
    """

    def __init__(self, knowledge: CrossScenarioLightGCN, collaborative: CrossScenarioLightGCN, cold_users: Tensor) -> None:
        super().__init__()
        if (knowledge.num_users, knowledge.num_items, knowledge.num_topics) != (
            collaborative.num_users, collaborative.num_items, collaborative.num_topics,
        ):  # fmt: skip
            raise ValueError("the two channels must cover the same users, items and topics")
        self.knowledge = knowledge
        self.collaborative = collaborative
        self.register_buffer("cold_users", cold_users.to(torch.bool), persistent=False)
        self.num_users, self.num_items, self.num_topics = knowledge.num_users, knowledge.num_items, knowledge.num_topics

    def embed(self, adj: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(users, items, topics)``: each channel propagated once, concatenated, users gated."""
        u_k, i_k, t_k = self.knowledge.embed(adj)
        u_c, i_c, t_c = self.collaborative.embed(adj)
        g = self.cold_users.to(u_k.dtype)[:, None]
        return torch.cat([g * u_k, (1 - g) * u_c], 1), torch.cat([i_k, i_c], 1), torch.cat([t_k, t_c], 1)

    def forward(self, adj: Tensor) -> tuple[Tensor, Tensor]:
        """``(user embeddings, item embeddings)`` as :meth:`embed` gives them."""
        users, items, _ = self.embed(adj)
        return users, items
