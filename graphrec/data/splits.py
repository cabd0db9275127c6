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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from graphrec.errors import ConfigError, GraphRecError, NoValidationError

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
    meta: dict[str, object] = field(default_factory=dict)
    dropped: np.ndarray = field(default_factory=lambda: _pairs([]))
    cold_hidden: np.ndarray = field(default_factory=lambda: _pairs([]))


def _pairs(rows: Sequence[tuple[int, int]]) -> np.ndarray:
    import numpy as np

    return np.array(sorted(rows), dtype=np.int64).reshape(-1, 2).T.copy()


def scenario_index(export: GraphExport, name: str) -> int:
    """The index of scenario ``name`` in ``export.scenarios``.

    Raises:
        ConfigError: The graph has no such scenario (the message lists those it has).
    """
    if name not in export.scenarios:
        raise ConfigError(f"scenario {name!r} is not in the graph; it has {export.scenarios}")
    return export.scenarios.index(name)


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
    import numpy as np

    if not (0.0 < item_fraction < 1.0 and 0.0 <= val_fraction < 1.0 and item_fraction + val_fraction < 1.0):
        raise ConfigError(
            f"coldstart-items needs 0 < item_fraction < 1, 0 <= val_fraction and item_fraction + val_fraction < 1; "
            f"got item_fraction={item_fraction}, val_fraction={val_fraction}. Lower the fractions (defaults 0.2 and 0.1)"
        )
    t_idx = scenario_index(export, target)
    inter = export.interactions
    interacted = np.unique(inter[1, export.item_scenario[inter[1]] == t_idx])
    order = np.random.default_rng(seed).permutation(interacted)
    n_test = int(round(len(interacted) * item_fraction))
    n_val = int(round(len(interacted) * val_fraction))
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


def held_out_items(split: Split) -> np.ndarray:
    """The item rows a :func:`coldstart_items` split holds out (its validation and test items); empty
    for other protocols, whose held-out pairs are on items that also have training interactions."""
    import numpy as np

    if split.meta.get("protocol") != "coldstart-items":
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate([split.val[1], split.test[1]]))


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
    import numpy as np

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


SIMULATED_COLD = "val-simulated-cold"
"""Slice name of the simulated-cold validation users of :func:`simulated_cold`."""
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
    import numpy as np

    if split.meta.get("protocol") not in SIMULATED_COLD_PROTOCOLS:
        raise ConfigError(
            f"simulated-cold validation needs a coldstart-transfer split or a production one (no hold-out); this one is "
            f"{split.meta.get('protocol')!r}. Make it with coldstart_transfer (graphrec train --split coldstart) or "
            "no_holdout (--split none)"
        )
    for name, given in (("source", source), ("target", target)):
        if split.meta.get(name) not in (None, given):
            raise ConfigError(f"the split's {name} is {split.meta.get(name)!r}, not {given!r}; pass the split's scenarios")
    s_idx, t_idx = scenario_index(export, source), scenario_index(export, target)
    if fraction is None:
        fraction = float(split.meta.get("cold_fraction", 0.5))  # type: ignore[arg-type]
    if not (isinstance(fraction, (int, float)) and 0.0 < fraction <= 1.0):
        raise ConfigError(f"simulated-cold fraction {fraction!r} is out of range: it must be > 0 and <= 1 (default 0.5)")
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
    n = min(int(round(len(eligible) * fraction)), int(max_users))
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
    out = replace(split, slices={**split.slices, SIMULATED_COLD: users}, meta=meta, cold_hidden=_pairs(hidden.T.tolist()))
    check_no_leakage(out, export)
    return out


def cold_path_train(split: Split) -> np.ndarray:
    """``split.train`` without :attr:`Split.cold_hidden`: the training pairs a model's cold path may use."""
    import numpy as np

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
    import numpy as np

    if SIMULATED_COLD not in split.slices:
        raise ConfigError("the split has no simulated-cold validation slice; apply graphrec.data.splits.simulated_cold first")
    t_idx = scenario_index(export, str(split.meta["simulated_cold"]["target"]))  # type: ignore[index]
    val = split.val[:, np.isin(split.val[0], split.slices[SIMULATED_COLD]) & (export.item_scenario[split.val[1]] == t_idx)]
    return _pairs(np.concatenate([val, split.cold_hidden], axis=1).T.tolist())


