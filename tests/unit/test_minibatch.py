"""Mini-batch training with PyG's LinkNeighborLoader (optional extra: needs torch-sparse or pyg-lib).

With every neighbour sampled, a batch's embeddings equal the full-batch ones; negatives stay in the
positive's scenario; training on sampled subgraphs transfers to cold users and is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from graphrec.data.export import GraphExport, to_hetero_data
from graphrec.models.lightgcn import CrossScenarioLightGCN, normalized_adjacency, user_item_mean
from graphrec.train.config import TrainConfig
from graphrec.train.loop import evaluate, train_bpr
from graphrec.train.minibatch import message_graph, node_degrees, pair_keys, scenario_loaders, triplet_scores
from tests.helpers import toy_training_data as toy

pytestmark = pytest.mark.usefixtures("neighbor_sampling")


def graph(
    train: np.ndarray, item_scenario: np.ndarray, *, n_users: int, n_topics: int, seed: int = 0
) -> tuple[GraphExport, torch.Tensor]:
    """An export over ``train`` with random weighted item–topic edges, and its full adjacency."""
    rng = np.random.default_rng(seed)
    n_items = len(item_scenario)
    has_topic = np.array([(i, t) for i in range(n_items) for t in rng.choice(n_topics, 2, replace=False)]).T
    export = GraphExport(
        user_ids=[f"u{k}" for k in range(n_users)],
        item_keys=[("a" if s == 0 else "b", f"i{k}") for k, s in enumerate(item_scenario)],
        topic_ids=[f"t{k}" for k in range(n_topics)],
        scenarios=["a", "b"],
        item_scenario=item_scenario,
        interactions=train,
        has_topic=has_topic,
        has_topic_weight=rng.uniform(0.2, 1.0, has_topic.shape[1]).astype(np.float32),
    )
    adj = normalized_adjacency(n_users, n_items, n_topics, train, has_topic, export.has_topic_weight)
    return export, adj


@pytest.mark.parametrize("users", ["id", "id+items"])
def test_full_neighbourhoods_reproduce_full_batch_embeddings(users: str) -> None:
    train, _, _, item_scenario, item_x, _ = toy()
    export, adj = graph(train, item_scenario, n_users=60, n_topics=7)
    torch.manual_seed(0)
    model = CrossScenarioLightGCN(
        60, 60, 7, dim=8, num_layers=3, item_x=item_x, topic_x=torch.randn(7, 2),
        user_items=user_item_mean(60, 60, train) if users == "id+items" else None,
    )  # fmt: skip
    full, _ = model.propagate(adj)
    data = message_graph(to_hetero_data(export, train), topics=True)
    degrees = node_degrees(data)
    (loader,) = scenario_loaders(
        data, train[:, item_scenario[train[1]] == 1], item_scenario, num_neighbors=[-1] * 3, batch_size=16
    )
    batch = next(iter(loader))
    none = torch.zeros(0, dtype=torch.long)  # keep every triplet, whatever its negative
    pos, neg, *_ = triplet_scores(model, batch, degrees, none)
    u = batch["user"].n_id[batch["user"].src_index]
    i = batch["item"].n_id[batch["item"].dst_pos_index]
    j = batch["item"].n_id[batch["item"].dst_neg_index.view(-1)]
    users_full, items_full = full[:60], full[60:120]
    torch.testing.assert_close(pos, (users_full[u] * items_full[i]).sum(1), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(neg, (users_full[u] * items_full[j]).sum(1), atol=1e-5, rtol=1e-4)
    assert len(batch["topic"].n_id) > 0  # the topic edges took part
    # and the seeds are the loader's training pairs, with same-scenario negatives
    assert bool((item_scenario[i.numpy()] == 1).all()) and bool((item_scenario[j.numpy()] == 1).all())


def test_negatives_stay_in_the_positives_scenario() -> None:
    train, _, _, item_scenario, _, _ = toy()
    export, _ = graph(train, item_scenario, n_users=60, n_topics=5)
    data = message_graph(to_hetero_data(export, train), topics=False)
    loaders = scenario_loaders(data, train, item_scenario, num_neighbors=[5, 5], batch_size=32)
    assert len(loaders) == 2
    seen = 0
    for loader in loaders:
        for batch in loader:
            i = batch["item"].n_id[batch["item"].dst_pos_index]
            j = batch["item"].n_id[batch["item"].dst_neg_index.view(-1)]
            assert np.array_equal(item_scenario[i.numpy()], item_scenario[j.numpy()])
            seen += len(i)
    assert seen == train.shape[1]  # every training pair is a seed once per epoch
    # a negative that is one of the user's training items is left out of the loss
    torch.manual_seed(0)
    model = CrossScenarioLightGCN(60, 60, dim=4, num_layers=2)
    degrees, keys = node_degrees(data), pair_keys(train, 60)
    positives = {(u, i) for u, i in train.T.tolist()}
    kept = dropped = 0
    for batch in loaders[0]:
        users = batch["user"].n_id[batch["user"].src_index]
        negatives = batch["item"].n_id[batch["item"].dst_neg_index.view(-1)]
        false = sum((u, j) in positives for u, j in zip(users.tolist(), negatives.tolist()))
        pos, *_ = triplet_scores(model, batch, degrees, keys)
        assert len(pos) == len(users) - false
        kept, dropped = kept + len(pos), dropped + false
    assert kept > 0 and dropped > 0  # 5 of 30 items per scenario are a user's: some draws hit them


def run(seed: int) -> tuple[list[dict[str, float]], dict[str, float]]:
    train, val, test_cold, item_scenario, item_x, cold = toy()
    export, _ = graph(train, item_scenario, n_users=60, n_topics=5)
    torch.manual_seed(seed)
    model = CrossScenarioLightGCN(60, 60, dim=16, num_layers=2, item_x=item_x)
    adj = normalized_adjacency(60, 60, 0, train)
    candidates = item_scenario == 1
    config = TrainConfig(epochs=30, batch_size=64, lr=0.05, patience=5, k=10, seed=seed, num_neighbors=(4, 4))
    result = train_bpr(model, adj, train, val, item_scenario, candidates, config, data=to_hetero_data(export, train))
    return result.history, evaluate(model, adj, train, test_cold, candidates, users=cold)


def test_sampled_training_transfers_to_cold_users_and_is_deterministic() -> None:
    # as test_train_loop's full-batch test: the group's B items give recall@10 ≈ 0.67, random ≈ 0.33
    history, after = run(0)
    assert after["recall@10"] >= 0.6, after
    assert history[-1]["loss"] < 0.6 * math.log(2)  # BPR loss of an untrained model: log 2
    history_again, after_again = run(0)
    assert history_again == history and after_again == after
