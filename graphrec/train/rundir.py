"""The run directory of a training run: everything needed to reproduce, evaluate and serve it.

Layout of ``<home>/runs/train-<time>-<model>-s<seed>/``:

* ``config.json`` — model spec, training config, split protocol and counts, target/source, feature file identity.
* ``metrics.json`` — run metadata (time, git hash, versions, store agent), test metrics per slice,
  best epoch, seconds per epoch and the per-epoch history.
* ``curves.png`` — training loss and validation Recall@K per epoch, per channel (:mod:`graphrec.train.curves`).
* ``model.pt`` — the model's ``state_dict`` (load with ``torch.load(..., weights_only=True)``).
* ``embeddings.npz`` — final user/item/topic embeddings with their raw ids, item scenarios.
* ``split.npz`` — the split's train/val/test pairs and user slices (export rows of this run).

A run folder is *complete* when ``config.json``, ``metrics.json``, ``embeddings.npz`` and ``split.npz``
are all present: :func:`save_run` removes ``config.json`` first, writes every file atomically (a
temporary name, then a rename) and ``config.json`` last, so a save that is interrupted or fails never
leaves a folder that looks complete. :func:`load_run` validates what it reads (readable files, shapes,
ids, index ranges, finite embeddings) and names the folder, the problem and the fix.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from graphrec.errors import ConfigError, GraphRecError, RunFolderError
from graphrec.home import replace_private
from graphrec.serve.foldin import FOLD_IN_FILE, FoldIn
from graphrec.train.record import RunRecord, non_finite, record_run

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split
    from graphrec.train.config import TrainConfig
    from graphrec.train.fitted import Fitted

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
CURVES_FILE = "curves.png"
MODEL_FILE = "model.pt"
EMBEDDINGS_FILE = "embeddings.npz"
SPLIT_FILE = "split.npz"
#: Files every complete run folder holds (``config.json`` is written last).
REQUIRED_FILES = (CONFIG_FILE, METRICS_FILE, EMBEDDINGS_FILE, SPLIT_FILE)
#: Every file :func:`save_run` writes.
RUN_FILES = (CONFIG_FILE, METRICS_FILE, CURVES_FILE, MODEL_FILE, EMBEDDINGS_FILE, SPLIT_FILE, FOLD_IN_FILE)
_RETRAIN = "pass --run with another run folder, or delete this folder and retrain (`graphrec train`)"


def new_run_dir(runs: Path, model: str, seed: int) -> Path:
    """A fresh, unique ``train-<time>-<model>-s<seed>`` folder under ``runs``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = runs / f"train-{stamp}-{model}-s{seed}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    return path


