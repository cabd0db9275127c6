"""Full-batch training of :class:`~graphrec.models.lightgcn.CrossScenarioLightGCN` with BPR, early
stopping on validation Recall@K over the target scenario's items, deterministic under a seed."""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm

from graphrec.errors import ConfigError, TrainingDivergedError
from graphrec.eval.ranking import dot_product_scores, evaluate_ranking, group_by_user
from graphrec.train.config import TrainConfig
from graphrec.train.distributed import current as current_group
from graphrec.train.minibatch import (
    batch_schedule,
    check_num_neighbors,
    message_graph,
    node_degrees,
    pair_keys,
    scenario_loaders,
    triplet_scores,
)
from graphrec.train.sampling import bpr_loss, in_scenario_negatives, layer0_l2, observed_items
from graphrec.train.sharded import ShardedEpochs, sharded_epochs
from graphrec.train.summary import warn_if_capped

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from torch_geometric.data import HeteroData

    from graphrec.models.lightgcn import CrossScenarioLightGCN
    from graphrec.models.routed import RoutedLightGCN
    from graphrec.train.distributed import Group
    from graphrec.train.minibatch import Degrees

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What training produced: the best epoch (by validation), per-epoch history, timing."""

    best_epoch: int
    best_val: float
    history: list[dict[str, float]] = field(default_factory=list)
    seconds_per_epoch: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)


def score_fn(model: CrossScenarioLightGCN | RoutedLightGCN, adj: torch.Tensor) -> Any:
    """A ranking score function over all items from one propagation."""
    with torch.inference_mode():
        users, items = model(adj)
    return dot_product_scores(users, items)


def evaluate(
    model: CrossScenarioLightGCN | RoutedLightGCN,
    adj: torch.Tensor,
    train: np.ndarray,
    held_out: np.ndarray,
    candidates: np.ndarray,
    *,
    users: np.ndarray | None = None,
    ks: tuple[int, ...] = (10, 20),
    exclude: dict[int, set[int]] | None = None,
) -> dict[str, float]:
    """Full-ranking metrics of ``held_out`` pairs over ``candidates`` items, training items excluded.

    Args:
        users: Restrict to these user rows (a slice such as cold users); default all with held-out items.
        exclude: ``group_by_user(train)`` when the caller already has it (default: computed here).
    """
    slices = {"selected": users} if users is not None else None
    out = evaluate_ranking(
        score_fn(model, adj), held_out, exclude if exclude is not None else group_by_user(train), candidates,
        slices=slices, ks=ks,
    )  # fmt: skip
    return out.get("all" if users is None else "selected", {})


def train_bpr(
    model: CrossScenarioLightGCN,
    adj: torch.Tensor,
    train: np.ndarray,
    val: np.ndarray,
    item_scenario: np.ndarray,
    candidates: np.ndarray,
    config: TrainConfig,
    *,
    transfer_pairs: np.ndarray | None = None,
    data: HeteroData | None = None,
    progress: bool = False,
    on_epoch: Callable[[int, CrossScenarioLightGCN, torch.Tensor], None] | None = None,
    channel: str = "",
    evaluate_with: RoutedLightGCN | None = None,
    desc: str = "",
) -> TrainResult:
    """Train with BPR (negatives from each positive's scenario, among items with a training interaction);
    keep the weights of the best validation epoch.

    With an empty ``val`` (no held-out data) all ``config.epochs`` run and the last weights are kept.

    Mini-batch training inside a ``torch.distributed`` process group (``torchrun``;
    :mod:`graphrec.train.distributed`) trains this process's shard of each batch
    (:mod:`graphrec.train.sharded`); only rank 0 validates (and calls ``on_epoch``), and its validation
    figure is broadcast, so every process keeps the same best epoch and stops at the same epoch; at the end
    every process holds rank 0's weights.

    Args:
        transfer_pairs: Target-scenario training pairs of users who also have source interactions.
            With a model that has the cold-start transfer head, each step adds a BPR term that ranks
            these pairs by the user's *source view* (its source items only) — a simulated cold start —
            so the head learns to map source taste to target items.
        data: The model's graph (:func:`~graphrec.data.export.to_hetero_data` of ``train``); needed for
            mini-batch training (``config.num_neighbors``).
        on_epoch: Called as ``on_epoch(epoch, model, adj)`` after each epoch's validation, in eval mode
            (for diagnostics such as per-epoch curves; it must not change the model).
        channel: Name of the routed model's channel being trained, for messages (default: none).
        evaluate_with: Validate this model instead of ``model`` (which must be part of it): a routed
            model whose channel ``model`` is, so the channel early-stops on what will be served.
        desc: What is trained, in words, for the progress bar and messages: the model's name, or
            :func:`~graphrec.train.summary.channel_label` of a routed model's channel (default:
            ``"<channel> channel"``, or ``"training"`` without a channel).

    Raises:
        ConfigError: Mini-batch training without ``data`` or a sampling backend, or with the transfer head.
        TrainingDivergedError: An epoch's loss or the model's parameters are not finite (NaN or inf).
    """
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    positives = group_by_user(train)
    result = TrainResult(best_epoch=-1, best_val=-1.0, config=asdict(config))
    best_state: dict[str, Any] | None = None
    stale, t_total = 0, 0.0
    group = current_group() if config.num_neighbors else None
    leader = group is None or group.leader
    sampled = (
        _sampled_epochs(model, train, item_scenario, config, data, transfer_pairs, group)
        if config.num_neighbors
        else None
    )
    label = desc or (f"{channel} channel" if channel else "training")
    bar = tqdm(
        range(config.epochs),
        desc=label if val.shape[1] else f"{label} (no validation)",
        disable=not (progress and leader),
    )
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        if sampled is not None:
            total, n_pairs = sampled.run(opt, rng, progress=progress and leader)
        else:
            total, n_pairs = _full_batch_epoch(
                model, adj, train, item_scenario, positives, transfer_pairs, config, opt, rng
            )
        loss = total / max(n_pairs, 1)
        t_total += time.perf_counter() - t0
        check_finite(model, loss, epoch=epoch, config=config, channel=channel)
        model.eval()
        stop = False
        if not val.shape[1]:  # no validation split (train on everything): keep the last epoch
            result.history.append({"epoch": epoch, "loss": loss})
            logger.info("%s: epoch %d loss %.4f (no validation split)", label, epoch, loss)
            result.best_epoch = epoch
            bar.set_postfix(loss=f"{loss:.4f}")
        else:
            val_recall = 0.0
            if leader:
                metrics = evaluate(
                    evaluate_with or model, adj, train, val, candidates, ks=(config.k,), exclude=positives
                )
                val_recall = metrics.get(f"recall@{config.k}", 0.0)
            if group is not None:  # rank 0's figure: every process keeps the same best epoch and stops with it
                val_recall = group.broadcast_float(val_recall)
            result.history.append({"epoch": epoch, "loss": loss, f"val_recall@{config.k}": val_recall})
            logger.info("%s: epoch %d loss %.4f val recall@%d %.4f", label, epoch, loss, config.k, val_recall)
            if val_recall > result.best_val:
                result.best_epoch, result.best_val, stale = epoch, val_recall, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                stale += 1
                stop = stale >= config.patience
            bar.set_postfix(
                {"loss": f"{loss:.4f}", f"val R@{config.k}": f"{val_recall:.4f}", "best": result.best_epoch + 1}
            )
        if on_epoch is not None and leader:
            on_epoch(epoch, model, adj)
        if stop:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
        if leader:
            warn_if_capped(
                label, best_epoch=result.best_epoch, epochs_run=len(result.history), cap=config.epochs, k=config.k
            )
    if group is not None:
        group.sync_parameters(model)
    result.seconds_per_epoch = t_total / max(len(result.history), 1)
    return result


def check_finite(model: torch.nn.Module, loss: float, *, epoch: int, config: TrainConfig, channel: str = "") -> None:
    """Stop training when the epoch's loss or a parameter is NaN or inf (a diverged model must never be
    saved, evaluated or served).

    Raises:
        TrainingDivergedError: What went non-finite, the epoch and channel, the learning rate, and the fix.
    """
    if math.isfinite(loss):
        bad = [name for name, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
        if not bad:
            return
        what = f"the parameters {', '.join(bad[:3])}{' …' if len(bad) > 3 else ''} hold NaN or inf"
    else:
        what = f"the BPR loss is {loss}"
    where = f"epoch {epoch}" + (f" of the {channel} channel" if channel else "")
    raise TrainingDivergedError(
        f"training diverged: {what} after {where} with learning rate {config.lr:g}; nothing was saved or "
        "written back. Lower the learning rate (graphrec train --lr; the default is 0.005) and retrain"
    )


def _full_batch_epoch(
    model: CrossScenarioLightGCN,
    adj: torch.Tensor,
    train: np.ndarray,
    item_scenario: np.ndarray,
    positives: dict[int, set[int]],
    transfer_pairs: np.ndarray | None,
    config: TrainConfig,
    opt: torch.optim.Optimizer,
    rng: np.random.Generator,
) -> tuple[float, int]:
    """One epoch of full-batch BPR steps (the whole graph propagated at every step), on the device of ``adj``
    (the model's): negatives are drawn on the CPU (NumPy), each step's rows are moved there.

    Returns ``(summed loss × pairs, pairs)``.
    """
    device = adj.device
    order = rng.permutation(train.shape[1])
    pool = observed_items(train, len(item_scenario))
    neg_all = in_scenario_negatives(train, item_scenario, positives, rng=rng, pool=pool)
    use_transfer = transfer_pairs is not None and transfer_pairs.shape[1] > 0 and model.transfer is not None
    transfer = transfer_pairs if use_transfer else None
    if transfer is not None:
        t_order = rng.permutation(transfer.shape[1])
        t_neg = in_scenario_negatives(transfer, item_scenario, positives, rng=rng, pool=pool)
        n_steps = max(1, -(-len(order) // config.batch_size))
        t_size = -(-len(t_order) // n_steps)
    total = 0.0
    for step, start in enumerate(range(0, len(order), config.batch_size)):
        idx = order[start : start + config.batch_size]
        u = torch.from_numpy(train[0, idx]).to(device)
        i = torch.from_numpy(train[1, idx]).to(device)
        j = torch.from_numpy(neg_all[idx]).to(device)
        out, h0 = model.propagate(adj)  # layer 0 is reused for the L2 term, not recomputed
        n_u = model.num_users
        users, items = out[:n_u], out[n_u:]
        loss = bpr_loss((users[u] * items[i]).sum(1), (users[u] * items[j]).sum(1))
        if transfer is not None:
            t_idx = t_order[step * t_size : (step + 1) * t_size]
            if len(t_idx):
                src = model.source_view(items[: model.num_items])
                tu, ti, tj = (
                    torch.from_numpy(x).to(device) for x in (transfer[0, t_idx], transfer[1, t_idx], t_neg[t_idx])
                )
                loss = loss + bpr_loss((src[tu] * items[ti]).sum(1), (src[tu] * items[tj]).sum(1))
        reg = layer0_l2(h0[u], h0[n_u + i], h0[n_u + j])
        opt.zero_grad()
        (loss + config.weight_decay * reg).backward()
        opt.step()
        total += loss.item() * len(idx)
    return total, len(order)


@dataclass
class _SampledEpochs:
    """Mini-batch epochs over :func:`graphrec.train.minibatch.scenario_loaders`."""

    model: CrossScenarioLightGCN
    loaders: list[Any]
    degrees: Degrees
    positives: torch.Tensor
    weight_decay: float

    def run(self, opt: torch.optim.Optimizer, rng: np.random.Generator, *, progress: bool) -> tuple[float, int]:
        """One epoch; ``(summed loss × pairs, pairs)``."""
        iterators = [iter(loader) for loader in self.loaders]
        schedule = batch_schedule(self.loaders, rng)
        total, n_pairs = 0.0, 0
        for k in tqdm(schedule, desc="batches", leave=False, disable=not progress):
            batch = next(iterators[k])
            pos, neg, h_u, h_i, h_j = triplet_scores(self.model, batch, self.degrees, self.positives)
            if not len(pos):  # every negative of the batch was a positive of its user
                continue
            loss = bpr_loss(pos, neg)
            reg = layer0_l2(h_u, h_i, h_j)
            opt.zero_grad()
            (loss + self.weight_decay * reg).backward()
            opt.step()
            total += loss.item() * len(pos)
            n_pairs += len(pos)
        return total, n_pairs


def _sampled_epochs(
    model: CrossScenarioLightGCN,
    train: np.ndarray,
    item_scenario: np.ndarray,
    config: TrainConfig,
    data: HeteroData | None,
    transfer_pairs: np.ndarray | None,
    group: Group | None = None,
) -> _SampledEpochs | ShardedEpochs:
    if data is None:
        raise ConfigError("mini-batch training (num_neighbors) needs the model's graph: pass data=inputs.data")
    if model.transfer is not None and transfer_pairs is not None:
        raise ConfigError(
            "the cold-start transfer head trains full-batch only; drop num_neighbors or use another model"
        )
    assert config.num_neighbors is not None
    check_num_neighbors(config.num_neighbors, model.num_layers)
    if group is not None:
        return sharded_epochs(
            model, group, data, train, item_scenario, num_neighbors=list(config.num_neighbors),
            batch_size=config.batch_size, weight_decay=config.weight_decay, seed=config.seed,
        )  # fmt: skip
    graph = message_graph(data, topics=model.num_topics > 0)
    loaders = scenario_loaders(
        graph, train, item_scenario, num_neighbors=list(config.num_neighbors), batch_size=config.batch_size
    )
    return _SampledEpochs(model, loaders, node_degrees(graph), pair_keys(train, model.num_items), config.weight_decay)
