"""Multi-process mini-batch training (``torch.distributed``, gloo, 2 CPU processes) on a tiny graph, for real.

With every neighbour sampled, two processes train the same model as one process running the same plan (the
same global batches, each cut in two, the loss scaled so that the all-reduced gradient is the one-process
gradient); a run is deterministic under its seed; the processes agree on every epoch's validation figure,
stop together and end with the same weights.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from graphrec.home import runs_dir
from graphrec.store.arcade_process import free_port
from graphrec.store.connect import StoreConfig, open_store
from graphrec.train.rundir import load_run
from ingest.sources.synthetic import generate
from tests.helpers import cli_args, invoke

pytestmark = pytest.mark.usefixtures("neighbor_sampling")

EPOCHS = 6
HOPS = {"all": (-1, -1), "sampled": (4, 4)}


def _train(rank: int, world_size: int, port: int, out: str) -> None:
    """One process of a group: train the toy model once per entry of :data:`HOPS`, save what it ended with."""
    import torch.distributed as dist

    from graphrec.data.export import to_hetero_data
    from graphrec.models.lightgcn import CrossScenarioLightGCN, normalized_adjacency
    from graphrec.train.config import TrainConfig
    from graphrec.train.loop import train_bpr
    from tests.helpers import toy_training_data
    from tests.unit.test_minibatch import graph

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        train, val, _, item_scenario, item_x, _ = toy_training_data()
        export, _ = graph(train, item_scenario, n_users=60, n_topics=5)
        adj = normalized_adjacency(60, 60, 5, train, export.has_topic, export.has_topic_weight)
        saved: dict[str, Any] = {}
        for name, hops in HOPS.items():
            torch.manual_seed(0)
            model = CrossScenarioLightGCN(60, 60, 5, dim=16, num_layers=2, item_x=item_x)
            config = TrainConfig(
                epochs=EPOCHS, batch_size=64, lr=0.05, patience=EPOCHS, k=10, seed=0, num_neighbors=hops
            )
            result = train_bpr(
                model, adj, train, val, item_scenario, item_scenario == 1, config, data=to_hetero_data(export, train)
            )
            with torch.inference_mode():
                embeddings, _ = model.propagate(adj)
            saved[name] = {"embeddings": embeddings.clone(), "history": result.history, "best": result.best_epoch}
        torch.save(saved, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


PRELOAD = ["torch", "graphrec.train.loop", "graphrec.data.export", "tests.unit.test_minibatch", __name__]
"""Imported once by the fork server that starts every group's processes (importing PyG takes seconds)."""


def run_group(world_size: int, out: Path) -> list[dict[str, Any]]:
    """Train in ``world_size`` fresh processes (forked from a server that imported :data:`PRELOAD`); what
    each rank saved."""
    import multiprocessing

    import torch.multiprocessing as mp

    out.mkdir()
    multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
    old = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        mp.start_processes(
            _train, args=(world_size, free_port(), str(out)), nprocs=world_size, join=True, start_method="forkserver"
        )
    finally:
        if old is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = old
    return [torch.load(out / f"rank{r}.pt") for r in range(world_size)]