def is_complete(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds every file of a finished save (:data:`REQUIRED_FILES`); the contents
    are validated by :func:`load_run`."""
    return all((run_dir / name).is_file() for name in REQUIRED_FILES)


def latest_run(runs: Path) -> Path:
    """The most recently saved complete run folder under ``runs``, whatever its name (``train-*``,
    quickstart's ``quickstart-train-seed<N>``, a ``--out`` folder placed there).

    Raises:
        ConfigError: No complete run folder exists (incomplete ones are named in the message).
    """
    folders = [p for p in runs.iterdir() if p.is_dir()] if runs.is_dir() else []
    found = [p for p in folders if is_complete(p)]
    if not found:
        # ingest-* folders hold an ingest's rejects and summary, not a model
        partial = sorted(p.name for p in folders if not p.name.startswith("ingest-") and (p / EMBEDDINGS_FILE).exists())
        skipped = f" (skipped incomplete run folders: {', '.join(partial[:3])})" if partial else ""
        raise ConfigError(
            f"no complete training run under {runs}{skipped}; run `graphrec train --target SCENARIO` first, "
            "or pass --run with a run folder"
        )
    return max(found, key=lambda p: ((p / CONFIG_FILE).stat().st_mtime, p.name))


def _write_json(path: Path, value: Any) -> None:
    replace_private(path, lambda f: f.write(json.dumps(value, indent=2, default=str).encode()))


def save_run(
    run_dir: Path,
    fitted: Fitted,
    export: GraphExport,
    split: Split,
    config: TrainConfig,
    *,
    target: str,
    source: str | None,
    extra: dict[str, Any] | None = None,
) -> RunRecord:
    """Record a fitted model (:func:`~graphrec.train.record.record_run`, named after ``run_dir``) and
    write it into ``run_dir`` (:func:`write_run`).

    Raises:
        TrainingDivergedError: An embedding is not finite (nothing is written then).
    """
    record = record_run(fitted, export, split, config, name=run_dir.name, target=target, source=source, extra=extra)
    return write_run(run_dir, record)


def write_run(run_dir: Path, record: RunRecord) -> RunRecord:
    """Write a run's metrics, curves, checkpoint, embeddings, split and (last) config into ``run_dir``.

    Returns:
        The record as saved there: named after ``run_dir`` (the ``run`` of its RECOMMENDED edges), with
        its ``path``.
    """
    if record.name != run_dir.name or record.path != run_dir:
        record = dataclasses.replace(
            record, name=run_dir.name, path=run_dir, metrics={**record.metrics, "run": run_dir.name}
        )
    for name in RUN_FILES:  # config.json first: the folder stops looking complete until the save ends
        (run_dir / name).unlink(missing_ok=True)
    _write_json(run_dir / METRICS_FILE, record.metrics)
    history = record.metrics.get("history") or []
    if history:
        from graphrec.train.curves import plot_curves  # matplotlib

        title = f"{record.config['model']['name']}, seed {record.config['train']['seed']}"
        plot_curves(
            history,
            run_dir / CURVES_FILE,
            title=title,
            split_meta=record.config.get("split"),
            selected=record.metrics.get("selected"),
        )
    if record.state is not None:
        state = record.state
        import torch

        replace_private(run_dir / MODEL_FILE, lambda f: torch.save(state, f))
    emb = {"user": record.user, "item": record.item, "topic": record.topic}
    save_embeddings(run_dir, emb, user_ids=record.user_ids, item_keys=record.item_keys, topic_ids=record.topic_ids)
    save_split(run_dir, record.train, record.val, record.test, record.slices)
    if record.fold_in is not None:
        record.fold_in.save(run_dir)
    _write_json(run_dir / CONFIG_FILE, record.config)  # last: marks the folder complete
    return record


def save_embeddings(
    run_dir: Path,
    emb: dict[str, np.ndarray],
    *,
    user_ids: Sequence[str],
    item_keys: Sequence[tuple[str, str]],
    topic_ids: Sequence[str],
) -> None:
    """Write ``embeddings.npz``: ``emb["user" | "item" | "topic"]`` rows aligned with the raw ids."""
    replace_private(run_dir / EMBEDDINGS_FILE, lambda f: np.savez(
        f,
        user=emb["user"],
        item=emb["item"],
        topic=emb["topic"],
        user_ids=np.array(user_ids, dtype=str),
        item_scenario=np.array([s for s, _ in item_keys], dtype=str),
        item_ids=np.array([i for _, i in item_keys], dtype=str),
        topic_ids=np.array(topic_ids if len(emb["topic"]) else [], dtype=str),
    ))  # fmt: skip


def save_split(
    run_dir: Path, train: np.ndarray, val: np.ndarray, test: np.ndarray, slices: dict[str, np.ndarray]
) -> None:
    """Write ``split.npz``: the run's train / val / test pairs (export rows) and user slices."""
    # (Any: numpy's savez stub would match a dict of arrays to its allow_pickle keyword)
    arrays: dict[str, Any] = {"train": train, "val": val, "test": test}
    arrays |= {f"slice_{name}": users for name, users in slices.items()}
    replace_private(run_dir / SPLIT_FILE, lambda f: np.savez(f, **arrays))


def _unusable(run_dir: Path, problem: str, fix: str = _RETRAIN) -> RunFolderError:
    return RunFolderError(f"training run {run_dir} is unusable: {problem}; {fix}")


def _read_json(run_dir: Path, name: str) -> dict[str, Any]:
    path = run_dir / name
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise _unusable(run_dir, f"cannot read {name} ({e})") from e
    if not isinstance(value, dict):
        raise _unusable(run_dir, f"{name} holds a JSON {type(value).__name__}, not an object")
    return value


def _read_npz(run_dir: Path, name: str, required: Sequence[str]) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive, read eagerly (a truncated or garbage file fails here)."""
    try:
        z = np.load(run_dir / name, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):  # a lone .npy array
            raise ValueError(f"it holds a single {type(z).__name__}, not an archive of arrays")
        with z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise _unusable(run_dir, f"cannot read {name}, truncated or not a NumPy .npz archive ({e})") from e
    missing = [k for k in required if k not in arrays]
    if missing:
        raise _unusable(run_dir, f"{name} lacks the arrays {missing} (it has {sorted(arrays)})")
    return arrays


def _check_run(run: RunRecord, d: Path) -> None:
    """Shapes, dtypes, id counts, index ranges and finiteness of a run read from disk."""
    bad = _unusable
    n_users, n_items = len(run.user_ids), len(run.item_keys)
    for kind, x in (("user", run.user), ("item", run.item), ("topic", run.topic)):
        if x.ndim != 2 or not np.issubdtype(x.dtype, np.floating):
            raise bad(
                d, f"{EMBEDDINGS_FILE}: {kind} embeddings are {x.dtype} of shape {x.shape}, not a 2-D float array"
            )
    for kind, x, ids in (
        ("user", run.user, n_users),
        ("item", run.item, n_items),
        ("topic", run.topic, len(run.topic_ids)),
    ):
        if len(x) != ids:
            raise bad(d, f"{EMBEDDINGS_FILE}: {len(x)} {kind} embedding rows for {ids} {kind} ids")
    if run.user.shape[1] != run.item.shape[1] or (len(run.topic) and run.topic.shape[1] != run.item.shape[1]):
        raise bad(
            d,
            f"{EMBEDDINGS_FILE}: embedding sizes differ (user {run.user.shape}, item {run.item.shape}, "
            f"topic {run.topic.shape})",
        )
    if len(set(run.user_ids)) != n_users or len(set(run.item_keys)) != n_items:
        raise bad(d, f"{EMBEDDINGS_FILE}: duplicate user ids or (scenario, item) keys")
    nan = non_finite({"user": run.user, "item": run.item, "topic": run.topic})
    if nan:
        raise bad(d, f"{EMBEDDINGS_FILE}: {nan} are not finite (NaN or inf), so its training diverged",
                  "delete this folder and retrain with a lower learning rate (graphrec train --lr, default 0.005), "
                  "or pass --run with another run folder")  # fmt: skip
    for part in ("train", "val", "test"):
        pairs = getattr(run, part)
        if pairs.ndim != 2 or pairs.shape[0] != 2 or not np.issubdtype(pairs.dtype, np.integer):
            raise bad(d, f"{SPLIT_FILE}: {part} is {pairs.dtype} of shape {pairs.shape}, not int pairs of shape (2, n)")
        for axis, (what, n) in enumerate((("user", n_users), ("item", n_items))):
            out = (pairs[axis] < 0) | (pairs[axis] >= n)
            if out.any():
                raise bad(d, f"{SPLIT_FILE}: {part} holds {int(out.sum())} {what} row(s) outside 0..{n - 1} "
                          f"(e.g. {int(pairs[axis][out][0])}); "
                          "the split does not belong to these embeddings")  # fmt: skip
    for name, users in run.slices.items():
        if users.ndim != 1 or not np.issubdtype(users.dtype, np.integer) or ((users < 0) | (users >= n_users)).any():
            raise bad(d, f"{SPLIT_FILE}: slice {name!r} is not a list of user rows in 0..{n_users - 1}")
    target = run.config.get("target")
    if not isinstance(target, str) or not target:
        raise bad(d, f'{CONFIG_FILE} has no target scenario ("target": {target!r})')
    scenarios = sorted({s for s, _ in run.item_keys})
    if target not in scenarios:
        raise bad(d, f"{CONFIG_FILE}'s target {target!r} has no items in the run (scenarios: {scenarios})")


def load_run(run_dir: Path) -> RunRecord:
    """Read and validate a run folder written by :func:`save_run`.

    Raises:
        RunFolderError: The folder is incomplete (an interrupted or failed save), a file is unreadable
            (truncated, garbage), or the contents are inconsistent (shapes, ids, split rows out of
            range, no target) or not finite; the message names the folder, the problem and the fix.
    """
    if not run_dir.is_dir():
        raise RunFolderError(f"training run folder {run_dir} does not exist; {_RETRAIN}")
    missing = [name for name in REQUIRED_FILES if not (run_dir / name).is_file()]
    if missing:
        raise _unusable(
            run_dir, f"{', '.join(missing)} missing (not a run folder, or its save was interrupted or failed)"
        )
    config = _read_json(run_dir, CONFIG_FILE)
    if "embeddings" not in config and config.get("model", {}).get("kind") == "popularity":
        config["embeddings"] = False  # a folder saved before the record said so: its 1-d vectors only rank
    metrics = _read_json(run_dir, METRICS_FILE)
    emb = _read_npz(
        run_dir, EMBEDDINGS_FILE, ("user", "item", "topic", "user_ids", "item_scenario", "item_ids", "topic_ids")
    )
    split = _read_npz(run_dir, SPLIT_FILE, ("train", "val", "test"))
    ids = {k: emb[k] for k in ("user_ids", "item_scenario", "item_ids", "topic_ids")}
    for k, v in ids.items():
        if v.ndim != 1 or v.dtype.kind != "U":
            raise _unusable(run_dir, f"{EMBEDDINGS_FILE}: {k} is {v.dtype} of shape {v.shape}, not a list of strings")
    if len(ids["item_scenario"]) != len(ids["item_ids"]):
        raise _unusable(
            run_dir,
            f"{EMBEDDINGS_FILE}: {len(ids['item_ids'])} item ids for {len(ids['item_scenario'])} item scenarios",
        )
    run = RunRecord(
        name=run_dir.name,
        path=run_dir,
        config=config,
        metrics=metrics,
        user=emb["user"],
        item=emb["item"],
        topic=emb["topic"],
        user_ids=ids["user_ids"].tolist(),
        item_keys=list(zip(ids["item_scenario"].tolist(), ids["item_ids"].tolist())),
        topic_ids=ids["topic_ids"].tolist(),
        train=split["train"],
        val=split["val"],
        test=split["test"],
        slices={k.removeprefix("slice_"): v for k, v in split.items() if k.startswith("slice_")},
        fold_in=FoldIn.load(run_dir),
    )
    _check_run(run, run_dir)
    return run


def load_checkpoint(run_dir: Path) -> dict[str, Any]:
    """The model ``state_dict`` of a run, loaded with ``weights_only=True`` (no pickled code runs)."""
    path = run_dir / MODEL_FILE
    if not path.exists():
        raise GraphRecError(f"run {run_dir} has no {MODEL_FILE} (popularity runs have no weights)")
    import torch

    return torch.load(path, weights_only=True, map_location="cpu")
