"""Serving vectors (graphrec.serve.mips): cosine over them orders items as the dot product of the
embeddings does, for every user, including items of very different norms."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.errors import InputDataError
from graphrec.serve.mips import serving_vectors


def _cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a @ b.T) / (np.linalg.norm(a, axis=1)[:, None] * np.linalg.norm(b, axis=1)[None, :])


def test_cosine_over_serving_vectors_ranks_as_the_dot_product() -> None:
    rng = np.random.default_rng(0)
    users = rng.normal(size=(40, 16)).astype(np.float32)
    # norms from 0.01 to 10: the plain cosine ranks very differently from the dot product here
    items = (rng.normal(size=(300, 16)) * rng.uniform(0.01, 10.0, size=(300, 1))).astype(np.float32)
    sv = serving_vectors(users, items)
    assert sv.user.shape == (40, 17) and sv.item.shape == (300, 17)
    assert sv.max_norm == pytest.approx(np.linalg.norm(items.astype(np.float64), axis=1).max())
    np.testing.assert_allclose(np.linalg.norm(sv.item, axis=1), sv.max_norm, rtol=1e-12)
    np.testing.assert_array_equal(sv.item[:, :-1], items.astype(np.float64))
    np.testing.assert_array_equal(sv.user[:, -1], 0.0)
    dot = users.astype(np.float64) @ items.astype(np.float64).T
    cos = _cosine(sv.user, sv.item)
    # the same dot product, and the cosine is it over |q| M: one positive factor per user
    np.testing.assert_allclose(sv.user @ sv.item.T, dot, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cos * np.linalg.norm(users, axis=1)[:, None] * sv.max_norm, dot, atol=1e-9)
    for u in range(len(users)):
        assert np.argsort(-cos[u], kind="stable").tolist() == np.argsort(-dot[u], kind="stable").tolist()
    # what the transform fixes: the plain embeddings' cosine puts other items first
    plain = _cosine(users, items)
    assert any(np.argmax(plain[u]) != np.argmax(dot[u]) for u in range(len(users)))


def test_the_largest_item_gets_no_extra_coordinate_and_none_is_negative() -> None:
    items = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0], [-3.0, 4.0]], dtype=np.float32)
    sv = serving_vectors(np.ones((1, 2), dtype=np.float32), items)
    assert sv.max_norm == 5.0
    np.testing.assert_allclose(sv.item[:, -1], [0.0, 5.0, np.sqrt(24.0), 0.0])


@pytest.mark.parametrize(
    ("user", "item", "message"),
    [
        (np.ones((2, 3)), np.ones((4, 2)), "one width"),
        (np.ones(3), np.ones((4, 3)), "one width"),
        (np.ones((2, 3)), np.ones((0, 3)), "at least one item"),
        (np.ones((2, 3)), np.array([[1.0, np.nan, 0.0]]), "finite"),
    ],
)
def test_bad_embeddings_are_refused_with_the_reason(user: np.ndarray, item: np.ndarray, message: str) -> None:
    with pytest.raises(InputDataError, match=message):
        serving_vectors(user, item)
