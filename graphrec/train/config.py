"""Training hyper-parameters (:class:`TrainConfig`) and the split protocols' names; torch-free (the CLI imports
them to show its defaults and choices)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Protocol = Literal["coldstart", "coldstart-items", "random", "none"]
#: The split protocols :func:`graphrec.train.run.make_split` knows (``graphrec train --split``).
PROTOCOLS: tuple[str, ...] = get_args(Protocol)


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (serialised with every run).

    Attributes:
        epochs: Maximum epochs (default 40).
        batch_size: BPR pairs per step (default 2048).
        lr: Adam learning rate (default 0.005, the CLI's and the API's; the benchmarks pass theirs).
        weight_decay: L2 on the layer-0 embeddings of each batch (default 1e-4).
        patience: Epochs without validation improvement before stopping (default 5).
        k: Cut-off of the validation metric Recall@k (default 20).
        seed: Seed of torch and numpy (default 0).
        num_neighbors: Mini-batch training with ``LinkNeighborLoader``: neighbours sampled per node and
            edge type at each hop (one entry per hop, ``-1`` = all; see :mod:`graphrec.train.minibatch`,
            which needs ``pyg-lib`` or ``torch-sparse``). Default ``None``: full-batch propagation.
        device: Torch device the model, its graph and every training tensor live on: a name
            :func:`graphrec.device.resolve_device` takes (``auto``, ``cpu``, ``cuda``, ``cuda:N``; default
            ``cpu``, so a run is reproduced on any machine). :func:`graphrec.api.train` records the device it
            resolved (e.g. ``cuda:0``); embeddings and the checkpoint come back to the CPU either way.
    """

    epochs: int = 40
    batch_size: int = 2048
    lr: float = 0.005
    weight_decay: float = 1e-4
    patience: int = 5
    k: int = 20
    seed: int = 0
    num_neighbors: tuple[int, ...] | None = None
    device: str = "cpu"
