"""Cold items in the model: BPR negatives only among items with a training interaction; an item without
one starts from its text alone (no untrained ID vector); graphrec routes it to its knowledge channel
for every user (gate by interaction count, chosen on validation among validation items); the
closed-form baselines (EASE, text kNN) compute what their formulas say."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphrec.data.splits import coldstart_items, coldstart_transfer
from graphrec.errors import ConfigError
from graphrec.models.ease import ease_item_weights, user_item_matrix
from graphrec.models.lightgcn import CrossScenarioLightGCN
from graphrec.models.presets import GNN_MODELS, MODELS, model_spec
from graphrec.models.text_knn import text_profiles
from graphrec.models.text_map import TEXT_MAP_L2
from graphrec.train.blocks import text_block, text_map_at
from graphrec.train.config import TrainConfig
from graphrec.train.fit import fit
from graphrec.train.inputs import (
    build_inputs,
    build_model,
    topic_features,
    validation_candidates,
)
from graphrec.train.sampling import in_scenario_negatives, observed_items
from graphrec.train.selection import ITEM_GATE_COUNTS, PRIOR_WEIGHTS, TEXT_WEIGHTS
from tests.helpers import toy_export


def test_negatives_never_drawn_from_items_without_interactions() -> None:
    export, _ = toy_export()
    split = coldstart_items(export, target="books", seed=0)
    observed = observed_items(split.train, len(export.item_keys))
    held = np.unique(np.concatenate([split.val[1], split.test[1]]))
    assert held.size and not observed[held].any()
    positives: dict[int, set[int]] = {}
    for u, i in split.train.T.tolist():
        positives.setdefault(u, set()).add(i)
    rng = np.random.default_rng(0)
    negs = in_scenario_negatives(split.train, export.item_scenario, positives, rng=rng, pool=observed)
    assert observed[negs].all()
    assert (export.item_scenario[negs] == export.item_scenario[split.train[1]]).all()
    # without the pool the same sampler does reach the held-out items (the pool is what excludes them)
    unrestricted = in_scenario_negatives(split.train, export.item_scenario, positives, rng=np.random.default_rng(0))
    assert np.isin(unrestricted, held).any()


def test_item_without_interactions_starts_from_its_text_alone() -> None:
    export, x = toy_export()
    split = coldstart_items(export, target="books", seed=0)
    spec = model_spec("graphrec-single", dim=8)
    inputs = build_inputs(export, split, spec, target="books", item_x=x)
    model = build_model(spec, export, inputs, seed=0)
    assert isinstance(model, CrossScenarioLightGCN)
    held = np.unique(split.test[1])
    warm = np.flatnonzero(inputs.item_counts > 0)
    h0 = model.initial()[model.num_users : model.num_users + model.num_items]
    with torch.no_grad():
        text = model.item_proj(model.item_x)
        assert torch.allclose(h0[held], text[held])  # no ID part
        assert torch.allclose(h0[warm], text[warm] + model.item_emb.weight[warm])
        model.item_emb.weight[held] += 5.0  # the (untrained) ID vectors of held-out items do not matter
        assert torch.allclose(model.initial()[model.num_users : model.num_users + model.num_items], h0)


def test_routing_per_user_and_item_and_the_gate_chosen_on_validation() -> None:
    export, x = toy_export()
    split = coldstart_items(export, target="books", seed=0)
    cfg = TrainConfig(epochs=4, batch_size=64, lr=0.05, seed=0)
    fitted = fit(export, split, model_spec("graphrec", dim=8), cfg, target="books", item_x=x)
    chosen = fitted.result.config["item_gate"]
    assert chosen["selected_on"] == "validation"
    assert {(g["gate_count"], g["prior"]) for g in chosen["grid"]} <= {
        (c, r) for c in ITEM_GATE_COUNTS for r in PRIOR_WEIGHTS
    }
    assert chosen["val_recall@20"] == max(g["val_recall@20"] for g in chosen["grid"])
    assert float(fitted.model.prior_weight) == pytest.approx(chosen["beta"])
    model = fitted.model
    counts = torch.from_numpy(fitted.inputs.item_counts).float()
    model.set_text_weight(0.0)  # the text block: its own test below
    with torch.inference_mode():
        (u_k, i_k, _), (u_c, i_c, _) = model.channels(fitted.inputs.adj)
        for gate in ITEM_GATE_COUNTS:
            for beta in (0.0, 0.7):
                model.set_gate_count(gate)
                model.set_prior_weight(beta)
                users, items, _ = model.embed(fitted.inputs.adj)
                assert users.shape[1] == items.shape[1] == 25 + (0 if model.text_users is None else x.shape[1])
                h = (counts > 0).float() if gate == 0 else counts / (counts + gate)
                g = (~model.cold_users).float()
                expect = (1 - g[:, None] * h[None, :]) * (u_k @ i_k.T) + g[:, None] * h[None, :] * (u_c @ i_c.T)
                expect = expect + beta * torch.log1p(counts)[None, :]
                assert torch.allclose(users @ items.T, expect, atol=1e-4)
        model.set_gate_count(0.0)
        model.set_prior_weight(0.0)
        scores = model.embed(fitted.inputs.adj)[0] @ model.embed(fitted.inputs.adj)[1].T
    held = torch.from_numpy(np.unique(split.test[1]))
    warm_users = torch.from_numpy(np.flatnonzero(~model.cold_users.numpy()))
    seen = torch.from_numpy(np.flatnonzero(counts.numpy() > 0))
    # new items: every user gets the knowledge channel; items with interactions: warm users get the collaborative one
    assert torch.allclose(scores[:, held], (u_k @ i_k.T)[:, held], atol=1e-4)
    assert torch.allclose(scores[warm_users][:, seen], (u_c @ i_c.T)[warm_users][:, seen], atol=1e-4)
    # no validation split (a production run): the default, recorded as such
    no_val = type(split)(split.train, split.val[:, :0], split.test, split.slices, split.meta)
    prod = fit(
        export,
        no_val,
        model_spec("graphrec", dim=8),
        TrainConfig(epochs=2, batch_size=64, lr=0.05),
        target="books",
        item_x=x,
    )
    assert prod.result.config["item_gate"] == {
        "gate_count": 0.0,
        "prior": 0.0,
        "beta": 0.0,
        "selected_on": "default (no validation split)",
    }
    assert prod.model.text_users is None  # nothing to choose its weight on: no text block


def test_text_block_is_text_knn_for_items_without_evidence_with_its_weight_chosen_on_validation() -> None:
    export, x = toy_export()
    split = coldstart_items(export, target="books", seed=0)
    cfg = TrainConfig(epochs=4, batch_size=64, lr=0.05, seed=0)
    fitted = fit(export, split, model_spec("graphrec", dim=8), cfg, target="books", item_x=x)
    model, inputs = fitted.model, fitted.inputs
    chosen = fitted.result.config["item_gate"]["text"]
    assert {(g["text"], g["gate_count"]) for g in chosen["grid"]} == {
        (r, c) for r in TEXT_WEIGHTS for c in ITEM_GATE_COUNTS
    }
    assert chosen["val_recall@20"] == max(g["val_recall@20"] for g in chosen["grid"])
    assert float(model.text_weight) == pytest.approx(chosen["weight"])
    assert fitted.result.config["item_gate"]["gate_count"] == chosen["gate_count"]
    assert (model.text_users is None) == (chosen["weight"] == 0)  # not chosen: no block in the vectors
    # its user side chosen on validation too: text kNN's mean (l2 None) or the text map at a ridge of the grid
    text_map = chosen["map"]
    assert [g["l2"] for g in text_map["grid"]] == list(TEXT_MAP_L2)
    assert text_map["val_recall@20"] == max(g["val_recall@20"] for g in text_map["grid"])
    w = text_map_at(export, inputs, x, l2=text_map["l2"])
    if model.text_users is None:
        users_t, items_t, topics_t = text_block(export, inputs, x, text_map=w)
        model.set_text(users_t, items_t, 0.0, topics=topics_t)
    # the block holds text kNN of the training split (no held-out pair enters a user's profile), through
    # the map where one was chosen; items centred per scenario: within a scenario the same order, and no
    # lift of the items as a group
    p, unit = text_profiles(inputs.train, x, len(export.user_ids))
    if w is not None:
        p = p @ torch.from_numpy(w)
    assert torch.allclose(model.text_users, p, atol=1e-6)
    q = model.text_items
    for s in np.unique(export.item_scenario):
        of = torch.from_numpy(export.item_scenario == s)
        assert torch.allclose(q[of], unit[of] - unit[of].mean(0), atol=1e-6)
        assert torch.allclose(q[of].sum(0), torch.zeros(x.shape[1]), atol=1e-4)
    counts = torch.from_numpy(inputs.item_counts).float()
    with torch.inference_mode():
        channels = model.channels(inputs.adj)
        for gate in ITEM_GATE_COUNTS:
            model.set_gate_count(gate)
            h = (counts > 0).float() if gate == 0 else counts / (counts + gate)
            model.set_text_weight(0.0)
            users0, items0, _ = model.route(*channels)
            model.set_text_weight(1.5)
            users, items, _ = model.route(*channels)
            expect = users0 @ items0.T + 1.5 * (p @ q.T) * (1 - h)[None, :]
            assert torch.allclose(users @ items.T, expect, atol=1e-4)
    # new items: text kNN with the weight; items with interactions (gate 0): untouched
    held = torch.from_numpy(np.unique(split.test[1]))
    model.set_gate_count(0.0)
    with torch.inference_mode():
        users, items, topics = model.route(*channels)
    # topics carry the block in full (their members' mean unit text, centred over topics): a user's topic
    # affinities follow the text similarity their recommendations do
    member_text = topic_features(export, unit.numpy())[: model.num_topics]
    assert model.num_topics and torch.allclose(
        topics[:, -x.shape[1] :], torch.from_numpy(member_text - member_text.mean(0)), atol=1e-6
    )
    assert torch.allclose(
        users @ topics.T, users0 @ topics.T + 1.5 * p @ topics[:, -x.shape[1] :].T, atol=1e-4
    )  # users0: weight 0
    seen = torch.from_numpy(np.flatnonzero(counts.numpy() > 0))
    assert torch.count_nonzero(items[seen, -x.shape[1] :]) == 0 and torch.allclose(items[held, -x.shape[1] :], q[held])
    # a checkpoint with the block loads into a freshly built model
    fresh = build_model(model_spec("graphrec", dim=8), export, inputs, seed=1)
    fresh.load_state_dict(model.state_dict())
    assert torch.equal(fresh.text_users, model.text_users) and float(fresh.text_weight) == 1.5
    # the ablation has no block
    plain = fit(export, split, model_spec("graphrec-no-text-block", dim=8), cfg, target="books", item_x=x)
    assert plain.model.text_users is None and "text" not in plain.result.config["item_gate"]


def test_cold_item_validation_ranks_among_validation_items() -> None:
    export, x = toy_export()
    split = coldstart_items(export, target="books", seed=0)
    inputs = build_inputs(export, split, model_spec("graphrec-single"), target="books", item_x=x)
    only = validation_candidates(split, inputs)
    assert set(np.flatnonzero(only).tolist()) == set(np.unique(split.val[1]).tolist())
    other = coldstart_transfer(export, source="movies", target="books", seed=0)
    assert validation_candidates(other, inputs) is inputs.candidates


def test_ease_weights_follow_the_closed_form() -> None:
    rng = np.random.default_rng(0)
    pairs = np.array(
        sorted({(int(u), int(i)) for u, i in zip(rng.integers(0, 30, 200), rng.integers(0, 12, 200))}), dtype=np.int64
    ).T
    items = np.arange(2, 12)  # items 0 and 1 are not covered (another scenario)
    b = ease_item_weights(pairs, items, l2=5.0).double().numpy()
    x = user_item_matrix(pairs, 30, items).toarray().astype(np.float64)
    p = np.linalg.inv(x.T @ x + 5.0 * np.eye(len(items)))
    expect = -p / np.diag(p)[None, :]
    np.fill_diagonal(expect, 0.0)
    assert np.allclose(b, expect, atol=1e-5)
    assert x.max() == 1.0 and x.sum() == np.isin(pairs[1], items).sum()


def test_text_profiles_are_mean_text_of_training_items() -> None:
    x = np.array([[3.0, 0.0], [0.0, 2.0], [1.0, 1.0]], dtype=np.float32)
    users, items = text_profiles(np.array([[0, 0, 1], [0, 1, 2]]), x, 3)
    assert torch.allclose(items.norm(dim=1), torch.ones(3))
    assert torch.allclose(users[0], torch.tensor([0.5, 0.5])) and torch.allclose(users[2], torch.zeros(2))


@pytest.mark.parametrize("name", ["ease", "text-knn"])
def test_closed_form_baselines_in_the_harness(name: str) -> None:
    export, x = toy_export()
    split = coldstart_items(export, target="books", seed=0)
    fitted = fit(export, split, model_spec(name), TrainConfig(), target="books", item_x=x)
    assert fitted.model is None and set(fitted.metrics) >= {"all", "held-out-items"}
    held = torch.from_numpy(np.unique(split.test[1]))
    scores = fitted.score_fn()(torch.arange(len(export.user_ids)))
    if name == "ease":  # EASE cannot rank an item without interactions: it scores 0 for everyone
        assert fitted.result.config["l2"] in [g["l2"] for g in fitted.result.config["grid"]]
        assert not scores[:, held].any()
    else:  # text kNN ranks them by text
        assert scores[:, held].abs().sum() > 0
    assert name not in GNN_MODELS and name in MODELS


def test_bridge_reference_in_the_harness() -> None:
    export, _ = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    fitted = fit(export, split, model_spec("bridge+ease"), TrainConfig(), target="books")
    assert set(fitted.result.config) == {"bridge", "ease"} and fitted.model is None
    pop = fit(export, split, model_spec("popularity"), TrainConfig(), target="books")
    # cold users of the toy have a taste that their movies reveal: the bridge must beat popularity on them
    assert fitted.metrics["cold"]["recall@10"] > pop.metrics["cold"]["recall@10"]
    with pytest.raises(ConfigError, match="coldstart-transfer"):
        fit(
            export,
            coldstart_items(export, target="books", seed=0),
            model_spec("bridge+ease"),
            TrainConfig(),
            target="books",
        )
