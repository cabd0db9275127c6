"""Train → evaluate → write back → recommend → explain through the CLI, on both stores, on the
synthetic two-scenario data (its hidden themes make cold-start transfer learnable)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from graphrec.cli import cli
from graphrec.store.connect import StoreConfig, open_store
from graphrec.train.rundir import load_checkpoint, load_run
from tests.helpers import cli_args, invoke


@pytest.fixture
def graph(store_config: StoreConfig) -> StoreConfig:
    invoke(store_config, "quickstart", "--users", "120", "--items", "90")
    return store_config


def test_train_write_back_recommend_explain(graph: StoreConfig, tmp_path: Path, backend: str) -> None:
    run_dir = tmp_path / "run"
    out = invoke(graph, "train", "--target", "books", "--source", "movies", "--epochs", "25", "--out", str(run_dir))
    assert "test metrics (coldstart split, books)" in out
    run = load_run(run_dir)
    for name in ("config.json", "metrics.json", "curves.png", "model.pt", "embeddings.npz", "split.npz"):
        assert (run_dir / name).exists(), name
    assert (run_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meta = json.loads((run_dir / "metrics.json").read_text())
    assert meta["git"] and meta["versions"]["torch"] and meta["history"]
    assert run.config["train"]["seed"] == 0 and run.config["split"]["protocol"] == "coldstart-transfer"
    cold = run.slices["cold"]
    assert len(cold) > 0
    # evaluation from the saved run reproduces the training-time metrics
    evaluated = json.loads(invoke(graph, "evaluate", "--run", str(run_dir), "--format", "json"))["metrics"]
    for s in ("all", "cold", "warm"):
        assert evaluated[s]["recall@20"] == pytest.approx(meta["metrics"][s]["recall@20"], abs=1e-6)
    # cold users (no book history): clearly better than popularity, trained on the same split
    pop_dir = tmp_path / "popularity"
    invoke(
        graph,
        "train",
        "--target",
        "books",
        "--source",
        "movies",
        "--model",
        "popularity",
        "--no-write-back",
        "--out",
        str(pop_dir),
    )
    pop = json.loads((pop_dir / "metrics.json").read_text())["metrics"]
    assert meta["metrics"]["cold"]["recall@20"] > 1.2 * pop["cold"]["recall@20"], (meta["metrics"]["cold"], pop["cold"])
    # the default model's two channels: BERT projection in the knowledge one, ID embeddings in both
    assert set(load_checkpoint(run_dir)) >= {
        "knowledge.user_emb.weight",
        "knowledge.item_proj.weight",
        "collaborative.item_emb.weight",
    }

    with open_store(graph) as store:
        n_users = store.read("MATCH (u:User) RETURN count(u) AS n")[0]["n"]
        recs = store.read(
            "MATCH (u:User)-[r:RECOMMENDED]->(i:Item) RETURN count(r) AS n, count(DISTINCT u) AS users, "
            "collect(DISTINCT i.scenario) AS scenarios, collect(DISTINCT r.run) AS runs, "
            "min(r.rank) AS lo, max(r.rank) AS hi"
        )[0]
        assert recs == {
            "n": 20 * n_users,
            "users": n_users,
            "scenarios": ["books"],
            "runs": [run.name],
            "lo": 1,
            "hi": 20,
        }
        # serving never recommends what a user already interacted with (held-out pairs included)
        leaked = store.read("MATCH (u:User)-[:RECOMMENDED]->(i:Item)<-[:INTERACTED]-(u) RETURN count(*) AS n")[0]["n"]
        assert leaked == 0
        interests = store.read(
            "MATCH (u:User)-[r:INTERESTED_IN]->(t:Topic) "
            "RETURN count(r) AS n, count(DISTINCT u) AS users, max(r.rank) AS hi"
        )[0]
        assert interests == {"n": 5 * n_users, "users": n_users, "hi": 5}
        emb = store.read(
            "MATCH (i:Item) WHERE i.embedding IS NOT NULL RETURN count(i) AS n, min(size(i.embedding)) AS d"
        )[0]
        # three 64-d blocks of two channels, a prior and the cold users' rank-256 bridge block (the routed
        # default), the warm users' rank-256 EASE block and the 384-d (MiniLM) text block where validation
        # chose them
        text = meta["selected"]["item_gate"].get("text", {}).get("weight", 0.0)
        ease = meta["selected"]["item_gate"].get("ease", {}).get("weight", 0.0)
        assert emb == {"n": len(run.item_keys), "d": 3 * 64 + 1 + 256 + (256 if ease else 0) + (384 if text else 0)}
        # the quickstart-style query: each user's top learned topics
        top = store.run_query(
            "MATCH (u:User {id: $u})-[r:INTERESTED_IN]->(t:Topic) "
            "RETURN t.label AS topic, r.score AS score ORDER BY r.rank",
            {"u": run.user_ids[int(cold[0])]},
        )
        assert len(top.rows) == 5 and top.rows[0]["score"] >= top.rows[-1]["score"]
        if backend == "neo4j":
            names = {r["name"] for r in store.read("SHOW VECTOR INDEXES YIELD name RETURN name")}
            assert {"graphrec_item_embedding", "graphrec_topic_embedding"} <= names
            store.execute_write("CALL db.awaitIndexes(300)", {})
            book = run.item_keys[int(np.flatnonzero(run.scenario_mask("books"))[0])]
            similar = store.read(
                "MATCH (i:Item {scenario: $s, id: $id}) "
                "CALL db.index.vector.queryNodes('graphrec_item_embedding', 5, i.embedding) "
                "YIELD node, score RETURN node.id AS id, score",
                {"s": book[0], "id": book[1]},
            )
            assert len(similar) == 5 and similar[0]["id"] == book[1]
    if backend == "neo4j":
        assert "vector indexes: graphrec_item_embedding, graphrec_topic_embedding" in out
    else:
        assert "vector indexes not created" in out and "no Cypher vector index" in out

    # recommend for cold users from a file, written as CSV with raw ids
    users_file = tmp_path / "users.txt"
    cold_ids = [run.user_ids[u] for u in cold.tolist()]
    users_file.write_text("user_id\n" + "\n".join(cold_ids) + "\n")
    out_csv = tmp_path / "recs.csv"
    invoke(graph, "recommend", "--run", str(run_dir), "--users", str(users_file), "-k", "10", "--output", str(out_csv))
    with out_csv.open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["user_id", "item_id", "rank", "score"]
        rows = list(reader)
    assert len(rows) == 10 * len(cold_ids) and {r["user_id"] for r in rows} == set(cold_ids)
    books = {i for s, i in run.item_keys if s == "books"}
    assert all(r["item_id"] in books for r in rows)
    first = [r for r in rows if r["user_id"] == cold_ids[0]]
    assert [int(r["rank"]) for r in first] == list(range(1, 11))
    assert [float(r["score"]) for r in first] == sorted((float(r["score"]) for r in first), reverse=True)
    # a user the run does not know is an error naming the fix, or reported with --skip-unknown
    err = invoke(graph, "recommend", "--run", str(run_dir), "--user", "no-such-user", ok=False)
    assert "not in run" in err and "--skip-unknown" in err

    # explain the cold user's top recommendation: topic paths from its movies, with scores
    top_item = first[0]["item_id"]
    ex = json.loads(
        invoke(graph, "explain", "--user", cold_ids[0], "--item", top_item, "--scenario", "books", "--format", "json")
    )
    assert ex["recommendation"]["rank"] == 1 and ex["recommendation"]["run"] == run.name
    assert ex["topic_paths"] and all(p["via_items"] >= 1 and p["support"] > 0 for p in ex["topic_paths"])
    assert any(p["affinity"] is not None for p in ex["topic_paths"])
    err = invoke(graph, "explain", "--user", cold_ids[0], "--item", "nope", "--scenario", "books", ok=False)
    assert "not in the graph" in err

    # write-back again (a second run) replaces the first one's edges
    run2 = tmp_path / "run2"
    invoke(
        graph,
        "train",
        "--target",
        "books",
        "--source",
        "movies",
        "--model",
        "lightgcn-merged",
        "--epochs",
        "3",
        "--out",
        str(run2),
    )
    with open_store(graph) as store:
        again = store.read("MATCH ()-[r:RECOMMENDED]->() RETURN count(r) AS n, collect(DISTINCT r.run) AS runs")[0]
        assert again == {"n": 20 * n_users, "runs": ["run2"]}
        assert store.read("MATCH ()-[r:INTERESTED_IN]->() RETURN count(r) AS n")[0]["n"] == 5 * n_users


def test_vector_index_capability(graph: StoreConfig, tmp_path: Path, backend: str) -> None:
    args = ("train", "--target", "books", "--source", "movies", "--model", "bpr-mf", "--epochs", "2", "--vector-index")
    if backend == "arcadedb":
        err = invoke(graph, *args, "--out", str(tmp_path / "r"), ok=False)
        assert "does not support Cypher vector indexes" in err and "Neo4j" in err
    else:
        out = invoke(graph, *args, "--out", str(tmp_path / "r"))
        assert "graphrec_item_embedding" in out


@pytest.mark.usefixtures("neighbor_sampling")
def test_mini_batch_training_from_the_cli(graph: StoreConfig, tmp_path: Path) -> None:
    # LinkNeighborLoader mini-batches (optional extra): the default model, trained on sampled
    # subgraphs, still carries cold users well past popularity, and the run records how it trained
    args = ("train", "--target", "books", "--source", "movies", "--no-write-back")
    invoke(graph, *args, "--model", "popularity", "--out", str(tmp_path / "pop"))
    invoke(
        graph, *args, "--epochs", "25", "--batch-size", "256", "--num-neighbors", "8,8,8", "--out", str(tmp_path / "mb")
    )
    meta = json.loads((tmp_path / "mb" / "metrics.json").read_text())
    pop = json.loads((tmp_path / "pop" / "metrics.json").read_text())["metrics"]
    assert meta["metrics"]["cold"]["recall@20"] > 1.2 * pop["cold"]["recall@20"], (meta["metrics"]["cold"], pop["cold"])
    assert load_run(tmp_path / "mb").config["train"]["num_neighbors"] == [8, 8, 8]
    bad = CliRunner().invoke(cli, [*cli_args(graph), *args, "--num-neighbors", "8,8"])
    assert bad.exit_code == 2 and "one per propagation layer" in bad.stderr
