"""Full ranking over all candidate items (e.g. every item of the target scenario), training items
excluded, in user chunks so memory stays bounded (``chunk_size × n_items`` scores at a time)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import TypeVar

import numpy as np
import torch

ScoreFn = Callable[["torch.Tensor"], "torch.Tensor"]
UserKey = TypeVar("UserKey", bound=Hashable)  # a user row (int) or a user id of any hashable kind


def group_by_user(pairs: np.ndarray) -> dict[int, set[int]]:
    """``{user row: {item rows}}`` from int64 ``[2, n]`` pairs."""
    out: dict[int, set[int]] = defaultdict(set)
    for u, i in pairs.T.tolist():
        out[u].add(i)
    return dict(out)


def rank_top_k(
    score_fn: ScoreFn,
    users: Sequence[int],
    candidates: np.ndarray,
    exclude: dict[int, set[int]],
    *,
    k: int,
    chunk_size: int = 1024,
) -> np.ndarray:
    """Top-``k`` candidate item rows per user, best first.

    Args:
        score_fn: Maps a 1-D CPU tensor of user rows to scores ``[len(users), n_items]`` over all items, on
            any device (the top ``k`` are chosen there and come back to the CPU).
        users: User rows to rank for.
        candidates: Bool mask ``[n_items]`` of rankable items (e.g. the target scenario's).
        exclude: Items never to recommend per user (their training interactions).
        k: List length.
        chunk_size: Users scored at once.

    Returns:
        int64 ``[len(users), k]`` item rows.
    """
    cand = torch.from_numpy(np.asarray(candidates, dtype=bool))
    out = np.empty((len(users), k), dtype=np.int64)
    for start in range(0, len(users), chunk_size):
        chunk = list(users[start : start + chunk_size])
        with torch.inference_mode():
            scores = score_fn(torch.tensor(chunk, dtype=torch.long)).float().clone()
            scores[:, ~cand.to(scores.device)] = -torch.inf
            rows, cols = [], []
            for r, u in enumerate(chunk):
                seen = exclude.get(u)
                if seen:
                    rows += [r] * len(seen)
                    cols += list(seen)
            if rows:
                scores[torch.tensor(rows, device=scores.device), torch.tensor(cols, device=scores.device)] = -torch.inf
            out[start : start + len(chunk)] = torch.topk(scores, k, dim=1).indices.cpu().numpy()
    return out


def metrics_at_k(
    top: np.ndarray,
    users: Sequence[UserKey],
    relevant: Mapping[UserKey, AbstractSet[Hashable]],
    ks: Iterable[int] = (10, 20),
) -> dict[str, float]:
    """Mean Recall, NDCG, HR and MRR @k over ``users`` (each must have at least one relevant item).

    Recall@k = hits / |relevant| (RecBole's definition).
    NDCG@k uses binary relevance with the ideal DCG over min(|relevant|, k) items.
    """
    ks = list(ks)
    sums = {f"{m}@{k}": 0.0 for k in ks for m in ("recall", "ndcg", "hr", "mrr")}
    discount = 1.0 / np.log2(np.arange(2, max(ks) + 2))
    for row, u in enumerate(users):
        rel = relevant[u]
        hits = np.array([i in rel for i in top[row]], dtype=bool)
        for k in ks:
            h = hits[:k]
            n_hit = int(h.sum())
            sums[f"recall@{k}"] += n_hit / len(rel)
            sums[f"hr@{k}"] += float(n_hit > 0)
            ideal = discount[: min(len(rel), k)].sum()
            sums[f"ndcg@{k}"] += float((discount[:k] * h).sum() / ideal)
            first = np.flatnonzero(h)
            sums[f"mrr@{k}"] += 1.0 / (first[0] + 1) if first.size else 0.0
    n = max(len(users), 1)
    return {name: value / n for name, value in sums.items()}


def dot_product_scores(users: torch.Tensor, items: torch.Tensor) -> ScoreFn:
    """The score function ``users[rows] @ items.T`` over final user and item embeddings (scored on their
    device; the rows may be on the CPU)."""

    def scores(user_rows: torch.Tensor) -> torch.Tensor:
        return users[user_rows.to(users.device)] @ items.T

    return scores


def evaluate_ranking(
    score_fn: ScoreFn,
    held_out: np.ndarray,
    exclude: dict[int, set[int]],
    candidates: np.ndarray,
    *,
    slices: Mapping[str, np.ndarray] | None = None,
    ks: Iterable[int] = (10, 20),
) -> dict[str, dict[str, float]]:
    """Full-ranking metrics of the ``held_out`` pairs, for all their users (``"all"``) and per slice.

    Every user with a held-out item is ranked once; a slice's metrics are over its users that have one.

    Args:
        score_fn: See :func:`rank_top_k`.
        held_out: int64 ``[2, n]`` (user row, item row) pairs to find.
        exclude: Items never ranked per user (their training items).
        candidates: Bool mask of rankable items.
        slices: Named user-row sets (e.g. ``cold``, ``warm``).
        ks: Cut-offs.

    Returns:
        ``{"all" | slice name: {metric@k: value, "users": count}}``; empty without held-out pairs.
    """
    ks = tuple(ks)
    relevant = group_by_user(held_out)
    rows = sorted(relevant)
    if not rows:
        return {}
    top = rank_top_k(score_fn, rows, candidates, exclude, k=max(ks))
    return metrics_by_slice(top, rows, relevant, slices=slices, ks=ks)


def metrics_by_slice(
    top: np.ndarray,
    users: Sequence[UserKey],
    relevant: Mapping[UserKey, AbstractSet[Hashable]],
    *,
    slices: Mapping[str, Sequence[Hashable] | np.ndarray] | None = None,
    ks: Iterable[int] = (10, 20),
) -> dict[str, dict[str, float]]:
    """:func:`metrics_at_k` of ranked lists for all ``users`` (``"all"``) and for each slice's members
    among them, each with its ``"users"`` count; slices without such a member are left out.

    Args:
        top: ``[len(users), ≥ max(ks)]`` recommended items per user, best first (ids of any hashable kind).
        users: The ranked users, in the row order of ``top``.
        relevant: Held-out items per user.
        slices: Named user sets (e.g. ``cold``, ``warm``).
    """
    ks = tuple(ks)
    position = {u: r for r, u in enumerate(users)}
    out = {"all": {**metrics_at_k(top, users, relevant, ks), "users": float(len(users))}}
    for name, members in (slices or {}).items():
        inside = [u for u in np.asarray(members).tolist() if u in position]
        if inside:
            sub = top[[position[u] for u in inside]]
            out[name] = {**metrics_at_k(sub, inside, relevant, ks), "users": float(len(inside))}
    return out
