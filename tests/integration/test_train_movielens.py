"""Real data: MovieLens-100K from ../shared/data through the CLI (ingest → embed → topics → train →
evaluate), on the embedded store: graphrec learns, beats popularity, and the run evaluates the same
from disk. (The full comparison over seeds is bench/train_bench.py; this guards the path.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphrec.cli import cli
from graphrec.store.connect import StoreConfig
from tests.helpers import REPO, cli_args

SPEC = REPO / "ingest" / "specs" / "ml-100k.toml"


def invoke(cfg: StoreConfig, *args: str) -> str:
    result = CliRunner().invoke(cli, [*cli_args(cfg), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
@pytest.mark.data("ml-100k")
def test_movielens_100k_graphrec_beats_popularity(arcadedb_home: Path, shared_data: Path, tmp_path: Path) -> None:
    from graphrec.store.connect import open_store

    cfg = StoreConfig(home=arcadedb_home)
    with open_store(cfg) as store:
        store.clear()
    invoke(cfg, "ingest", str(SPEC))
    invoke(cfg, "embed")
    invoke(cfg, "topics", "extract", "--method", "metadata")
    metrics = {}
    for model, epochs in (("popularity", "1"), ("graphrec", "8")):
        run = tmp_path / model
        out = invoke(
            cfg,
            "train",
            "--target",
            "movies",
            "--model",
            model,
            "--epochs",
            epochs,
            "--no-write-back",
            "--out",
            str(run),
        )
        assert "test metrics (random split, movies)" in out
        metrics[model] = json.loads((run / "metrics.json").read_text())["metrics"]["all"]
        again = json.loads(invoke(cfg, "evaluate", "--run", str(run), "--format", "json"))["metrics"]["all"]
        assert again["recall@20"] == pytest.approx(metrics[model]["recall@20"], abs=1e-6)
    # 943 users with ≥3 ratings hold out 10% each; full ranking over 1,682 movies
    assert metrics["graphrec"]["users"] == 943
    assert metrics["graphrec"]["recall@20"] > 1.3 * metrics["popularity"]["recall@20"], metrics
