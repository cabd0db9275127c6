"""Non-finite models (issue 11 item 7): training stops on a NaN/inf loss or parameter with an error that
names what went non-finite, the epoch and channel, the learning rate and the fix; nothing is saved; a
run folder holding non-finite embeddings is refused by ``evaluate`` and ``recommend`` (no NaN scores,
no plausible-looking metrics)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from graphrec.cli import cli
from graphrec.data.splits import coldstart_transfer
from graphrec.errors import RunFolderError, TrainingDivergedError
from graphrec.models.presets import model_spec
from graphrec.train.config import TrainConfig
from graphrec.train.fit import fit
from graphrec.train.loop import check_finite
from graphrec.train.rundir import latest_run, load_run, save_run
from tests.helpers import toy_export


@pytest.mark.parametrize(
    ("model", "where"), [("graphrec", "epoch 0 of the knowledge channel"), ("bpr-mf", "epoch 0 with")]
)
def test_a_huge_learning_rate_stops_training_with_the_fix(model: str, where: str) -> None:
    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    with pytest.raises(TrainingDivergedError) as e:
        fit(
            export,
            split,
            model_spec(model, dim=8),
            TrainConfig(epochs=3, batch_size=64, lr=1e30),
            target="books",
            item_x=x,
        )
    message = str(e.value)
    assert "the BPR loss is nan" in message and where in message, message
    assert "learning rate 1e+30" in message and "Lower the learning rate (graphrec train --lr" in message, message


def test_non_finite_parameters_stop_training_too() -> None:
    model = torch.nn.Linear(2, 2)
    check_finite(model, 0.5, epoch=3, config=TrainConfig(lr=0.1))  # all finite: no error
    with torch.no_grad():
        model.bias[1] = float("inf")
    with pytest.raises(
        TrainingDivergedError, match=r"the parameters bias hold NaN or inf after epoch 3 of the x channel"
    ):
        check_finite(model, 0.5, epoch=3, config=TrainConfig(lr=0.1), channel="x")


def test_non_finite_embeddings_are_never_saved(tmp_path: Path) -> None:
    export, _ = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    cfg = TrainConfig(epochs=1, batch_size=256, lr=0.01)
    fitted = fit(export, split, model_spec("bpr-mf", dim=8), cfg, target="books")
    run = tmp_path / "runs" / "r"
    run.mkdir(parents=True)
    save_run(run, fitted, export, split, cfg, target="books", source="movies")
    assert load_run(run)  # a complete, valid run
    assert fitted.model is not None
    with torch.no_grad():
        fitted.model.user_emb.weight[3, 0] = float("nan")
    with pytest.raises(TrainingDivergedError, match=r"1 of 80 user embeddings of the trained model are not finite"):
        save_run(run, fitted, export, split, cfg, target="books", source="movies")
    # refused before touching the folder: the earlier run is still there and complete
    assert latest_run(run.parent) == run and load_run(run)


def test_evaluate_and_recommend_refuse_a_run_with_nan_embeddings(tmp_path: Path) -> None:
    export, _ = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    cfg = TrainConfig(epochs=1, batch_size=256, lr=0.01)
    fitted = fit(export, split, model_spec("bpr-mf", dim=8), cfg, target="books")
    run = tmp_path / "home" / "runs" / "train-20260101-000000-bpr-mf-s0"
    run.mkdir(parents=True)
    save_run(run, fitted, export, split, cfg, target="books", source="movies")
    with np.load(run / "embeddings.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["user"][:77] = np.nan  # what `train --lr 1e30` used to save: most users NaN
    with (run / "embeddings.npz").open("wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(RunFolderError, match="77 of 80 user embeddings are not finite"):
        load_run(run)
    home = ["--home", str(tmp_path / "home"), "--no-progress"]
    for args in (["evaluate"], ["recommend", "--user", "u00"]):  # the latest run, found by latest_run
        result = CliRunner().invoke(cli, [*home, *args])
        assert result.exit_code == 1 and "nan" not in result.stdout, result.output
        assert f"error: training run {run} is unusable" in result.stderr and "lower learning rate" in result.stderr
    shutil.rmtree(run)
