"""curves.png: one curve per channel, each channel's best epoch marked, what validation covers named."""

from __future__ import annotations

from pathlib import Path

from graphrec.train.curves import plot_curves, validation_scope


def routed_history() -> list[dict[str, float]]:
    """A routed model's merged history: the knowledge channel runs 6 epochs, the collaborative one stops after 4."""
    history = []
    for epoch in range(6):
        row = {"epoch": epoch, "loss": 1 / (epoch + 1), "val_recall@20": 0.1 + 0.01 * epoch}
        if epoch < 4:
            row |= {
                "collaborative_loss": 0.5 / (epoch + 1),
                "collaborative_val_recall@20": (0.20, 0.21, 0.22, 0.20)[epoch],
            }
        history.append(row)
    return history


def test_a_two_channel_history_plots_a_legend_and_best_epochs(tmp_path: Path) -> None:
    path = tmp_path / "curves.png"
    fig = plot_curves(routed_history(), path, title="routed, seed 0", split_meta={"protocol": "coldstart-transfer"})
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000
    ax_loss, ax_val = fig.axes
    assert [t.get_text() for t in ax_loss.get_legend().get_texts()] == ["knowledge channel", "collaborative channel"]
    assert [t.get_text() for t in ax_val.get_legend().get_texts()] == [
        "knowledge channel", "best epoch 6 (knowledge)", "collaborative channel", "best epoch 3 (collaborative)",
    ]  # fmt: skip
    assert "warm target users only" in ax_val.get_title()
    assert list(ax_val.lines[3].get_xdata()) == [3]  # epochs count from 1; the first best epoch is marked


def test_a_single_channel_history_and_a_knowledge_channel_selected_on_simulated_cold_users(tmp_path: Path) -> None:
    single = [{"epoch": e, "loss": 1.0 - 0.1 * e, "val_recall@20": v} for e, v in enumerate((0.1, 0.3, 0.3, 0.2))]
    fig = plot_curves(single, tmp_path / "a.png", title="lightgcn, seed 0", split_meta={"protocol": "coldstart-items"})
    labels = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert labels == ["training", "best epoch 2"] and "held-out target items" in fig.axes[1].get_title()
    selected = {"cold_path": {"selected_on": "val-simulated-cold"}}
    fig = plot_curves(routed_history(), tmp_path / "b.png", title="routed", selected=selected)
    assert fig.axes[1].get_legend().get_texts()[0].get_text() == "knowledge channel (simulated-cold users)"
    no_val = [{"epoch": e, "loss": 1.0 - 0.1 * e} for e in range(3)]
    fig = plot_curves(no_val, tmp_path / "c.png", title="refit")
    assert (tmp_path / "c.png").stat().st_size > 0 and fig.axes[1].get_legend() is None


def test_validation_scope_follows_the_split_protocol() -> None:
    assert validation_scope({"protocol": "coldstart-transfer"}) == "warm target users only"
    assert validation_scope({"protocol": "random-per-user"}) == "held-out pairs of every user"
    assert validation_scope(None) == validation_scope({"protocol": "unknown"}) == ""
