"""The simulated-cold validation slice (``simulated_cold``) and the closed-form references built on it: the
kernel-ridge bridge for cold users, target-only EASE and their combination, on small generated graphs
whose users have a taste group that both scenarios reflect (so a source history predicts target items)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from graphrec.data.export import GraphExport
from graphrec.data.splits import (
    SIMULATED_COLD,
    Split,
    check_no_leakage,
    check_simulated_cold,
    cold_path_train,
    coldstart_transfer,
    random_per_user,
    simulated_cold,
    simulated_cold_targets,
    sparse_target,
)
from graphrec.errors import ConfigError, GraphRecError
from graphrec.eval.ranking import evaluate_ranking, group_by_user
from graphrec.eval.slices import evaluate_slices
from graphrec.models.bridge import (
    combined_reference,
    evaluate_simulated_cold,
    fit_bridge,
    kernel_ridge_bridge,
    smoothed_profiles,
)
from graphrec.models.ease import ease_item_weights, fit_target_ease, user_item_matrix
from graphrec.train.references import popularity_scores
from tests.helpers import make_export, pairs_of

GROUPS = 4


def grouped_export(seed: int = 0, users: int = 160) -> GraphExport:
    """``users`` users in 4 taste groups; 40 movies and 32 books, a quarter of each per group. Users
    0–119 have movies, 40–159 books (80 shared): 6 movies / 6 books each, 5 from their group's."""
    rng = np.random.default_rng(seed)
    pairs: set[tuple[str, str, str]] = set()
    for u in range(users):
        g = u % GROUPS
        for scenario, prefix, n_items, has in (("movies", "m", 40, u < 120), ("books", "b", 32, u >= 40)):
            if not has:
                continue
            per = n_items // GROUPS
            own = rng.choice(per, 5, replace=False) + g * per
            other = rng.choice(np.setdiff1d(np.arange(n_items), own), 1)
            pairs |= {(f"u{u:03d}", scenario, f"{prefix}{int(i):02d}") for i in np.concatenate([own, other])}
    return make_export(sorted(pairs))


@pytest.fixture(scope="module")
def data() -> tuple[GraphExport, Split]:
    ex = grouped_export()
    split = coldstart_transfer(ex, source="movies", target="books", seed=0)
    return ex, simulated_cold(split, ex, source="movies", target="books", seed=0)


def scenario_mask(ex: GraphExport, name: str) -> np.ndarray:
    return ex.item_scenario == ex.scenarios.index(name)


def eligible_users(ex: GraphExport, split: Split) -> set[int]:
    movies, books = scenario_mask(ex, "movies"), scenario_mask(ex, "books")
    src = set(split.train[0, movies[split.train[1]]].tolist())
    tgt = set(split.train[0, books[split.train[1]]].tolist())
    return (src & tgt) - set(split.slices["cold"].tolist())


# ---------------------------------------------------------------- the simulated-cold slice


def test_simulated_cold_marks_warm_shared_users_and_hides_only_their_target_training(
    data: tuple[GraphExport, Split],
) -> None:
    ex, split = data
    base = coldstart_transfer(ex, source="movies", target="books", seed=0)
    users = split.slices[SIMULATED_COLD]
    eligible = eligible_users(ex, base)
    assert len(eligible) == 40 and len(base.slices["cold"]) == 40  # 80 shared users, half test-cold
    # default: the split's cold fraction (0.5) of the eligible users, never a test-cold user
    assert len(users) == 20 and set(users.tolist()) <= eligible
    assert not set(users.tolist()) & set(split.slices["cold"].tolist())
    # train / val / test / the other slices are untouched: the collaborative path keeps the hidden pairs
    for name in ("train", "val", "test", "dropped"):
        assert np.array_equal(getattr(split, name), getattr(base, name))
    assert all(np.array_equal(split.slices[k], base.slices[k]) for k in base.slices)
    # hidden = exactly the simulated-cold users' target training pairs, all of them in train
    books = scenario_mask(ex, "books")
    expected = {(u, i) for u, i in pairs_of(base.train) if u in set(users.tolist()) and books[i]}
    assert pairs_of(split.cold_hidden) == expected and expected <= pairs_of(split.train)
    assert pairs_of(cold_path_train(split)) == pairs_of(split.train) - expected
    # targets: their target validation pairs and the hidden pairs; nothing of test
    targets = pairs_of(simulated_cold_targets(split, ex))
    val_of_users = {(u, i) for u, i in pairs_of(split.val) if u in set(users.tolist())}
    assert targets == val_of_users | expected and val_of_users
    assert not targets & pairs_of(split.test)
    record = split.meta["simulated_cold"]
    assert record["users"] == 20 and record["eligible_users"] == 40 and record["hidden_train_pairs"] == len(expected)
    assert split.meta["protocol"] == "coldstart-transfer"  # the split's own record is kept


