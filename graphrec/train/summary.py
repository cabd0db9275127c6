"""What a training did, in words: progress-bar labels, the epoch-cap warning and one closing line per
channel (a routed model trains a knowledge and a collaborative channel, one after the other).

Epochs are counted from 1 in every message (``TrainResult.best_epoch`` and the history count from 0).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.train.loop import TrainResult

logger = logging.getLogger(__name__)

#: Channels of a routed model, in training order, with their history prefix (see
#: :func:`~graphrec.train.fit.merge_channel_results`).
ROUTED_CHANNELS = (("knowledge", ""), ("collaborative", "collaborative_"))
#: A channel that ran every epoch is "still rising" when its best epoch is one of the last this many.
RISING_WINDOW = 2


def channel_label(name: str) -> str:
    """The words for a channel: ``"knowledge"`` → ``"knowledge channel"``, ``"knowledge/simulated-cold"``
    → ``"knowledge channel (simulated-cold users)"``; ``""`` (a single-channel model) → ``""``."""
    if not name:
        return ""
    channel, _, stage = name.partition("/")
    return f"{channel} channel" + (f" ({stage} users)" if stage else "")


def channel_histories(history: list[dict[str, float]]) -> dict[str, list[dict[str, float]]]:
    """Split a result's history by channel: ``{"knowledge": rows, "collaborative": rows}`` for a routed
    model (prefixes removed; a channel that stopped earlier has fewer rows), ``{"": history}`` otherwise."""
    if not any(key.startswith("collaborative_") for row in history for key in row):
        return {"": history}
    out: dict[str, list[dict[str, float]]] = {}
    for name, prefix in ROUTED_CHANNELS:
        rows = []
        for row in history:
            own = {k.removeprefix(prefix): v for k, v in row.items() if _channel_of(k) == name}
            if own:
                rows.append({"epoch": row["epoch"], **own})
        out[name] = rows
    return out


def _channel_of(key: str) -> str | None:
    """The routed channel a merged history key belongs to (``None`` for ``epoch``)."""
    if key == "epoch":
        return None
    return next(name for name, prefix in reversed(ROUTED_CHANNELS) if key.startswith(prefix))


def still_rising(best_epoch: int, epochs_run: int, cap: int) -> bool:
    """Whether a channel that validated each epoch stopped at the epoch cap (``cap`` epochs run) with its
    best epoch (0-based) among the last :data:`RISING_WINDOW`: more epochs would likely have helped."""
    return epochs_run >= cap > 0 and best_epoch >= epochs_run - RISING_WINDOW


def cap_note(label: str, *, best_epoch: int, epochs_run: int, cap: int, k: int) -> str:
    """``"<label> hit the 40-epoch cap with validation Recall@20 still rising (best at the last epoch);
    consider --epochs 80"`` (see :func:`still_rising`); without ``label`` it starts at "hit"."""
    where = "the last epoch" if best_epoch >= epochs_run - 1 else f"epoch {best_epoch + 1} of {epochs_run}"
    note = (
        f"hit the {cap}-epoch cap with validation Recall@{k} still rising (best at {where}); "
        f"consider --epochs {2 * cap}"
    )
    return f"{label} {note}" if label else note


def warn_if_capped(label: str, *, best_epoch: int, epochs_run: int, cap: int, k: int) -> None:
    """Log :func:`cap_note` as a WARNING when :func:`still_rising` holds."""
    if still_rising(best_epoch, epochs_run, cap):
        logger.warning(cap_note(label, best_epoch=best_epoch, epochs_run=epochs_run, cap=cap, k=k))


def training_summary(result: TrainResult, *, name: str = "model") -> list[str]:
    """One line per trained channel, for the end of ``graphrec train``.

    Example: ``"knowledge channel: best epoch 12 of 17 (3.10 s/epoch), validation recall@20 0.1234"``,
    followed by the epoch-cap note when the channel stopped at the cap still improving.

    Args:
        result: What :func:`~graphrec.train.fit.fit` returned as ``Fitted.result`` (a routed
            model's merged result carries each channel's own under ``config["channels"]``).
        name: The model's name, the label of a single-channel model's line.

    Returns:
        One line per channel; one ``"<name>: fitted in closed form"`` line for a model without epochs.
    """
    if not result.history:
        return [f"{name}: fitted in closed form (no training epochs)"]
    histories = channel_histories(result.history)
    channels: dict[str, Any] = result.config.get("channels", {})
    cold_path: dict[str, Any] = result.config.get("cold_path", {})
    refit: dict[str, Any] | None = result.config.get("refit")
    lines = []
    for channel, rows in histories.items():
        own = channels.get(channel, {})
        config = own.get("config", result.config)
        label = channel_label(channel) or name
        best_epoch = int(own.get("best_epoch", result.best_epoch))
        best_val = float(own.get("best_val", result.best_val))
        spe = float(own.get("seconds_per_epoch", result.seconds_per_epoch))
        cap, k = int(config.get("epochs", len(rows))), int(config.get("k", 20))
        epochs_run, where = len(rows), ""
        selection = cold_path.get("selection") if channel == "knowledge" else None
        if selection is not None:  # selected on simulated-cold users (then maybe trained again, unvalidated)
            epochs_run, where = int(selection["epochs_run"]), " on simulated-cold users"
            # the channel's own config is its refit's when retrained; an early stop ends short of the cap
            cap = max(int(channels.get("collaborative", {}).get("config", {}).get("epochs", cap)), epochs_run)
        validated = selection is not None or any(f"val_recall@{k}" in row for row in rows)
        if not validated:
            line = f"{label}: {epochs_run} epochs without validation ({spe:.2f} s/epoch)"
            if refit is not None:
                line += ", as many as the selection run chose"
            lines.append(line)
            continue
        line = (
            f"{label}: best epoch {best_epoch + 1} of {epochs_run}{where} ({spe:.2f} s/epoch), "
            f"validation recall@{k} {best_val:.4f}"
        )
        if selection is not None and "refit" in cold_path:
            epochs = int(cold_path["refit"]["epochs"])
            line += f"; trained again for {epochs} epoch{'s' if epochs != 1 else ''} on all training data"
        if still_rising(best_epoch, epochs_run, cap):
            line += f"; {cap_note('', best_epoch=best_epoch, epochs_run=epochs_run, cap=cap, k=k)}"
        lines.append(line)
    return lines
