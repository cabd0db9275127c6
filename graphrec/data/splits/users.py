"""User protocols: cold-start transfer (cold users hold out their whole target history), random and
temporal per-user partitions, and no hold-out at all (a production model)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from graphrec.data.splits.base import Split, _pairs, per_user_shares, scenario_index
from graphrec.data.splits.checks import check_no_leakage
from graphrec.errors import ConfigError, GraphRecError

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.export import GraphExport


def coldstart_transfer(
    export: GraphExport,
    *,
    source: str,
    target: str,
    seed: int,
    cold_fraction: float = 0.5,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
) -> Split:
    """The cold-start transfer protocol (see the module docstring); deterministic under ``seed``."""
    s_idx, t_idx = scenario_index(export, source), scenario_index(export, target)
    if source == target:
        raise ConfigError("source and target scenarios must differ")
    rng = np.random.default_rng(seed)
    by_user_target: dict[int, list[int]] = defaultdict(list)
    source_users: set[int] = set()
    other: list[tuple[int, int]] = []
    for u, i in export.interactions.T.tolist():
        sc = export.item_scenario[i]
        if sc == t_idx:
            by_user_target[u].append(i)
        else:
            other.append((u, i))
            if sc == s_idx:
                source_users.add(u)
    shared = np.array(sorted(source_users & set(by_user_target)), dtype=np.int64)
    cold = np.sort(rng.permutation(shared)[: round(len(shared) * cold_fraction)])
    cold_set = set(cold.tolist())
    train, val, test = list(other), [], []
    warm = []
    for u in sorted(by_user_target):
        items = sorted(by_user_target[u])
        if u in cold_set:
            test += [(u, i) for i in items]
            continue
        if len(items) < 2:
            train += [(u, i) for i in items]
            continue
        warm.append(u)
        order = rng.permutation(len(items))
        n_test = max(1, round(len(items) * test_fraction))
        held = {items[k] for k in order[:n_test]}
        rest = [items[k] for k in order[n_test:]]
        n_val = round(len(items) * val_fraction) if len(rest) > 1 else 0
        val_items = set(rest[:n_val])
        test += [(u, i) for i in sorted(held)]
        val += [(u, i) for i in sorted(val_items)]
        train += [(u, i) for i in rest if i not in val_items]
    split = Split(
        train=_pairs(train),
        val=_pairs(val),
        test=_pairs(test),
        slices={"cold": cold, "warm": np.array(warm, dtype=np.int64)},
        meta={
            "protocol": "coldstart-transfer", "source": source, "target": target, "seed": seed,
            "shared_users": len(shared), "cold_users": len(cold), "warm_users": len(warm),
            "cold_fraction": cold_fraction, "test_fraction": test_fraction, "val_fraction": val_fraction,
        },
    )  # fmt: skip
    check_no_leakage(split, export)
    return split


UNSEEN = "unseen"
"""Slice name of the users :func:`unseen_users` takes out of the graph."""


def unseen_users(split: Split, *, seed: int, fraction: float = 0.5) -> Split:
    """``split`` with a seeded share of its cold test users taken out of the graph entirely (issue 14's
    fold-in measure): their training and validation pairs — their whole source history — move to
    ``dropped``, so no model trains on them or any other pair of theirs; their test pairs stay. Slice
    ``"unseen"`` holds them, ``"cold"`` the cold users left in the graph (transductive). A user who arrives
    after training is then folded in from their ``dropped`` pairs (:mod:`graphrec.serve.foldin`).

    Raises:
        ConfigError: ``split`` has no cold slice, or ``fraction`` is not in (0, 1].
    """
    cold = split.slices.get("cold")
    if cold is None or not len(cold):
        raise ConfigError("unseen_users needs a split with cold test users (coldstart-transfer)")
    if not 0 < fraction <= 1:
        raise ConfigError(f"fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    unseen = np.sort(rng.permutation(cold)[: max(1, round(len(cold) * fraction))])
    out_train = np.isin(split.train[0], unseen)
    out_val = np.isin(split.val[0], unseen)
    dropped = np.concatenate([split.dropped, split.train[:, out_train], split.val[:, out_val]], axis=1)
    return Split(
        train=split.train[:, ~out_train],
        val=split.val[:, ~out_val],
        test=split.test,
        slices={**split.slices, "cold": np.setdiff1d(cold, unseen), UNSEEN: unseen},
        meta={**split.meta, "unseen_users": len(unseen), "unseen_fraction": fraction},
        dropped=dropped,
        cold_hidden=split.cold_hidden[:, ~np.isin(split.cold_hidden[0], unseen)],
    )


def random_per_user(export: GraphExport, *, seed: int, val_fraction: float = 0.1, test_fraction: float = 0.1) -> Split:
    """Per user, a seeded random partition into train / validation / test (users with < 3 interactions train only)."""
    test, val, train = per_user_shares(export.interactions, np.random.default_rng(seed), (test_fraction, val_fraction))
    split = Split(_pairs(train), _pairs(val), _pairs(test), meta={"protocol": "random-per-user", "seed": seed})
    check_no_leakage(split, export)
    return split


def temporal_per_user(
    export: GraphExport, timestamps: np.ndarray, *, val_fraction: float = 0.1, test_fraction: float = 0.1
) -> Split:
    """Per user, the latest ``test_fraction`` of interactions are test and the ``val_fraction`` before them validation.

    Args:
        timestamps: One timestamp per column of ``export.interactions``.

    Raises:
        GraphRecError: Missing timestamps (the data has none; use a random split).
    """
    if timestamps.shape[0] != export.interactions.shape[1] or np.isnan(timestamps).any():
        raise GraphRecError(
            "a temporal split needs a timestamp on every interaction; this data has none, use random_per_user"
        )
    by_user: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for (u, i), ts in zip(export.interactions.T.tolist(), timestamps.tolist()):
        by_user[u].append((ts, i))
    train, val, test = [], [], []
    for u in sorted(by_user):
        events = sorted(by_user[u])
        if len(events) < 3:
            train += [(u, i) for _, i in events]
            continue
        n_test = max(1, round(len(events) * test_fraction))
        n_val = max(1, round(len(events) * val_fraction))
        test += [(u, i) for _, i in events[-n_test:]]
        val += [(u, i) for _, i in events[-n_test - n_val : -n_test]]
        train += [(u, i) for _, i in events[: -n_test - n_val]]
    split = Split(_pairs(train), _pairs(val), _pairs(test), meta={"protocol": "temporal-per-user"})
    check_no_leakage(split, export)
    return split


def no_holdout(export: GraphExport, *, source: str | None = None, target: str | None = None) -> Split:
    """All interactions train, nothing held out (for a production model; it cannot be evaluated).

    Args:
        source: The scenario cold users are served from (recorded in ``meta``; with it, a routed model
            selects its cold path on a :func:`simulated_cold` slice of the training data).
        target: The target scenario (recorded in ``meta``).

    Raises:
        ConfigError: ``source`` or ``target`` is not a scenario of the graph, or they are the same.
    """
    for name in (source, target):
        if name is not None:
            scenario_index(export, name)
    if source is not None and source == target:
        raise ConfigError("source and target scenarios must differ")
    empty = np.zeros((2, 0), dtype=np.int64)
    meta: dict[str, object] = {"protocol": "none"}
    meta.update({k: v for k, v in (("source", source), ("target", target)) if v is not None})
    return Split(export.interactions.copy(), empty, empty.copy(), meta=meta)