def test_simulated_cold_is_seeded_and_sized(data: tuple[GraphExport, Split]) -> None:
    ex, split = data
    base = coldstart_transfer(ex, source="movies", target="books", seed=0)
    again = simulated_cold(base, ex, source="movies", target="books", seed=0)
    assert np.array_equal(again.slices[SIMULATED_COLD], split.slices[SIMULATED_COLD])
    assert np.array_equal(again.cold_hidden, split.cold_hidden)
    others = {
        tuple(simulated_cold(base, ex, source="movies", target="books", seed=s).slices[SIMULATED_COLD].tolist())
        for s in range(1, 5)
    }
    assert len(others | {tuple(split.slices[SIMULATED_COLD].tolist())}) > 1  # the seed matters
    everyone = simulated_cold(base, ex, source="movies", target="books", seed=0, fraction=1.0)
    assert set(everyone.slices[SIMULATED_COLD].tolist()) == eligible_users(ex, base)  # capped by what exists (40)
    capped = simulated_cold(base, ex, source="movies", target="books", seed=0, fraction=1.0, max_users=7)
    assert len(capped.slices[SIMULATED_COLD]) == 7


def test_simulated_cold_rejects_what_it_cannot_do(data: tuple[GraphExport, Split]) -> None:
    ex, _ = data
    base = coldstart_transfer(ex, source="movies", target="books", seed=0)
    with pytest.raises(ConfigError, match="coldstart-transfer"):
        simulated_cold(random_per_user(ex, seed=0), ex, source="movies", target="books", seed=0)
    with pytest.raises(ConfigError, match="source is 'movies', not 'books'"):
        simulated_cold(base, ex, source="books", target="movies", seed=0)
    with pytest.raises(ConfigError, match="out of range"):
        simulated_cold(base, ex, source="movies", target="books", seed=0, fraction=0.0)


def test_leakage_checks_catch_a_broken_simulated_cold_record(data: tuple[GraphExport, Split]) -> None:
    ex, split = data
    check_no_leakage(split, ex)  # sound as built
    cold_user = int(split.slices["cold"][0])
    with_cold = dataclasses.replace(
        split, slices={**split.slices, SIMULATED_COLD: np.append(split.slices[SIMULATED_COLD], cold_user)}
    )
    with pytest.raises(GraphRecError, match="test-cold"):
        check_no_leakage(with_cold, ex)
    with pytest.raises(GraphRecError, match="not exactly"):  # a hidden pair missing: the cold path would see it
        check_simulated_cold(dataclasses.replace(split, cold_hidden=split.cold_hidden[:, 1:]), ex)
    with_test = dataclasses.replace(split, cold_hidden=np.concatenate([split.cold_hidden, split.test[:, :1]], axis=1))
    with pytest.raises(GraphRecError, match="not exactly"):
        check_simulated_cold(with_test, ex)
    with pytest.raises(GraphRecError, match="no simulated-cold record"):
        check_no_leakage(
            dataclasses.replace(split, slices={k: v for k, v in split.slices.items() if k != SIMULATED_COLD}), ex
        )
    # order: after sparse_target is fine; sparse_target after it drops hidden pairs and is refused
    base = coldstart_transfer(ex, source="movies", target="books", seed=0)
    sparse = sparse_target(base, ex, target="books", fraction=0.5, seed=0)
    simulated_cold(sparse, ex, source="movies", target="books", seed=0)
    with pytest.raises(GraphRecError, match="not exactly"):
        sparse_target(split, ex, target="books", fraction=0.5, seed=0)


# ---------------------------------------------------------------- the bridge's formula


