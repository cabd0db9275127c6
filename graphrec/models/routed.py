"""Two channels in one embedding space, routed per user and per item by target-scenario evidence.

The *knowledge* channel starts items and topics from BERT features (LightGCN-style propagation over
users, items and topics); the *collaborative* channel is LightGCN over the same graph with ID-only
item and topic embeddings. The collaborative channel is the better ranker of items that have
interactions for users with target history; it knows nothing about a user without target history (a
cold user) nor about an item nobody has interacted with (a new item: its ID vector was never trained).
The knowledge channel places both, from the user's other scenarios and the item's text and topics.
So the score of user ``u`` for item ``i`` is::

    s(u, i) = (1 − g_u · h_i) · k_u·k_i  +  g_u · h_i · c_u·c_i

with ``g_u = 1`` for users with target training interactions (else 0) and ``h_i = n_i / (n_i + c)``
for an item with ``n_i`` training interactions (buffer ``item_gate``; with ``c = 0``, the default, 1
for every item with an interaction and 0 for the others). It is one dot product of concatenated
vectors, so every consumer of embeddings (ranking, write-back, vector indexes, ``INTERESTED_IN``)
works unchanged::

    user = [k_u,  g_u · c_u,  −g_u · k_u,  β_u]
    item = [k_i,  h_i · c_i,   h_i · k_i,  log(1 + n_i)]      (topics as items with h = 1, prior 0)

The last column adds ``β · log(1 + n_i)``, a popularity prior (an item bias), with ``β``
(buffer ``prior_weight``, default 0) chosen on validation: where the target scenario is sparse, how
often an item was chosen is evidence the embeddings of a few interactions do not carry. Cold users
have a ``β`` of their own (buffer ``cold_prior_weight``; the same as the others' unless set), chosen
for them on simulated-cold users: how far a user's other scenarios predict their taste here differs
from pair to pair, and where they predict little, popularity is the better part of a cold user's score.

Cold users may have a closed-form block besides (:meth:`RoutedLightGCN.set_bridge`): ``w · b_u · b_i``
appended as ``[.., (1 − g_u) · w · b_u]`` / ``[.., b_i]`` (topics 0), e.g. the kernel-ridge bridge from
their source history, with ``w`` chosen on simulated-cold users.

Warm users may have one too (:meth:`RoutedLightGCN.set_ease`): ``w_e · e_u · e_i`` appended as
``[.., g_u · w_e · e_u]`` / ``[.., e_i]`` (topics 0), e.g. a low-rank factorisation of target-only EASE
(a linear item–item model, often the best ranker of a dense target's warm users), with ``w_e`` chosen on
validation.

Every user may have a text block besides (:meth:`RoutedLightGCN.set_text`): ``w_t · (1 − h_i) · p_u·q_i``
appended as ``[.., w_t · p_u]`` / ``[.., (1 − h_i) · q_i]`` (topics ``[.., q_t]``, their own text), with
``q_i`` the item's unit text vector and ``p_u`` the mean of the user's training items' (text kNN): where
an item has little or no interaction evidence, a plain cosine to what the user chose is often the
better part of its score, and ``w_t`` is chosen on validation. Topics carry the block in full, so a
user's topic affinities (``INTERESTED_IN``) follow the same text similarity their recommendations do.

The knowledge channel may propagate over a graph of its own (:meth:`RoutedLightGCN.set_knowledge_graph`):
the training graph without the target interactions of the simulated-cold validation users, the graph
it was trained and selected on.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from graphrec.models.lightgcn import CrossScenarioLightGCN


class RoutedLightGCN(nn.Module):
    """Knowledge channel for cold users and new items, collaborative channel for the rest (see the
    module docstring).

    Args:
        knowledge: The BERT-initialised model.
        collaborative: The ID-only model over the same graph (same users, items and topics).
        cold_users: Bool ``[num_users]``: users without target training interactions.
        item_counts: Training interactions per item ``[num_items]``; sets the item gate (gate count 0).
            Default: every item has evidence (``h = 1``: routing by user only).

    Every tensor the model holds is a parameter or a buffer (the closed-form blocks and the knowledge
    channel's graph too, whenever they are set), so ``model.to(device)`` moves it whole.
    """

    cold_users: Tensor
    item_counts: Tensor
    item_gate: Tensor
    item_prior: Tensor
    prior_weight: Tensor
    cold_prior_weight: Tensor
    bridge_weight: Tensor
    bridge_users: Tensor | None
    bridge_items: Tensor | None
    ease_weight: Tensor
    ease_users: Tensor | None
    ease_items: Tensor | None
    text_weight: Tensor
    text_users: Tensor | None
    text_items: Tensor | None
    text_topics: Tensor | None
    knowledge_adj: Tensor | None

    def __init__(
        self,
        knowledge: CrossScenarioLightGCN,
        collaborative: CrossScenarioLightGCN,
        cold_users: Tensor,
        item_counts: Tensor | None = None,
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
        counts = torch.ones(self.num_items) if item_counts is None else item_counts.float()
        if counts.shape != (self.num_items,):
            raise ValueError(f"item_counts has shape {tuple(counts.shape)}, expected ({self.num_items},)")
        self.register_buffer("item_counts", counts, persistent=False)  # from the training split
        self.register_buffer("item_gate", (counts > 0).float())  # saved: the gate count is chosen on validation
        self.register_buffer("item_prior", torch.log1p(counts), persistent=False)
        self.register_buffer("prior_weight", torch.zeros(()))  # saved: chosen on validation
        self.register_buffer("cold_prior_weight", torch.zeros(()))  # saved: chosen on simulated-cold users
        self.register_buffer("bridge_weight", torch.zeros(()))  # saved: chosen on simulated-cold users
        self.register_buffer("bridge_users", None)  # set by set_bridge (then saved)
        self.register_buffer("bridge_items", None)
        self.register_buffer("ease_weight", torch.zeros(()))  # saved: chosen on validation
        self.register_buffer("ease_users", None)  # set by set_ease (then saved)
        self.register_buffer("ease_items", None)
        self.register_buffer("text_weight", torch.zeros(()))  # saved: chosen on validation
        self.register_buffer("text_users", None)  # set by set_text (then saved)
        self.register_buffer("text_items", None)
        self.register_buffer("text_topics", None)
        self.register_buffer("knowledge_adj", None, persistent=False)  # set by set_knowledge_graph

    def set_gate_count(self, gate_count: float) -> None:
        """Set the item gate to ``n / (n + gate_count)`` (``0``: 1 for items with an interaction, else 0)."""
        if gate_count < 0:
            raise ValueError(f"gate_count must be >= 0, got {gate_count}")
        n = self.item_counts
        self.item_gate.copy_(n / (n + gate_count) if gate_count > 0 else (n > 0).float())

    def set_prior_weight(self, weight: float) -> None:
        """Set ``β``, the weight of the popularity prior ``log(1 + n_i)`` (0: none), for every user (cold
        users' own with :meth:`set_cold_prior_weight` after)."""
        self.prior_weight.fill_(float(weight))
        self.cold_prior_weight.fill_(float(weight))

    def set_cold_prior_weight(self, weight: float) -> None:
        """Set cold users' ``β`` alone."""
        self.cold_prior_weight.fill_(float(weight))

    def _here(self, x: Tensor) -> Tensor:
        """``x`` as float32 on the model's device (a block fitted on the CPU joins a model on a GPU)."""
        return x.to(device=self.item_gate.device, dtype=torch.float32)

    def _check_block(self, name: str, users: Tensor, items: Tensor) -> None:
        if users.shape[0] != self.num_users or items.shape[0] != self.num_items or users.shape[1] != items.shape[1]:
            raise ValueError(
                f"{name} blocks must be [num_users={self.num_users}, r] and [num_items={self.num_items}, r]; got "
                f"{tuple(users.shape)} and {tuple(items.shape)}"
            )

    def set_bridge(self, users: Tensor, items: Tensor, weight: float) -> None:
        """Add a closed-form block for cold users: their score gains ``weight · b_u · b_i`` (e.g. the
        kernel-ridge bridge from their source history, :meth:`graphrec.models.bridge.BridgeModel.embeddings`);
        warm users' block is 0. ``users`` ``[num_users, r]``, ``items`` ``[num_items, r]``."""
        self._check_block("bridge", users, items)
        self.bridge_users = self._here(users)
        self.bridge_items = self._here(items)
        self.bridge_weight.fill_(float(weight))

    def set_ease(self, users: Tensor, items: Tensor, weight: float) -> None:
        """Add a closed-form block for warm users: their score gains ``weight · e_u · e_i`` (e.g. target-only
        EASE, :func:`graphrec.models.ease.ease_embeddings`); cold users' block is 0. ``users``
        ``[num_users, r]``, ``items`` ``[num_items, r]``."""
        self._check_block("ease", users, items)
        self.ease_users = self._here(users)
        self.ease_items = self._here(items)
        self.set_ease_weight(weight)

    def set_ease_weight(self, weight: float) -> None:
        """Set ``w_e``, the weight of the warm users' block (0: none)."""
        self.ease_weight.fill_(float(weight))

    def clear_ease(self) -> None:
        """Remove the warm users' block (the vectors lose its columns)."""
        self.ease_users = self.ease_items = None
        self.set_ease_weight(0.0)

    def set_text(self, users: Tensor, items: Tensor, weight: float, topics: Tensor | None = None) -> None:
        """Add the text block: every user's score of item ``i`` gains ``weight · (1 − h_i) · p_u · q_i``
        (``h_i`` the item gate), e.g. text kNN (:func:`graphrec.models.text_knn.text_profiles`), and of
        topic ``t`` ``weight · p_u · q_t``. ``users`` ``[num_users, d]``, ``items`` ``[num_items, d]``,
        ``topics`` ``[num_topics, d]`` (default 0)."""
        self._check_block("text", users, items)
        topics = items.new_zeros(self.num_topics, items.shape[1]) if topics is None else topics
        if topics.shape != (self.num_topics, items.shape[1]):
            raise ValueError(
                f"the text block's topics must be [num_topics={self.num_topics}, {items.shape[1]}]; "
                f"got {tuple(topics.shape)}"
            )
        self.text_users = self._here(users)
        self.text_items = self._here(items)
        self.text_topics = self._here(topics)
        self.set_text_weight(weight)

    def clear_text(self) -> None:
        """Remove the text block (the vectors lose its columns)."""
        self.text_users = self.text_items = self.text_topics = None
        self.set_text_weight(0.0)

    def set_text_weight(self, weight: float) -> None:
        """Set ``w_t``, the weight of the text block (0: none)."""
        self.text_weight.fill_(float(weight))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: object, **kwargs: object) -> None:
        # a checkpoint with a bridge or text block loads into a model built without one (the blocks are
        # closed-form, fitted after building): take their shapes from the checkpoint
        for name in (
            "bridge_users",
            "bridge_items",
            "ease_users",
            "ease_items",
            "text_users",
            "text_items",
            "text_topics",
        ):
            if prefix + name in state_dict and getattr(self, name) is None:
                setattr(self, name, torch.empty_like(state_dict[prefix + name]))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def set_knowledge_graph(self, adj: Tensor | None) -> None:
        """Propagate the knowledge channel over ``adj`` instead of the graph given to :meth:`channels`
        (``None``: the same graph for both channels), moved to the model's device."""
        self.knowledge_adj = None if adj is None else adj.to(self.item_gate.device)

    def channels(self, adj: Tensor) -> tuple[tuple[Tensor, Tensor, Tensor], tuple[Tensor, Tensor, Tensor]]:
        """Each channel's own ``(users, items, topics)`` (one propagation each), before routing."""
        return self.knowledge.embed(
            adj if self.knowledge_adj is None else self.knowledge_adj
        ), self.collaborative.embed(adj)

    def route(
        self, knowledge: tuple[Tensor, Tensor, Tensor], collaborative: tuple[Tensor, Tensor, Tensor]
    ) -> tuple[Tensor, Tensor, Tensor]:
        """The routed ``(users, items, topics)`` of the channels' embeddings (see the module docstring)."""
        (u_k, i_k, t_k), (u_c, i_c, t_c) = knowledge, collaborative
        g = (~self.cold_users).to(u_k.dtype)[:, None]
        h = self.item_gate.to(i_k.dtype)[:, None]
        beta = torch.where(self.cold_users[:, None], self.cold_prior_weight, self.prior_weight).to(u_k.dtype)
        users = torch.cat([u_k, g * u_c, -g * u_k, beta], 1)
        items = torch.cat([i_k, h * i_c, h * i_k, self.item_prior.to(i_k.dtype)[:, None]], 1)
        topics = torch.cat([t_k, t_c, t_k, t_k.new_zeros(t_k.shape[0], 1)], 1)
        for who, weight, b_users, b_items in (
            (1 - g, self.bridge_weight, self.bridge_users, self.bridge_items),  # cold users'
            (g, self.ease_weight, self.ease_users, self.ease_items),  # warm users'
        ):
            if b_users is not None and b_items is not None:
                users = torch.cat([users, who * weight.to(u_k.dtype) * b_users.to(u_k.dtype)], 1)
                items = torch.cat([items, b_items.to(i_k.dtype)], 1)
                topics = torch.cat([topics, t_k.new_zeros(t_k.shape[0], b_items.shape[1])], 1)
        if self.text_users is not None and self.text_items is not None and self.text_topics is not None:
            users = torch.cat([users, self.text_weight.to(u_k.dtype) * self.text_users.to(u_k.dtype)], 1)
            items = torch.cat([items, (1 - h) * self.text_items.to(i_k.dtype)], 1)
            topics = torch.cat([topics, self.text_topics.to(t_k.dtype)], 1)
        return users, items, topics

    def embed(self, adj: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(users, items, topics)``: each channel propagated once, then routed."""
        return self.route(*self.channels(adj))

    def forward(self, adj: Tensor) -> tuple[Tensor, Tensor]:
        """``(user embeddings, item embeddings)`` as :meth:`embed` gives them."""
        users, items, _ = self.embed(adj)
        return users, items
