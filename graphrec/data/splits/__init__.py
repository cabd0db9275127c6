"""Splits of the interactions, and leakage checks.

* :func:`coldstart_transfer` — the cross-scenario protocol of ``../shared/data/README.md``: among users
  with interactions in both the source and the target scenario, a seeded half are *cold*: all their
  target interactions are held out (their source history is kept). Every other target user with at
  least 2 target interactions is *warm* and holds out ``test_fraction`` (20%) of them at random. A
  validation set for early stopping is carved from the warm users' remaining target interactions.
* :func:`random_per_user` — per user, a seeded ``1 − val − test`` / ``val`` / ``test`` partition.
* :func:`temporal_per_user` — per user, the latest interactions are test, the ones before are validation.
* :func:`coldstart_items` — a seeded share of the target scenario's items is *held out* with all
  their interactions (test; a second share is validation): items nobody was seen interacting with.
* :func:`sparse_target` — applied after any split: keeps a seeded fraction of each user's
  target-scenario *training* interactions (a new, sparse scenario); validation and test are unchanged.
* :func:`holdout_validation` — applied to a split without validation (a production one, or a split's
  train + validation before a refit): a seeded share of each target user's training interactions
  becomes validation, so a model can be selected before it is trained again on everything.
* :func:`simulated_cold` — applied to a :func:`coldstart_transfer` split: a seeded share of the warm
  *shared* users become *simulated-cold validation users*, whose target training interactions a cold
  path must not see (they stay in ``train`` for the collaborative path), so a cold path can be selected
  on users it treats as cold, without any test pair.

All splits are pairs of export rows ``(user, item)`` as int64 ``[2, n]`` arrays.

Item features and topics never depend on interactions, so no split can leak through them: item
features are the text embeddings of ``graphrec embed`` (item text only), and topic membership
(``HAS_TOPIC``) is built by ``graphrec topics`` from item text and metadata;
:func:`~graphrec.data.export.to_hetero_data` copies it unchanged whatever interactions it is given.

Modules: :mod:`~graphrec.data.splits.base` (the :class:`Split` type, shared helpers, the simulated-cold
views), :mod:`~graphrec.data.splits.users` (coldstart-transfer, random, temporal, none),
:mod:`~graphrec.data.splits.items` (coldstart-items), :mod:`~graphrec.data.splits.sparse` (sparse target),
:mod:`~graphrec.data.splits.validation` (simulated-cold, carved and merged validation) and
:mod:`~graphrec.data.splits.checks` (leakage checks). Import every name from this package.
"""

from graphrec.data.splits.base import (
    SIMULATED_COLD,
    Split,
    cold_path_train,
    held_out_items,
    pairs_set,
    per_user_shares,
    scenario_index,
    simulated_cold_targets,
)
from graphrec.data.splits.checks import (
    check_graph_has_no_held_out_edges,
    check_no_leakage,
    check_simulated_cold,
)
from graphrec.data.splits.items import coldstart_items
from graphrec.data.splits.sparse import check_target_fraction, sparse_target
from graphrec.data.splits.users import (
    UNSEEN,
    coldstart_transfer,
    no_holdout,
    random_per_user,
    temporal_per_user,
    unseen_users,
)
from graphrec.data.splits.validation import (
    SIMULATED_COLD_PROTOCOLS,
    holdout_validation,
    merged_validation,
    simulated_cold,
)

__all__ = [
    "SIMULATED_COLD",
    "SIMULATED_COLD_PROTOCOLS",
    "UNSEEN",
    "Split",
    "check_graph_has_no_held_out_edges",
    "check_no_leakage",
    "check_simulated_cold",
    "check_target_fraction",
    "cold_path_train",
    "coldstart_items",
    "coldstart_transfer",
    "held_out_items",
    "holdout_validation",
    "merged_validation",
    "no_holdout",
    "pairs_set",
    "per_user_shares",
    "random_per_user",
    "scenario_index",
    "simulated_cold",
    "simulated_cold_targets",
    "sparse_target",
    "temporal_per_user",
    "unseen_users",
]