def test_smoothed_profiles_and_kernel_ridge_match_direct_numpy() -> None:
    rng = np.random.default_rng(3)
    import scipy.sparse

    x = scipy.sparse.csr_matrix((rng.random((12, 9)) < 0.3).astype(np.float32))
    x[5] = 0  # a user without source history
    b = rng.normal(size=(9, 9)).astype(np.float32)
    z = smoothed_profiles(x, b, 0.7)
    raw = x.toarray() + 0.7 * x.toarray() @ b
    norm = np.linalg.norm(raw, axis=1, keepdims=True)
    assert np.allclose(z, raw / np.where(norm > 0, norm, 1), atol=1e-5)
    assert np.allclose(z[5], 0) and np.allclose(np.linalg.norm(np.delete(z, 5, 0), axis=1), 1, atol=1e-5)
    assert np.allclose(
        smoothed_profiles(x, None, 0.0),
        x.toarray() / np.maximum(np.linalg.norm(x.toarray(), axis=1, keepdims=True), 1e-30),
        atol=1e-6,
    )
    y = (rng.random((8, 5)) < 0.4).astype(np.float32)
    zq, zf = z[:4], z[4:]
    got = kernel_ridge_bridge(zq, zf, y, l2=0.3)
    direct = zq @ zf.T @ np.linalg.inv(zf @ zf.T + 0.3 * np.eye(8)) @ y
    primal = zq @ np.linalg.inv(zf.T @ zf + 0.3 * np.eye(9)) @ zf.T @ y  # the same map, as ridge regression
    assert np.allclose(got, direct, atol=1e-4) and np.allclose(got, primal, atol=1e-4)


def test_fit_bridge_scores_are_the_direct_formula_and_selection_is_leave_out(data: tuple[GraphExport, Split]) -> None:
    ex, split = data
    fn, params = fit_bridge(
        ex, split, source="movies", target="books", gammas=(0.5,), l2s=(0.3,), source_l2s=(20.0,), folds=1
    )
    movies, books = scenario_mask(ex, "movies"), scenario_mask(ex, "books")
    n = len(ex.user_ids)
    src_items = np.flatnonzero(movies)  # every movie has a training interaction here
    tgt_items = np.flatnonzero(books)
    x = user_item_matrix(split.train, n, src_items)
    y = user_item_matrix(split.train, n, tgt_items).toarray()
    b = ease_item_weights(split.train, src_items, l2=20.0).numpy()
    has_src, has_tgt = np.asarray(x.sum(1)).ravel() > 0, y.sum(1) > 0
    fit_users = np.flatnonzero(has_src & has_tgt)
    cold = split.slices["cold"]
    expected = kernel_ridge_bridge(
        smoothed_profiles(x[cold], b, 0.5), smoothed_profiles(x[fit_users], b, 0.5), y[fit_users], l2=0.3
    )
    got = fn(torch.from_numpy(cold)).numpy()
    assert np.allclose(got[:, tgt_items], expected, atol=1e-4) and np.all(got[:, movies] == 0)
    assert params["fit_users"] == len(fit_users) == 40 and params["gamma"] == 0.5 and params["l2"] == 0.3
    # folds=1: the simulated-cold score is the bridge fitted without any simulated-cold user's target rows
    sim = split.slices[SIMULATED_COLD]
    fit_wo = np.setdiff1d(fit_users, sim)
    sim_scores = kernel_ridge_bridge(
        smoothed_profiles(x[sim], b, 0.5), smoothed_profiles(x[fit_wo], b, 0.5), y[fit_wo], l2=0.3
    )
    pos = {int(u): k for k, u in enumerate(sim)}

    def direct(rows: torch.Tensor) -> torch.Tensor:
        out = np.zeros((len(rows), len(ex.item_keys)), dtype=np.float32)
        for k, u in enumerate(rows.tolist()):
            out[k, tgt_items] = sim_scores[pos[u]]
        return torch.from_numpy(out)

    want = evaluate_simulated_cold(direct, split, ex, books, ks=(20,))
    assert params["grid"][0]["val_recall@20"] == pytest.approx(want["recall@20"]) and params[
        "val_recall@20"
    ] == pytest.approx(want["recall@20"])
    assert params["grid"][0]["val_ndcg@20"] == pytest.approx(want["ndcg@20"])


