"""The run directory of a training run: everything needed to reproduce, evaluate and serve it.

Layout of ``<home>/runs/train-<time>-<model>-s<seed>/``:

* ``config.json`` — model spec, training config, split protocol and counts, target/source, feature file identity.
* ``metrics.json`` — run metadata (time, git hash, versions, store agent), test metrics per slice,
  best epoch, seconds per epoch and the per-epoch history.
* ``curves.png`` — training loss and validation Recall@K per epoch.
* ``model.pt`` — the model's ``state_dict`` (load with ``torch.load(..., weights_only=True)``).
* ``embeddings.npz`` — final user/item/topic embeddings with their raw ids, item scenarios.
* ``split.npz`` — the split's train/val/test pairs and user slices (export rows of this run).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphrec.errors import ConfigError, GraphRecError
from graphrec.eval.ranking import ScoreFn, dot_product_scores
from graphrec.results import run_metadata

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split
    from graphrec.train.experiment import Fitted
    from graphrec.train.loop import TrainConfig

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
CURVES_FILE = "curves.png"
MODEL_FILE = "model.pt"
EMBEDDINGS_FILE = "embeddings.npz"
SPLIT_FILE = "split.npz"


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


def latest_run(runs: Path) -> Path:
    """The most recent ``train-*`` run folder with embeddings.

    Raises:
        ConfigError: No training run exists yet.
    """
    found = sorted(p for p in runs.glob("train-*") if (p / EMBEDDINGS_FILE).exists()) if runs.exists() else []
    if not found:
        raise ConfigError(f"no training run under {runs}; run `graphrec train --target SCENARIO` first")
    return max(found, key=lambda p: (p / CONFIG_FILE).stat().st_mtime)


def plot_curves(history: list[dict[str, float]], path: Path, *, title: str) -> None:
    """Write a PNG with the training loss and the validation metric per epoch (matplotlib, no display)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.2), dpi=100)
    ax_loss, ax_val = fig.subplots(1, 2)
    def curve(key: str) -> tuple[list[float], list[float]]:  # (a routed model's channels may stop at different epochs)
        rows = [h for h in history if key in h]
        return [h["epoch"] for h in rows], [h[key] for h in rows]

    keys = {k for h in history for k in h}
    for prefix, style in (("", "-"), ("collaborative_", "--")):
        if f"{prefix}loss" in keys:
            ax_loss.plot(*curve(f"{prefix}loss"), style, marker="o", markersize=3, label=prefix.rstrip("_") or None)
        val_key = next((k for k in sorted(keys) if k.startswith(f"{prefix}val_")), None)
        if val_key:
            ax_val.plot(*curve(val_key), style, marker="o", markersize=3, color="tab:green", label=prefix.rstrip("_") or None)
            ax_val.set_ylabel(val_key.removeprefix(prefix).replace("_", " "))
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("BPR loss (train)")
    ax_val.set_xlabel("epoch")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)


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
) -> None:
    """Write config, metrics, curves, checkpoint, embeddings and split into ``run_dir``."""
    import numpy as np
    import torch

    result = fitted.result
    run_config = {
        "model": asdict(fitted.spec),
        "train": asdict(config),
        "split": split.meta,
        "target": target,
        "source": source,
        **(extra or {}),
    }
    (run_dir / CONFIG_FILE).write_text(json.dumps(run_config, indent=2, default=str))
    metrics = run_metadata(
        run=run_dir.name,
        metrics=fitted.metrics,
        best_epoch=result.best_epoch if result else None,
        best_val=result.best_val if result else None,
        seconds_per_epoch=result.seconds_per_epoch if result else None,
        history=result.history if result else [],
    )
    (run_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2, default=str))
    if result and result.history:
        plot_curves(result.history, run_dir / CURVES_FILE, title=f"{fitted.spec.name}, seed {config.seed}")
    if fitted.model is not None:
        torch.save(fitted.model.state_dict(), run_dir / MODEL_FILE)
    emb = fitted.embeddings()
    if fitted.popularity is not None:  # popularity: a 1-d "embedding" that reproduces its ranking
        emb = {
            "user": np.ones((len(export.user_ids), 1), dtype=np.float32),
            "item": fitted.popularity.numpy()[:, None].astype(np.float32),
            "topic": np.zeros((0, 1), dtype=np.float32),
        }
    save_embeddings(run_dir, emb, user_ids=export.user_ids, item_keys=export.item_keys, topic_ids=export.topic_ids)
    save_split(run_dir, split)


