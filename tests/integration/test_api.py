"""graphrec's Python API (graphrec.api) end to end on a real store: embed → train → write back the run as
it is in memory (no run folder at all) → recommend → explain → save → load; and `graphrec train`
writing back its in-memory run, never reading it back from disk."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import graphrec.train.rundir as rundir
from graphrec import api
from graphrec.errors import ConfigError
from graphrec.store.bolt import GraphStore
from graphrec.store.connect import StoreConfig
from graphrec.train.config import TrainConfig
from ingest import api as ingest_api
from ingest.sources.synthetic import generate
from tests.helpers import invoke


def test_the_pipeline_in_python_writes_back_the_run_in_memory(
    store: GraphStore, store_config: StoreConfig, tmp_path: Path
) -> None:
    home = store_config.home
    files = generate(tmp_path / "data", seed=0, users=80, items_per_scenario=50)
    ingest_api.ingest(store, files.spec, home=home)
    report = api.embed(store, home=home)
    assert report.items == 100 and report.dim == 384 and report.path.exists()
    ingest_api.extract_topics(store, method="discovered", n_topics=6, home=home)

    with pytest.raises(ConfigError, match="target scenario 'comics' is not in the graph"):
        api.train(store, target="comics", home=home)  # before any export or training
    run = api.train(store, target="books", source="movies", config=TrainConfig(epochs=8, batch_size=256), home=home)
    assert run.path is None and not (home / "runs" / run.name).exists()  # nothing on disk yet
    assert set(run.metrics) >= {"all", "cold", "warm"} and run.fitted is not None and run.split is not None
    emb = run.embeddings()
    assert emb["user"].shape == (len(run.record.user_ids), emb["item"].shape[1])

    wrote = run.write_back(store, k=5)  # the in-memory run: no folder to read
    assert wrote.run == run.name and wrote.recommended == 5 * len(run.record.user_ids)
    edges = store.read("MATCH (:User)-[r:RECOMMENDED]->(:Item) RETURN collect(DISTINCT r.run) AS runs, count(r) AS n")[
        0
    ]
    assert edges == {"runs": [run.name], "n": wrote.recommended}
    cold_user = run.record.user_ids[int(run.record.slices["cold"][0])]
    recs = run.recommend([cold_user], k=5)
    assert [r.rank for r in recs.rows] == [1, 2, 3, 4, 5]
    written = store.read(
        "MATCH (:User {id: $u})-[r:RECOMMENDED]->(i:Item) RETURN i.id AS item ORDER BY r.rank", {"u": cold_user}
    )
    assert [r["item"] for r in written] == [r.item_id for r in recs.rows]  # serving and the graph agree
    why = run.explain(store, cold_user, recs.rows[0].item_id, from_scenario="movies")
    assert why.recommendation is not None and why.recommendation["rank"] == 1

    folder = run.save(tmp_path / "saved")
    assert run.path == folder and run.name == "saved"  # named after its folder from now on
    loaded = api.load_run(folder)
    assert np.array_equal(loaded.record.user, emb["user"]) and loaded.record.user_ids == run.record.user_ids
    for s in ("all", "cold", "warm"):
        assert loaded.evaluate()[s]["recall@20"] == pytest.approx(run.metrics[s]["recall@20"], abs=1e-6)


def test_graphrec_train_writes_back_its_in_memory_run(
    store: GraphStore, store_config: StoreConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke(store_config, "quickstart", "--users", "60", "--items", "30")

    def no_disk_round_trip(path: Path) -> None:
        raise AssertionError(f"graphrec train read its run back from {path}")

    monkeypatch.setattr(rundir, "load_run", no_disk_round_trip)
    run_dir = tmp_path / "run"
    out = invoke(
        store_config, "train", "--target", "books", "--source", "movies", "--epochs", "3", "--out", str(run_dir)
    )
    assert f"write-back ({run_dir.name})" in out
    runs = store.read("MATCH (:User)-[r:RECOMMENDED]->(:Item) RETURN collect(DISTINCT r.run) AS runs")[0]["runs"]
    assert runs == [run_dir.name]
    assert json.loads((run_dir / "metrics.json").read_text())["run"] == run_dir.name