def check_simulated_cold(split: Split, export: GraphExport) -> None:
    """Fail unless the simulated-cold record of :func:`simulated_cold` is sound: its users are never
    test-cold users and have source training history, the hidden pairs are exactly their target
    training pairs (all in ``train``), and no test pair is among the simulated-cold targets.

    Raises:
        GraphRecError: Naming what is wrong and a user or pair by raw id.
    """
    import numpy as np

    record = split.meta.get("simulated_cold")
    if SIMULATED_COLD not in split.slices or not isinstance(record, dict):
        raise GraphRecError(
            f"split has {split.cold_hidden.shape[1]} cold-hidden pairs but no simulated-cold record "
            f"(slice {SIMULATED_COLD!r} and meta['simulated_cold']); build it with simulated_cold()"
        )
    users = np.asarray(split.slices[SIMULATED_COLD], dtype=np.int64)
    s_idx, t_idx = scenario_index(export, str(record["source"])), scenario_index(export, str(record["target"]))
    both = np.intersect1d(users, np.asarray(split.slices.get("cold", np.zeros(0, dtype=np.int64))))
    if both.size:
        raise GraphRecError(
            f"leakage: {both.size} simulated-cold validation users are test-cold users (e.g. {export.user_ids[int(both[0])]!r})"
        )
    scen = export.item_scenario[split.train[1]]
    no_source = np.setdiff1d(users, split.train[0, scen == s_idx])
    if no_source.size:
        raise GraphRecError(
            f"simulated-cold user {export.user_ids[int(no_source[0])]!r} has no {record['source']!r} training "
            f"interaction ({no_source.size} such users): a cold path could not score it"
        )
    train, hidden = pairs_set(split.train), pairs_set(split.cold_hidden)
    expected = pairs_set(split.train[:, (scen == t_idx) & np.isin(split.train[0], users)])
    if hidden != expected:
        extra = sorted(hidden - train) or sorted(hidden - expected) or sorted(expected - hidden)
        u, i = extra[0]
        raise GraphRecError(
            f"cold-hidden pairs are not exactly the simulated-cold users' target training pairs: e.g. "
            f"({export.user_ids[u]!r}, {export.item_keys[i]!r}); {len(hidden - train)} are not training pairs, "
            f"{len(expected - hidden)} are missing. Apply simulated_cold after any other change to the split"
        )
    leaked = pairs_set(simulated_cold_targets(split, export)) & pairs_set(split.test)
    if leaked:
        u, i = next(iter(leaked))
        raise GraphRecError(f"leakage: test pair ({export.user_ids[u]!r}, {export.item_keys[i]!r}) is a simulated-cold target")


def pairs_set(pairs: np.ndarray) -> set[tuple[int, int]]:
    """The ``(user, item)`` pairs of an int64 ``[2, n]`` array, as a set."""
    return {(int(u), int(i)) for u, i in pairs.T.tolist()}


def per_user_shares(pairs: np.ndarray, rng: np.random.Generator, fractions: Sequence[float]) -> list[list[tuple[int, int]]]:
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
            n = max(1, int(round(len(items) * f)))
            share += [(u, i) for i in order[start : start + n]]
            start += n
        shares[-1] += [(u, i) for i in order[start:]]
    return shares


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
    import numpy as np

    if split.val.shape[1]:
        raise ConfigError(f"the split already has {split.val.shape[1]} validation pairs; carve validation only from a split without")
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
    meta = {**split.meta, "validation": {"carved_from": "train", "target": target, "seed": seed, "fraction": float(fraction),
                                         "pairs": len(val), "users": len({u for u, _ in val})}}  # fmt: skip
    out = replace(split, train=_pairs(train), val=_pairs(val), meta=meta)
    check_no_leakage(out, export)
    return out


def merged_validation(split: Split) -> Split:
    """``split`` with its validation pairs moved into training (what a refit trains on); test, slices and
    the record of any sparse draw unchanged, any simulated-cold record dropped (it was drawn for the
    smaller training set)."""
    import numpy as np

    if not split.val.shape[1]:
        return split
    slices = {k: v for k, v in split.slices.items() if k != SIMULATED_COLD}
    meta = {k: v for k, v in split.meta.items() if k != "simulated_cold"}
    train = _pairs(np.concatenate([split.train, split.val], axis=1).T.tolist())
    return replace(split, train=train, val=_pairs([]), slices=slices, meta={**meta, "validation_merged": int(split.val.shape[1])},
                   cold_hidden=_pairs([]))  # fmt: skip


