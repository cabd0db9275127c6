"""The cold-item protocol (``coldstart_items``) and the sparse-target protocol (``sparse_target``), on the
synthetic two-scenario dataset of the quickstart (ingested without a store) and on small hand-built graphs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from graphrec.data.export import GraphExport, to_hetero_data
from graphrec.data.splits import (
    Split,
    check_graph_has_no_held_out_edges,
    check_no_leakage,
    coldstart_items,
    coldstart_transfer,
    held_out_items,
    random_per_user,
    sparse_target,
)
from graphrec.errors import ConfigError, GraphRecError
from graphrec.eval.slices import evaluate_slices
from graphrec.models.presets import model_spec
from graphrec.schema import EdgeType, NodeType
from graphrec.train.config import TrainConfig
from graphrec.train.fit import fit
from graphrec.train.inputs import build_inputs, topic_features
from graphrec.train.run import SplitConfig, make_split
from tests.helpers import make_export, pairs_of, toy_export


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> GraphExport:
    """The quickstart-size synthetic data (120 users, 90 items per scenario) as an export."""
    from ingest.prepare import prepare_dataset
    from ingest.sources.synthetic import generate
    from ingest.spec import load_spec
    from ingest.summary import IngestSummary

    d = tmp_path_factory.mktemp("synthetic")
    files = generate(d / "data", users=120, items_per_scenario=90)
    prepared = prepare_dataset(load_spec(files.spec), d / "rejects.tsv", IngestSummary(spec="synthetic"))
    return make_export([(i.user, i.scenario, i.item) for p in prepared.values() for i in p.interactions])


def target_items_of(ex: GraphExport, pairs: np.ndarray, target: str = "books") -> np.ndarray:
    return pairs[:, ex.item_scenario[pairs[1]] == ex.scenarios.index(target)]


def test_coldstart_items_holds_out_items_with_all_their_interactions(synthetic: GraphExport) -> None:
    ex = synthetic
    books = ex.scenarios.index("books")
    split = coldstart_items(ex, target="books", seed=0)
    interacted = np.unique(target_items_of(ex, ex.interactions)[1])
    test_items, val_items = np.unique(split.test[1]), np.unique(split.val[1])
    assert len(test_items) == round(0.2 * len(interacted)) and len(val_items) == round(0.1 * len(interacted))
    assert not set(test_items.tolist()) & set(val_items.tolist())
    assert all(ex.item_scenario[i] == books for i in np.concatenate([test_items, val_items]).tolist())
    # every interaction of a held-out item is held out (any user), none is train; everything else is train
    for u, i in ex.interactions.T.tolist():
        where = "test" if i in set(test_items.tolist()) else "val" if i in set(val_items.tolist()) else "train"
        assert (u, i) in pairs_of(getattr(split, where)), (u, i, where)
    assert not np.isin(split.train[1], held_out_items(split)).any()
    assert split.train.shape[1] + split.val.shape[1] + split.test.shape[1] == ex.interactions.shape[1]
    assert np.array_equal(np.sort(held_out_items(split)), np.union1d(test_items, val_items))
    # test users are the users with a held-out-item interaction; warm = with target training, cold = without
    test_users = set(split.test[0].tolist())
    assert set(split.slices["warm"].tolist()) | set(split.slices["cold"].tolist()) == test_users
    target_train_users = set(target_items_of(ex, split.train)[0].tolist())
    assert set(split.slices["warm"].tolist()) == test_users & target_train_users
    m = split.meta
    assert m["protocol"] == "coldstart-items" and m["item_fraction"] == 0.2 and m["seed"] == 0
    assert (m["test_items"], m["val_items"], m["test_interactions"], m["test_users"]) == (
        len(test_items), len(val_items), split.test.shape[1], len(test_users),
    )  # fmt: skip
    # deterministic under the seed; another seed holds out other items
    again, other = coldstart_items(ex, target="books", seed=0), coldstart_items(ex, target="books", seed=1)
    assert all(np.array_equal(getattr(again, n), getattr(split, n)) for n in ("train", "val", "test"))
    assert not np.array_equal(np.unique(other.test[1]), test_items)
    half = coldstart_items(ex, target="books", seed=0, item_fraction=0.5, val_fraction=0.0)
    assert len(np.unique(half.test[1])) == round(0.5 * len(interacted)) and half.val.shape[1] == 0
    with pytest.raises(ConfigError, match=r"item_fraction=0\.8, val_fraction=0\.3"):
        coldstart_items(ex, target="books", seed=0, item_fraction=0.8, val_fraction=0.3)
    with pytest.raises(ConfigError, match="not in the graph"):
        coldstart_items(ex, target="music", seed=0)


def test_coldstart_items_ranks_held_out_items_among_all_target_items(synthetic: GraphExport) -> None:
    ex = synthetic
    split = coldstart_items(ex, target="books", seed=0)
    candidates = ex.item_scenario == ex.scenarios.index("books")
    n_items = len(ex.item_keys)
    truth = torch.zeros((len(ex.user_ids), n_items))
    truth[torch.from_numpy(split.test[0]), torch.from_numpy(split.test[1])] = 1.0

    def oracle(users: torch.Tensor) -> torch.Tensor:  # knows the held-out pairs
        return truth[users]

    metrics = evaluate_slices(oracle, split, candidates)
    # a held-out item is neither excluded (no training interaction) nor dropped from the candidates
    assert metrics["all"]["recall@20"] == pytest.approx(1.0) and metrics["held-out-items"][
        "recall@20"
    ] == pytest.approx(1.0)
    assert metrics["all"]["users"] == len(set(split.test[0].tolist())) == metrics["held-out-items"]["users"]
    assert metrics["warm"]["users"] == len(split.slices["warm"])
    # popularity from training counts: held-out items have none, so they rank behind every trained item
    pop = torch.from_numpy(np.bincount(split.train[1], minlength=n_items).astype(np.float32))
    by_pop = evaluate_slices(lambda users: pop.expand(len(users), -1), split, candidates)
    assert by_pop["all"]["recall@20"] < 0.05
    # other protocols have no held-out items and no such entry
    transfer = coldstart_transfer(ex, source="movies", target="books", seed=0)
    assert held_out_items(transfer).size == 0 and "held-out-items" not in evaluate_slices(oracle, transfer, candidates)


def test_held_out_item_leakage_is_caught(synthetic: GraphExport) -> None:
    ex = synthetic
    split = coldstart_items(ex, target="books", seed=0)
    # a held-out item's interaction moved into train
    moved = Split(
        np.concatenate([split.train, split.test[:, :1]], axis=1), split.val, split.test[:, 1:], split.slices, split.meta
    )
    with pytest.raises(GraphRecError, match=r"leakage: held-out item .* has 1 training interactions"):
        check_no_leakage(moved, ex)
    # the model's graph: an edge to a held-out item, even from a user who never interacted with it
    check_graph_has_no_held_out_edges(to_hetero_data(ex, split.train), split)
    item = int(split.test[1, 0])
    stranger = next(u for u in range(len(ex.user_ids)) if (u, item) not in pairs_of(ex.interactions))
    bad = to_hetero_data(ex, np.concatenate([split.train, [[stranger], [item]]], axis=1))
    with pytest.raises(GraphRecError, match=r"1 held-out items .* have interaction edges"):
        check_graph_has_no_held_out_edges(bad, split)


def test_item_features_and_topics_do_not_depend_on_interactions() -> None:
    # HAS_TOPIC edges and topic features are identical with and without the held-out items' interactions;
    # item features are the text features given (graphrec embed's, from item text) whatever the split
    ex, x = toy_export()
    split = coldstart_items(ex, target="books", seed=0)
    assert held_out_items(split).size > 0
    full, held = to_hetero_data(ex, ex.interactions), to_hetero_data(ex, split.train)
    for edge in (EdgeType.HAS_TOPIC, EdgeType.REV_HAS_TOPIC):
        assert torch.equal(full[edge].edge_index, held[edge].edge_index)
        assert torch.equal(full[edge].edge_weight, held[edge].edge_weight)
    assert held[EdgeType.INTERACTS].edge_index.shape[1] < full[EdgeType.INTERACTS].edge_index.shape[1]
    without = dataclasses.replace(ex, interactions=split.train)  # as if the held-out interactions never existed
    assert np.array_equal(topic_features(without, x), topic_features(ex, x))
    inputs = build_inputs(ex, split, model_spec("graphrec-single"), target="books", item_x=x)
    assert inputs.data is not None and torch.equal(inputs.data[NodeType.ITEM].x, torch.from_numpy(x))
    assert torch.equal(inputs.data[EdgeType.HAS_TOPIC].edge_index, full[EdgeType.HAS_TOPIC].edge_index)
    assert torch.allclose(inputs.data[NodeType.TOPIC].x, torch.from_numpy(topic_features(ex, x)))


def test_fit_on_coldstart_items_reports_all_items_and_held_out_items() -> None:
    ex, x = toy_export()
    split = coldstart_items(ex, target="books", seed=0)
    fitted = fit(
        ex, split, model_spec("graphrec-single", dim=8), TrainConfig(epochs=2, seed=0), target="books", item_x=x
    )
    assert {"all", "held-out-items"} <= set(fitted.metrics) and fitted.metrics["all"]["users"] > 0


@pytest.mark.parametrize("base", ["coldstart", "coldstart-items", "random"])
def test_sparse_target_keeps_a_seeded_share_of_target_training(synthetic: GraphExport, base: str) -> None:
    ex = synthetic
    plain = make_split(ex, SplitConfig(protocol=base, source="movies", seed=0), target="books")  # type: ignore[arg-type]
    assert plain.meta["target_fraction"] == 1.0 and plain.dropped.shape[1] == 0
    splits = {p: make_split(ex, SplitConfig(protocol=base, source="movies", seed=0, target_fraction=p), target="books")  # type: ignore[arg-type]
              for p in (0.05, 0.25, 0.5, 1.0)}  # fmt: skip
    before = target_items_of(ex, plain.train)
    per_user = np.bincount(before[0], minlength=len(ex.user_ids))
    for p, split in splits.items():
        # validation, test and slices are the plain split's for every P; the source scenario is complete
        assert np.array_equal(split.val, plain.val) and np.array_equal(split.test, plain.test)
        assert all(np.array_equal(split.slices[k], plain.slices[k]) for k in plain.slices)
        assert pairs_of(target_items_of(ex, split.train, "movies")) == pairs_of(
            target_items_of(ex, plain.train, "movies")
        )
        kept = target_items_of(ex, split.train)
        assert pairs_of(kept) <= pairs_of(before)
        # per user floor(P * n) or ceil(P * n) of n target training interactions, P * n on average
        n_kept = np.bincount(kept[0], minlength=len(ex.user_ids))
        assert ((n_kept == np.floor(p * per_user)) | (n_kept == np.ceil(p * per_user))).all()
        assert abs(n_kept.sum() - p * per_user.sum()) <= 2 * np.sqrt(0.25 * (per_user > 0).sum())
        if p < 1:
            assert 0 < n_kept.sum() < per_user.sum()
        # the dropped interactions are accounted for: train + val + test + dropped partition all interactions
        assert pairs_of(split.dropped) == pairs_of(before) - pairs_of(kept)
        assert (
            split.train.shape[1] + split.val.shape[1] + split.test.shape[1] + split.dropped.shape[1]
            == ex.interactions.shape[1]
        )
        m = split.meta
        assert (m["target_fraction"], m["target_train_before"], m["target_train_kept"], m["target_train_dropped"]) == (
            p, before.shape[1], kept.shape[1], split.dropped.shape[1],
        )  # fmt: skip
    # P = 1 is the plain split; a smaller P keeps a subset of a larger one; the same seed gives the same pairs
    assert all(np.array_equal(getattr(splits[1.0], n), getattr(plain, n)) for n in ("train", "val", "test"))
    assert pairs_of(splits[0.05].train) <= pairs_of(splits[0.25].train) <= pairs_of(splits[0.5].train)
    again = make_split(ex, SplitConfig(protocol=base, source="movies", seed=0, target_fraction=0.25), target="books")  # type: ignore[arg-type]
    assert np.array_equal(again.train, splits[0.25].train)
    other = sparse_target(plain, ex, target="books", fraction=0.25, seed=1)
    assert np.array_equal(other.test, plain.test) and not np.array_equal(other.train, splits[0.25].train)


def test_dropped_interactions_must_be_accounted_for(synthetic: GraphExport) -> None:
    ex = synthetic
    split = sparse_target(random_per_user(ex, seed=0), ex, target="books", fraction=0.5, seed=0)
    silently = dataclasses.replace(split, dropped=split.dropped[:, :0])
    with pytest.raises(GraphRecError, match=r"split covers .* dropped 0\) but the graph has"):
        check_no_leakage(silently, ex)
    overlapping = dataclasses.replace(split, dropped=np.concatenate([split.dropped, split.test[:, :1]], axis=1))
    with pytest.raises(GraphRecError, match="in both dropped and test"):
        check_no_leakage(overlapping, ex)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan")])
def test_bad_target_fraction_is_rejected(bad: float) -> None:
    ex = make_export([("u1", "books", "b1"), ("u1", "books", "b2"), ("u2", "movies", "m1")])
    with pytest.raises(ConfigError, match=r"target fraction .* out of range: it must be > 0 and <= 1"):
        SplitConfig(protocol="random", target_fraction=bad)
    with pytest.raises(ConfigError, match=repr(bad)):
        sparse_target(random_per_user(ex, seed=0), ex, target="books", fraction=bad, seed=0)


def test_cli_rejects_a_bad_target_fraction_before_opening_the_store(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from graphrec.cli import cli

    home = tmp_path / "home"
    result = CliRunner().invoke(cli, ["--home", str(home), "train", "--target", "books", "--target-fraction", "1.5"])
    assert result.exit_code == 2 and "--target-fraction" in result.stderr and "1.5" in result.stderr
    assert not home.exists()
