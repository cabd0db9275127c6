"""Splits and leakage checks, on a generated graph and on the real Amazon-KG interactions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graphrec.data.export import GraphExport, to_hetero_data
from graphrec.data.splits import (
    Split,
    check_graph_has_no_held_out_edges,
    check_no_leakage,
    coldstart_transfer,
    random_per_user,
    temporal_per_user,
)
from graphrec.errors import ConfigError, GraphRecError
from tests.helpers import make_export, pairs_of


def toy() -> GraphExport:
    rng = np.random.default_rng(0)
    pairs = set()
    for u in range(40):
        if u < 30:  # 30 users with movies
            pairs |= {(f"u{u:02d}", "movies", f"m{k}") for k in rng.choice(50, 6, replace=False)}
        if u >= 10:  # 30 users with books: 20 shared
            pairs |= {(f"u{u:02d}", "books", f"b{k}") for k in rng.choice(50, 5, replace=False)}
    return make_export(sorted(pairs))


def test_coldstart_transfer_protocol() -> None:
    ex = toy()
    split = coldstart_transfer(ex, source="movies", target="books", seed=0)
    assert split.meta["shared_users"] == 20 and split.meta["cold_users"] == 10
    books = ex.scenarios.index("books")
    cold = set(split.slices["cold"].tolist())
    # cold users: every books interaction is in test, their movies stay in train
    for u, i in ex.interactions.T.tolist():
        if u in cold:
            assert ((u, i) in pairs_of(split.test)) == (ex.item_scenario[i] == books)
    # warm users hold out 20% of 5 = 1 books interaction each; nothing from movies is held out
    assert all(ex.item_scenario[i] == books for _, i in split.test.T.tolist())
    warm_test = [u for u, _ in split.test.T.tolist() if u not in cold]
    assert sorted(set(warm_test)) == sorted(split.slices["warm"].tolist()) and len(warm_test) == len(
        split.slices["warm"]
    )
    assert split.meta["warm_users"] == 20  # 30 book users - 10 cold
    again = coldstart_transfer(ex, source="movies", target="books", seed=0)
    other = coldstart_transfer(ex, source="movies", target="books", seed=1)
    assert np.array_equal(again.test, split.test) and not np.array_equal(other.test, split.test)
    with pytest.raises(ConfigError, match="not in the graph"):
        coldstart_transfer(ex, source="movies", target="music", seed=0)


def test_random_and_temporal_splits_partition_the_interactions() -> None:
    ex = toy()
    r = random_per_user(ex, seed=3)
    assert len(pairs_of(r.train) | pairs_of(r.val) | pairs_of(r.test)) == ex.interactions.shape[1]
    ts = np.arange(ex.interactions.shape[1], dtype=np.float64)
    t = temporal_per_user(ex, ts)
    stamp = {tuple(p): s for p, s in zip(ex.interactions.T.tolist(), ts)}
    for u in range(len(ex.user_ids)):  # per user: train < validation < test in time
        tr = [stamp[p] for p in pairs_of(t.train) if p[0] == u]
        va = [stamp[p] for p in pairs_of(t.val) if p[0] == u]
        te = [stamp[p] for p in pairs_of(t.test) if p[0] == u]
        assert te and va and max(tr) < min(va) <= max(va) < min(te)
    assert len(pairs_of(t.train) | pairs_of(t.val) | pairs_of(t.test)) == ex.interactions.shape[1]
    with pytest.raises(GraphRecError, match="timestamp"):
        temporal_per_user(ex, np.full_like(ts, np.nan))


def test_leakage_checks_catch_overlaps_and_graph_edges() -> None:
    ex = toy()
    split = coldstart_transfer(ex, source="movies", target="books", seed=0)
    leaky = Split(np.concatenate([split.train, split.test[:, :1]], axis=1), split.val, split.test)
    with pytest.raises(GraphRecError, match=r"leakage: interaction .* in both train and test"):
        check_no_leakage(leaky, ex)
    good = to_hetero_data(ex, split.train)
    check_graph_has_no_held_out_edges(good, split)
    bad = to_hetero_data(ex, np.concatenate([split.train, split.test[:, :3]], axis=1))
    with pytest.raises(GraphRecError, match="3 test interactions are edges"):
        check_graph_has_no_held_out_edges(bad, split)


@pytest.mark.data("amazon-kg")
def test_coldstart_transfer_on_amazon_kg(shared_data: Path, tmp_path: Path) -> None:
    from ingest.prepare import prepare_dataset
    from ingest.spec import load_spec
    from ingest.summary import IngestSummary
    from tests.helpers import REPO

    prepared = prepare_dataset(
        load_spec(REPO / "ingest" / "specs" / "amazon-kg-interactions-only.toml"),
        tmp_path / "r.tsv",
        IngestSummary(spec="s"),
    )
    ex = make_export([(i.user, i.scenario, i.item) for p in prepared.values() for i in p.interactions])
    split = coldstart_transfer(ex, source="movies", target="books", seed=0)
    assert split.meta["shared_users"] == 1_062 and split.meta["cold_users"] == 531
    n_books = 115_572
    held = split.test.shape[1] + split.val.shape[1]
    books = ex.scenarios.index("books")
    assert sum(1 for _, i in split.train.T.tolist() if ex.item_scenario[i] == books) == n_books - held
