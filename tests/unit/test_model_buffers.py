"""Every tensor a model holds is a parameter or a buffer, so ``model.to(device)`` moves it whole.

Each model family is built on a tiny graph with every option on, every setter is called, then no
plain tensor attribute may be left on any submodule, ``.double()`` must convert every float tensor
(the sparse graph tensors too) and the converted model must still propagate. Buffers rebuilt from
the training split stay out of the ``state_dict`` (saved checkpoints keep their keys).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from graphrec.models.lightgcn import CrossScenarioLightGCN, normalized_adjacency, user_item_mean
from graphrec.models.routed import RoutedLightGCN

N_USERS, N_ITEMS, N_TOPICS, D_TEXT, DIM = 6, 8, 2, 5, 4


def tiny_graph() -> tuple[np.ndarray, np.ndarray, Tensor]:
    """``(user_item, item_topic, adj)``: users 0–3 have items of both halves, 4–5 of the first half only."""
    rng = np.random.default_rng(0)
    pairs = {(u, int(i)) for u in range(N_USERS) for i in rng.choice(N_ITEMS // 2, 2, replace=False)}
    pairs |= {(u, N_ITEMS // 2 + int(i)) for u in range(4) for i in rng.choice(N_ITEMS // 2, 2, replace=False)}
    user_item = np.array(sorted(pairs), dtype=np.int64).T.copy()
    item_topic = np.array([np.arange(N_ITEMS), np.arange(N_ITEMS) % N_TOPICS], dtype=np.int64)
    return user_item, item_topic, normalized_adjacency(N_USERS, N_ITEMS, N_TOPICS, user_item, item_topic)


def lightgcn(*, text: bool) -> CrossScenarioLightGCN:
    """A channel with every graph-derived input: text features, user means, the transfer head, evidence."""
    user_item, _, _ = tiny_graph()
    source = user_item[:, user_item[1] < N_ITEMS // 2]
    g = torch.Generator().manual_seed(0)
    return CrossScenarioLightGCN(
        N_USERS, N_ITEMS, N_TOPICS, dim=DIM, num_layers=2,
        item_x=torch.randn(N_ITEMS, D_TEXT, generator=g) if text else None,
        topic_x=torch.randn(N_TOPICS, D_TEXT, generator=g) if text else None,
        user_items=user_item_mean(N_USERS, N_ITEMS, user_item),
        source_items=user_item_mean(N_USERS, N_ITEMS, source),
        cold_users=torch.arange(N_USERS) >= 4,
        item_evidence=(torch.arange(N_ITEMS) % 3 > 0).float(),
    )  # fmt: skip


def routed() -> RoutedLightGCN:
    """The default model with every setter called (gate, priors, bridge, EASE and text blocks, its own graph)."""
    user_item, item_topic, _ = tiny_graph()
    counts = torch.bincount(torch.from_numpy(user_item[1]), minlength=N_ITEMS)
    model = RoutedLightGCN(lightgcn(text=True), lightgcn(text=False), torch.arange(N_USERS) >= 4, counts)
    model.set_gate_count(2.0)
    model.set_prior_weight(0.5)
    model.set_cold_prior_weight(0.25)
    model.set_bridge(torch.randn(N_USERS, 3), torch.randn(N_ITEMS, 3), 1.5)
    model.set_ease(torch.randn(N_USERS, 3), torch.randn(N_ITEMS, 3), 2.0)
    model.set_ease_weight(1.0)
    model.set_text(torch.randn(N_USERS, D_TEXT), torch.randn(N_ITEMS, D_TEXT), 0.5, torch.randn(N_TOPICS, D_TEXT))
    model.set_text_weight(0.75)
    model.set_knowledge_graph(normalized_adjacency(N_USERS, N_ITEMS, N_TOPICS, user_item[:, 2:], item_topic))
    return model


MODELS = {"lightgcn-text": lambda: lightgcn(text=True), "lightgcn-id": lambda: lightgcn(text=False), "routed": routed}


def plain_tensors(model: nn.Module) -> list[str]:
    """Tensors held by a submodule outside its parameters and buffers (directly or in a list, tuple or dict)."""
    found = []
    for prefix, module in model.named_modules():
        for name, value in vars(module).items():
            values = (
                value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
            )
            if name not in ("_parameters", "_buffers") and any(isinstance(v, Tensor) for v in values):
                found.append(f"{prefix}.{name}" if prefix else name)
    return found


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_tensor_is_a_parameter_or_a_buffer(name: str) -> None:
    model = MODELS[name]()
    assert plain_tensors(model) == []
    held = dict(model.named_buffers())
    assert {"user_items", "source_items", "cold_users"} <= {k.rpartition(".")[2] for k in held}
    if name == "routed":
        assert {"knowledge_adj", "bridge_users", "ease_items", "text_topics"} <= set(held)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_double_converts_every_float_tensor_and_the_model_still_propagates(name: str) -> None:
    model = MODELS[name]()
    _, _, adj = tiny_graph()
    with torch.no_grad():
        before = [t.double() for t in model.embed(adj)]
    model.double()
    floats = [(k, t) for k, t in [*model.named_parameters(), *model.named_buffers()] if t.is_floating_point()]
    assert any(t.layout == torch.sparse_csr for _, t in floats)  # the graph tensors are among them
    assert [k for k, t in floats if t.dtype != torch.float64] == []
    with torch.no_grad():
        after = model.embed(adj.double())
    for a, b in zip(after, before):
        assert a.dtype == torch.float64 and torch.allclose(a, b, atol=1e-5)


def test_graph_buffers_stay_out_of_the_state_dict() -> None:
    """Checkpoints keep their keys: only learned state, features and chosen weights and blocks are saved."""
    model = routed()
    keys = set(model.state_dict())
    for rebuilt in ("cold_users", "item_counts", "item_prior", "knowledge_adj"):
        assert rebuilt not in keys
    for channel in ("knowledge", "collaborative"):
        for rebuilt in ("user_items", "source_items", "cold_users", "item_evidence"):
            assert f"{channel}.{rebuilt}" not in keys
    assert {"item_gate", "prior_weight", "bridge_users", "ease_items", "text_topics", "knowledge.item_x"} <= keys
    fresh = routed()
    fresh.load_state_dict(model.state_dict())  # strict: the same keys
