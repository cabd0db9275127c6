"""Full ranking and metrics, against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from graphrec.eval.ranking import group_by_user, metrics_at_k, rank_top_k


def test_rank_top_k_excludes_training_items_and_non_candidates_in_chunks() -> None:
    scores = torch.tensor([[5.0, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5], [1, 1, 9, 1, 1, 1]])
    candidates = np.array([True, True, True, True, False, True])  # item 4 is another scenario
    exclude = {0: {0}, 1: {5}}
    top = rank_top_k(lambda u: scores[u], [0, 1, 2], candidates, exclude, k=3, chunk_size=2)
    assert top.tolist()[0] == [1, 2, 3]
    assert top.tolist()[1] == [3, 2, 1]  # 5 excluded (training), 4 not a candidate
    assert top.tolist()[2][0] == 2


def test_metrics_by_hand() -> None:
    top = np.array([[7, 1, 8, 2], [9, 9, 9, 9]])
    relevant = {0: {1, 2, 3}, 1: {5}}
    m = metrics_at_k(top, [0, 1], relevant, ks=(2, 4))
    d = [1 / math.log2(r + 2) for r in range(4)]
    # user 0: hits at ranks 2 and 4 (1-based); user 1: no hit
    assert m["recall@2"] == pytest.approx((1 / 3 + 0) / 2)
    assert m["recall@4"] == pytest.approx((2 / 3) / 2)
    assert m["ndcg@2"] == pytest.approx((d[1] / (d[0] + d[1])) / 2)
    assert m["ndcg@4"] == pytest.approx(((d[1] + d[3]) / (d[0] + d[1] + d[2])) / 2)
    assert m["hr@2"] == pytest.approx(0.5) and m["mrr@4"] == pytest.approx(0.5 / 2)


def test_group_by_user() -> None:
    assert group_by_user(np.array([[0, 0, 2], [5, 6, 5]])) == {0: {5, 6}, 2: {5}}
