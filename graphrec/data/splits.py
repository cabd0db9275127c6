"""Splits of the interactions, and leakage checks.

* :func:`coldstart_transfer` — the cross-scenario protocol of ``../shared/data/README.md``: among users
  with interactions in both the source and the target scenario, a seeded half are *cold*: all their
  target interactions are held out (their source history is kept). Every other target user with at
  least 2 target interactions is *warm* and holds out ``test_fraction`` (20%) of them at random. A
  validation set for early stopping is carved from the warm users' remaining target interactions.
* :func:`random_per_user` — per user, a seeded ``1 − val − test`` / ``val`` / ``test`` partition.
* :func:`temporal_per_user` — per user, the latest interactions are test, the ones before are validation.

All splits are pairs of export rows ``(user, item)`` as int64 ``[2, n]`` arrays.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from graphrec.errors import ConfigError, GraphRecError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from graphrec.data.export import GraphExport


@dataclass(frozen=True)
class Split:
    """Train / validation / test interaction pairs (export rows), plus named test slices.

    Attributes:
        train: int64 ``[2, n_train]``: the only interactions a model may see.
        val: int64 ``[2, n_val]``.
        test: int64 ``[2, n_test]``.
        slices: Named user sets for reporting (``cold``, ``warm``), as user rows.
        meta: Protocol, seed and counts.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    slices: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)


def _pairs(rows: Sequence[tuple[int, int]]) -> np.ndarray:
    import numpy as np

    return np.array(sorted(rows), dtype=np.int64).reshape(-1, 2).T.copy()


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
    import numpy as np

    for name in (source, target):
        if name not in export.scenarios:
            raise ConfigError(f"scenario {name!r} is not in the graph; it has {export.scenarios}")
    if source == target:
        raise ConfigError("source and target scenarios must differ")
    s_idx, t_idx = export.scenarios.index(source), export.scenarios.index(target)
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
    cold = np.sort(rng.permutation(shared)[: int(round(len(shared) * cold_fraction))])
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
        n_test = max(1, int(round(len(items) * test_fraction)))
        held = {items[k] for k in order[:n_test]}
        rest = [items[k] for k in order[n_test:]]
        n_val = int(round(len(items) * val_fraction)) if len(rest) > 1 else 0
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


def random_per_user(export: GraphExport, *, seed: int, val_fraction: float = 0.1, test_fraction: float = 0.1) -> Split:
    """Per user, a seeded random partition into train / validation / test (users with < 3 interactions train only)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    by_user: dict[int, list[int]] = defaultdict(list)
    for u, i in export.interactions.T.tolist():
        by_user[u].append(i)
    train, val, test = [], [], []
    for u in sorted(by_user):
        items = sorted(by_user[u])
        if len(items) < 3:
            train += [(u, i) for i in items]
            continue
        order = [items[k] for k in rng.permutation(len(items))]
        n_test = max(1, int(round(len(items) * test_fraction)))
        n_val = max(1, int(round(len(items) * val_fraction)))
        test += [(u, i) for i in order[:n_test]]
        val += [(u, i) for i in order[n_test : n_test + n_val]]
        train += [(u, i) for i in order[n_test + n_val :]]
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
    import numpy as np

    if timestamps.shape[0] != export.interactions.shape[1] or np.isnan(timestamps).any():
        raise GraphRecError("a temporal split needs a timestamp on every interaction; this data has none, use random_per_user")
    by_user: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for (u, i), ts in zip(export.interactions.T.tolist(), timestamps.tolist()):
        by_user[u].append((ts, i))
    train, val, test = [], [], []
    for u in sorted(by_user):
        events = sorted(by_user[u])
        if len(events) < 3:
            train += [(u, i) for _, i in events]
            continue
        n_test = max(1, int(round(len(events) * test_fraction)))
        n_val = max(1, int(round(len(events) * val_fraction)))
        test += [(u, i) for _, i in events[-n_test:]]
        val += [(u, i) for _, i in events[-n_test - n_val : -n_test]]
        train += [(u, i) for _, i in events[: -n_test - n_val]]
    split = Split(_pairs(train), _pairs(val), _pairs(test), meta={"protocol": "temporal-per-user"})
    check_no_leakage(split, export)
    return split


def check_no_leakage(split: Split, export: GraphExport) -> None:
    """Fail if train, validation and test overlap, or if they do not partition the interactions.

    Raises:
        GraphRecError: Naming the first leaked pair by raw ids.
    """
    parts = {name: {tuple(p) for p in getattr(split, name).T.tolist()} for name in ("train", "val", "test")}
    for a, b in (("train", "test"), ("train", "val"), ("val", "test")):
        both = parts[a] & parts[b]
        if both:
            u, i = next(iter(both))
            raise GraphRecError(
                f"leakage: interaction ({export.user_ids[u]!r}, {export.item_keys[i]!r}) is in both {a} and {b} "
                f"({len(both)} pairs in all)"
            )
    total = sum(len(p) for p in parts.values())
    if total != export.interactions.shape[1]:
        raise GraphRecError(f"split covers {total} interactions but the graph has {export.interactions.shape[1]}")


def check_graph_has_no_held_out_edges(data: object, split: Split) -> None:
    """Fail if any validation or test pair is an edge of the ``HeteroData`` given to a model.

    Raises:
        GraphRecError: A held-out pair reached the model's graph.
    """
    from graphrec.schema import EdgeType

    edges = {tuple(p) for p in data[EdgeType.INTERACTS].edge_index.t().tolist()}  # type: ignore[index]
    rev = {tuple(p) for p in data[EdgeType.REV_INTERACTS].edge_index.flip(0).t().tolist()}  # type: ignore[index]
    for name in ("val", "test"):
        held = {tuple(p) for p in getattr(split, name).T.tolist()}
        leaked = held & (edges | rev)
        if leaked:
            raise GraphRecError(f"leakage: {len(leaked)} {name} interactions are edges of the training graph")


def no_holdout(export: GraphExport) -> Split:
    """All interactions train, nothing held out (for a production model; it cannot be evaluated)."""
    import numpy as np

    empty = np.zeros((2, 0), dtype=np.int64)
    return Split(export.interactions.copy(), empty, empty.copy(), meta={"protocol": "none"})
