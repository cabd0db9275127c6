"""Run folders (issue 11 items 8 and 9): a corrupted or incomplete folder is refused by ``load_run`` with
its path, the problem and the fix (no traceback from the CLI); ``latest_run`` picks the newest complete
folder whatever its name (quickstart's ``quickstart-train-seed0`` included) and never an interrupted save.

The corruptions start from a real run: a tiny model trained once per module on the toy two-scenario
export and saved with ``save_run``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from graphrec.cli import cli
from graphrec.data.splits import coldstart_transfer
from graphrec.errors import ConfigError, RunFolderError
from graphrec.models.presets import model_spec
from graphrec.train import rundir
from graphrec.train.config import TrainConfig
from graphrec.train.fit import fit
from graphrec.train.rundir import is_complete, latest_run, load_run, save_run
from tests.helpers import toy_export


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run folder (bpr-mf on the toy export, 2 epochs), saved once per module."""
    export, _ = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    cfg = TrainConfig(epochs=2, batch_size=256, lr=0.01)
    fitted = fit(export, split, model_spec("bpr-mf", dim=8), cfg, target="books")
    path = tmp_path_factory.mktemp("runs") / "train-20260101-000000-bpr-mf-s0"
    path.mkdir()
    save_run(path, fitted, export, split, cfg, target="books", source="movies")
    return path


@pytest.fixture
def run(saved: Path, tmp_path: Path) -> Path:
    """A private copy of the saved run, to corrupt."""
    return Path(shutil.copytree(saved, tmp_path / "runs" / saved.name))


def rewrite_npz(path: Path, change: Callable[[dict[str, np.ndarray]], None]) -> None:
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    with path.open("wb") as f:
        np.savez(f, **arrays)


def rewrite_json(path: Path, change: Callable[[dict], object]) -> None:
    value = json.loads(path.read_text())
    change(value)
    path.write_text(json.dumps(value))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def set_item(arrays: dict[str, np.ndarray], key: str, index: tuple, value: float) -> None:
    arrays[key] = arrays[key].copy()
    arrays[key][index] = value


E, S, C, M = "embeddings.npz", "split.npz", "config.json", "metrics.json"
CORRUPTIONS: dict[str, tuple[Callable[[Path], None], str]] = {
    "embeddings truncated": (lambda d: truncate(d / E), "cannot read embeddings.npz"),
    "embeddings garbage": (lambda d: (d / E).write_bytes(os.urandom(4096)), "cannot read embeddings.npz"),
    "embeddings empty file": (lambda d: (d / E).write_bytes(b""), "cannot read embeddings.npz"),
    "embeddings a lone .npy": (lambda d: np.save((d / E).open("wb"), np.zeros(3)), "not an archive"),
    "split truncated": (lambda d: truncate(d / S), "cannot read split.npz"),
    "config without target": (lambda d: rewrite_json(d / C, lambda c: c.pop("target")), "no target scenario"),
    "config truncated": (lambda d: truncate(d / C), "cannot read config.json"),
    "config not an object": (lambda d: (d / C).write_text("[1, 2]"), "holds a JSON list"),
    "config target not in run": (
        lambda d: rewrite_json(d / C, lambda c: c.update(target="music")),
        "'music' has no items",
    ),
    "metrics garbage": (lambda d: (d / M).write_bytes(b"\xff\xfe{"), "cannot read metrics.json"),
    "metrics missing": (lambda d: (d / M).unlink(), "metrics.json missing"),
    "split missing": (lambda d: (d / S).unlink(), "split.npz missing"),
    "embeddings lack user_ids": (
        lambda d: rewrite_npz(d / E, lambda a: a.pop("user_ids")),
        "lacks the arrays ['user_ids']",
    ),
    "one user row short": (
        lambda d: rewrite_npz(d / E, lambda a: a.update(user=a["user"][:-1])),
        "79 user embedding rows for 80 user ids",
    ),
    "item size differs": (
        lambda d: rewrite_npz(d / E, lambda a: a.update(item=a["item"][:, :4])),
        "embedding sizes differ",
    ),
    "1-d user embeddings": (
        lambda d: rewrite_npz(d / E, lambda a: a.update(user=a["user"][:, 0])),
        "not a 2-D float array",
    ),
    "item ids and scenarios differ": (
        lambda d: rewrite_npz(d / E, lambda a: a.update(item_ids=a["item_ids"][:-1])),
        "59 item ids for 60 item scenarios",
    ),
    "topic rows without ids": (
        lambda d: rewrite_npz(d / E, lambda a: a.update(topic=np.zeros((3, 8), np.float32))),
        "3 topic embedding rows for 0 topic ids",
    ),
    "duplicate user ids": (
        lambda d: rewrite_npz(d / E, lambda a: set_item(a, "user_ids", (1,), a["user_ids"][0])),
        "duplicate user ids",
    ),
    "NaN item embedding": (
        lambda d: rewrite_npz(d / E, lambda a: set_item(a, "item", (5, 0), np.nan)),
        "1 of 60 item embeddings are not finite",
    ),
    "inf user embedding": (
        lambda d: rewrite_npz(d / E, lambda a: set_item(a, "user", (0, 1), np.inf)),
        "1 of 80 user embeddings are not finite",
    ),
    "test user row out of range": (
        lambda d: rewrite_npz(d / S, lambda a: set_item(a, "test", (0, 0), 80)),
        "test holds 1 user row(s) outside 0..79",
    ),
    "val item row negative": (
        lambda d: rewrite_npz(d / S, lambda a: set_item(a, "val", (1, 0), -1)),
        "val holds 1 item row(s) outside 0..59",
    ),
    "train not pairs": (
        lambda d: rewrite_npz(d / S, lambda a: a.update(train=a["train"][0])),
        "not int pairs of shape (2, n)",
    ),
    "float split": (lambda d: rewrite_npz(d / S, lambda a: a.update(test=a["test"].astype(float))), "not int pairs"),
    "slice out of range": (
        lambda d: rewrite_npz(d / S, lambda a: a.update(slice_cold=np.array([0, 999]))),
        "slice 'cold'",
    ),
}


