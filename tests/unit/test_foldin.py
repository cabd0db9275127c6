"""Fold-in of users the model has never seen: the parts reproduce a user in the graph, survive a run folder,
and rank a new user's target items from their history."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from graphrec.data.splits import coldstart_items, coldstart_transfer
from graphrec.errors import ConfigError, InputDataError
from graphrec.models.presets import model_spec
from graphrec.models.text_knn import unit_rows
from graphrec.serve.foldin import fold_in_user, read_history, recommend_history
from graphrec.serve.refresh import add_items, item_vectors
from graphrec.train.blocks import ease_block, text_block, text_map_at
from graphrec.train.config import TrainConfig
from graphrec.train.fit import fit
from graphrec.train.record import RunRecord, record_run
from graphrec.train.rundir import load_run, write_run
from tests.helpers import toy_export

CONFIG = TrainConfig(epochs=8, batch_size=64, lr=0.01, patience=3, seed=0)


@pytest.fixture(scope="module")
def trained() -> tuple[object, object, object, RunRecord]:
    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    fitted = fit(export, split, model_spec("graphrec", dim=8, bridge=16, ease=16), CONFIG, target="books", item_x=x)
    # every block on (the text block through its map), with weights the toy's validation need not pick
    text_map = text_map_at(export, fitted.inputs, x, l2=1.0)
    users_t, items_t, topics_t = text_block(export, fitted.inputs, x, text_map=text_map)
    fitted.model.set_text(users_t, items_t, 0.7, topics=topics_t)
    ease = ease_block(export, split, fitted.inputs, target="books", rank=16)
    assert ease is not None
    fitted.model.set_ease(ease.users, ease.items, 0.3)
    fitted.fold_in_blocks.update(text_user_map=unit_rows(x), text_proj=text_map, ease_user_map=ease.user_map)
    record = record_run(fitted, export, split, CONFIG, name="toy", target="books", source="movies")
    return export, split, fitted, record


def _history(record: RunRecord, user: int) -> np.ndarray:
    return np.unique(record.train[1, record.train[0] == user])


def test_fold_in_reproduces_users_in_the_graph_given_their_id_embeddings(trained: tuple) -> None:
    _, _, fitted, record = trained
    fold = record.fold_in
    assert fold is not None and fold.kind == "routed"
    assert {"bridge_proj", "ease_user_map", "text_user_map", "text_proj"} <= set(fold.blocks)
    model = fitted.model
    know = model.knowledge.user_emb.weight.detach().numpy()
    collab = model.collaborative.user_emb.weight.detach().numpy()
    cold = model.cold_users.numpy()
    assert cold.any() and (~cold).any()
    for user in range(len(record.user_ids)):
        items = _history(record, user)
        if not len(items):
            continue
        assert fold.is_cold(items) == bool(cold[user])
        vec = fold.user_vector(items, id_embeddings={"knowledge": know[user], "collaborative": collab[user]})
        np.testing.assert_allclose(vec, record.user[user], rtol=1e-4, atol=1e-5)


def test_estimated_ids_rank_a_cold_users_books_by_their_taste(trained: tuple) -> None:
    _, split, _, record = trained
    taste = np.array([(i % 30) // 15 for i in range(60)])  # toy_export: the taste group of each item row
    books = record.scenario_mask("books")
    hits = total = 0
    assert len(split.slices["cold"])
    for user in split.slices["cold"]:
        history = [record.item_keys[i] for i in _history(record, int(user))]  # movies only: a cold user
        _, rows = fold_in_user(record, history)
        assert not record.fold_in.target_items[rows].any()
        top = recommend_history(record, history, scenario="books", k=5)
        assert len(top) == 5 and all(r.item_id.startswith("b") for r in top)
        assert [r.rank for r in top] == [1, 2, 3, 4, 5]
        group = np.bincount(taste[rows]).argmax()
        row_of = record.item_row()
        hits += sum(taste[row_of[("books", r.item_id)]] == group for r in top)
        total += len(top)
        assert books.sum() >= 5
    assert hits / total >= 0.8  # the user's taste (two groups): 0.5 by chance


def test_fold_in_survives_the_run_folder(trained: tuple, tmp_path: Path) -> None:
    _, _, _, record = trained
    (tmp_path / "run").mkdir()
    saved = write_run(tmp_path / "run", record)
    loaded = load_run(saved.path)
    assert loaded.fold_in is not None and loaded.fold_in.weights == record.fold_in.weights
    history = [("movies", "m00"), ("movies", "m03"), (None, "m07")]
    first = recommend_history(record, history, scenario="books", k=10)
    again = recommend_history(loaded, history, scenario="books", k=10)
    assert [(r.item_id, r.rank) for r in first] == [(r.item_id, r.rank) for r in again]
    np.testing.assert_allclose([r.score for r in first], [r.score for r in again], rtol=1e-6)
    # a history with a book is a warm user: the book is not recommended back, and the list differs
    warm = recommend_history(record, [*history, ("books", "b01")], scenario="books", k=10)
    assert "b01" not in {r.item_id for r in warm}


def test_bad_histories_are_named(trained: tuple) -> None:
    _, _, _, record = trained
    with pytest.raises(InputDataError, match="empty"):
        recommend_history(record, [], scenario="books")
    with pytest.raises(InputDataError, match=r"not in run toy.*movies:nope"):
        recommend_history(record, [("movies", "nope")], scenario="books")
    with pytest.raises(InputDataError, match="k must be"):
        recommend_history(record, [("movies", "m00")], scenario="books", k=0)
    with pytest.raises(ConfigError, match="scenario 'music'"):
        recommend_history(record, [("movies", "m00")], scenario="music")
    without = dataclasses.replace(record, fold_in=None)
    with pytest.raises(ConfigError, match="cannot fold in"):
        recommend_history(without, [("movies", "m00")], scenario="books")


def test_items_added_after_training_get_the_vector_the_model_gives_an_item_without_interactions() -> None:
    export, x = toy_export()
    split = coldstart_items(export, target="books", seed=0)
    fitted = fit(export, split, model_spec("graphrec", dim=8, ease=16), CONFIG, target="books", item_x=x)
    record = record_run(fitted, export, split, CONFIG, name="toy-items", target="books", source="movies")
    counts = np.bincount(split.train[1], minlength=len(export.item_keys))
    new = np.flatnonzero((counts == 0) & record.scenario_mask("books"))  # held out: text and topics only
    assert len(new) >= 3
    on = np.isin(export.has_topic[0], new)
    position = {int(i): k for k, i in enumerate(new)}
    edges = np.array([[position[int(i)] for i in export.has_topic[0, on]], export.has_topic[1, on]])
    scen = export.item_scenario[new]
    vectors, _ = item_vectors(
        record.fold_in,
        scen,
        np.ones(len(new), bool),
        x[new],
        topic_edges=edges,
        topic_weight=export.has_topic_weight[on],
    )
    np.testing.assert_allclose(vectors, record.item[new], rtol=1e-4, atol=1e-5)
    # add_items appends them (rows after the trained ones) and a history may name them
    keys = [("books", f"new{k}") for k in range(len(new))]
    grown_run = add_items(record, keys, x[new], topic_edges=edges, topic_weight=export.has_topic_weight[on])
    assert grown_run.item_keys[-len(new) :] == keys and len(grown_run.item) == len(record.item) + len(new)
    np.testing.assert_allclose(grown_run.item[-len(new) :], record.item[new], rtol=1e-4, atol=1e-5)
    top = recommend_history(grown_run, [("movies", "m00"), ("books", "new0")], scenario="books", k=60)
    assert "new0" not in {r.item_id for r in top} and {"new1", "new2"} <= {r.item_id for r in top}
    with pytest.raises(ConfigError, match="already in run"):
        add_items(grown_run, keys[:1], x[new[:1]])
    with pytest.raises(ConfigError, match="not in run"):
        add_items(record, [("music", "x")], x[:1])


def test_history_files_name_the_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "h.csv"
    good.write_text("scenario,item_id\n# a comment\nmovies,m01\n\nb07\n")
    assert read_history(good) == [("movies", "m01"), (None, "b07")]
    bad = tmp_path / "bad.csv"
    bad.write_text("movies,m01\nmovies,m02,5\n")
    with pytest.raises(InputDataError, match=r"bad.csv:2: 'movies,m02,5' is not 'scenario,item_id'"):
        read_history(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("item_id\n")
    with pytest.raises(InputDataError, match="holds no item"):
        read_history(empty)
    with pytest.raises(InputDataError, match="cannot read history file"):
        read_history(tmp_path / "missing.csv")
