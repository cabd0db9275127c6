"""Closed-form and content baselines of the harness (no training loop): target-only EASE and text kNN.

* :func:`ease_item_weights` — EASE (Steck, 2019): ``B = I − P · diag(1 / diag P)``, ``P = (XᵀX + λI)⁻¹``
  with ``diag B = 0``, over the target scenario's items; a user's scores are ``x_u · B``. A user with
  no target history scores 0 everywhere and an item without interactions has a zero column: EASE
  ranks neither cold users nor cold items.
* :func:`text_profiles` — text kNN: a user is the mean of the L2-normalised text features of its
  training items (every scenario), an item its own; scores are cosine-like dot products, so an item
  nobody has interacted with is ranked by its text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import scipy.sparse
    import torch


def ease_item_weights(train: np.ndarray, items: np.ndarray, *, l2: float) -> torch.Tensor:
    """EASE's item–item weights over ``items`` (dense ``[len(items), len(items)]``, float32).

    Args:
        train: int64 ``[2, n]`` (user row, item row) training pairs; only pairs on ``items`` count.
        items: int64 item rows the model covers (e.g. the target scenario's items with interactions).
        l2: The ridge ``λ`` (> 0; Steck's default range is 10–1,000 for binary data).
    """
    import numpy as np
    import torch

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


def user_item_matrix(train: np.ndarray, num_users: int, items: np.ndarray) -> scipy.sparse.csr_matrix:
    """SciPy CSR ``[num_users, len(items)]`` (float32, binary) of the ``train`` pairs on ``items``."""
    import numpy as np
    import scipy.sparse

    col = np.full(int(max(items.max(initial=-1), train[1].max(initial=-1))) + 1, -1, dtype=np.int64)
    col[items] = np.arange(len(items))
    keep = col[train[1]] >= 0
    x = scipy.sparse.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (train[0, keep], col[train[1, keep]])), shape=(num_users, len(items))
    )
    x.data[:] = 1.0  # duplicates summed by the constructor count once
    return x


def text_profiles(train: np.ndarray, item_x: np.ndarray, num_users: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(users [num_users, d], items [num_items, d])`` of text kNN (see the module docstring); users
    without training interactions get a zero profile."""
    import numpy as np
    import torch

    x = item_x.astype(np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    users = np.zeros((num_users, x.shape[1]), dtype=np.float32)
    np.add.at(users, train[0], x[train[1]])
    counts = np.bincount(train[0], minlength=num_users).astype(np.float32)
    users /= np.maximum(counts, 1.0)[:, None]
    return torch.from_numpy(users), torch.from_numpy(x)
