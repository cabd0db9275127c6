"""Leakage checks: a split partitions the interactions, held-out pairs and items never reach training,
and a simulated-cold record is sound."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from graphrec.data.splits.base import (
    SIMULATED_COLD,
    held_out_items,
    pairs_set,
    scenario_index,
    simulated_cold_targets,
)
from graphrec.errors import GraphRecError
from graphrec.schema import EdgeType

if TYPE_CHECKING:  # pragma: no cover
    from torch_geometric.data import HeteroData

    from graphrec.data.export import GraphExport
    from graphrec.data.splits.base import Split


def check_no_leakage(split: Split, export: GraphExport) -> None:
    """Fail if train, validation, test and the dropped interactions overlap, if together they do not
    partition the interactions, or if a held-out item (:func:`held_out_items`) has a training interaction.

    Raises:
        GraphRecError: Naming the first leaked pair by raw ids.
    """
    parts = {name: {tuple(p) for p in getattr(split, name).T.tolist()} for name in ("train", "val", "test", "dropped")}
    for a, b in (
        ("train", "test"),
        ("train", "val"),
        ("val", "test"),
        ("dropped", "train"),
        ("dropped", "val"),
        ("dropped", "test"),
    ):
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


def check_simulated_cold(split: Split, export: GraphExport) -> None:
    """Fail unless the simulated-cold record of :func:`simulated_cold` is sound: its users are never
    test-cold users and have source training history, the hidden pairs are exactly their target
    training pairs (all in ``train``), and no test pair is among the simulated-cold targets.

    Raises:
        GraphRecError: Naming what is wrong and a user or pair by raw id.
    """
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
            f"leakage: {both.size} simulated-cold validation users are test-cold users "
            f"(e.g. {export.user_ids[int(both[0])]!r})"
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
        raise GraphRecError(
            f"leakage: test pair ({export.user_ids[u]!r}, {export.item_keys[i]!r}) is a simulated-cold target"
        )


def check_graph_has_no_held_out_edges(data: HeteroData, split: Split) -> None:
    """Fail if any validation or test pair is an edge of the ``HeteroData`` given to a model, or (cold-item
    protocol) if any interaction edge touches a held-out item.

    Raises:
        GraphRecError: A held-out pair or item reached the model's graph.
    """
    edges = {tuple(p) for p in data[EdgeType.INTERACTS].edge_index.t().tolist()}
    rev = {tuple(p) for p in data[EdgeType.REV_INTERACTS].edge_index.flip(0).t().tolist()}
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
