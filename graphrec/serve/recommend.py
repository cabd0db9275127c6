"""Top-K recommendations for raw user ids from a saved run (users with no target history included)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from graphrec.device import resolve_device
from graphrec.errors import InputDataError
from graphrec.store import cypher

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.store.bolt import GraphStore
    from graphrec.train.record import RunRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recommendation:
    """One recommended item: raw ids as ingested, rank from 1, model score (dot product)."""

    user_id: str
    item_id: str
    rank: int
    score: float


@dataclass
class Recommendations:
    """Recommendations plus the users that got none and why (nothing is dropped silently)."""

    rows: list[Recommendation] = field(default_factory=list)
    unknown_users: list[str] = field(default_factory=list)


def read_user_ids(path: Path) -> list[str]:
    """User ids from a file: one per line; an optional first line ``user_id`` is a header; blank lines
    and lines starting with ``#`` are ignored; duplicates are kept once (first occurrence).

    Raises:
        InputDataError: The file cannot be read or holds no user id.
    """
    ids: list[str] = []
    seen: set[str] = set()
    for n, value in data_lines(path, what="user file", fix="one user id per line", headers=("user_id",)):
        if "," in value or "\t" in value:
            raise InputDataError(f"{path}:{n}: {value!r} is not a single user id; put one user id per line")
        if value not in seen:
            seen.add(value)
            ids.append(value)
    if not ids:
        raise InputDataError(f"user file {path} holds no user id; put one user id per line")
    return ids


def data_lines(path: Path, *, what: str, fix: str, headers: Sequence[str]) -> list[tuple[int, str]]:
    """``(line number, stripped line)`` of a small text file, without blank lines, ``#`` comments and a first
    line in ``headers``.

    Raises:
        InputDataError: The file cannot be read (``what`` names it, ``fix`` says what to give).
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputDataError(f"cannot read {what} {path}: {e}; give a UTF-8 text file with {fix}") from e
    out = []
    for n, line in enumerate(lines, start=1):
        value = line.strip()
        if value and not value.startswith("#") and not (n == 1 and value in headers):
            out.append((n, value))
    return out


SAMPLE_STRIDE = 16
"""Every how many'th score :func:`top_positions` samples to bound the k-th highest from below."""


def top_positions(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest finite scores, best first, ties by position (as a stable sort);
    excluded items are given ``-inf`` and never returned (fewer than ``k`` come back when fewer are finite).

    Exact, in linear time: the ``k``-th highest of every :data:`SAMPLE_STRIDE`-th score is at most the
    ``k``-th highest of all, so only the scores at or above it (about ``SAMPLE_STRIDE × k`` of them) are
    ranked — over 100,000 items 4× faster than an ``argpartition`` of the whole line.
    """
    n = len(scores)
    kk = min(k, n)
    if kk < 1:
        return np.zeros(0, dtype=np.int64)
    cand = _candidates(scores, kk)
    vals = scores[cand]
    if len(cand) > kk:  # keep the kk highest; of those tied with the kk-th, the lowest positions
        kth = np.partition(vals, len(vals) - kk)[len(vals) - kk]
        above = np.flatnonzero(vals > kth)
        tied = np.flatnonzero(vals == kth)[: kk - len(above)]
        keep = np.concatenate([above, tied])
        cand, vals = cand[keep], vals[keep]
    finite = np.isfinite(vals)
    cand, vals = cand[finite], vals[finite]
    return cand[np.lexsort((cand, -vals))]


def _candidates(scores: np.ndarray, k: int) -> np.ndarray:
    """Ascending positions that certainly include the ``k`` highest scores (all positions for short lines,
    or when the sample's ``k``-th highest is ``-inf``)."""
    n = len(scores)
    if n < SAMPLE_STRIDE * k * 4:
        return np.arange(n)
    sample = scores[::SAMPLE_STRIDE]
    bound = np.partition(sample, len(sample) - k)[len(sample) - k]
    if not bound > -np.inf:  # -inf or NaN: nothing to prune on
        return np.arange(n)
    return np.flatnonzero(scores >= bound)


def item_titles(store: GraphStore, scenario: str, item_ids: Sequence[str]) -> dict[str, str | None]:
    """``{item id: title}`` of items of ``scenario`` (one read; ids not in the graph are absent)."""
    return {r["id"]: r["title"] for r in store.read(cypher.ITEM_TITLES, {"scenario": scenario, "ids": list(item_ids)})}


def recommend(
    run: RunRecord,
    user_ids: Sequence[str],
    *,
    scenario: str,
    k: int = 20,
    skip_unknown: bool = False,
    chunk_size: int = 1024,
    device: str = "cpu",
) -> Recommendations:
    """Top-``k`` items of ``scenario`` per user by the run's embeddings. Items the user interacted with
    in the graph the run was trained on are excluded, held-out ones included (serving never recommends
    what a user already has; evaluation, which excludes training items only, is :func:`evaluate_slices`).

    Users with no history in ``scenario`` (cold users) are ranked from the embedding their other
    scenarios' interactions gave them.

    Args:
        run: A saved training run.
        user_ids: Raw user ids.
        scenario: Scenario whose items are recommended.
        k: List length (default 20); shorter for a user with fewer unseen items in ``scenario``.
        skip_unknown: Report users the run does not know instead of raising (default false).
        chunk_size: Users scored at once (bounds memory).
        device: Where the scores are computed (:func:`~graphrec.device.resolve_device`: ``auto``, ``cpu``,
            ``cuda``, ``cuda:N``; default ``cpu``); the embeddings are copied there once per call.

    Raises:
        InputDataError: A user is not in the run (and ``skip_unknown`` is false), or ``k`` < 1.
        ConfigError: An unknown device, or a GPU where torch sees none.
    """
    if k < 1:
        raise InputDataError(f"k must be at least 1, got {k}")
    candidates = run.scenario_mask(scenario)
    k = min(k, int(candidates.sum()))
    row_of = run.user_row()
    unknown = [u for u in user_ids if u not in row_of]
    if unknown and not skip_unknown:
        raise InputDataError(
            f"{len(unknown)} user(s) are not in run {run.name} (e.g. {unknown[:3]}); they have no interaction in the "
            "graph the run was trained on. Ingest their interactions and retrain, or pass --skip-unknown"
        )
    known = [u for u in user_ids if u in row_of]
    rows = [row_of[u] for u in known]
    seen = run.known_items(rows)
    from graphrec.eval.ranking import rank_top_k  # torch

    top = rank_top_k(run.score_fn(resolve_device(device)), rows, candidates, seen, k=k, chunk_size=chunk_size)
    out = Recommendations(unknown_users=unknown)
    for user_id, row, items_of_user in zip(known, rows, top):
        user_vec = run.user[row]
        # where the scenario has fewer than k items the user has not seen, the ranking is padded with
        # excluded items (known, or of another scenario): the list is shorter instead
        ranked = [i for i in items_of_user.tolist() if candidates[i] and i not in seen[row]]
        for rank, item in enumerate(ranked, start=1):
            out.rows.append(Recommendation(user_id, run.item_keys[item][1], rank, float(run.item[item] @ user_vec)))
    if unknown:
        logger.info("%d user(s) not in run %s got no recommendations (e.g. %s)", len(unknown), run.name, unknown[:3])
    return out