def save_embeddings(
    run_dir: Path,
    emb: dict[str, np.ndarray],
    *,
    user_ids: Sequence[str],
    item_keys: Sequence[tuple[str, str]],
    topic_ids: Sequence[str],
) -> None:
    """Write ``embeddings.npz``: ``emb["user" | "item" | "topic"]`` rows aligned with the raw ids."""
    import numpy as np

    np.savez(
        run_dir / EMBEDDINGS_FILE,
        user=emb["user"],
        item=emb["item"],
        topic=emb["topic"],
        user_ids=np.array(user_ids, dtype=str),
        item_scenario=np.array([s for s, _ in item_keys], dtype=str),
        item_ids=np.array([i for _, i in item_keys], dtype=str),
        topic_ids=np.array(topic_ids if len(emb["topic"]) else [], dtype=str),
    )


def save_split(run_dir: Path, split: Split) -> None:
    """Write ``split.npz``: the run's train / val / test pairs (export rows) and slices."""
    import numpy as np

    np.savez(
        run_dir / SPLIT_FILE,
        train=split.train,
        val=split.val,
        test=split.test,
        **{f"slice_{name}": users for name, users in split.slices.items()},
    )


@dataclass
class SavedRun:
    """A run read back from its directory (embeddings, ids, split, config, metrics)."""

    path: Path
    config: dict[str, Any]
    metrics: dict[str, Any]
    user: np.ndarray
    item: np.ndarray
    topic: np.ndarray
    user_ids: list[str]
    item_keys: list[tuple[str, str]]
    topic_ids: list[str]
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    slices: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The run's id (its folder name), written as ``run`` on RECOMMENDED edges."""
        return self.path.name

    def score_fn(self) -> ScoreFn:
        """Dot-product scores over the saved embeddings (what serving and ``evaluate`` rank by)."""
        import torch

        return dot_product_scores(torch.from_numpy(self.user), torch.from_numpy(self.item))

    @cached_property
    def _user_rows(self) -> dict[str, int]:
        return {u: k for k, u in enumerate(self.user_ids)}

    @cached_property
    def _item_scenarios(self) -> np.ndarray:
        import numpy as np

        return np.array([s for s, _ in self.item_keys])

    @cached_property
    def _known_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Every interaction's item row, grouped by user, and each user's start offset in it."""
        import numpy as np

        pairs = np.concatenate([self.train, self.val, self.test], axis=1)
        order = np.argsort(pairs[0], kind="stable")
        return pairs[1, order], np.searchsorted(pairs[0, order], np.arange(len(self.user_ids) + 1))

    def user_row(self) -> dict[str, int]:
        """``{raw user id: row}`` (built once per run)."""
        return self._user_rows

    def scenario_mask(self, scenario: str) -> np.ndarray:
        """Bool mask of the items of ``scenario``.

        Raises:
            ConfigError: The run has no item of that scenario.
        """
        mask = self._item_scenarios == scenario
        if not mask.any():
            names = sorted(set(self._item_scenarios.tolist()))
            raise ConfigError(f"scenario {scenario!r} has no items in run {self.name}; it has {names}")
        return mask

    def known_items(self, rows: Sequence[int]) -> dict[int, set[int]]:
        """``{user row: every item it interacted with in the run's graph}`` (train, validation and test:
        serving never recommends those) for ``rows``; the per-user index is built once per run."""
        items, starts = self._known_index
        return {r: set(items[starts[r] : starts[r + 1]].tolist()) for r in rows}


def load_run(run_dir: Path) -> SavedRun:
    """Read a run directory written by :func:`save_run`.

    Raises:
        GraphRecError: A file is missing or unreadable (name and fix in the message).
    """
    import numpy as np

    try:
        config = json.loads((run_dir / CONFIG_FILE).read_text())
        metrics = json.loads((run_dir / METRICS_FILE).read_text())
        with np.load(run_dir / EMBEDDINGS_FILE) as emb, np.load(run_dir / SPLIT_FILE) as split:
            return SavedRun(
                path=run_dir,
                config=config,
                metrics=metrics,
                user=emb["user"],
                item=emb["item"],
                topic=emb["topic"],
                user_ids=emb["user_ids"].tolist(),
                item_keys=list(zip(emb["item_scenario"].tolist(), emb["item_ids"].tolist())),
                topic_ids=emb["topic_ids"].tolist(),
                train=split["train"],
                val=split["val"],
                test=split["test"],
                slices={k.removeprefix("slice_"): split[k] for k in split.files if k.startswith("slice_")},
            )
    except (OSError, KeyError, ValueError) as e:
        raise GraphRecError(f"cannot read training run {run_dir}: {e}; pick another run or retrain") from e


def load_checkpoint(run_dir: Path) -> dict[str, Any]:
    """The model ``state_dict`` of a run, loaded with ``weights_only=True`` (no pickled code runs)."""
    import torch

    path = run_dir / MODEL_FILE
    if not path.exists():
        raise GraphRecError(f"run {run_dir} has no {MODEL_FILE} (popularity runs have no weights)")
    return torch.load(path, weights_only=True, map_location="cpu")
