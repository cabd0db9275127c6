"""The :class:`Split` type and what every protocol shares: pairs arrays, scenario rows, per-user
shares, the held-out items of a cold-item split and the simulated-cold views of a split."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from graphrec.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.export import GraphExport


@dataclass(frozen=True)
class Split:
    """Train / validation / test interaction pairs (export rows), plus named test slices.

    Attributes:
        train: int64 ``[2, n_train]``: the only interactions a model may see.
        val: int64 ``[2, n_val]``.
        test: int64 ``[2, n_test]``.
        slices: Named user sets for reporting (``cold``, ``warm``), as user rows.
        meta: Protocol, seed and counts (JSON-like values).
        dropped: int64 ``[2, n_dropped]``: interactions deliberately left unused (the target training
            interactions :func:`sparse_target` removes); neither trained on nor evaluated.
        cold_hidden: int64 ``[2, n_hidden]``: training pairs (a subset of ``train``) that a model's
            *cold path* must not see: the target training interactions of the simulated-cold validation
            users of :func:`simulated_cold` (empty otherwise). They stay in ``train``: a collaborative
            path trains on them.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    slices: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    dropped: np.ndarray = field(default_factory=lambda: _pairs([]))
    cold_hidden: np.ndarray = field(default_factory=lambda: _pairs([]))


def _pairs(rows: Sequence[tuple[int, int]]) -> np.ndarray:
    return np.array(sorted(rows), dtype=np.int64).reshape(-1, 2).T.copy()


def pairs_set(pairs: np.ndarray) -> set[tuple[int, int]]:
    """The ``(user, item)`` pairs of an int64 ``[2, n]`` array, as a set."""
    return {(int(u), int(i)) for u, i in pairs.T.tolist()}


def scenario_index(export: GraphExport, name: str) -> int:
    """The index of scenario ``name`` in ``export.scenarios``.

    Raises:
        ConfigError: The graph has no such scenario (the message lists those it has).
    """
    if name not in export.scenarios:
        raise ConfigError(f"scenario {name!r} is not in the graph; it has {export.scenarios}")
    return export.scenarios.index(name)


def per_user_shares(
    pairs: np.ndarray, rng: np.random.Generator, fractions: Sequence[float]
) -> list[list[tuple[int, int]]]:
    """Cut each user's items of ``pairs`` (``[2, n]``) into seeded shares: user by user in order, a random
    permutation of the user's sorted items gives ``max(1, round(n · f))`` items to each of ``fractions`` in
    turn and the rest to the last share; a user with fewer than 3 items keeps them all in the last share.

    Returns:
        ``len(fractions) + 1`` lists of ``(user, item)`` pairs.
    """
    by_user: dict[int, list[int]] = defaultdict(list)
    for u, i in pairs.T.tolist():
        by_user[u].append(i)
    shares: list[list[tuple[int, int]]] = [[] for _ in range(len(fractions) + 1)]
    for u in sorted(by_user):
        items = sorted(by_user[u])
        if len(items) < 3:
            shares[-1] += [(u, i) for i in items]
            continue
        order = [items[k] for k in rng.permutation(len(items))]
        start = 0
        for share, f in zip(shares, fractions):
            n = max(1, round(len(items) * f))
            share += [(u, i) for i in order[start : start + n]]
            start += n
        shares[-1] += [(u, i) for i in order[start:]]
    return shares


SIMULATED_COLD = "val-simulated-cold"
"""Slice name of the simulated-cold validation users of :func:`simulated_cold`."""


def held_out_items(split: Split) -> np.ndarray:
    """The item rows a :func:`coldstart_items` split holds out (its validation and test items); empty
    for other protocols, whose held-out pairs are on items that also have training interactions."""
    if split.meta.get("protocol") != "coldstart-items":
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate([split.val[1], split.test[1]]))


def cold_path_train(split: Split) -> np.ndarray:
    """``split.train`` without :attr:`Split.cold_hidden`: the training pairs a model's cold path may use."""
    if not split.cold_hidden.shape[1]:
        return split.train
    width = int(max(split.train.max(initial=0), split.cold_hidden.max(initial=0))) + 1
    hidden = np.isin(split.train[0] * width + split.train[1], split.cold_hidden[0] * width + split.cold_hidden[1])
    return split.train[:, ~hidden]


def simulated_cold_targets(split: Split, export: GraphExport) -> np.ndarray:
    """The simulated-cold validation pairs: the target validation pairs of the :data:`SIMULATED_COLD`
    users and their hidden target training pairs (:attr:`Split.cold_hidden`); int64 ``[2, n]``, sorted.
    Evaluate a cold path on them with its history from :func:`cold_path_train` (see :func:`simulated_cold`).

    Raises:
        ConfigError: The split has no simulated-cold slice (apply :func:`simulated_cold` first).
    """
    if SIMULATED_COLD not in split.slices:
        raise ConfigError(
            "the split has no simulated-cold validation slice; apply graphrec.data.splits.simulated_cold first"
        )
    t_idx = scenario_index(export, str(split.meta["simulated_cold"]["target"]))
    val = split.val[
        :, np.isin(split.val[0], split.slices[SIMULATED_COLD]) & (export.item_scenario[split.val[1]] == t_idx)
    ]
    return _pairs(np.concatenate([val, split.cold_hidden], axis=1).T.tolist())
