"""Test (or validation) metrics of a split by user slice: the harness's evaluation of every model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from graphrec.eval.ranking import evaluate_ranking, group_by_user

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.splits import Split


def evaluate_slices(
    score: Any,
    split: Split,
    candidates: np.ndarray,
    *,
    on: Literal["val", "test"] = "test",
    ks: tuple[int, ...] = (10, 20),
) -> dict[str, dict[str, float]]:
    """Full-ranking metrics on ``split.test`` (or ``val``) for all users and each slice of ``split.slices``,
    the users' training items excluded (see :func:`~graphrec.eval.ranking.evaluate_ranking`).

    For a cold-item split (``split.meta["protocol"] == "coldstart-items"``) ``"all"`` and the slices rank
    all ``candidates`` (held-out items included), and ``"held-out-items"`` ranks only the held-out items
    of ``on`` (the usual cold-item ranking: the held-out items among themselves).

    Args:
        score: Maps a 1-D tensor of user rows to scores over all items (see :func:`~graphrec.eval.ranking.rank_top_k`).
        candidates: Bool mask of rankable items (the target scenario's).
    """
    held_out = split.test if on == "test" else split.val
    exclude = group_by_user(split.train)
    out = evaluate_ranking(score, held_out, exclude, candidates, slices=split.slices, ks=ks)
    if out and split.meta.get("protocol") == "coldstart-items":
        only_held = np.zeros_like(np.asarray(candidates, dtype=bool))
        only_held[np.unique(held_out[1])] = True
        out["held-out-items"] = evaluate_ranking(score, held_out, exclude, only_held & candidates, ks=ks)["all"]
    return out
