"""The sparse-target protocol: applied after any split, keeps a seeded fraction of each user's
target training interactions."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from graphrec.data.splits.base import Split, _pairs, scenario_index
from graphrec.data.splits.checks import check_no_leakage
from graphrec.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.export import GraphExport


def check_target_fraction(fraction: float) -> None:
    """Raise unless ``0 < fraction <= 1`` (the share of target training interactions kept).

    Raises:
        ConfigError: Naming the value and the valid range.
    """
    if not (isinstance(fraction, (int, float)) and 0.0 < fraction <= 1.0):
        raise ConfigError(
            f"target fraction {fraction!r} is out of range: it must be > 0 and <= 1 (e.g. 0.05 keeps 5% of each "
            "user's target training interactions; 1 keeps all)"
        )


def sparse_target(split: Split, export: GraphExport, *, target: str, fraction: float, seed: int) -> Split:
    """The sparse-target protocol: keep a seeded ``fraction`` of each user's target training interactions.

    Per user with ``n`` target-scenario training interactions, ``x = fraction * n`` is rounded
    *stochastically*: ``floor(x)`` are kept, plus one more when a seeded uniform draw is below
    ``x - floor(x)``, so a user keeps ``floor(x)`` or ``ceil(x)`` (possibly 0) and ``x`` on average.
    (Rounding to the nearest count would keep nothing of users with fewer than ``1 / (2 * fraction)``
    interactions: at 5% every user with under 10, which is most users of typical data, so the target
    would be empty rather than sparse.) The kept ones are the first of a seeded permutation of the
    user's items (sorted by row); users are drawn in row order, a permutation and one uniform each,
    none of which depends on ``fraction``, so a smaller fraction keeps a subset of what a larger one
    keeps, and the same seed gives the same pairs. Other scenarios' training interactions,
    validation, test and slices are unchanged (the same held-out interactions for every fraction);
    the removed interactions go to :attr:`Split.dropped` (neither trained on nor evaluated).
    ``fraction == 1`` returns the same pairs (with the fraction recorded in ``meta``).

    Raises:
        ConfigError: ``fraction`` outside ``(0, 1]`` or an unknown target.
    """
    check_target_fraction(fraction)
    t_idx = scenario_index(export, target)
    is_target = export.item_scenario[split.train[1]] == t_idx
    before = int(is_target.sum())

    def recorded(kept: int, users: int, users_kept: int) -> dict[str, object]:
        return {
            **split.meta, "target_fraction": float(fraction), "target_fraction_seed": seed,
            "target_fraction_rounding": "stochastic", "target_train_before": before, "target_train_kept": kept,
            "target_train_dropped": before - kept, "target_train_users": users, "target_train_users_kept": users_kept,
        }  # fmt: skip

    if fraction == 1:  # everything kept: the same pairs, only the record
        users = len(np.unique(split.train[0, is_target]))
        return replace(split, meta=recorded(before, users, users))
    by_user: dict[int, list[int]] = defaultdict(list)
    for u, i in split.train[:, is_target].T.tolist():
        by_user[u].append(i)
    rng = np.random.default_rng(seed)
    kept: list[tuple[int, int]] = []
    dropped: list[tuple[int, int]] = [tuple(p) for p in split.dropped.T.tolist()]
    for u in sorted(by_user):
        items = sorted(by_user[u])
        order = rng.permutation(len(items))
        expected = fraction * len(items)
        n_keep = int(np.floor(expected)) + int(rng.random() < expected - np.floor(expected))
        kept += [(u, items[k]) for k in order[:n_keep]]
        dropped += [(u, items[k]) for k in order[n_keep:]]
    train = _pairs([tuple(p) for p in split.train[:, ~is_target].T.tolist()] + kept)
    meta = recorded(len(kept), len(by_user), len({u for u, _ in kept}))
    out = replace(split, train=train, meta=meta, dropped=_pairs(dropped))
    check_no_leakage(out, export)
    return out
