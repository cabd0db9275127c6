"""``--device`` on the commands that run torch (issue 14 item 4), on both stores: ``graphrec train`` records
the device it trained on, and ``cpu`` and ``auto`` train the same run on a machine without a GPU;
``recommend`` scores on the device given (the same lists on ``cpu`` and ``auto``); ``embed`` records its
encoder's device; ``cuda`` without a GPU stops each command with the fix before any work, and a name
that is no device is a usage error. GPU paths are exercised where torch sees a GPU (``auto`` is then the
GPU), never faked.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from graphrec.cli import cli
from graphrec.features import ItemFeatures
from graphrec.store.connect import StoreConfig
from ingest.sources.synthetic import generate
from tests.helpers import cli_args, invoke

GPU = torch.cuda.is_available()
TRAIN = ["train", "--target", "books", "--source", "movies", "--model", "lightgcn-merged", "--dim", "8",
         "--epochs", "2", "--no-write-back"]  # fmt: skip
NO_GPU = "torch.cuda.is_available() is False"


@pytest.fixture
def graph(store_config: StoreConfig, tmp_path: Path) -> StoreConfig:
    """60 synthetic users, 30 movies and 30 books, with the items' themes as metadata topics."""
    files = generate(tmp_path / "data", seed=5, users=60, items_per_scenario=30)
    invoke(store_config, "ingest", str(files.spec))
    invoke(store_config, "topics", "extract", "--method", "metadata")
    return store_config


def run_cli(cfg: StoreConfig, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*cli_args(cfg), *args])
    return result.exit_code, result.stdout, result.stderr


def test_train_and_recommend_on_cpu_and_auto(graph: StoreConfig, tmp_path: Path) -> None:
    runs = {name: tmp_path / name for name in ("cpu", "auto")}
    for name, folder in runs.items():
        invoke(graph, *TRAIN, "--device", name, "--out", str(folder))
    configs = {name: json.loads((folder / "config.json").read_text()) for name, folder in runs.items()}
    assert configs["cpu"]["train"]["device"] == "cpu"
    assert configs["auto"]["train"]["device"] == ("cuda:0" if GPU else "cpu")  # the device resolved, recorded
    with np.load(runs["cpu"] / "embeddings.npz") as cpu, np.load(runs["auto"] / "embeddings.npz") as auto:
        assert cpu.files == auto.files
        for key in ("user", "item"):
            if GPU:
                assert np.isfinite(auto[key]).all()
            else:
                assert np.array_equal(cpu[key], auto[key]), key  # same seed, same device: the same run
    # serving: the same lists scored on either device
    users = tmp_path / "users.txt"
    users.write_text("user_id\n" + "\n".join(f"u{k:04d}" for k in range(0, 60, 7)) + "\n")
    lists = {}
    for name in ("cpu", "auto"):
        out = tmp_path / f"recs-{name}.csv"
        invoke(graph, "recommend", "--run", str(runs["cpu"]), "--users", str(users), "-k", "5", "--device", name,
               "--output", str(out))  # fmt: skip
        lists[name] = [line.split(",")[:3] for line in out.read_text().splitlines()]
    assert len(lists["cpu"]) == 1 + 9 * 5 and lists["auto"] == lists["cpu"]


def test_cuda_without_a_gpu_and_unknown_devices_stop_before_any_work(graph: StoreConfig, tmp_path: Path) -> None:
    for args in (
        [*TRAIN, "--out", str(tmp_path / "run")],
        ["recommend", "--user", "u0001", "--run", str(tmp_path)],
        ["embed", "--out", str(tmp_path / "features.npz")],
    ):
        code, _, err = run_cli(graph, *args, "--device", "tpu")
        assert code == 2 and "Invalid value for '--device': unknown device 'tpu'; use auto, cpu, cuda or cuda:N" in err
        if GPU:
            continue
        code, out, err = run_cli(graph, *args, "--device", "cuda")
        assert code == 1, out + err
        assert err.startswith("error: no CUDA device") and NO_GPU in err and "use --device cpu or auto" in err, err
        assert "Traceback" not in err
    assert not (tmp_path / "run").exists() and not (tmp_path / "features.npz").exists()


def test_embed_records_its_device(graph: StoreConfig, tmp_path: Path) -> None:
    out = tmp_path / "features.npz"
    text = invoke(graph, "embed", "--device", "auto", "--out", str(out))
    device = "cuda:0" if GPU else "cpu"
    assert f", on {device}): " in text
    features = ItemFeatures.load(out)
    assert features.meta["device"] == device and len(features.ids) == 60
