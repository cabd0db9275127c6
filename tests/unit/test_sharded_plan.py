"""The plan of multi-process mini-batch training (:mod:`graphrec.train.sharded`): one per epoch, the same for any
number of processes, covering every training pair once, negatives in the positive's scenario among items with a
training interaction; shards that partition each batch; the pair lookup equal to ``torch.isin``."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.usefixtures("neighbor_sampling")


def test_the_plan_covers_every_pair_once_with_in_scenario_negatives() -> None:
    from graphrec.train.sharded import epoch_plan
    from tests.helpers import toy_training_data

    train, _, _, item_scenario, _, _ = toy_training_data()
    observed = np.bincount(train[1], minlength=60) > 0
    scenarios = [train[:, item_scenario[train[1]] == s] for s in (0, 1)]
    pools = [np.flatnonzero((item_scenario == s) & observed) for s in (0, 1)]
    plan = epoch_plan(scenarios, pools, 64, np.random.default_rng(0))
    users, items, negatives = (np.concatenate(x) for x in zip(*plan))
    assert sorted(zip(users.tolist(), items.tolist())) == sorted(map(tuple, train.T.tolist()))
    assert np.array_equal(item_scenario[items], item_scenario[negatives]) and bool(observed[negatives].all())
    assert all(len(b[0]) <= 64 and len(set(item_scenario[b[1]].tolist())) == 1 for b in plan)
    assert len(plan) == sum(-(-s.shape[1] // 64) for s in scenarios)
    # a function of the generator alone (so every process and every group size draws the same one)
    again = epoch_plan(scenarios, pools, 64, np.random.default_rng(0))
    assert all(all(np.array_equal(x, y) for x, y in zip(a, b)) for a, b in zip(plan, again))
    other = epoch_plan(scenarios, pools, 64, np.random.default_rng(1))
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(plan, other))


@given(st.integers(0, 300), st.integers(1, 8))
def test_shards_partition_a_batch_into_near_equal_contiguous_parts(n: int, world_size: int) -> None:
    from graphrec.train.sharded import shard_bounds

    bounds = [shard_bounds(n, rank, world_size) for rank in range(world_size)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1


@settings(max_examples=50)
@given(st.lists(st.integers(0, 500), max_size=60), st.lists(st.integers(0, 500), max_size=60))
def test_pair_lookup_equals_isin(keys: list[int], known: list[int]) -> None:
    from graphrec.train.minibatch import is_pair

    k, sorted_known = torch.tensor(keys, dtype=torch.long), torch.tensor(known, dtype=torch.long).unique()
    assert torch.equal(is_pair(k, sorted_known), torch.isin(k, sorted_known))
