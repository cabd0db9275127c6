"""The cold-item protocol: a seeded share of the target scenario's items held out with all their interactions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from graphrec.data.splits.base import Split, _pairs, scenario_index
from graphrec.data.splits.checks import check_no_leakage
from graphrec.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.export import GraphExport


def coldstart_items(
    export: GraphExport,
    *,
    target: str,
    seed: int,
    item_fraction: float = 0.2,
    val_fraction: float = 0.1,
) -> Split:
    """The cold-item protocol: hold out items of the target scenario with all their interactions.

    Among the target scenario's items that have interactions, a seeded ``item_fraction`` (rounded to
    the nearest count) are *test items* and a further, disjoint ``val_fraction`` are *validation
    items*: every user's interactions with a test item are test, with a validation item validation,
    and none of them is in train. Every other interaction (all scenarios) is train. A model therefore
    never sees an interaction of a held-out item; only its text features and topic membership.

    Slices (test users, i.e. users with a held-out-item interaction): ``warm`` have target-scenario
    training interactions, ``cold`` have none. Evaluation ranks all target items, held-out ones
    included (they have no training interaction, so none is excluded), each user's training items
    excluded.

    Args:
        export: The exported graph.
        target: Scenario whose items are held out.
        seed: Seed of the item draw; the same seed gives the same split.
        item_fraction: Share of the target's interacted items held out for test (default 0.2).
        val_fraction: Share held out for validation (default 0.1; 0 for none).

    Raises:
        ConfigError: Unknown target, or fractions outside ``0 < item_fraction``, ``0 <= val_fraction``,
            ``item_fraction + val_fraction < 1``.
    """
    if not (0.0 < item_fraction < 1.0 and 0.0 <= val_fraction < 1.0 and item_fraction + val_fraction < 1.0):
        raise ConfigError(
            "coldstart-items needs 0 < item_fraction < 1, 0 <= val_fraction and item_fraction + val_fraction < 1; "
            f"got item_fraction={item_fraction}, val_fraction={val_fraction}. "
            "Lower the fractions (defaults 0.2 and 0.1)"
        )
    t_idx = scenario_index(export, target)
    inter = export.interactions
    interacted = np.unique(inter[1, export.item_scenario[inter[1]] == t_idx])
    order = np.random.default_rng(seed).permutation(interacted)
    n_test = round(len(interacted) * item_fraction)
    n_val = round(len(interacted) * val_fraction)
    test_items, val_items = np.sort(order[:n_test]), np.sort(order[n_test : n_test + n_val])
    in_test, in_val = np.isin(inter[1], test_items), np.isin(inter[1], val_items)
    train, val, test = inter[:, ~(in_test | in_val)], inter[:, in_val], inter[:, in_test]
    test_users = np.unique(test[0])
    has_target_train = np.isin(test_users, train[0, export.item_scenario[train[1]] == t_idx])
    split = Split(
        train=_pairs(train.T.tolist()),
        val=_pairs(val.T.tolist()),
        test=_pairs(test.T.tolist()),
        slices={"cold": test_users[~has_target_train], "warm": test_users[has_target_train]},
        meta={
            "protocol": "coldstart-items", "target": target, "seed": seed,
            "item_fraction": item_fraction, "val_fraction": val_fraction,
            "target_items": int((export.item_scenario == t_idx).sum()), "interacted_target_items": len(interacted),
            "test_items": len(test_items), "val_items": len(val_items),
            "test_interactions": int(test.shape[1]), "val_interactions": int(val.shape[1]),
            "test_users": len(test_users), "cold_users": int((~has_target_train).sum()),
            "warm_users": int(has_target_train.sum()),
        },
    )  # fmt: skip
    check_no_leakage(split, export)
    return split
