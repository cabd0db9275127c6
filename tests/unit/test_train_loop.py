"""Training on a generated two-scenario graph: it learns, stops early, is deterministic, and transfers."""

from __future__ import annotations

import pytest
import torch

from graphrec.models.lightgcn import CrossScenarioLightGCN, normalized_adjacency
from graphrec.train.config import TrainConfig
from graphrec.train.loop import evaluate, train_bpr
from tests.helpers import toy_training_data as toy


def run(seed: int, *, text: bool) -> tuple[float, list[dict[str, float]], dict[str, float]]:
    train, val, test_cold, item_scenario, item_x, cold = toy()
    torch.manual_seed(seed)
    model = CrossScenarioLightGCN(60, 60, dim=16, num_layers=2, item_x=item_x if text else None)
    adj = normalized_adjacency(60, 60, 0, train)
    candidates = item_scenario == 1
    before = evaluate(model, adj, train, test_cold, candidates, users=cold)["recall@10"]
    config = TrainConfig(epochs=30, batch_size=128, lr=0.05, patience=5, k=10, seed=seed)
    result = train_bpr(model, adj, train, val, item_scenario, candidates, config)
    after = evaluate(model, adj, train, test_cold, candidates, users=cold)
    return before, result.history, after | {"best_epoch": result.best_epoch, "best_val": result.best_val}


def test_training_transfers_to_cold_users_and_is_deterministic() -> None:
    # Cold users have no scenario-B history. Within a taste group the B items are interchangeable, so
    # getting the group right gives recall@10 = 10/15 ≈ 0.67 in expectation; a random ranking gives ≈ 0.33.
    before, history, after = run(0, text=False)
    assert before < 0.4 and after["recall@10"] >= 0.6, (before, after)  # ID-only: transfer through shared users
    assert history[-1]["loss"] < 0.5 * history[0]["loss"]
    assert after["best_val"] == max(h["val_recall@10"] for h in history)
    _, history_again, after_again = run(0, text=False)
    assert history_again == history and after_again == after
    _, _, with_text = run(0, text=True)
    assert with_text["recall@10"] >= 0.6


def test_missing_backend_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from graphrec.data.pyg import import_torch_geometric

    import_torch_geometric()  # without PyG's import-time torch.jit.script FutureWarning
    import torch_geometric.typing

    from graphrec.errors import ConfigError
    from graphrec.train.minibatch import require_neighbor_sampling

    monkeypatch.setattr(torch_geometric.typing, "WITH_PYG_LIB", False)
    monkeypatch.setattr(torch_geometric.typing, "WITH_TORCH_SPARSE", False)
    with pytest.raises(ConfigError, match=r"--no-build-isolation torch-scatter==2\.1\.2 torch-sparse==0\.6\.18"):
        require_neighbor_sampling()


def test_neighbour_counts_are_checked_against_the_layers() -> None:
    from graphrec.errors import ConfigError
    from graphrec.train.minibatch import check_num_neighbors

    check_num_neighbors((10, -1, 5), 3)
    for bad in ((10, 10), (10, 0, 10), (10, -2, 10)):
        with pytest.raises(ConfigError, match="one per propagation layer"):
            check_num_neighbors(bad, 3)
