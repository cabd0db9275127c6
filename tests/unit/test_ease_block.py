"""graphrec's warm-user EASE block: target-only EASE as low-rank vectors appended to the routed model's
embeddings, its ridge and weight chosen on validation; absent where nothing can choose them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphrec.data.splits import (
    coldstart_items,
    coldstart_transfer,
    no_holdout,
    scenario_index,
)
from graphrec.models.ease import ease_embeddings, ease_item_weights, user_item_matrix
from graphrec.models.presets import model_spec
from graphrec.train.blocks import ease_block
from graphrec.train.config import TrainConfig
from graphrec.train.fit import fit
from graphrec.train.inputs import build_model
from graphrec.train.selection import EASE_WEIGHTS
from tests.helpers import toy_export

CONFIG = TrainConfig(epochs=4, batch_size=64, lr=0.05, patience=3, seed=0)


def random_pairs(num_users: int, num_items: int, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.unique(np.stack([rng.integers(0, num_users, n), rng.integers(0, num_items, n)]), axis=1).astype(np.int64)


@pytest.mark.parametrize("rank", [40, 64])
def test_ease_embeddings_are_ease_on_unseen_items_at_full_rank(rank: int) -> None:
    pairs = random_pairs(60, 45, 500)
    items = np.arange(5, 45)  # items 0-4 belong to another scenario
    users_e, items_e = ease_embeddings(pairs, 60, 47, items, l2=8.0, rank=rank)
    assert users_e.shape == (60, rank) and items_e.shape == (47, rank) and users_e.dtype == np.float32
    x = user_item_matrix(pairs, 60, items).toarray()
    exact = x @ ease_item_weights(pairs, items, l2=8.0).double().numpy()
    scores = (users_e.astype(np.float64) @ items_e.T.astype(np.float64))[:, items]
    unseen = x == 0
    assert np.allclose(scores[unseen], exact[unseen], atol=1e-5)
    assert not items_e[:5].any() and not items_e[45:].any()  # items outside EASE: 0
    if rank > len(items):
        assert not users_e[:, len(items) :].any()  # zero-padded past the item count


def test_truncated_ease_embeddings_keep_the_strongest_directions() -> None:
    pairs = random_pairs(200, 60, 1500, seed=1)
    items = np.arange(60)
    x = user_item_matrix(pairs, 200, items).toarray()
    exact = (x @ ease_item_weights(pairs, items, l2=20.0).double().numpy())[x == 0]
    errors = []
    for rank in (5, 20, 60):
        u, i = ease_embeddings(pairs, 200, 60, items, l2=20.0, rank=rank)
        errors.append(float(np.abs((u.astype(np.float64) @ i.T)[x == 0] - exact).mean()))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-6


def test_warm_users_get_target_ease_weighted_on_validation() -> None:
    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    fitted = fit(export, split, model_spec("graphrec", dim=8, bridge=0), CONFIG, target="books", item_x=x)
    model, inputs = fitted.model, fitted.inputs
    gate = fitted.result.config["item_gate"]
    chosen = gate["ease"]
    assert [g["ease"] for g in chosen["grid"]] == list(EASE_WEIGHTS)
    assert all(g["gate_count"] == gate["gate_count"] for g in chosen["grid"])  # at the gate chosen before
    assert chosen["val_recall@20"] == max(g["val_recall@20"] for g in chosen["grid"])
    assert (model.ease_users is None) == (chosen["weight"] == 0)
    # the block is target-only EASE with the ridge chosen on validation, over the target's items with
    # training interactions (no validation or test pair in it)
    l2 = chosen["params"]["l2"]
    assert l2 == max(chosen["params"]["grid"], key=lambda g: g["val_recall@20"])["l2"]
    counts = np.bincount(inputs.train[1], minlength=len(export.item_keys))
    items = np.flatnonzero((export.item_scenario == scenario_index(export, "books")) & (counts > 0))
    users_e, items_e = ease_embeddings(
        inputs.train, len(export.user_ids), len(export.item_keys), items, l2=l2, rank=256
    )
    built = ease_block(export, split, inputs, target="books", rank=256)
    assert built is not None and built[2]["l2"] == l2
    assert torch.equal(built[0], torch.from_numpy(users_e)) and torch.equal(built[1], torch.from_numpy(items_e))
    if model.ease_users is not None:  # what the model serves
        assert torch.equal(model.ease_users, built[0]) and torch.equal(model.ease_items, built[1])
    assert not users_e[model.cold_users.numpy()].any()  # cold users have no target row
    model.set_ease(torch.from_numpy(users_e), torch.from_numpy(items_e), 0.0)
    with torch.inference_mode():
        channels = model.channels(inputs.adj)
        users0, items0, topics0 = model.route(*channels)
        model.set_ease_weight(2.5)
        users, items_r, topics = model.route(*channels)
    scores, scores0 = users @ items_r.T, users0 @ items0.T
    warm = ~model.cold_users
    block = torch.from_numpy(users_e @ items_e.T)
    assert torch.allclose(scores[warm], scores0[warm] + 2.5 * block[warm], atol=1e-4)
    assert torch.allclose(scores[~warm], scores0[~warm], atol=1e-5)  # cold users: untouched
    assert torch.allclose(users @ topics.T, users0 @ topics0.T, atol=1e-5)  # topics: 0 in the block
    # a checkpoint with the block loads into a freshly built model
    fresh = build_model(model_spec("graphrec", dim=8, bridge=0), export, inputs, seed=1)
    fresh.load_state_dict(model.state_dict())
    assert torch.equal(fresh.ease_users, model.ease_users) and float(fresh.ease_weight) == 2.5
    # the ablation has none
    plain = fit(export, split, model_spec("graphrec-no-ease", dim=8, bridge=0), CONFIG, target="books", item_x=x)
    assert plain.model.ease_users is None and "ease" not in plain.result.config["item_gate"]


@pytest.mark.parametrize("protocol", ["coldstart-items", "none"])
def test_no_ease_block_where_validation_cannot_choose_it(protocol: str) -> None:
    export, x = toy_export()
    split = (
        coldstart_items(export, target="books", seed=0)  # validation holds new items only
        if protocol == "coldstart-items"
        else no_holdout(export, source="movies", target="books")  # no validation split
    )
    fitted = fit(export, split, model_spec("graphrec", dim=8, bridge=0), CONFIG, target="books", item_x=x)
    assert fitted.model.ease_users is None and "ease" not in fitted.result.config["item_gate"]


def test_no_ease_block_for_a_target_too_large_for_a_dense_inverse(caplog: pytest.LogCaptureFixture) -> None:
    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    fitted = fit(export, split, model_spec("graphrec-no-ease", dim=8, bridge=0), CONFIG, target="books", item_x=x)
    assert ease_block(export, split, fitted.inputs, target="books", rank=8, max_items=100) is not None
    with caplog.at_level("WARNING", logger="graphrec.train.blocks"):
        assert ease_block(export, split, fitted.inputs, target="books", rank=8, max_items=10) is None
    assert "no EASE block: the target 'books' has" in caplog.text and "more than 10" in caplog.text
