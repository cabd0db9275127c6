"""Text kNN, a content baseline and the text block of the default model: a user is the mean of the
L2-normalised text features of its training items (every scenario), an item its own; scores are
cosine-like dot products, so an item nobody has interacted with is ranked by its text.
"""

from __future__ import annotations

import numpy as np
import torch


def text_profiles(train: np.ndarray, item_x: np.ndarray, num_users: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(users [num_users, d], items [num_items, d])`` of text kNN (see the module docstring); users
    without training interactions get a zero profile."""
    x = unit_rows(item_x)
    users = np.zeros((num_users, x.shape[1]), dtype=np.float32)
    np.add.at(users, train[0], x[train[1]])
    counts = np.bincount(train[0], minlength=num_users).astype(np.float32)
    users /= np.maximum(counts, 1.0)[:, None]
    return torch.from_numpy(users), torch.from_numpy(x)


def unit_rows(item_x: np.ndarray) -> np.ndarray:
    """Each row of ``item_x`` L2-normalised (float32; a zero row stays 0): the items' text vectors of text
    kNN, whose mean over a user's items is the user's profile."""
    x = item_x.astype(np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
