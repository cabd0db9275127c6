"""LightGCN propagation against a dense computation; in-scenario BPR negatives; loss goes down."""

from __future__ import annotations

import numpy as np
import torch

from graphrec.models.lightgcn import CrossScenarioLightGCN, normalized_adjacency
from graphrec.train.sampling import bpr_loss, in_scenario_negatives


def test_normalized_adjacency_matches_dense() -> None:
    ui = np.array([[0, 0, 1], [0, 1, 1]])
    it = np.array([[0, 1], [0, 0]])
    adj = normalized_adjacency(2, 2, 1, ui, it, np.array([1.0, 0.5])).to_dense()
    a = np.zeros((5, 5))
    for u, i in ui.T:
        a[u, 2 + i] = a[2 + i, u] = 1
    a[2, 4] = a[4, 2] = 1.0
    a[3, 4] = a[4, 3] = 0.5
    d = a.sum(1)
    expected = a / np.sqrt(np.outer(d, d))
    np.testing.assert_allclose(adj.numpy(), expected, atol=1e-6)


def test_forward_is_the_layer_mean_of_dense_propagation() -> None:
    torch.manual_seed(0)
    ui = np.array([[0, 1, 2, 2], [0, 1, 1, 2]])
    adj = normalized_adjacency(3, 3, 0, ui)
    model = CrossScenarioLightGCN(3, 3, dim=4, num_layers=2, item_x=torch.randn(3, 8))
    users, items = model(adj)
    h0 = model.initial().detach()
    dense = adj.to_dense()
    mean = (h0 + dense @ h0 + dense @ dense @ h0) / 3
    np.testing.assert_allclose(torch.cat([users, items]).detach().numpy(), mean.numpy(), atol=1e-5)
    id_only = CrossScenarioLightGCN(3, 3, dim=4)
    text_only = CrossScenarioLightGCN(3, 3, dim=4, item_x=torch.randn(3, 8), id_embeddings=False)
    assert id_only(adj)[1].shape == text_only(adj)[1].shape == (3, 4) and text_only.item_emb is None


def test_negatives_come_from_the_same_scenario_and_are_not_positives() -> None:
    item_scenario = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    pairs = np.array([[0, 0, 1], [0, 5, 6]])
    positives = {0: {0, 1, 5}, 1: {6}}
    neg = in_scenario_negatives(pairs, item_scenario, positives, rng=np.random.default_rng(0))
    for (u, i), j in zip(pairs.T.tolist(), neg.tolist()):
        assert item_scenario[j] == item_scenario[i] and j not in positives[u]
    again = in_scenario_negatives(pairs, item_scenario, positives, rng=np.random.default_rng(0))
    assert np.array_equal(neg, again)


def test_bpr_training_lowers_the_loss() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n_users, n_items = 30, 40
    # two taste groups: users < 15 like items < 20, the others like items >= 20; text features tell the groups apart
    pairs = np.array(
        [(u, i) for u in range(n_users) for i in rng.choice(20, 6, replace=False) + (0 if u < 15 else 20)]
    ).T
    item_x = torch.tensor([[1.0, 0.0] if i < 20 else [0.0, 1.0] for i in range(n_items)])
    adj = normalized_adjacency(n_users, n_items, 0, pairs)
    model = CrossScenarioLightGCN(n_users, n_items, dim=16, num_layers=2, item_x=item_x)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    positives = {u: set(pairs[1][pairs[0] == u].tolist()) for u in range(n_users)}
    scen = np.zeros(n_items, dtype=np.int64)
    losses = []
    for _ in range(40):
        neg = torch.from_numpy(in_scenario_negatives(pairs, scen, positives, rng=rng))
        users, items = model(adj)
        u, i = torch.from_numpy(pairs[0]), torch.from_numpy(pairs[1])
        loss = bpr_loss((users[u] * items[i]).sum(1), (users[u] * items[neg]).sum(1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