def test_the_saved_run_is_valid_and_complete(saved: Path) -> None:
    run = load_run(saved)
    assert is_complete(saved) and run.config["target"] == "books" and len(run.user_ids) == 80
    assert not list(saved.glob(".*.tmp"))  # atomic writes leave no temporary file


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_a_corrupted_run_is_refused_with_path_problem_and_fix(run: Path, case: str) -> None:
    corrupt, problem = CORRUPTIONS[case]
    corrupt(run)
    with pytest.raises(RunFolderError) as e:
        load_run(run)
    message = str(e.value)
    assert str(run) in message and problem in message, message
    assert "--run" in message and "retrain" in message, message


def test_cli_reports_a_corrupted_run_in_one_line(run: Path, tmp_path: Path) -> None:
    truncate(run / E)
    home = ["--home", str(tmp_path / "home"), "--no-progress"]
    for args in (["evaluate", "--run", str(run)], ["recommend", "--user", "u00", "--run", str(run)]):
        result = CliRunner().invoke(cli, [*home, *args])
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(f"error: training run {run} is unusable: cannot read embeddings.npz")
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_a_missing_run_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RunFolderError, match="does not exist"):
        load_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunFolderError, match=r"config\.json, metrics\.json, embeddings\.npz, split\.npz missing"):
        load_run(tmp_path / "empty")


def _age(path: Path, seconds_ago: float) -> None:
    t = path.stat().st_mtime - seconds_ago
    os.utime(path / "config.json", (t, t))


def test_latest_run_is_any_complete_folder_newest_first(saved: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    runs.mkdir()
    with pytest.raises(ConfigError, match="no complete training run"):
        latest_run(runs)
    (runs / "ingest-20260101-000000-1").mkdir()  # ingest folders are never runs
    (runs / "ingest-20260101-000000-1" / "summary.json").write_text("{}")
    quick = Path(shutil.copytree(saved, runs / "quickstart-train-seed0"))
    assert latest_run(runs) == quick  # issue 11 item 9: quickstart's run is found
    older = Path(shutil.copytree(saved, runs / "train-20250101-000000-bpr-mf-s0"))
    _age(older, 3600)
    assert latest_run(runs) == quick
    newer = Path(shutil.copytree(saved, runs / "my-run"))  # a --out folder placed under runs/
    assert latest_run(runs) in (newer, quick)
    _age(quick, 7200)
    assert latest_run(runs) == newer
    # an incomplete folder (no config.json: interrupted save) is skipped even when newest
    partial = Path(shutil.copytree(saved, runs / "train-29990101-000000-bpr-mf-s0"))
    (partial / "config.json").unlink()
    assert latest_run(runs) == newer
    for p in (quick, older, newer):
        shutil.rmtree(p)
    with pytest.raises(ConfigError, match="skipped incomplete run folders: train-29990101-000000-bpr-mf-s0"):
        latest_run(runs)


def test_recommend_after_quickstart_uses_its_run(saved: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    Path(shutil.copytree(saved, home / "runs" / "quickstart-train-seed0"))
    result = CliRunner().invoke(cli, ["--home", str(home), "--no-progress", "recommend", "--user", "u01", "-k", "3"])
    assert result.exit_code == 0, result.output
    assert "quickstart-train-seed0" in result.stdout and result.stdout.count("│ u01") == 3


def test_an_interrupted_save_never_looks_complete(saved: Path, run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A save interrupted after the embeddings (Ctrl-C) leaves no config.json: the folder, which held a
    complete earlier run, is no longer complete and ``latest_run`` passes over it."""
    export, _ = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    cfg = TrainConfig(epochs=1, batch_size=256, lr=0.01)
    fitted = fit(export, split, model_spec("bpr-mf", dim=8), cfg, target="books")
    other = Path(shutil.copytree(saved, run.parent / "train-19990101-000000-bpr-mf-s0"))
    _age(other, 3600)
    assert latest_run(run.parent) == run

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(rundir, "save_split", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_run(run, fitted, export, split, cfg, target="books", source="movies")
    assert (run / "embeddings.npz").exists() and not (run / "config.json").exists()
    assert not is_complete(run) and latest_run(run.parent) == other
    with pytest.raises(RunFolderError, match=r"config\.json, split\.npz missing"):
        load_run(run)


def test_a_popularity_run_ranks_without_embeddings_also_from_an_older_folder(tmp_path: Path) -> None:
    """A popularity run's 1-d vectors only reproduce its ranking: the record says so (write-back skips
    them), and a folder saved before the record carried that flag reads the same."""
    export, _ = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    cfg = TrainConfig(epochs=1)
    fitted = fit(export, split, model_spec("popularity"), cfg, target="books")
    path = tmp_path / "pop"
    path.mkdir()
    assert not save_run(path, fitted, export, split, cfg, target="books", source="movies").has_embeddings
    assert not load_run(path).has_embeddings
    config = json.loads((path / "config.json").read_text())
    del config["embeddings"]  # as saved before the flag existed
    (path / "config.json").write_text(json.dumps(config))
    assert not load_run(path).has_embeddings
    assert load_run(path).item[:, 0].tolist() == fitted.popularity.numpy().tolist()
