"""New users and new items without retraining, on a real store: `graphrec recommend --history` folds a user
in from a history file; items ingested and embedded after training are added by `graphrec refresh` and
recommended; a second refresh adds nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from graphrec import api
from graphrec.store.bolt import GraphStore
from graphrec.store.connect import StoreConfig
from graphrec.train.config import TrainConfig
from ingest import api as ingest_api
from ingest.sources.synthetic import generate
from tests.helpers import invoke

NEW_BOOKS = [
    ("bnew0", "The Dragon Road", "fantasy", "A saga about dragons, wizards and a quest."),
    ("bnew1", "The Wizard Years", "fantasy", "A novel about wizards, spells and dragons."),
    ("bnew2", "The Market Code", "finance", "A guide about markets, stocks and interest."),
]


def _new_books_spec(folder: Path) -> Path:
    """A spec adding three books (and one new user's interaction with one of them) to the synthetic graph."""
    folder.mkdir(parents=True)
    with open(folder / "items.tsv", "w", encoding="utf-8") as fh:
        fh.write("item_id\ttitle\ttheme\tdescription\n")
        fh.writelines("\t".join(row) + "\n" for row in NEW_BOOKS)
    (folder / "interactions.tsv").write_text("user_id\titem_id\trating\ttimestamp\nunew\tbnew2\t5\t1700000000\n")
    spec = folder / "new_books.toml"
    spec.write_text(
        '[[scenario]]\nname = "books"\n'
        'interactions = { path = "interactions.tsv", format = "tsv", user = "user_id", item = "item_id", '
        'rating = "rating", timestamp = "timestamp" }\n'
        'items = { path = "items.tsv", format = "tsv", id = "item_id", title = "title", text = ["description"], '
        'categories = "theme" }\n',
        encoding="utf-8",
    )
    return spec


def test_new_users_by_history_and_new_items_by_refresh(
    store: GraphStore, store_config: StoreConfig, tmp_path: Path
) -> None:
    home = store_config.home
    files = generate(tmp_path / "data", seed=0, users=80, items_per_scenario=50)
    ingest_api.ingest(store, files.spec, home=home)
    api.embed(store, home=home)
    ingest_api.extract_topics(store, method="discovered", n_topics=6, home=home)
    run = api.train(store, target="books", source="movies", config=TrainConfig(epochs=4, batch_size=256), home=home)
    folder = run.save(tmp_path / "run")
    assert (folder / "foldin.npz").exists()

    # a user the run has never seen, from a history file of movies (and a bare id)
    movies = [key for key in run.record.item_keys if key[0] == "movies"][:3]
    history = tmp_path / "history.csv"
    history.write_text("scenario,item_id\n" + "".join(f"{s},{i}\n" for s, i in movies[:2]) + f"{movies[2][1]}\n")
    out = invoke(store_config, "recommend", "--run", str(folder), "--history", str(history), "-k", "5")
    expected = run.recommend_history([(s, i) for s, i in movies], k=5)
    assert len(expected) == 5 and all(r.item_id in out for r in expected)
    assert "(history)" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("movies,nope\n")
    err = invoke(store_config, "recommend", "--run", str(folder), "--history", str(bad), ok=False)
    assert "not in run" in err and "movies:nope" in err

    # new books after training: ingest, embed, refresh
    ingest_api.ingest(store, _new_books_spec(tmp_path / "new"), home=home)
    out = invoke(store_config, "refresh", "--run", str(folder))
    assert "skipped 3 new item(s) without text features" in out or "0 new item(s) added" in out  # not embedded yet
    api.embed(store, home=home)
    out = invoke(store_config, "refresh", "--run", str(folder))
    assert "3 new item(s) added" in out
    refreshed = api.load_run(folder)
    new_keys = [("books", row[0]) for row in NEW_BOOKS]
    assert refreshed.record.item_keys[-3:] == new_keys and len(refreshed.record.item) == len(run.record.item) + 3
    assert np.array_equal(refreshed.record.item[: len(run.record.item)], run.record.item)  # trained rows unchanged
    assert refreshed.config["refreshed"][-1]["items_added"] == 3
    # the new books are ranked for every user (k = every book), and a history may name one
    n_books = int(refreshed.record.scenario_mask("books").sum())
    user = refreshed.record.user_ids[int(refreshed.record.slices["cold"][0])]
    ranked = {r.item_id for r in refreshed.recommend([user], k=n_books).rows}
    assert {k for _, k in new_keys} <= ranked
    with_new = refreshed.recommend_history([movies[0], ("books", "bnew0")], k=n_books)
    assert "bnew0" not in {r.item_id for r in with_new} and "bnew1" in {r.item_id for r in with_new}
    # the fantasy books are nearer each other than the finance one, by the model's own item vectors
    rows = {key: k for k, key in enumerate(refreshed.record.item_keys)}
    item = refreshed.record.item
    cos = lambda a, b: float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # noqa: E731
    a, b, c = (item[rows[k]] for k in new_keys)
    assert cos(a, b) > cos(a, c)
    # a second refresh finds nothing new
    assert "0 new item(s) added" in invoke(store_config, "refresh", "--run", str(folder))
