"""``serve.recommend.top_positions`` — the one top-k of serving and fold-in — against a full stable sort."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.serve.recommend import SAMPLE_STRIDE, top_positions


def sorted_reference(scores: np.ndarray, k: int) -> list[int]:
    """The ``k`` highest finite scores by a full sort: descending, ties by position."""
    finite = np.flatnonzero(np.isfinite(scores))
    return finite[np.lexsort((finite, -scores[finite]))][:k].tolist()


def lines(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Score lines of ``n`` items that stress the sampled bound: distinct, tied, mostly masked, all masked."""
    masked = rng.standard_normal(n)
    masked[rng.random(n) < 0.98] = -np.inf
    sparse_ties = np.zeros(n, dtype=np.float32)
    sparse_ties[rng.random(n) < 0.5] = -np.inf
    return {
        "distinct": rng.standard_normal(n).astype(np.float32),
        "ties": rng.integers(0, 4, n).astype(np.float32),
        "mostly masked": masked,
        "tied and masked": sparse_ties,
        "all masked": np.full(n, -np.inf),
        "ascending": np.arange(n, dtype=np.float64),  # the sample's bound is as tight as it gets
    }


@pytest.mark.parametrize("n", [0, 1, 7, 500, SAMPLE_STRIDE * 20 * 4, 30_000])
@pytest.mark.parametrize("k", [1, 5, 20, 100])
def test_equals_a_full_stable_sort(n: int, k: int) -> None:
    rng = np.random.default_rng(n * 1000 + k)
    for name, scores in lines(rng, n).items():
        assert top_positions(scores, k).tolist() == sorted_reference(scores, k), name


def test_k_below_one_and_beyond_the_line() -> None:
    scores = np.array([0.5, 2.0, -np.inf, 2.0])
    assert top_positions(scores, 0).tolist() == []
    assert top_positions(scores, 10).tolist() == [1, 3, 0]  # the masked item never comes back
