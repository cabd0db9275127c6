"""A linear map from a user's text profile to the text of the items it will choose, fitted in closed form:
the text block's user side (:func:`graphrec.train.blocks.text_block`) where validation prefers it to the
plain mean of text kNN.

Text kNN scores item ``i`` for user ``u`` by ``p_u · q_i``, with ``q_i`` the item's unit text vector and
``p_u`` the mean of the user's. The map learns which directions of a history's text predict which
directions of the next item's: ``p_u W · q_i``, with ``W`` (``d × d``) the ridge solution of

    min_W ‖X̃ − X̃ Q W Qᵀ‖² + λ‖W‖²,

where ``X̃`` holds the training interactions over the items that have one (rows scaled by
``1/√n_u``, so a heavy user does not dominate) and ``Q`` their unit text vectors. It is a linear
autoencoder of the interactions through the text space, like EASE through item IDs; as it only sees
items through their text, it places an item nobody has interacted with as well as any other. With
``A = (X̃Q)ᵀ(X̃Q) = U diag(a) Uᵀ`` and ``C = QᵀQ = V diag(c) Vᵀ`` the normal equations
``A W C + λW = A`` solve per eigen-pair: ``W = U [(UᵀAV)_jk / (a_j c_k + λ)] Vᵀ``. ``λ`` is given
relative to ``mean(a) · mean(c)`` (:data:`TEXT_MAP_L2`), so one grid serves any data size.
"""

from __future__ import annotations

import numpy as np

from graphrec.errors import ConfigError

TEXT_MAP_L2: tuple[float | None, ...] = (None, 0.1, 1.0, 10.0)
"""The relative ridges the text block chooses among on validation; ``None`` is no map (text kNN's mean)."""


def fit_text_map(train: np.ndarray, unit: np.ndarray, num_users: int, *, l2: float) -> np.ndarray:
    """The map ``W`` (float32 ``[d, d]``) of the module docstring.

    Args:
        train: int64 ``[2, n]`` training pairs (user row, item row), every scenario.
        unit: float32 ``[num_items, d]``: the items' unit text vectors
            (:func:`~graphrec.models.text_knn.unit_rows`).
        num_users: Number of user rows.
        l2: The ridge relative to ``mean(a) · mean(c)`` (> 0).

    Raises:
        ConfigError: ``l2`` is not positive, or there is no training pair.
    """
    return fit_text_maps(train, unit, num_users, l2s=(l2,))[0]


def fit_text_maps(train: np.ndarray, unit: np.ndarray, num_users: int, *, l2s: tuple[float, ...]) -> list[np.ndarray]:
    """:func:`fit_text_map` at each relative ridge of ``l2s``, from one pair of eigendecompositions (a grid's).

    Raises:
        ConfigError: A ridge is not positive, or there is no training pair.
    """
    if bad := [l2 for l2 in l2s if not l2 > 0]:
        raise ConfigError(f"the text map's relative ridge must be > 0, got {bad[0]}; pass one of {TEXT_MAP_L2[1:]}")
    if not train.shape[1]:
        raise ConfigError("the text map needs training pairs and there are none; train on a split with interactions")
    counts = np.bincount(train[0], minlength=num_users).astype(np.float64)
    profiles = np.zeros((num_users, unit.shape[1]), dtype=np.float64)
    np.add.at(profiles, train[0], unit[train[1]].astype(np.float64) / np.sqrt(counts[train[0]])[:, None])
    items = np.unique(train[1])
    q = unit[items].astype(np.float64)
    a_mat, c_mat = profiles.T @ profiles, q.T @ q
    a, u = np.linalg.eigh(a_mat)
    c, v = np.linalg.eigh(c_mat)
    a, c = np.maximum(a, 0.0), np.maximum(c, 0.0)
    rotated, scale = u.T @ a_mat @ v, max(float(a.mean() * c.mean()), 1e-12)
    return [(u @ (rotated / (np.outer(a, c) + l2 * scale)) @ v.T).astype(np.float32) for l2 in l2s]
