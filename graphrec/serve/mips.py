"""Serving vectors: maximum-inner-product search through a cosine vector index.

The model ranks items by the dot product ``q·x`` of concatenated user and item vectors
(:mod:`graphrec.models.routed`), but a vector index ranks by cosine (or Euclidean distance), which
ignores the items' norms, so the index's top-K over the plain embeddings is not the model's. The
transform of Bachrach et al. (2014, "Speeding up the Xbox recommender system using a Euclidean
transformation for inner-product spaces") gives every item one more coordinate so that all items have
the same norm ``M`` (the largest item norm)::

    item x  →  x̃ = [x, sqrt(M² − |x|²)]        |x̃| = M
    user q  →  q̃ = [q, 0]

so ``q̃·x̃ = q·x`` and ``cos(q̃, x̃) = q·x / (|q|·M)``: for one user a positive multiple of the dot
product, so a cosine index over ``x̃`` queried with ``q̃`` ranks items exactly as the model does.
Write-back stores them as ``serving_embedding`` (:data:`graphrec.schema.Prop.SERVING_EMBEDDING`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphrec.errors import InputDataError


@dataclass(frozen=True)
class ServingVectors:
    """Users' and items' serving vectors (one column more than the embeddings).

    Attributes:
        user: ``[num_users, d + 1]``: ``[q, 0]``.
        item: ``[num_items, d + 1]``: ``[x, sqrt(M² − |x|²)]``, every row of norm ``max_norm``.
        max_norm: ``M``, the largest item norm.
    """

    user: np.ndarray
    item: np.ndarray
    max_norm: float


def serving_vectors(user: np.ndarray, item: np.ndarray) -> ServingVectors:
    """The maximum-inner-product transform of a run's embeddings (see the module docstring).

    Computed in float64: the last item coordinate is a difference of squares, which float32 would
    round visibly for items whose norm is close to ``M``.

    Args:
        user: User embeddings ``[num_users, d]``.
        item: Item embeddings ``[num_items, d]`` (every item of the run: ``M`` is their largest norm).

    Raises:
        InputDataError: The arrays are not 2-d with the same width, hold no item, or are not finite.
    """
    if user.ndim != 2 or item.ndim != 2 or user.shape[1] != item.shape[1]:
        raise InputDataError(
            f"serving vectors need user and item embeddings of one width, got shapes {user.shape} and "
            f"{item.shape}; pass the run's user and item embeddings"
        )
    if len(item) == 0:
        raise InputDataError("serving vectors need at least one item embedding; the run has none")
    if not (np.isfinite(user).all() and np.isfinite(item).all()):
        raise InputDataError("serving vectors need finite embeddings; retrain the run (its embeddings hold NaN/inf)")
    x = item.astype(np.float64)
    sq = np.einsum("ij,ij->i", x, x)
    m2 = float(sq.max())
    extra = np.sqrt(np.clip(m2 - sq, 0.0, None))
    return ServingVectors(
        user=np.hstack([user.astype(np.float64), np.zeros((len(user), 1))]),
        item=np.hstack([x, extra[:, None]]),
        max_norm=float(np.sqrt(m2)),
    )
