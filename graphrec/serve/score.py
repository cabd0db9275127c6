"""Score functions over a saved run's embeddings (dot product), for ranking."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.train.rundir import SavedRun


def embedding_scores(run: SavedRun) -> Any:
    """A function mapping a 1-D tensor of user rows to scores ``[len(rows), n_items]``."""
    import torch

    users = torch.from_numpy(run.user)
    items = torch.from_numpy(run.item)

    def scores(user_rows: torch.Tensor) -> torch.Tensor:
        return users[user_rows] @ items.T

    return scores
