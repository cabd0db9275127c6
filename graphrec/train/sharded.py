"""Mini-batch epochs of one process of a ``torch.distributed`` group (:mod:`graphrec.train.distributed`):
each global batch is cut into one shard per process, each process samples and propagates its own shard's
subgraph, and ``DistributedDataParallel`` all-reduces the gradients.

**The plan is the same on every process and for every group size.** Each epoch draws, from the training
loop's NumPy generator (seeded alike everywhere), one permutation of each scenario's training pairs, one
negative per pair (uniform among that scenario's items with a training interaction, as the single-process
sampler draws them) and the interleaving of the scenarios' batches. A global batch of ``batch_size`` pairs
drops the triplets whose negative is one of the user's training items (every process computes the same
mask); the ``N`` kept ones are split into contiguous, near-equal shards, one per rank.

**The gradient is the single-process one.** A process's loss is its shard's BPR and layer-0 L2 terms summed,
times ``world_size / N``; ``DistributedDataParallel`` averages the gradients over the processes, so each
step follows the gradient of the batch's mean loss, as one process would. With every neighbour sampled
(``-1``) a seed's embedding does not depend on the other seeds of its subgraph, so a group of any size
trains the same model as one process running this plan, up to the order of float sums
(``tests/integration/test_distributed_training.py``). With sampled neighbourhoods each process samples its
own shard's (torch's generator, seeded per seed, epoch and rank, restored after the epoch).

This is not the single-process path of :func:`graphrec.train.loop.train_bpr` (one ``LinkNeighborLoader``
per scenario, drawing pairs and negatives from torch's generator between neighbourhood samples): its draws
depend on the neighbourhoods sampled, so they cannot be shared by processes that sample different ones.
A one-process ``torchrun`` runs this plan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from graphrec.data.pyg import LinkNeighborLoader
from graphrec.schema import EdgeType
from graphrec.train.minibatch import (
    batch_schedule,
    is_pair,
    message_graph,
    node_degrees,
    pair_keys,
    require_neighbor_sampling,
    sampled_adjacency,
    subgraph_scores,
)
from graphrec.train.sampling import observed_items

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.pyg import HeteroData
    from graphrec.models.lightgcn import CrossScenarioLightGCN
    from graphrec.train.distributed import Group
    from graphrec.train.minibatch import Degrees

logger = logging.getLogger(__name__)

Triplets = tuple[np.ndarray, np.ndarray, np.ndarray]
"""``(users, positive items, negative items)``: rows of one batch's triplets."""


class _ShardLoss(nn.Module):
    """The module ``DistributedDataParallel`` wraps: a shard's summed BPR and layer-0 L2 terms.

    It holds the model's parameters (the same tensors) but not the model as a submodule, so DDP never
    broadcasts the model's buffers (item features, sparse user–item means): they are equal on every process
    by construction, and read-only.
    """

    def __init__(self, model: CrossScenarioLightGCN) -> None:
        super().__init__()
        self.params = nn.ParameterList(model.parameters())
        self._model = (model,)  # a tuple: not registered as a submodule

    def forward(
        self, subgraph: tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] | None, triplets: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(Σ −log σ(pos − neg), Σ ‖layer-0 rows‖²)`` over the shard's triplets (zeros for an empty shard:
        no ``subgraph``). Every parameter enters the first, times 0 (which changes no bit of the value or of
        a gradient), so that DDP's all-reduce finds a gradient for each, whether this step's subgraph holds
        a topic or this process's shard is empty."""
        zero = sum(p.sum() for p in self.params) * 0.0
        if subgraph is None:
            return zero, zero
        adj, rows = subgraph
        pos, neg, h_u, h_i, h_j = subgraph_scores(self._model[0], adj, rows, *triplets)
        bpr = -torch.nn.functional.logsigmoid(pos - neg).sum()
        return bpr + zero, h_u.pow(2).sum() + h_i.pow(2).sum() + h_j.pow(2).sum()


def epoch_plan(
    scenarios: list[np.ndarray], pools: list[np.ndarray], batch_size: int, rng: np.random.Generator
) -> list[Triplets]:
    """One epoch's global batches, in order: per scenario a permutation of its pairs cut into batches of
    ``batch_size``, one negative per pair from that scenario's ``pools`` entry, the scenarios' batches
    interleaved at random (:func:`~graphrec.train.minibatch.batch_schedule`). Depends only on ``rng``."""
    per_scenario: list[list[Triplets]] = []
    for pairs, pool in zip(scenarios, pools):
        order = rng.permutation(pairs.shape[1])
        negatives = pool[rng.integers(len(pool), size=pairs.shape[1])]
        per_scenario.append([
            (pairs[0, order[s : s + batch_size]], pairs[1, order[s : s + batch_size]], negatives[s : s + batch_size])
            for s in range(0, pairs.shape[1], batch_size)
        ])  # fmt: skip
    cursor = [0] * len(per_scenario)
    plan = []
    for k in batch_schedule(per_scenario, rng).tolist():
        plan.append(per_scenario[k][cursor[k]])
        cursor[k] += 1
    return plan