def random_per_user(export: GraphExport, *, seed: int, val_fraction: float = 0.1, test_fraction: float = 0.1) -> Split:
    """Per user, a seeded random partition into train / validation / test (users with < 3 interactions train only)."""
    import numpy as np

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
    """Fail if train, validation, test and the dropped interactions overlap, if together they do not
    partition the interactions, or if a held-out item (:func:`held_out_items`) has a training interaction.

    Raises:
        GraphRecError: Naming the first leaked pair by raw ids.
    """
    import numpy as np

    parts = {name: {tuple(p) for p in getattr(split, name).T.tolist()} for name in ("train", "val", "test", "dropped")}
    for a, b in (("train", "test"), ("train", "val"), ("val", "test"), ("dropped", "train"), ("dropped", "val"), ("dropped", "test")):
        both = parts[a] & parts[b]
        if both:
            u, i = next(iter(both))
            raise GraphRecError(
                f"leakage: interaction ({export.user_ids[u]!r}, {export.item_keys[i]!r}) is in both {a} and {b} "
                f"({len(both)} pairs in all)"
            )
    total = sum(len(p) for p in parts.values())
    if total != export.interactions.shape[1]:
        raise GraphRecError(
            f"split covers {total} interactions (train {len(parts['train'])}, val {len(parts['val'])}, test "
            f"{len(parts['test'])}, dropped {len(parts['dropped'])}) but the graph has {export.interactions.shape[1]}"
        )
    held = held_out_items(split)
    leaked = np.isin(split.train[1], held)
    if leaked.any():
        i = int(split.train[1, leaked][0])
        raise GraphRecError(
            f"leakage: held-out item {export.item_keys[i]!r} has {int((split.train[1] == i).sum())} training "
            f"interactions ({int(leaked.sum())} training interactions on held-out items in all)"
        )
    if SIMULATED_COLD in split.slices or split.cold_hidden.shape[1]:
        check_simulated_cold(split, export)


def check_graph_has_no_held_out_edges(data: object, split: Split) -> None:
    """Fail if any validation or test pair is an edge of the ``HeteroData`` given to a model, or (cold-item
    protocol) if any interaction edge touches a held-out item.

    Raises:
        GraphRecError: A held-out pair or item reached the model's graph.
    """
    import numpy as np

    from graphrec.schema import EdgeType

    edges = {tuple(p) for p in data[EdgeType.INTERACTS].edge_index.t().tolist()}  # type: ignore[index]
    rev = {tuple(p) for p in data[EdgeType.REV_INTERACTS].edge_index.flip(0).t().tolist()}  # type: ignore[index]
    for name in ("val", "test"):
        held = {tuple(p) for p in getattr(split, name).T.tolist()}
        leaked = held & (edges | rev)
        if leaked:
            raise GraphRecError(f"leakage: {len(leaked)} {name} interactions are edges of the training graph")
    items = held_out_items(split)
    if items.size:
        touched = np.array(sorted({i for _, i in edges | rev}), dtype=np.int64)
        bad = np.intersect1d(touched, items)
        if bad.size:
            raise GraphRecError(
                f"leakage: {bad.size} held-out items (e.g. item row {int(bad[0])}) have interaction edges in the "
                "training graph; build it from split.train only"
            )


def no_holdout(export: GraphExport, *, source: str | None = None, target: str | None = None) -> Split:
    """All interactions train, nothing held out (for a production model; it cannot be evaluated).

    Args:
        source: The scenario cold users are served from (recorded in ``meta``; with it, a routed model
            selects its cold path on a :func:`simulated_cold` slice of the training data).
        target: The target scenario (recorded in ``meta``).

    Raises:
        ConfigError: ``source`` or ``target`` is not a scenario of the graph, or they are the same.
    """
    import numpy as np

    for name in (source, target):
        if name is not None:
            scenario_index(export, name)
    if source is not None and source == target:
        raise ConfigError("source and target scenarios must differ")
    empty = np.zeros((2, 0), dtype=np.int64)
    meta: dict[str, object] = {"protocol": "none"}
    meta.update({k: v for k, v in (("source", source), ("target", target)) if v is not None})
    return Split(export.interactions.copy(), empty, empty.copy(), meta=meta)
