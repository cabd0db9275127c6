"""The one harness: every model preset trains and evaluates on a generated two-scenario export; the run
folder round-trips (checkpoint loaded with weights_only=True gives the saved embeddings); the symmetric
sparse product has the gradient of the dense one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from graphrec.data.splits import coldstart_transfer
from graphrec.errors import ConfigError
from graphrec.eval.ranking import dot_product_scores
from graphrec.eval.slices import evaluate_slices
from graphrec.models.lightgcn import (
    normalized_adjacency,
    symmetric_spmm,
    user_item_mean,
)
from graphrec.models.presets import MODELS, model_spec
from graphrec.serve.recommend import read_user_ids, recommend
from graphrec.train.config import TrainConfig
from graphrec.train.fit import fit
from graphrec.train.inputs import build_inputs, build_model, topic_features
from graphrec.train.rundir import load_checkpoint, load_run, save_run
from tests.helpers import toy_export


def test_symmetric_spmm_gradient_matches_dense() -> None:
    rng = np.random.default_rng(0)
    ui = np.array([[0, 0, 1, 2], [0, 1, 1, 2]])
    adj = normalized_adjacency(3, 3, 0, ui)
    h = torch.tensor(rng.normal(size=(6, 4)), dtype=torch.float32, requires_grad=True)
    (symmetric_spmm(adj, h) ** 2).sum().backward()
    grad = h.grad.clone()
    h2 = h.detach().clone().requires_grad_(True)
    ((adj.to_dense() @ h2) ** 2).sum().backward()
    assert torch.allclose(grad, h2.grad, atol=1e-6)


def test_user_item_mean_rows_average_items() -> None:
    m = user_item_mean(2, 3, np.array([[0, 0, 1], [0, 2, 1]])).to_dense()
    assert torch.allclose(m, torch.tensor([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]]))


def test_topic_features_are_member_means() -> None:
    export, x = toy_export()
    tx = topic_features(export, x)
    expected = x[:15].tolist() + x[30:45].tolist()
    mean = np.mean(expected, axis=0)
    assert np.allclose(tx[0], mean / np.linalg.norm(mean), atol=1e-6)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_trains_and_evaluates(name: str) -> None:
    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    fitted = fit(
        export,
        split,
        model_spec(name, dim=8),
        TrainConfig(epochs=4, batch_size=64, lr=0.05, seed=0),
        target="books",
        item_x=x,
    )
    assert set(fitted.metrics) == {"all", "cold", "warm"}
    assert fitted.metrics["cold"]["users"] == len(split.slices["cold"])
    if name == "lightgcn-target":  # the target-only graph has no movie edges
        assert not np.isin(fitted.inputs.train[1], np.flatnonzero(export.item_scenario == 1)).any()
    spec = MODELS[name]
    if spec.kind == "gnn":
        assert fitted.result is not None and len(fitted.result.history) >= 1
        model = fitted.model.knowledge if spec.route else fitted.model
        assert (model.item_proj is not None) == spec.text
        assert model.num_topics == (2 if spec.topics else 0)


def test_graphrec_transfers_to_cold_users_better_than_popularity() -> None:
    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0, cold_fraction=0.5)
    cfg = TrainConfig(epochs=30, batch_size=128, lr=0.05, patience=10, seed=0)
    pop = fit(export, split, model_spec("popularity"), cfg, target="books")
    ours = fit(export, split, model_spec("graphrec", dim=16), cfg, target="books", item_x=x)
    # a cold user's 6 test books are all in its taste's 15: the right taste gives recall@10 ≈ 10/15
    assert ours.metrics["cold"]["recall@10"] > 0.55 > pop.metrics["cold"]["recall@10"] + 0.1, (
        ours.metrics,
        pop.metrics,
    )


def test_routed_model_scores_cold_users_by_knowledge_and_warm_by_collaborative(tmp_path: Path) -> None:
    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    cfg = TrainConfig(epochs=6, batch_size=64, lr=0.05, seed=0)
    calls: list[tuple[str, int, bool, torch.Tensor]] = []
    routed = fit(
        export, split, model_spec("graphrec", dim=8), cfg, target="books", item_x=x,
        on_epoch=lambda channel, epoch, model, adj: calls.append((channel, epoch, model.training, adj)),
    )  # fmt: skip
    # the per-epoch hook sees each channel's every epoch, in eval mode
    for name, key in (("knowledge", "loss"), ("collaborative", "collaborative_loss")):
        ran = [e for c, e, *_ in calls if c == name]
        assert ran == list(range(sum(key in row for row in routed.result.history))) and ran
    assert not any(training for _, _, training, _ in calls)
    # the graph each channel propagates over: the training graph, but for the run that selects the cold
    # path (its own graph, without the simulated-cold users' target interactions)
    model = routed.model
    assert model.knowledge_adj is None and any(c == "knowledge/simulated-cold" for c, *_ in calls)
    assert all((adj is routed.inputs.adj) == (c != "knowledge/simulated-cold") for c, *_, adj in calls)
    model.set_gate_count(0.0)
    model.set_prior_weight(0.0)
    bridge_weight = float(model.bridge_weight)
    model.set_bridge(
        model.bridge_users, model.bridge_items, 0.0
    )  # the bridge block: tests/unit/test_cold_path_selection.py
    text_weight = float(model.text_weight)
    model.set_text_weight(0.0)  # the text block: tests/unit/test_cold_item_model.py
    ease_weight = float(model.ease_weight)
    model.set_ease_weight(0.0)  # the warm users' EASE block: tests/unit/test_ease_block.py
    with torch.inference_mode():
        (u_k, i_k, _), (u_c, i_c, _) = model.channels(routed.inputs.adj)
    by_routed = evaluate_slices(routed.score_fn(), split, routed.inputs.candidates)
    by_knowledge = evaluate_slices(dot_product_scores(u_k, i_k), split, routed.inputs.candidates)
    by_collaborative = evaluate_slices(dot_product_scores(u_c, i_c), split, routed.inputs.candidates)
    for m in ("recall@20", "ndcg@20", "mrr@10"):
        assert by_routed["cold"][m] == pytest.approx(by_knowledge["cold"][m])
        assert by_routed["warm"][m] == pytest.approx(by_collaborative["warm"][m])
    assert by_knowledge["warm"] != by_collaborative["warm"]  # the routing is what differs
    model.set_bridge(model.bridge_users, model.bridge_items, bridge_weight)
    model.set_text_weight(text_weight)
    model.set_ease_weight(ease_weight)
    emb = routed.embeddings()
    # one space: [knowledge, collaborative, -knowledge] blocks of 8, the prior column, the cold users'
    # bridge block of rank 256, the warm users' EASE block of rank 256 and the text block where
    # validation chose them (see graphrec.models.routed)
    text = 0 if model.text_users is None else model.text_users.shape[1]
    ease = 0 if model.ease_users is None else 256
    assert emb["user"].shape[1] == emb["item"].shape[1] == emb["topic"].shape[1] == 25 + 256 + ease + text
    cold = split.slices["cold"]
    assert (
        not emb["user"][cold, 8:24].any() and emb["user"][cold, :8].any()
    )  # cold users: knowledge block, no collaborative one
    # the run folder round-trips a routed model too
    save_run(tmp_path, routed, export, split, cfg, target="books", source="movies")
    selected = json.loads((tmp_path / "metrics.json").read_text())["selected"]  # what validation chose, saved
    assert (
        selected["cold_path"]["selected_on"] == "val-simulated-cold"
        and selected["item_gate"]["selected_on"] == "validation"
    )
    assert selected["cold_path"]["prior"] == routed.result.config["cold_path"]["prior"]
    spec = model_spec("graphrec", dim=8)
    model = build_model(spec, export, build_inputs(export, split, spec, target="books", item_x=x), seed=99)
    model.load_state_dict(load_checkpoint(tmp_path))
    model.eval()
    with torch.inference_mode():
        users, _ = model(routed.inputs.adj)
    assert np.allclose(users.numpy(), load_run(tmp_path).user, atol=1e-5)


def test_text_model_needs_features() -> None:
    export, _ = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    with pytest.raises(ConfigError, match="graphrec embed"):
        build_inputs(export, split, model_spec("graphrec"), target="books", item_x=None)
    with pytest.raises(ConfigError, match="unknown model"):
        model_spec("nope")


def test_run_folder_round_trip_and_checkpoint(tmp_path: Path) -> None:
    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=1)
    cfg = TrainConfig(epochs=3, batch_size=64, lr=0.05, seed=1)
    spec = model_spec("graphrec-single", dim=8, users="id+items")
    fitted = fit(export, split, spec, cfg, target="books", item_x=x)
    save_run(tmp_path, fitted, export, split, cfg, target="books", source="movies")
    run = load_run(tmp_path)
    assert run.user_ids == export.user_ids and run.item_keys == export.item_keys
    assert np.array_equal(run.train, split.train) and np.array_equal(run.slices["cold"], split.slices["cold"])
    assert json.loads((tmp_path / "config.json").read_text())["model"]["users"] == "id+items"
    # rebuild the model from the config and the weights-only checkpoint: same embeddings
    state = load_checkpoint(tmp_path)
    torch.manual_seed(123)  # a different init, overwritten by the checkpoint
    model = build_model(spec, export, build_inputs(export, split, spec, target="books", item_x=x))
    model.load_state_dict(state)
    model.eval()
    with torch.inference_mode():
        users, items = model(fitted.inputs.adj)
    assert np.allclose(users.numpy(), run.user, atol=1e-5) and np.allclose(items.numpy(), run.item, atol=1e-5)
    # serving: cold users get books, never their own items
    cold_ids = [run.user_ids[u] for u in split.slices["cold"].tolist()]
    recs = recommend(run, cold_ids, scenario="books", k=5)
    assert len(recs.rows) == 5 * len(cold_ids) and all(r.item_id.startswith("b") for r in recs.rows)
    seen = {(export.user_ids[u], export.item_keys[i][1]) for u, i in export.interactions.T.tolist()}
    assert not any((r.user_id, r.item_id) in seen for r in recs.rows)


def test_read_user_ids_reports_the_line(tmp_path: Path) -> None:
    f = tmp_path / "users.txt"
    f.write_text("user_id\nu1\n\n# comment\nu2\nu1\n")
    assert read_user_ids(f) == ["u1", "u2"]
    f.write_text("u1\nu2,u3\n")
    with pytest.raises(Exception, match=r"users.txt:2: 'u2,u3' is not a single user id"):
        read_user_ids(f)


def test_every_training_graph_is_checked_for_held_out_edges() -> None:
    from graphrec.data.splits import Split
    from graphrec.errors import GraphRecError
    from graphrec.schema import EdgeType

    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    inputs = build_inputs(export, split, model_spec("graphrec"), target="books", item_x=x)
    assert inputs.data is not None and inputs.data[EdgeType.INTERACTS].edge_index.shape[1] == split.train.shape[1]
    leaky = Split(np.concatenate([split.train, split.test[:, :1]], axis=1), split.val, split.test, split.slices)
    with pytest.raises(GraphRecError, match="leakage: 1 test interactions"):
        build_inputs(export, leaky, model_spec("graphrec"), target="books", item_x=x)
