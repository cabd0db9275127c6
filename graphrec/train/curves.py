"""``curves.png`` of a run: training loss and validation Recall@K per epoch, one curve per channel, a
marker at each channel's best epoch, and what validation covered (matplotlib, no display)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphrec.data.splits import SIMULATED_COLD
from graphrec.home import replace_private
from graphrec.train.summary import channel_histories, channel_label

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    from matplotlib.figure import Figure

#: Who the validation pairs belong to, by split protocol (``split.meta["protocol"]``; see
#: :mod:`graphrec.data.splits`).
VALIDATION_SCOPE = {
    "coldstart-transfer": "warm target users only",
    "none": "warm target users only",  # a production split's carved validation (holdout_validation)
    "coldstart-items": "held-out target items",
    "random-per-user": "held-out pairs of every user",
    "temporal-per-user": "each user's latest pairs before test",
}


def validation_scope(split_meta: dict[str, Any] | None) -> str:
    """What a split's validation pairs cover, in words (``""`` when the protocol is unknown)."""
    return VALIDATION_SCOPE.get(str((split_meta or {}).get("protocol", "")), "")


def curves_figure(
    history: list[dict[str, float]],
    *,
    title: str,
    split_meta: dict[str, Any] | None = None,
    selected: dict[str, Any] | None = None,
) -> Figure:
    """The curves of a run's ``history`` (``metrics.json["history"]``) as a matplotlib Figure.

    Epochs are counted from 1. A routed model's channels are drawn as ``knowledge channel`` (solid) and
    ``collaborative channel`` (dashed), each may stop at a different epoch.

    Args:
        title: The figure's title (model, seed).
        split_meta: The run's ``config.json["split"]``: names who validation covers (:func:`validation_scope`).
        selected: The run's ``metrics.json["selected"]``: a knowledge channel selected on simulated-cold
            users (``cold_path``) is labelled so, its validation curve is theirs.
    """
    # lazy: rundir imports this module for every run it reads; matplotlib (~0.4 s) only draws the figure
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.6), dpi=100)
    ax_loss, ax_val = fig.subplots(1, 2)
    cold_path = (selected or {}).get("cold_path", {})
    metric = "recall"
    for (channel, rows), style, color in zip(
        channel_histories(history).items(), ("-", "--"), ("tab:blue", "tab:orange"), strict=False
    ):
        label = channel_label(channel) or "training"
        if channel == "knowledge" and "refit" in cold_path:  # its selection run's curves are not in the history
            label += " (retrained, unvalidated)"
        epochs = [h["epoch"] + 1 for h in rows]
        ax_loss.plot(epochs, [h["loss"] for h in rows], style, marker="o", markersize=3, color=color, label=label)
        val_key = next((k for k in sorted({k for h in rows for k in h}) if k.startswith("val_")), None)
        if val_key is None or not rows:
            continue
        metric = val_key.removeprefix("val_")
        if channel == "knowledge" and cold_path.get("selected_on") == SIMULATED_COLD:
            label += " (simulated-cold users)"
        values = [h.get(val_key, float("nan")) for h in rows]
        ax_val.plot(epochs, values, style, marker="o", markersize=3, color=color, label=label)
        best = max(range(len(values)), key=lambda e: (values[e], -e))  # the first best, as training keeps
        ax_val.plot([epochs[best]], [values[best]], "*", markersize=13, color=color,
                    label=f"best epoch {epochs[best]}" + (f" ({channel})" if channel else ""))  # fmt: skip
    scope = validation_scope(split_meta)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("BPR loss (train)")
    ax_loss.legend(fontsize="small")
    ax_val.set_xlabel("epoch")
    ax_val.set_ylabel(f"validation {metric.replace('recall', 'Recall')}")
    ax_val.set_title(f"validation: {scope}" if scope else "validation", fontsize="medium")
    if ax_val.lines:
        ax_val.legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_curves(
    history: list[dict[str, float]],
    path: Path,
    *,
    title: str,
    split_meta: dict[str, Any] | None = None,
    selected: dict[str, Any] | None = None,
) -> Figure:
    """Write :func:`curves_figure` as a PNG at ``path`` (atomically) and return the figure."""
    fig = curves_figure(history, title=title, split_meta=split_meta, selected=selected)
    replace_private(path, lambda f: fig.savefig(f, format="png"))
    return fig
