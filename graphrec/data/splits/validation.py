"""Validation carved from a split: simulated-cold validation users (to select a cold path), a
held-out share of training (to select before a refit), and validation merged back into training."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from graphrec.data.splits.base import (
    SIMULATED_COLD,
    Split,
    _pairs,
    per_user_shares,
    scenario_index,
)
from graphrec.data.splits.checks import check_no_leakage
from graphrec.errors import ConfigError, NoValidationError

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.export import GraphExport


SIMULATED_COLD_PROTOCOLS = ("coldstart-transfer", "none")
"""Protocols :func:`simulated_cold` applies to: the cold-user protocol, and a production split (no
hold-out; the simulated-cold targets are then the hidden training pairs alone)."""


def simulated_cold(
    split: Split,
    export: GraphExport,
    *,
    source: str,
    target: str,
    seed: int,
    fraction: float | None = None,
    max_users: int | None = None,
) -> Split:
    """Mark a seeded share of a :func:`coldstart_transfer` split's warm shared users as *simulated cold*
    (or of a :func:`no_holdout` split's shared users: a production model's cold path is selected the same way).

    The test-cold users of the protocol have a source history and no target history; a model's cold
    path (the one that scores them) cannot be selected on validation, whose users are all warm. This
    makes validation users that look cold to that path:

    * *Eligible* users are not test-cold (``split.slices["cold"]``) and have at least one training
      interaction in ``source`` and one in ``target`` (the warm shared, "bridge", users).
    * ``round(fraction * eligible)`` of them, at most ``max_users``, are drawn with ``seed`` (a stream
      of its own: the same ``seed`` gives the same users, whatever split it is applied to) and
      recorded as ``split.slices["val-simulated-cold"]`` (:data:`SIMULATED_COLD`).
    * All their target training pairs are recorded in :attr:`Split.cold_hidden`: a cold path must
      neither train on them nor see them as history. They are **not** removed from ``train``: a
      collaborative path keeps them, so the final model is trained on the same data as without this.
    * The simulated-cold validation *targets* (:func:`simulated_cold_targets`) are those users' target
      validation pairs **and** their hidden target training pairs: like a real cold user, whose whole
      target history is the test set, a simulated-cold user is evaluated on every target interaction
      the cold path did not see. Their test pairs are neither hidden nor evaluated here (they stay
      unlabelled candidates, as any non-held-out item), so nothing of the test set enters selection.

    The default ``fraction`` is the split's own ``cold_fraction`` (0.5): among the bridge users the
    same share goes cold as the protocol sent to test, so a cold path selected here learns its bridge
    from the same ratio of cold to bridge users as at test time (taking *every* bridge user, e.g. as
    many as the real cold users, would leave a cold path nobody to learn a source→target map from).
    ``max_users`` defaults to the number of real cold users. Apply after :func:`sparse_target`, not
    before (the hidden pairs must be training pairs of the final split).

    Args:
        split: A ``coldstart-transfer`` split (possibly made sparse) of ``export``.
        export: The exported graph.
        source: The split's source scenario.
        target: The split's target scenario.
        seed: Seed of the draw.
        fraction: Share of the eligible users drawn (``0 < fraction <= 1``; default the split's
            ``cold_fraction``).
        max_users: Cap on the count (default: the number of test-cold users; at least 1).

    Returns:
        The split with the slice, :attr:`Split.cold_hidden` and ``meta["simulated_cold"]`` set; train,
        validation, test and the other slices unchanged.

    Raises:
        ConfigError: Not a coldstart-transfer split of these scenarios, a fraction out of range, or no
            eligible user.
    """
    if split.meta.get("protocol") not in SIMULATED_COLD_PROTOCOLS:
        raise ConfigError(
            "simulated-cold validation needs a coldstart-transfer split or a production one (no hold-out); "
            f"this one is {split.meta.get('protocol')!r}. "
            "Make it with coldstart_transfer (graphrec train --split coldstart) or "
            "no_holdout (--split none)"
        )
    for name, given in (("source", source), ("target", target)):
        if split.meta.get(name) not in (None, given):
            raise ConfigError(
                f"the split's {name} is {split.meta.get(name)!r}, not {given!r}; pass the split's scenarios"
            )
    s_idx, t_idx = scenario_index(export, source), scenario_index(export, target)
    if fraction is None:
        fraction = float(split.meta.get("cold_fraction", 0.5))
    if not (isinstance(fraction, (int, float)) and 0.0 < fraction <= 1.0):
        raise ConfigError(
            f"simulated-cold fraction {fraction!r} is out of range: it must be > 0 and <= 1 (default 0.5)"
        )
    cold = np.asarray(split.slices.get("cold", np.zeros(0, dtype=np.int64)), dtype=np.int64)
    n_users = len(export.user_ids)
    scen = export.item_scenario[split.train[1]]
    has_source, has_target = np.zeros(n_users, dtype=bool), np.zeros(n_users, dtype=bool)
    has_source[split.train[0, scen == s_idx]] = True
    has_target[split.train[0, scen == t_idx]] = True
    if max_users is None:  # as many as the cold users the cold path will serve (production: source history only)
        max_users = max(1, len(cold) if "cold" in split.slices else int((has_source & ~has_target).sum()))
    if max_users < 1:
        raise ConfigError(f"simulated-cold max_users must be at least 1; got {max_users}")
    eligible = np.flatnonzero(has_source & has_target & ~np.isin(np.arange(n_users), cold))
    n = min(round(len(eligible) * fraction), int(max_users))
    if n < 1:
        raise ConfigError(
            f"no simulated-cold validation user: {len(eligible)} users have both {source!r} and {target!r} training "
            f"interactions outside the test-cold slice (fraction {fraction}); the pair shares too few users for it"
        )
    rng = np.random.default_rng([seed, 0x51C01D])
    users = np.sort(rng.permutation(eligible)[:n])
    hidden = split.train[:, (scen == t_idx) & np.isin(split.train[0], users)]
    val_pairs = int(np.isin(split.val[0], users).sum())
    meta = {
        **split.meta,
        "simulated_cold": {
            "source": source, "target": target, "seed": seed, "fraction": float(fraction), "max_users": int(max_users),
            "eligible_users": len(eligible), "users": n, "hidden_train_pairs": int(hidden.shape[1]),
            "val_pairs": val_pairs, "targets": "target validation + hidden target training pairs",
        },
    }  # fmt: skip
    out = replace(
        split, slices={**split.slices, SIMULATED_COLD: users}, meta=meta, cold_hidden=_pairs(hidden.T.tolist())
    )
    check_no_leakage(out, export)
    return out


def holdout_validation(split: Split, export: GraphExport, *, target: str, seed: int, fraction: float = 0.1) -> Split:
    """Carve a validation split out of ``split.train``: for every user with at least 3 target training
    interactions, a seeded ``max(1, round(n · fraction))`` of their ``n`` target training pairs move to
    validation (as :func:`random_per_user` does; at least 2 stay in training). Source interactions, the
    test pairs and the slices are unchanged. For selecting a model that is then trained again on
    ``train`` + validation (:func:`~graphrec.train.refit.fit_refit`): a production split has no
    validation of its own.

    Args:
        split: A split without validation pairs (e.g. :func:`no_holdout`, or any split with its
            validation merged into training).
        target: The target scenario.
        seed: Seed of the draw (a stream of its own).
        fraction: Share of each user's target training pairs held out (``0 < fraction < 1``; default 0.1).

    Returns:
        The split with ``val`` set and ``meta["validation"]`` recording the draw.

    Raises:
        ConfigError: The split already has validation pairs or a fraction out of range.
        NoValidationError: No user has 3 target training interactions (nothing to select on).
    """
    if split.val.shape[1]:
        raise ConfigError(
            f"the split already has {split.val.shape[1]} validation pairs; carve validation only from a split without"
        )
    if not (isinstance(fraction, (int, float)) and 0.0 < fraction < 1.0):
        raise ConfigError(f"validation fraction {fraction!r} is out of range: it must be > 0 and < 1 (default 0.1)")
    t_idx = scenario_index(export, target)
    is_target = export.item_scenario[split.train[1]] == t_idx
    val, kept = per_user_shares(split.train[:, is_target], np.random.default_rng([seed, 0x7A1]), (fraction,))
    train = [tuple(p) for p in split.train[:, ~is_target].T.tolist()] + kept
    if not val:
        raise NoValidationError(
            f"no validation to select on: no user has 3 or more {target!r} training interactions; train without "
            "selection (graphrec train --no-refit)"
        )
    validation = {"carved_from": "train", "target": target, "seed": seed, "fraction": float(fraction),
                  "pairs": len(val), "users": len({u for u, _ in val})}  # fmt: skip
    meta = {**split.meta, "validation": validation}
    out = replace(split, train=_pairs(train), val=_pairs(val), meta=meta)
    check_no_leakage(out, export)
    return out


def merged_validation(split: Split) -> Split:
    """``split`` with its validation pairs moved into training (what a refit trains on); test, slices and
    the record of any sparse draw unchanged, any simulated-cold record dropped (it was drawn for the
    smaller training set)."""
    if not split.val.shape[1]:
        return split
    slices = {k: v for k, v in split.slices.items() if k != SIMULATED_COLD}
    meta = {k: v for k, v in split.meta.items() if k != "simulated_cold"}
    train = _pairs(np.concatenate([split.train, split.val], axis=1).T.tolist())
    meta = {**meta, "validation_merged": int(split.val.shape[1])}
    return replace(split, train=train, val=_pairs([]), slices=slices, meta=meta, cold_hidden=_pairs([]))
