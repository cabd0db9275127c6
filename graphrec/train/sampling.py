"""BPR pieces: negative sampling (negatives come from the positive item's own scenario), the loss and its L2 term."""

from __future__ import annotations

import numpy as np
import torch


def in_scenario_negatives(
    pairs: np.ndarray,
    item_scenario: np.ndarray,
    positives: dict[int, set[int]],
    *,
    rng: np.random.Generator,
    max_tries: int = 50,
    pool: np.ndarray | None = None,
) -> np.ndarray:
    """One negative item per ``(user, item)`` pair, drawn uniformly from the item's scenario and
    not among the user's training positives (rejection sampling; after ``max_tries`` the last draw
    is kept, which only happens for users who interacted with nearly the whole scenario).

    Args:
        pool: Bool ``[n_items]``: the items negatives may be drawn from (default: all). Training passes
            the items with at least one training interaction (:func:`observed_items`): an item nobody
            has interacted with yet (a new catalogue entry, a held-out cold item) carries no evidence
            that anyone dislikes it, and drawing it only as a negative would teach the text projection
            to push such items down.

    Returns:
        int64 ``[n_pairs]`` item rows.
    """
    allowed = np.ones(len(item_scenario), dtype=bool) if pool is None else np.asarray(pool, dtype=bool)
    by_scenario = {s: np.flatnonzero((item_scenario == s) & allowed) for s in np.unique(item_scenario)}
    out = np.empty(pairs.shape[1], dtype=np.int64)
    for k, (u, i) in enumerate(pairs.T.tolist()):
        pool = by_scenario[item_scenario[i]]
        seen = positives.get(u, set())
        for _ in range(max_tries):
            j = int(pool[rng.integers(len(pool))])
            if j not in seen:
                break
        out[k] = j
    return out


def observed_items(train: np.ndarray, num_items: int) -> np.ndarray:
    """Bool ``[num_items]``: items with at least one of the training pairs ``train`` (user row, item row)."""
    return np.bincount(train[1], minlength=num_items) > 0


def bpr_loss(pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """Bayesian personalised ranking loss ``−mean(log σ(pos − neg))`` over paired scores."""
    return -torch.nn.functional.logsigmoid(pos - neg).mean()


def layer0_l2(users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
    """L2 penalty on a batch's layer-0 rows (user, positive item, negative item per pair), as LightGCN
    regularises: ``(‖users‖² + ‖positives‖² + ‖negatives‖²) / (2 · batch)``."""
    return (users.pow(2).sum() + positives.pow(2).sum() + negatives.pow(2).sum()) / (2 * len(users))