def test_bridge_selection_reads_validation_only_and_is_deterministic(data: tuple[GraphExport, Split]) -> None:
    ex, split = data
    kwargs = {
        "source": "movies",
        "target": "books",
        "gammas": (0.0, 1.0),
        "l2s": (0.1, 3.0),
        "source_l2s": (20.0,),
        "seed": 0,
    }
    _, params = fit_bridge(ex, split, **kwargs)
    _, again = fit_bridge(ex, split, **kwargs)
    assert params["grid"] == again["grid"] and len(params["grid"]) == 4
    # replace every test pair by other (random) target items: nothing selected may change
    rng = np.random.default_rng(1)
    books = np.flatnonzero(scenario_mask(ex, "books"))
    scrambled = dataclasses.replace(split, test=np.stack([split.test[0], rng.choice(books, split.test.shape[1])]))
    _, blind = fit_bridge(ex, scrambled, **kwargs)
    assert blind["grid"] == params["grid"]
    _, tea = fit_target_ease(ex, split, target="books", l2s=(5.0, 50.0))
    _, tea_blind = fit_target_ease(ex, scrambled, target="books", l2s=(5.0, 50.0))
    assert tea["grid"] == tea_blind["grid"]
    # while the validation targets do drive it: another simulated-cold draw gives another grid
    other = simulated_cold(
        coldstart_transfer(ex, source="movies", target="books", seed=0), ex, source="movies", target="books", seed=1
    )
    _, moved = fit_bridge(ex, other, **kwargs)
    assert moved["grid"] != params["grid"]


def test_fit_bridge_needs_the_simulated_cold_slice(data: tuple[GraphExport, Split]) -> None:
    ex, _ = data
    with pytest.raises(ConfigError, match="simulated_cold"):
        fit_bridge(ex, coldstart_transfer(ex, source="movies", target="books", seed=0), source="movies", target="books")


# ---------------------------------------------------------------- the references on the test slices


def test_bridge_transfers_taste_to_cold_users_and_combined_routes(data: tuple[GraphExport, Split]) -> None:
    ex, split = data
    books = scenario_mask(ex, "books")
    bridge, params = fit_bridge(ex, split, source="movies", target="books", source_l2s=(20.0,))
    ease, ease_params = fit_target_ease(ex, split, target="books", l2s=(5.0, 50.0))
    pop_scores = popularity_scores(split.train[:, books[split.train[1]]], len(ex.item_keys))

    def pop(rows: torch.Tensor) -> torch.Tensor:
        return pop_scores.expand(len(rows), -1)

    cold_mask = np.ones(len(ex.user_ids), dtype=bool)
    cold_mask[split.train[0, books[split.train[1]]]] = False
    combined = combined_reference(bridge, ease, cold_mask)
    m_bridge = evaluate_slices(bridge, split, books, ks=(20,))
    m_pop = evaluate_slices(pop, split, books, ks=(20,))
    m_ease = evaluate_slices(ease, split, books, ks=(20,))
    m_comb = evaluate_slices(combined, split, books, ks=(20,))
    # a cold user's group is visible only through its movies: the bridge finds it, popularity cannot
    assert m_bridge["cold"]["recall@20"] > m_pop["cold"]["recall@20"] + 0.1
    assert m_ease["warm"]["recall@20"] > m_pop["warm"]["recall@20"]
    assert m_comb["cold"] == m_bridge["cold"] and m_comb["warm"] == m_ease["warm"]
    rows = torch.from_numpy(np.array([int(split.slices["cold"][0]), int(split.slices["warm"][0])]))
    both = combined(rows)
    assert torch.equal(both[0], bridge(rows[:1])[0]) and torch.equal(both[1], ease(rows[1:])[0])
    assert params["val_recall@20"] > 0 and ease_params["l2"] in (5.0, 50.0)


def test_fit_target_ease_picks_the_best_validation_ridge(data: tuple[GraphExport, Split]) -> None:
    ex, split = data
    books = scenario_mask(ex, "books")
    fn, params = fit_target_ease(ex, split, target="books", l2s=(0.5, 5.0, 500.0))
    best = max(params["grid"], key=lambda r: r["val_recall@20"])
    assert params["l2"] == best["l2"]
    items = np.flatnonzero(books & (np.bincount(split.train[1], minlength=len(ex.item_keys)) > 0))
    b = ease_item_weights(split.train, items, l2=params["l2"]).numpy()
    users = np.unique(split.val[0])
    x = user_item_matrix(split.train, len(ex.user_ids), items)[users].toarray()
    got = fn(torch.from_numpy(users)).numpy()
    assert np.allclose(got[:, items], x @ b, atol=1e-5)
    direct = evaluate_ranking(fn, split.val, group_by_user(split.train), books, ks=(20,))["all"]["recall@20"]
    assert direct == pytest.approx(best["val_recall@20"])
