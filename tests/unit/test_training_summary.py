"""What training says: the epoch bar names its channel, a channel stopped at the cap while improving is
warned about, and training_summary gives one closing line per channel."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from graphrec.models.lightgcn import CrossScenarioLightGCN, normalized_adjacency
from graphrec.train.config import TrainConfig
from graphrec.train.loop import TrainResult, train_bpr
from graphrec.train.summary import channel_histories, channel_label, still_rising, training_summary


def routed_result(*, knowledge_best: int = 5) -> TrainResult:
    history = []
    for epoch in range(6):
        row = {"epoch": epoch, "loss": 1.0, "val_recall@20": 0.1}
        if epoch < 4:
            row |= {"collaborative_loss": 0.5, "collaborative_val_recall@20": 0.2}
        history.append(row)
    channels = {
        "knowledge": {
            "best_epoch": knowledge_best,
            "best_val": 0.15,
            "seconds_per_epoch": 1.0,
            "config": {"epochs": 6, "k": 20},
        },
        "collaborative": {
            "best_epoch": 2,
            "best_val": 0.22,
            "seconds_per_epoch": 2.5,
            "config": {"epochs": 6, "k": 20},
        },
    }
    return TrainResult(
        best_epoch=2,
        best_val=0.22,
        history=history,
        seconds_per_epoch=3.5,
        config={"epochs": 6, "k": 20, "channels": channels},
    )


def test_one_line_per_channel_with_the_cap_note() -> None:
    lines = training_summary(routed_result(), name="routed")
    assert lines == [
        "knowledge channel: best epoch 6 of 6 (1.00 s/epoch), validation recall@20 0.1500; hit the 6-epoch cap with "
        "validation Recall@20 still rising (best at the last epoch); consider --epochs 12",
        "collaborative channel: best epoch 3 of 4 (2.50 s/epoch), validation recall@20 0.2200",
    ]
    assert "cap" not in training_summary(routed_result(knowledge_best=2), name="routed")[0]


def test_single_channel_refit_and_closed_form_lines() -> None:
    history = [{"epoch": e, "loss": 1.0, "val_recall@20": 0.1} for e in range(10)]
    single = TrainResult(
        best_epoch=4, best_val=0.1234, history=history, seconds_per_epoch=0.5, config={"epochs": 40, "k": 20}
    )
    assert training_summary(single, name="lightgcn") == [
        "lightgcn: best epoch 5 of 10 (0.50 s/epoch), validation recall@20 0.1234"
    ]
    refit = TrainResult(best_epoch=4, best_val=-1.0, history=[{"epoch": e, "loss": 1.0} for e in range(5)],
                        seconds_per_epoch=0.5, config={"epochs": 5, "k": 20, "refit": {}})  # fmt: skip
    assert training_summary(refit, name="lightgcn") == [
        "lightgcn: 5 epochs without validation (0.50 s/epoch), as many as the selection run chose"
    ]
    assert training_summary(TrainResult(best_epoch=0, best_val=0.2), name="ease") == [
        "ease: fitted in closed form (no training epochs)"
    ]


def test_helpers() -> None:
    assert channel_label("knowledge") == "knowledge channel"
    assert channel_label("knowledge/simulated-cold") == "knowledge channel (simulated-cold users)"
    assert channel_label("") == ""
    split = channel_histories(routed_result().history)
    assert [len(split["knowledge"]), len(split["collaborative"])] == [6, 4]
    assert split["collaborative"][0] == {"epoch": 0, "loss": 0.5, "val_recall@20": 0.2}
    assert "collaborative_loss" not in split["knowledge"][0]
    assert still_rising(39, 40, 40) and still_rising(38, 40, 40) and not still_rising(37, 40, 40)
    assert not still_rising(19, 20, 40)  # stopped early


def test_the_bar_names_the_channel_and_the_cap_is_warned_about(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    pairs = np.array(
        sorted({(int(u), int(i)) for u, i in zip(rng.integers(0, 20, 200), rng.integers(0, 20, 200), strict=True)})
    ).T
    train, val = pairs[:, np.arange(pairs.shape[1]) % 4 != 0], pairs[:, ::4]
    item_scenario = np.zeros(20, dtype=np.int64)
    torch.manual_seed(0)
    model = CrossScenarioLightGCN(20, 20, dim=8, num_layers=1)
    adj = normalized_adjacency(20, 20, 0, train)
    config = TrainConfig(epochs=1, batch_size=64, lr=0.01, k=10)
    with caplog.at_level(logging.WARNING, logger="graphrec.train.summary"):
        train_bpr(model, adj, train, val, item_scenario, item_scenario == 0, config, progress=True, channel="knowledge")
    assert (
        "knowledge channel hit the 1-epoch cap with validation Recall@10 still rising (best at the last epoch); "
        "consider --epochs 2" in caplog.text
    )
    err = capsys.readouterr().err
    assert "knowledge channel" in err and "val R@10" in err and "loss" in err
    train_bpr(model, adj, train, val[:, :0], item_scenario, item_scenario == 0, config, progress=True, desc="lightgcn")
    assert "lightgcn (no validation)" in capsys.readouterr().err
