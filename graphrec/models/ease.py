"""Target-only EASE (Steck, 2019), a closed-form baseline of the harness and the warm users' block of
the default model.

* :func:`ease_item_weights` — ``B = I − P · diag(1 / diag P)``, ``P = (XᵀX + λI)⁻¹`` with ``diag B = 0``,
  over the target scenario's items; a user's scores are ``x_u · B``. A user with no target history
  scores 0 everywhere and an item without interactions has a zero column: EASE ranks neither cold
  users nor cold items.
* :func:`ease_embeddings` — the same scores as low-rank user and item vectors (the block
  :meth:`graphrec.models.routed.RoutedLightGCN.set_ease` appends).
* :func:`fit_target_ease` — target-only EASE with its ridge chosen on validation (sparse scoring).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import torch

from graphrec.data.splits import scenario_index
from graphrec.eval.ranking import evaluate_ranking, group_by_user

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Sequence

    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split

    ScoreFn = Callable[[torch.Tensor], torch.Tensor]


TARGET_EASE_L2: tuple[float, ...] = (10.0, 100.0, 500.0, 2000.0)
"""Ridge values of target-only EASE tried on validation (the first without a validation split)."""


def ease_item_weights(train: np.ndarray, items: np.ndarray, *, l2: float) -> torch.Tensor:
    """EASE's item–item weights over ``items`` (dense ``[len(items), len(items)]``, float32).

    Args:
        train: int64 ``[2, n]`` (user row, item row) training pairs; only pairs on ``items`` count.
        items: int64 item rows the model covers (e.g. the target scenario's items with interactions).
        l2: The ridge ``λ`` (> 0; Steck's default range is 10–1,000 for binary data).
    """
    col = np.full(int(max(items.max(initial=-1), train[1].max(initial=-1))) + 1, -1, dtype=np.int64)
    col[items] = np.arange(len(items))
    keep = col[train[1]] >= 0
    users, cols = np.unique(train[0, keep], return_inverse=True)
    x = torch.zeros(len(users), len(items))
    x[torch.from_numpy(cols.reshape(-1)), torch.from_numpy(col[train[1, keep]])] = 1.0
    gram = (x.T @ x).double()
    gram.diagonal().add_(l2)
    p = torch.linalg.inv(gram)
    b = -p / p.diagonal()[None, :]
    b.diagonal().zero_()
    return b.float()


def ease_embeddings(
    train: np.ndarray, num_users: int, num_items: int, items: np.ndarray, *, l2: float, rank: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(users, items)`` of :func:`ease_factors` (see there)."""
    users, out_items, _ = ease_factors(train, num_users, num_items, items, l2=l2, rank=rank)
    return users, out_items


def ease_factors(
    train: np.ndarray, num_users: int, num_items: int, items: np.ndarray, *, l2: float, rank: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EASE over ``items`` (:func:`ease_item_weights`) as ``rank``-d user and item vectors whose dot
    products are its scores ``x_u · B`` on the items outside the user's history, truncated to the top
    ``rank`` eigenvectors of the Gram matrix ``G = XᵀX``.

    With ``G = Q Λ Qᵀ`` and ``P = (G + λI)⁻¹ = (I − Q diag(s) Qᵀ) / λ``, ``s_k = λ_k / (λ_k + λ)``, EASE's
    score of an item ``i`` the user has not chosen is ``Σ_k (x_u · q_k) · s_k · q_ik / (λ · P_ii)``: users
    ``x_u Q diag(s) / λ``, items ``q_i / P_ii`` (exact at full rank; ``P_ii`` always exact). The
    shrinkage ``s_k`` is largest for the strongest directions, so a few hundred carry most of the score.
    Scores of items in the user's history differ from EASE's (they are excluded from every ranking).

    Args:
        train: int64 ``[2, n]`` (user row, item row) training pairs; only pairs on ``items`` count.
        num_users: Users in the graph (rows of the user vectors; users without a pair on ``items`` get 0).
        num_items: Items in the graph (rows of the item vectors; items outside ``items`` get 0).
        items: int64 item rows EASE covers (e.g. the target's items with a training interaction).
        l2: The ridge ``λ`` (> 0).
        rank: Columns of the vectors (fewer eigenvectors, zero-padded, where ``len(items) < rank``).

    Returns:
        float32 ``(users [num_users, rank], items [num_items, rank], user_map [num_items, rank])``: a user's
        vector is the sum of ``user_map``'s rows of its training items (``Q diag(s) / λ``, 0 outside
        ``items``), so a user who arrives later gets theirs from their items (fold-in).
    """
    x = user_item_matrix(train, num_users, items)
    gram = np.asarray((x.T @ x).todense(), dtype=np.float64)
    n = len(items)
    r = min(rank, n)
    if n <= max(2 * rank, 2000):
        lam, q = np.linalg.eigh(gram)
        lam, q = lam[::-1][:r], q[:, ::-1][:, :r]
    else:
        lam, q = scipy.sparse.linalg.eigsh(gram, k=r, which="LA", v0=np.ones(n))
        lam, q = lam[::-1], q[:, ::-1]
    gram.flat[:: n + 1] += l2
    p_diag = np.diag(np.linalg.inv(gram))
    lam = np.clip(lam, 0.0, None)  # G is positive semi-definite: negatives are round-off
    shrink = lam / (lam + l2)
    users = np.zeros((num_users, rank), dtype=np.float32)
    out_items = np.zeros((num_items, rank), dtype=np.float32)
    users[:, :r] = np.asarray(x @ q, dtype=np.float64) * (shrink / l2)
    out_items[items, :r] = q / p_diag[:, None]
    user_map = np.zeros((num_items, rank), dtype=np.float32)
    user_map[items, :r] = q * (shrink / l2)
    return users, out_items, user_map


def user_item_matrix(train: np.ndarray, num_users: int, items: np.ndarray) -> scipy.sparse.csr_matrix:
    """SciPy CSR ``[num_users, len(items)]`` (float32, binary) of the ``train`` pairs on ``items``."""
    col = np.full(int(max(items.max(initial=-1), train[1].max(initial=-1))) + 1, -1, dtype=np.int64)
    col[items] = np.arange(len(items))
    keep = col[train[1]] >= 0
    x = scipy.sparse.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (train[0, keep], col[train[1, keep]])),
        shape=(num_users, len(items)),
    )
    x.data[:] = 1.0  # duplicates summed by the constructor count once
    return x


def fit_target_ease(
    export: GraphExport,
    split: Split,
    *,
    target: str,
    l2s: Sequence[float] = TARGET_EASE_L2,
    val_candidates: np.ndarray | None = None,
) -> tuple[ScoreFn, dict[str, Any]]:
    """Target-only EASE over the target items with training interactions, its ridge the one of ``l2s``
    with the best validation Recall@20 (``split.val``, training items excluded; the first without a
    validation split). One inversion per ridge; only the chosen weights are kept. Users score through
    a sparse product (``x_u · B``); a user without target history scores 0 everywhere.

    Args:
        val_candidates: Bool ``[num_items]``: the items validation ranks over (default: the target's;
            the harness passes :func:`graphrec.train.inputs.validation_candidates`).

    Returns:
        ``(score function over all items, {"l2", "val_recall@20", "grid", ...})``.
    """
    started = time.perf_counter()
    t_idx = scenario_index(export, target)
    n_items = len(export.item_keys)
    counts = np.bincount(split.train[1], minlength=n_items)
    items = np.flatnonzero((export.item_scenario == t_idx) & (counts > 0))
    x = user_item_matrix(split.train, len(export.user_ids), items)
    items_t = torch.from_numpy(items)
    candidates = export.item_scenario == t_idx if val_candidates is None else val_candidates
    exclude = group_by_user(split.train)

    def scorer_for(b: np.ndarray) -> ScoreFn:
        def score(user_rows: torch.Tensor) -> torch.Tensor:
            out = torch.zeros(len(user_rows), n_items)
            out[:, items_t] = torch.from_numpy(np.asarray(x[user_rows.numpy()] @ b, dtype=np.float32))
            return out

        return score

    grid: list[dict[str, float]] = []
    best: tuple[float, float, ScoreFn] | None = None
    for l2 in l2s if split.val.shape[1] else l2s[:1]:
        scorer = scorer_for(ease_item_weights(split.train, items, l2=l2).numpy())
        val = evaluate_ranking(scorer, split.val, exclude, candidates, ks=(20,)) if split.val.shape[1] else {}
        recall = val.get("all", {}).get("recall@20", 0.0)
        grid.append({"l2": float(l2), "val_recall@20": recall})
        if best is None or recall > best[1]:
            best = (float(l2), recall, scorer)
    assert best is not None
    params = {
        "l2": best[0],
        "val_recall@20": best[1],
        "items": len(items),
        "grid": grid,
        "seconds": time.perf_counter() - started,
        "selected_on": "validation",
    }
    return best[2], params