def test_two_processes_train_the_one_process_model_and_are_deterministic(tmp_path: Path) -> None:
    (one,) = run_group(1, tmp_path / "one")
    two = run_group(2, tmp_path / "two")
    again = run_group(2, tmp_path / "again")
    for name in HOPS:
        # every process ends with the same weights, and with the same history (rank 0's validation, broadcast)
        assert torch.equal(two[0][name]["embeddings"], two[1][name]["embeddings"]), name
        assert two[0][name]["history"] == two[1][name]["history"], name
        # deterministic under the seed: a second 2-process run equals the first, bit for bit
        assert torch.equal(two[0][name]["embeddings"], again[0][name]["embeddings"]), name
        assert two[0][name]["history"] == again[0][name]["history"], name
        assert len(two[0][name]["history"]) == EPOCHS
    # with every neighbour sampled, 2 processes train the 1-process model: the same global batches and
    # negatives, the gradient of the same mean loss; only the order of float sums differs (each process
    # propagates a half-batch subgraph, and the all-reduce adds two partial gradients)
    a, b = one["all"]["embeddings"], two[0]["all"]["embeddings"]
    print("max |1 - 2 processes|:", float((a - b).abs().max()), "scale:", float(a.abs().max()))
    torch.testing.assert_close(b, a, atol=1e-4, rtol=1e-4)
    losses = np.array([[h["loss"] for h in r["all"]["history"]] for r in (one, two[0])])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-5)
    # sampled neighbourhoods differ between 1 and 2 processes (each samples its own shard): not equal, but
    # both train (BPR loss of an untrained model: log 2)
    for r in (one, two[0]):
        assert r["sampled"]["history"][-1]["loss"] < 0.8 * np.log(2)
    assert not torch.equal(one["sampled"]["embeddings"], two[0]["sampled"]["embeddings"])


def torchrun(cfg: StoreConfig, nproc: int, *args: str) -> subprocess.CompletedProcess[str]:
    """``torchrun --nproc-per-node nproc -m graphrec <the store of cfg> *args``, for real."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [*cmd, "-m", "graphrec", *cli_args(cfg), *args], capture_output=True, text=True, env=env, timeout=600
    )


@pytest.mark.parametrize("backend", ["arcadedb"])
def test_torchrun_trains_on_two_processes_and_rank_0_alone_saves_and_writes_back(
    store_config: StoreConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = generate(tmp_path / "data", seed=0, users=60, items_per_scenario=30)
    invoke(store_config, "ingest", str(files.spec))
    runs_before = sorted(runs_dir(store_config.home).glob("*")) if runs_dir(store_config.home).exists() else []
    train = ["train", "--target", "books", "--model", "lightgcn-merged", "--split", "random", "--epochs", "3",
             "--batch-size", "128", "--num-neighbors", "-1,-1,-1"]  # fmt: skip
    # the one-process group in this process, as torchrun sets it up for one process (saves a launch)
    with monkeypatch.context() as env:
        launch = {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1"}
        for name, value in {**launch, "MASTER_PORT": str(free_port())}.items():
            env.setenv(name, value)
        invoke(store_config, *train, "--no-write-back", "--out", str(tmp_path / "one"))
    two = torchrun(store_config, 2, *train, "--out", str(tmp_path / "two"))
    assert two.returncode == 0, two.stderr[-3000:]
    # rank 0 alone prints, saves and writes back (rank 1 has no store, and took no write lock: it would have
    # failed on rank 0's); no other run folder appeared in the home
    assert two.stdout.count("test metrics (random split, books)") == 1, two.stdout
    assert two.stdout.count("write-back (two)") == 1, two.stdout
    assert sorted(runs_dir(store_config.home).glob("*")) == runs_before
    run1, run2 = load_run(tmp_path / "one"), load_run(tmp_path / "two")
    assert run2.config["processes"] == 2 and run1.config["processes"] == 1
    with open_store(store_config) as store:
        written = store.read("MATCH (:User)-[r:RECOMMENDED]->(:Item) RETURN collect(DISTINCT r.run) AS runs")
    assert written == [{"runs": [run2.name]}]
    # every neighbour sampled: two processes trained the one-process model (the same global batches; only
    # the order of float sums differs), through the whole command
    np.testing.assert_allclose(run2.user, run1.user, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(run2.item, run1.item, atol=1e-4, rtol=1e-4)


def test_torchrun_without_num_neighbors_is_refused_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from graphrec.cli import cli

    for name, value in {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["--home", "/nonexistent/graphrec-home", "train", "--target", "books"])
    assert result.exit_code == 2, result.output
    assert "add --num-neighbors" in result.stderr
