"""The cold-item (``--split coldstart-items``) and sparse-target (``--target-fraction``) protocols through
``graphrec train`` on the embedded ArcadeDB store, on the quickstart's synthetic data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from graphrec.data.export import export_graph
from graphrec.store.connect import StoreConfig, open_store
from graphrec.train.rundir import load_run
from tests.helpers import invoke

pytestmark = pytest.mark.arcadedb


@pytest.fixture
def graph(request: pytest.FixtureRequest) -> StoreConfig:
    """The quickstart graph (synthetic, 120 users, 90 items per scenario, embedded and with topics) on ArcadeDB."""
    cfg = StoreConfig(home=request.getfixturevalue("arcadedb_home"))
    with open_store(cfg) as store:
        store.clear()
    invoke(cfg, "quickstart", "--users", "120", "--items", "90")
    return cfg


def test_train_on_the_cold_item_and_sparse_target_protocols(graph: StoreConfig, tmp_path: Path) -> None:
    items_dir, sparse_dir = tmp_path / "items", tmp_path / "sparse"
    out = invoke(
        graph,
        "train",
        "--target",
        "books",
        "--split",
        "coldstart-items",
        "--epochs",
        "2",
        "--no-write-back",
        "--out",
        str(items_dir),
    )
    assert "test metrics (coldstart-items split, books)" in out
    run = load_run(items_dir)
    meta = run.config["split"]
    assert meta["protocol"] == "coldstart-items" and meta["item_fraction"] == 0.2 and meta["seed"] == 0
    assert meta["target_fraction"] == 1.0 and meta["test_items"] == round(0.2 * meta["interacted_target_items"])
    # no held-out item has a training interaction; the test users are those with a held-out-item interaction
    held = np.unique(np.concatenate([run.test[1], run.val[1]]))
    assert held.size == meta["test_items"] + meta["val_items"] and not np.isin(run.train[1], held).any()
    metrics = json.loads((items_dir / "metrics.json").read_text())["metrics"]
    assert {"all", "held-out-items", "warm"} <= set(metrics)
    assert metrics["all"]["users"] == meta["test_users"] == len(np.unique(run.test[0]))
    assert all(0.0 <= m["recall@20"] <= 1.0 for m in metrics.values())
    evaluated = json.loads(invoke(graph, "evaluate", "--run", str(items_dir), "--format", "json"))["metrics"]
    for s in ("all", "held-out-items", "warm"):  # every ranking is reproduced from the saved run
        assert evaluated[s]["recall@20"] == pytest.approx(metrics[s]["recall@20"], abs=1e-6)

    invoke(graph, "train", "--target", "books", "--source", "movies", "--target-fraction", "0.05", "--epochs", "2",
           "--no-write-back", "--out", str(sparse_dir))  # fmt: skip
    sparse = load_run(sparse_dir)
    meta = sparse.config["split"]
    assert meta["protocol"] == "coldstart-transfer" and meta["target_fraction"] == 0.05
    assert 0 < meta["target_train_kept"] < 0.1 * meta["target_train_before"]
    books = sparse.scenario_mask("books")
    assert int(books[sparse.train[1]].sum()) == meta["target_train_kept"]
    assert {"all", "cold", "warm"} <= set(json.loads((sparse_dir / "metrics.json").read_text())["metrics"])


def test_a_production_model_selects_its_cold_path_on_simulated_cold_users(graph: StoreConfig, tmp_path: Path) -> None:
    run_dir = tmp_path / "prod"
    # no --source: the quickstart graph's other scenario is the one cold users come from
    out = invoke(
        graph,
        "train",
        "--target",
        "books",
        "--split",
        "none",
        "--epochs",
        "3",
        "--no-write-back",
        "--out",
        str(run_dir),
    )
    assert "cold path selected on" in out and "simulated-cold users" in out
    assert "validation pairs carved from training, then trained again on all" in out
    run = load_run(run_dir)
    split_meta = run.config["split"]
    assert (split_meta["protocol"], split_meta["source"], split_meta["target"]) == ("none", "movies", "books")
    assert run.config["source"] == "movies"
    assert run.test.shape[1] == 0 and run.val.shape[1] == 0  # nothing held out: every interaction trains
    with open_store(graph) as store:
        assert run.train.shape[1] == export_graph(store).interactions.shape[1]
    all_selected = json.loads((run_dir / "metrics.json").read_text())["selected"]
    refit = all_selected["refit"]  # selected on validation carved from training, then trained on everything
    assert refit["validation"]["carved_from"] == "train" and refit["validation"]["pairs"] > 0
    assert set(refit["choices"]["epochs"]) == {"knowledge", "collaborative"}
    assert all(1 <= n <= 3 for n in refit["choices"]["epochs"].values())
    assert all_selected["item_gate"]["gate_count"] == refit["choices"]["gate_count"]
    selected = all_selected["cold_path"]
    assert selected["selected_on"] == "val-simulated-cold"
    record = selected["record"]
    assert record["val_pairs"] == 0 and record["hidden_train_pairs"] > 0 and record["users"] >= 1
    assert 1 <= selected["refit"]["epochs"] <= 3
