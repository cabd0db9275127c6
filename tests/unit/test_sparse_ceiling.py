"""The sparse-target ceiling bench's two families score what their definitions say: EASE over both
scenarios' items through one eigendecomposition equals EASE from the direct inverse
(:func:`graphrec.models.ease.ease_item_weights`) on every target item outside the user's history, and
user-kNN equals a direct top-k cosine neighbourhood sum."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.sparse_ceiling import EASE_L2, KNN_K, merged_ease, user_knn
from graphrec.models.ease import ease_item_weights


def random_train(seed: int = 0, users: int = 60, items: int = 40, pairs: int = 500) -> np.ndarray:
    rng = np.random.default_rng(seed)
    train = np.unique(np.stack([rng.integers(0, users, pairs), rng.integers(0, items - 3, pairs)]), axis=1)
    return train.astype(np.int64)  # the last 3 items have no training pair (never scored)


def test_merged_ease_equals_ease_from_the_inverse_on_target_items_outside_the_history() -> None:
    train, num_users, num_items = random_train(), 60, 40
    candidates = np.arange(num_items) >= 20  # items 20..39 are the target's
    fns = merged_ease(train, num_users, num_items, candidates)
    assert set(fns) == set(EASE_L2)
    items = np.unique(train[1])
    x = np.zeros((num_users, len(items)))
    x[train[0], np.searchsorted(items, train[1])] = 1.0
    rows = torch.arange(num_users)
    for l2 in (EASE_L2[0], EASE_L2[-1]):
        b = ease_item_weights(train, items, l2=l2).double().numpy()
        want = x @ b
        got = fns[l2](rows).double().numpy()
        on_target = candidates[items]
        mask = x[:, on_target] == 0  # items in a user's history are excluded from every ranking
        np.testing.assert_allclose(got[:, items[on_target]][mask], want[:, on_target][mask], rtol=1e-4, atol=1e-6)
        assert np.isneginf(got[:, ~candidates]).all()  # source items are never ranked
        assert np.isneginf(got[:, 37:]).all()  # target items without a training pair are not scored


@pytest.mark.parametrize("k", [KNN_K[0], KNN_K[1]])
def test_user_knn_sums_the_target_items_of_the_k_most_similar_users(k: int) -> None:
    train, num_users, num_items = random_train(seed=1), 60, 40
    candidates = np.arange(num_items) >= 20
    got = user_knn(train, num_users, num_items, candidates)[k](torch.arange(num_users)).double().numpy()
    x = np.zeros((num_users, num_items))
    x[train[0], train[1]] = 1.0
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    sim = unit @ unit.T
    np.fill_diagonal(sim, 0.0)
    ordered = -np.sort(-sim, axis=1)
    untied = [u for u in range(num_users) if ordered[u, k - 1] > ordered[u, k]]  # one top-k set only
    assert len(untied) >= 10
    for u in untied:
        top = np.argsort(-sim[u], kind="stable")[:k]
        want = sim[u, top] @ (x[top] * candidates)
        np.testing.assert_allclose(got[u, candidates], want[candidates], rtol=1e-5, atol=1e-6)
    assert np.isneginf(got[:, ~candidates]).all()