def shard_bounds(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """``[start, stop)`` of ``rank``'s contiguous share of ``n`` items (sizes differ by at most one)."""
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def sampling_seed(seed: int, epoch: int, rank: int) -> int:
    """The seed of torch's generator for ``rank``'s neighbourhood samples in ``epoch``."""
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


@dataclass
class ShardedEpochs:
    """Mini-batch epochs of this process of ``group`` (see the module docstring); the same interface as the
    single-process epochs of :func:`graphrec.train.loop.train_bpr`."""

    model: CrossScenarioLightGCN
    group: Group
    sampler: LinkNeighborLoader
    degrees: Degrees
    positives: torch.Tensor
    scenarios: list[np.ndarray]
    pools: list[np.ndarray]
    batch_size: int
    weight_decay: float
    seed: int
    ddp: Any = field(init=False)
    epoch: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        from torch.nn.parallel import DistributedDataParallel

        device = next(self.model.parameters()).device
        self.ddp = DistributedDataParallel(
            _ShardLoss(self.model), device_ids=[device] if device.type == "cuda" else None
        )  # it holds no buffers: nothing but the gradients (and the parameters, once, from rank 0) is sent

    def run(self, opt: torch.optim.Optimizer, rng: np.random.Generator, *, progress: bool) -> tuple[float, int]:
        """One epoch; ``(summed loss × pairs, pairs)`` over every process's shards."""
        plan = epoch_plan(self.scenarios, self.pools, self.batch_size, rng)
        total, n_pairs = 0.0, 0
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(sampling_seed(self.seed, self.epoch, self.group.rank))
            for users, items, negatives in tqdm(plan, desc="batches", leave=False, disable=not progress):
                keys = torch.from_numpy(users * self.model.num_items + negatives)
                kept = np.flatnonzero(~is_pair(keys, self.positives).numpy())
                if not len(kept):  # every negative of the batch was a positive of its user (all processes skip)
                    continue
                start, stop = shard_bounds(len(kept), self.group.rank, self.group.world_size)
                mine = kept[start:stop]
                bpr, l2 = self.ddp(*self._subgraph(users[mine], items[mine], negatives[mine]))
                scale = self.group.world_size / len(kept)
                opt.zero_grad()
                ((bpr + self.weight_decay * l2 / 2) * scale).backward()
                opt.step()
                total += float(bpr.detach())
                n_pairs += len(mine)
        self.epoch += 1
        total, pairs = self.group.sum_floats(total, float(n_pairs))
        return total, int(pairs)

    def _subgraph(self, users: np.ndarray, items: np.ndarray, negatives: np.ndarray) -> tuple[Any, Any]:
        """``(the shard's sampled subgraph, its triplets' local rows)``, or ``(None, None)`` for an empty shard."""
        if not len(users):
            return None, None
        from torch_geometric.sampler import EdgeSamplerInput

        k = len(users)
        seeds = EdgeSamplerInput(
            input_id=None,
            row=torch.from_numpy(np.concatenate([users, users])),
            col=torch.from_numpy(np.concatenate([items, negatives])),
            input_type=EdgeType.INTERACTS,
        )
        batch = self.sampler.filter_fn(self.sampler.link_sampler.sample_from_edges(seeds, neg_sampling=None))
        local = batch[EdgeType.INTERACTS].edge_label_index
        return sampled_adjacency(batch, self.degrees), (local[0, :k], local[1, :k], local[1, k:])


def sharded_epochs(
    model: CrossScenarioLightGCN,
    group: Group,
    data: HeteroData,
    train: np.ndarray,
    item_scenario: np.ndarray,
    *,
    num_neighbors: list[int],
    batch_size: int,
    weight_decay: float,
    seed: int,
) -> ShardedEpochs:
    """:class:`ShardedEpochs` over ``data`` (the model's graph) for this process of ``group``."""
    require_neighbor_sampling()
    graph = message_graph(data, topics=model.num_topics > 0)
    observed = observed_items(train, len(item_scenario))
    scenarios, pools = [], []
    for s in np.unique(item_scenario[train[1]]).tolist():
        scenarios.append(np.ascontiguousarray(train[:, item_scenario[train[1]] == s]))
        pools.append(np.flatnonzero((item_scenario == s) & observed))
    sampler = LinkNeighborLoader(
        graph, num_neighbors=list(num_neighbors), edge_label_index=(EdgeType.INTERACTS, torch.from_numpy(train)),
        batch_size=batch_size,
    )  # fmt: skip
    n_batches = sum(-(-p.shape[1] // batch_size) for p in scenarios)
    if group.leader:
        logger.info(
            "mini-batch training on %d processes: %d global batches of %d pairs per epoch, each cut into %d shards; "
            "%s neighbours per hop", group.world_size, n_batches, batch_size, group.world_size, list(num_neighbors),
        )  # fmt: skip
    return ShardedEpochs(
        model, group, sampler, node_degrees(graph), pair_keys(train, model.num_items), scenarios, pools,
        batch_size, weight_decay, seed,
    )  # fmt: skip
