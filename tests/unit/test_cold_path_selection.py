"""graphrec's cold path selected for cold users: on a cold-user split (and a production split with a
source) the knowledge channel trains on the graph without the simulated-cold users' target
interactions, early-stops on those users' hidden target pairs, and cold users get a popularity prior
of their own chosen on them; then (the default) the channel is trained again on the whole graph for
the chosen number of epochs. In a sparse target, validation users without any target training pair (served
as cold) join the simulated-cold ones, and the item gate is validated with cold users' own prior. Everywhere
else the routed model behaves as before."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import torch

from graphrec.data.splits import (
    SIMULATED_COLD,
    cold_path_train,
    coldstart_items,
    coldstart_transfer,
    no_holdout,
    pairs_set,
    simulated_cold,
    simulated_cold_targets,
)
from graphrec.errors import ConfigError
from graphrec.eval.ranking import evaluate_ranking, group_by_user
from graphrec.models.bridge import fit_bridge_model
from graphrec.models.presets import model_spec
from graphrec.train.cold_path import BRIDGE_WEIGHTS, COLD_PRIOR_WEIGHTS, cold_path_split, cold_validation_targets
from graphrec.train.config import TrainConfig
from graphrec.train.fit import fit
from graphrec.train.inputs import validation_candidates
from graphrec.train.selection import select_item_gate
from tests.helpers import noisy_sparse_books_split, toy_export

CONFIG = TrainConfig(epochs=6, batch_size=64, lr=0.05, patience=3, seed=0)


@pytest.fixture(scope="module")
def fitted():  # type: ignore[no-untyped-def]
    """graphrec without the refit (and without the bridge block, tested below): the knowledge channel
    stays the one selected on simulated-cold users."""
    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    spec = model_spec("graphrec", dim=8, cold_refit=False, bridge=0, cold_lr_factors=(1.0, 0.2))
    return export, split, fit(export, split, spec, CONFIG, target="books", item_x=x)


def adjacency_pairs(adj: torch.Tensor, num_users: int, num_items: int) -> set[tuple[int, int]]:
    """The (user row, item row) edges of a normalised adjacency over ``[users | items | topics]``."""
    coo = adj.to_sparse_coo().coalesce()
    r, c = coo.indices()
    keep = (r < num_users) & (c >= num_users) & (c < num_users + num_items)
    return {(int(u), int(i) - num_users) for u, i in zip(r[keep].tolist(), c[keep].tolist(), strict=True)}


def test_knowledge_channel_never_sees_the_simulated_cold_users_target_interactions(fitted) -> None:  # type: ignore[no-untyped-def]
    export, split, f = fitted
    cold_split = cold_path_split(export, split, target="books")
    assert cold_split is not None and SIMULATED_COLD in cold_split.slices
    hidden = pairs_set(cold_split.cold_hidden)
    assert hidden and hidden <= pairs_set(split.train)
    model = f.model
    n_users, n_items = len(export.user_ids), len(export.item_keys)
    knowledge_edges = adjacency_pairs(model.knowledge_adj, n_users, n_items)
    full_edges = adjacency_pairs(f.inputs.adj, n_users, n_items)
    assert knowledge_edges == pairs_set(cold_path_train(cold_split))
    assert hidden <= full_edges and not hidden & knowledge_edges
    # the simulated-cold users stay warm for routing (the collaborative channel trains on their target pairs)
    assert not model.cold_users[torch.from_numpy(cold_split.slices[SIMULATED_COLD])].any()


def test_knowledge_channel_early_stops_on_the_simulated_cold_users(fitted) -> None:  # type: ignore[no-untyped-def]
    export, split, f = fitted
    cold_split = cold_path_split(export, split, target="books")
    know = f.result.config["channels"]["knowledge"]
    chosen = f.result.config["cold_path"]
    # the knowledge channel, restored to its best epoch, scores on the simulated-cold targets exactly what
    # it recorded as its best validation (and what the prior grid starts from, at weight 0)
    targets = simulated_cold_targets(cold_split, export)
    with torch.inference_mode():
        users, items, _ = f.model.knowledge.embed(f.model.knowledge_adj)
    exclude = group_by_user(cold_path_train(cold_split))
    val = evaluate_ranking(lambda rows: users[rows] @ items.T, targets, exclude, export.item_scenario == 0, ks=(20,))
    assert val["all"]["recall@20"] == pytest.approx(know["best_val"], abs=1e-6)
    assert chosen["grid"][0]["prior"] == 0.0
    assert chosen["grid"][0]["val_recall@20"] == pytest.approx(know["best_val"], abs=1e-6)
    assert not pairs_set(targets) & pairs_set(split.test)  # selection never reads a test pair


def test_the_knowledge_channels_learning_rate_is_chosen_on_the_simulated_cold_users(fitted) -> None:  # type: ignore[no-untyped-def]
    export, split, f = fitted
    _, x = toy_export()
    selection = f.result.config["cold_path"]["selection"]
    by_lr = selection["best_val_by_lr"]
    assert list(by_lr) == [f"{CONFIG.lr:g}", f"{CONFIG.lr * 0.2:g}"]  # the grid asked for: the run's lr and a fifth
    best = max(by_lr.values())
    assert selection["best_val"] == best and selection["lr"] == pytest.approx(
        float(next(k for k, v in by_lr.items() if v == best))
    )
    # each entry is what a run at that learning rate alone scores; the kept channel is that run's channel
    kept = None
    for factor, lr in ((1.0, CONFIG.lr), (0.2, CONFIG.lr * 0.2)):
        spec = model_spec("graphrec", dim=8, cold_refit=False, bridge=0, cold_lr_factors=(factor,))
        alone = fit(export, split, spec, CONFIG, target="books", item_x=x)
        assert alone.result.config["cold_path"]["selection"]["best_val"] == pytest.approx(by_lr[f"{lr:g}"], abs=1e-9)
        if lr == pytest.approx(selection["lr"]):
            kept = alone
    assert kept is not None
    with torch.inference_mode():
        u, i, _ = f.model.knowledge.embed(f.model.knowledge_adj)
        u_alone, i_alone, _ = kept.model.knowledge.embed(kept.model.knowledge_adj)
    assert torch.allclose(u @ i.T, u_alone @ i_alone.T, atol=1e-5)


def test_cold_users_get_their_own_prior_chosen_on_simulated_cold_users(fitted) -> None:  # type: ignore[no-untyped-def]
    _, _, f = fitted
    chosen, gate = f.result.config["cold_path"], f.result.config["item_gate"]
    assert chosen["selected_on"] == SIMULATED_COLD
    assert [g["prior"] for g in chosen["grid"]] == list(COLD_PRIOR_WEIGHTS)
    assert chosen["val_recall@20"] == max(g["val_recall@20"] for g in chosen["grid"])
    model = f.model
    assert float(model.cold_prior_weight) == pytest.approx(chosen["beta"])
    assert float(model.prior_weight) == pytest.approx(gate["beta"])
    # routing: cold users' score is the knowledge channel plus their own prior, the others' their own
    counts = torch.from_numpy(f.inputs.item_counts).float()
    with torch.inference_mode():
        model.set_prior_weight(0.3)
        model.set_cold_prior_weight(1.7)
        (u_k, i_k, _), (u_c, i_c, _) = model.channels(f.inputs.adj)
        users, items, _ = model.embed(f.inputs.adj)
        scores = users @ items.T
    cold = model.cold_users
    assert cold.any() and (~cold).any()
    assert torch.allclose(scores[cold], (u_k @ i_k.T)[cold] + 1.7 * torch.log1p(counts), atol=1e-4)
    h = model.item_gate
    expect_warm = (1 - h) * (u_k @ i_k.T)[~cold] + h * (u_c @ i_c.T)[~cold] + 0.3 * torch.log1p(counts)
    assert torch.allclose(scores[~cold], expect_warm, atol=1e-4)
    model.set_prior_weight(0.3)
    assert float(model.cold_prior_weight) == pytest.approx(0.3)  # one weight for all unless told otherwise


def test_the_default_refits_the_knowledge_channel_on_the_whole_graph_for_the_chosen_epochs(fitted) -> None:  # type: ignore[no-untyped-def]
    export, split, selected = fitted
    _, x = toy_export()
    calls: list[tuple[str, int, torch.Tensor]] = []
    f = fit(
        export, split, model_spec("graphrec", dim=8, bridge=0, cold_lr_factors=(1.0, 0.2)), CONFIG, target="books",
        item_x=x,
        on_epoch=lambda channel, epoch, model, adj: calls.append((channel, epoch, adj)),
    )  # fmt: skip
    chosen, chosen_without = f.result.config["cold_path"], selected.result.config["cold_path"]
    # the same selection run as without the refit (same seed, same graph)
    assert chosen["selection"] == chosen_without["selection"] and chosen["prior"] == chosen_without["prior"]
    epochs = chosen["selection"]["best_epoch"] + 1
    assert chosen["refit"]["epochs"] == epochs
    assert [e for c, e, _ in calls if c == "knowledge"] == list(range(epochs))
    # the selection ran once per learning rate tried (each from epoch 0), the kept one for epochs_run epochs
    selection_epochs = [e for c, e, _ in calls if c == "knowledge/simulated-cold"]
    starts = [k for k, e in enumerate(selection_epochs) if e == 0] + [len(selection_epochs)]
    runs = [selection_epochs[a:b] for a, b in pairwise(starts)]
    assert len(runs) == len(chosen["selection"]["best_val_by_lr"]) == 2
    assert all(r == list(range(len(r))) for r in runs) and chosen["selection"]["epochs_run"] in map(len, runs)
    # the refit trains at the learning rate chosen on the simulated-cold users
    assert f.result.config["channels"]["knowledge"]["config"]["lr"] == pytest.approx(chosen["selection"]["lr"])
    assert all(adj is f.inputs.adj for c, _, adj in calls if c != "knowledge/simulated-cold")
    assert all(adj is not f.inputs.adj for c, _, adj in calls if c == "knowledge/simulated-cold")
    model = f.model
    assert model.knowledge_adj is None  # one graph again
    # the refit channel saw the simulated-cold users' target interactions: its item evidence counts them
    assert torch.equal(
        model.knowledge.item_evidence[:, 0], torch.from_numpy((f.inputs.item_counts > 0).astype("float32"))
    )
    # the prior weight carries over relative to the score spread (for the model's real cold users)
    r = chosen["prior"]
    with torch.inference_mode():
        users, items, _ = model.knowledge.embed(f.inputs.adj)
    cold_rows = torch.from_numpy(np.flatnonzero(model.cold_users.numpy()))
    cand = torch.from_numpy(np.flatnonzero(f.inputs.candidates))
    spread = float((users[cold_rows] @ items[cand].T).std())
    expect = r * spread / float(model.item_prior[cand].std()) if r else 0.0
    assert float(model.cold_prior_weight) == pytest.approx(expect, rel=1e-5)
    assert chosen["beta"] == pytest.approx(expect, rel=1e-5)


def test_a_production_split_with_a_source_selects_the_cold_path_the_same_way() -> None:
    export, x = toy_export()
    split = no_holdout(export, source="movies", target="books")
    f = fit(export, split, model_spec("graphrec", dim=8, bridge=4), CONFIG, target="books", item_x=x)
    chosen = f.result.config["cold_path"]
    assert chosen["bridge_params"]["val_users"] == chosen["record"]["users"]  # the bridge too, on the same users
    assert chosen["selected_on"] == SIMULATED_COLD
    assert chosen["record"]["val_pairs"] == 0 and chosen["record"]["hidden_train_pairs"] > 0
    selection = chosen["selection"]
    assert selection["best_val"] >= 0.0 and 0 <= selection["best_epoch"] < CONFIG.epochs
    assert chosen["refit"]["epochs"] == selection["best_epoch"] + 1  # epochs chosen, not "all epochs"
    assert f.result.config["item_gate"]["selected_on"].startswith("default")  # no warm validation in production
    # the same draw as simulated_cold on the same split
    again = simulated_cold(split, export, source="movies", target="books", seed=0)
    assert chosen["record"] == again.meta["simulated_cold"]


def test_a_production_split_rejects_a_source_the_graph_does_not_have() -> None:
    export, _ = toy_export()
    with pytest.raises(ConfigError, match=r"scenario 'film' is not in the graph; it has \['books', 'movies'\]"):
        no_holdout(export, source="film", target="books")
    with pytest.raises(ConfigError, match="must differ"):
        no_holdout(export, source="books", target="books")


def test_splits_without_cold_users_to_simulate_keep_one_graph() -> None:
    export, x = toy_export()
    for split in (coldstart_items(export, target="books", seed=0), no_holdout(export)):
        assert cold_path_split(export, split, target="books") is None
        f = fit(
            export,
            split,
            model_spec("graphrec", dim=8),
            TrainConfig(epochs=2, batch_size=64, lr=0.05),
            target="books",
            item_x=x,
        )
        assert f.model.knowledge_adj is None
        assert f.result.config["cold_path"]["selected_on"].startswith("validation")
        assert float(f.model.cold_prior_weight) == float(f.model.prior_weight)


def test_no_shared_user_to_simulate_falls_back_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    export, _ = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    books = export.item_scenario == 0
    # every warm user loses its movies: nobody has both scenarios outside the test-cold slice
    keep = books[split.train[1]] | np.isin(split.train[0], split.slices["cold"])
    dropped = np.concatenate([split.dropped, split.train[:, ~keep]], axis=1)
    lonely = type(split)(split.train[:, keep], split.val, split.test, split.slices, split.meta, dropped=dropped)
    with caplog.at_level("WARNING", logger="graphrec.train.cold_path"):
        assert cold_path_split(export, lonely, target="books") is None
    assert "no simulated-cold validation user" in caplog.text


def test_bridge_embeddings_reproduce_its_scores_and_truncate_by_singular_values() -> None:
    export, _ = toy_export()
    split = cold_path_split(export, coldstart_transfer(export, source="movies", target="books", seed=0), target="books")
    bridge = fit_bridge_model(export, split, source="movies", target="books", seed=0)
    n_users = len(export.user_ids)
    rows = torch.arange(n_users)
    exact = bridge.score_fn()(rows)
    full = len(bridge.alpha)  # rank >= n_fit: exact
    users, items = bridge.embeddings(n_users, full + 3)
    assert users.shape == (n_users, full + 3) and items.shape == (len(export.item_keys), full + 3)
    assert torch.allclose(torch.from_numpy(users @ items.T), exact, atol=1e-4)
    assert not items[export.item_scenario != 0].any()  # only target items carry the block
    # a lower rank is the best approximation of that rank (Eckart–Young on α): error shrinks with rank
    errors = []
    for r in (2, 8, full):
        u, i = bridge.embeddings(n_users, r)
        errors.append(float((torch.from_numpy(u @ i.T) - exact).norm()))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-3


def test_bridge_block_adds_to_cold_users_only_with_its_weight_chosen_on_simulated_cold_users() -> None:
    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    f = fit(export, split, model_spec("graphrec", dim=8, bridge=6), CONFIG, target="books", item_x=x)
    chosen = f.result.config["cold_path"]
    assert {(g["prior"], g["bridge"]) for g in chosen["grid"]} == {
        (r, b) for r in COLD_PRIOR_WEIGHTS for b in BRIDGE_WEIGHTS
    }
    assert chosen["val_recall@20"] == max(g["val_recall@20"] for g in chosen["grid"])
    model = f.model
    assert float(model.bridge_weight) == pytest.approx(chosen["bridge_weight"])
    emb = f.embeddings()
    text = 0 if model.text_users is None else model.text_users.shape[1]
    ease = 0 if model.ease_users is None else model.ease_users.shape[1]
    assert emb["user"].shape[1] == emb["item"].shape[1] == emb["topic"].shape[1] == 25 + 6 + ease + text
    cold = model.cold_users.numpy()
    assert not emb["user"][~cold, 25:31].any()  # warm users: no bridge block
    assert not emb["topic"][:, 25:31].any()  # nor topics
    with torch.inference_mode():
        model.set_bridge(model.bridge_users, model.bridge_items, 0.0)
        without = model.embed(f.inputs.adj)
        model.set_bridge(model.bridge_users, model.bridge_items, 2.5)
        users, items, _ = model.embed(f.inputs.adj)
    gain = (users @ items.T) - (without[0] @ without[1].T)
    assert torch.allclose(gain[~model.cold_users], torch.zeros(1), atol=1e-5)
    bridge = model.bridge_users @ model.bridge_items.T
    assert torch.allclose(gain[model.cold_users], 2.5 * bridge[model.cold_users], atol=1e-4)
    with pytest.raises(ValueError, match="bridge blocks"):
        model.set_bridge(model.bridge_users[:3], model.bridge_items, 1.0)


def natural_cold_pairs(export, split) -> set[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """Target validation pairs of the users with no target pair in the cold path's training, simulated-cold
    users aside: what :func:`cold_validation_targets` should add, written out pair by pair."""
    books = export.item_scenario == 0
    train = cold_path_train(split)
    with_books = set(train[0, books[train[1]]].tolist())
    simulated = set(split.slices[SIMULATED_COLD].tolist())
    return {(u, i) for u, i in pairs_set(split.val) if books[i] and u not in with_books and u not in simulated}


def test_cold_validation_targets_add_the_validation_users_a_sparse_target_serves_as_cold() -> None:
    export, _ = toy_export()
    # a cold-user split's validation users all have target history: the simulated-cold pairs alone
    base = coldstart_transfer(export, source="movies", target="books", seed=0)
    cold_split = cold_path_split(export, base, target="books")
    assert cold_split is not None
    pairs, counts = cold_validation_targets(cold_split, export, target="books")
    assert np.array_equal(pairs, simulated_cold_targets(cold_split, export))
    assert counts == {"simulated_cold_users": 20, "natural_cold_users": 0, "natural_cold_pairs": 0}
    # a sparse target: validation users left without a target training pair join them, every target pair of theirs
    export, _, split = noisy_sparse_books_split()
    sparse = cold_path_split(export, split, target="books")
    assert sparse is not None
    pairs, counts = cold_validation_targets(sparse, export, target="books")
    simulated, natural = pairs_set(simulated_cold_targets(sparse, export)), natural_cold_pairs(export, sparse)
    assert natural and simulated and pairs_set(pairs) == simulated | natural
    assert pairs.shape[1] == len(simulated) + len(natural)  # no pair twice
    assert counts["natural_cold_users"] == len({u for u, _ in natural}) and counts["natural_cold_pairs"] == len(natural)
    assert counts["simulated_cold_users"] == len(sparse.slices[SIMULATED_COLD])
    assert [tuple(p) for p in pairs.T.tolist()] == sorted(pairs_set(pairs))
    assert not pairs_set(pairs) & pairs_set(split.test)  # selection never reads a test pair


def served_val_recall(f, split) -> float:  # type: ignore[no-untyped-def]
    """Validation Recall@20 of a fitted routed model as it serves (its full embeddings)."""
    with torch.inference_mode():
        users, items, _ = f.model.embed(f.inputs.adj)
    val = evaluate_ranking(
        lambda rows: users[rows] @ items.T, split.val, group_by_user(f.inputs.train),
        validation_candidates(split, f.inputs), ks=(20,),
    )  # fmt: skip
    return float(val["all"]["recall@20"])


def test_a_sparse_targets_cold_path_is_selected_on_every_user_it_serves_as_cold() -> None:
    export, x, split = noisy_sparse_books_split()
    cold_split = cold_path_split(export, split, target="books")
    assert cold_split is not None
    natural_users = sorted({u for u, _ in natural_cold_pairs(export, cold_split)})
    # without the refit the selected knowledge channel serves: its early stopping and the prior grid's first
    # row (no prior) score again on the cold validation targets, not on the simulated-cold ones alone
    spec = model_spec("graphrec", dim=8, cold_refit=False, bridge=0, text_block=False, ease=0)
    f = fit(export, split, spec, CONFIG, target="books", item_x=x)
    chosen = f.result.config["cold_path"]
    assert chosen["users"]["natural_cold_users"] == len(natural_users) > 0
    assert f.model.cold_users[torch.tensor(natural_users)].all()  # they are served as cold
    with torch.inference_mode():
        users, items, _ = f.model.knowledge.embed(f.model.knowledge_adj)
    exclude, books = group_by_user(cold_path_train(cold_split)), export.item_scenario == 0

    def recall(targets: np.ndarray) -> float:
        out = evaluate_ranking(lambda rows: users[rows] @ items.T, targets, exclude, books, ks=(20,))
        return float(out["all"]["recall@20"])

    targets, _ = cold_validation_targets(cold_split, export, target="books")
    assert recall(targets) == pytest.approx(chosen["selection"]["best_val"], abs=1e-6)
    assert chosen["grid"][0]["val_recall@20"] == pytest.approx(chosen["selection"]["best_val"], abs=1e-6)
    assert recall(simulated_cold_targets(cold_split, export)) != pytest.approx(chosen["selection"]["best_val"])


def test_the_item_gate_is_validated_with_cold_users_scored_by_their_own_prior() -> None:
    export, x, split = noisy_sparse_books_split()
    f = fit(export, split, model_spec("graphrec", dim=8, bridge=6, text_block=False, ease=0), CONFIG,
            target="books", item_x=x)  # fmt: skip
    gate, model = f.result.config["item_gate"], f.model
    assert float(model.cold_prior_weight) == pytest.approx(f.result.config["cold_path"]["beta"])
    assert float(model.prior_weight) == pytest.approx(gate["beta"])
    assert served_val_recall(f, split) == pytest.approx(gate["val_recall@20"], abs=1e-6)  # chosen as it serves
    # a cold prior far from the warm one: kept through the selection, which scores the model as it will serve
    again = select_item_gate(model, f.inputs, split, cold_prior_weight=25.0)
    assert float(model.cold_prior_weight) == 25.0
    assert served_val_recall(f, split) == pytest.approx(again["val_recall@20"], abs=1e-6)
    # one prior for everyone, the cold users' set after (the order before): validation then scored another model
    once = select_item_gate(model, f.inputs, split)
    model.set_cold_prior_weight(25.0)
    assert served_val_recall(f, split) != pytest.approx(once["val_recall@20"], abs=1e-6)
