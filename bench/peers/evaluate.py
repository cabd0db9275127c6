"""One evaluator for graphrec and every peer: top-K lists (``topk.tsv``) against a split folder's
``test.tsv``, with graphrec's metric code (:func:`graphrec.eval.ranking.metrics_at_k`), per slice.

    .venv/bin/python -m bench.peers.evaluate bench/.work/splits/ml-100k/seed0 OUT/topk.tsv

Every list is checked before it is scored: each test user has one, of at least ``max(ks)`` items, all
of them candidates (the target scenario's items) and none of them the user's training or validation
items (the exclusion RecBole's test evaluator applies, and every runner here applies; a split whose
``meta.json`` names ``"test_exclude"`` — a cold-item split: training items only, as graphrec's
evaluation of that protocol — is checked against those parts instead).

Extra candidate sets: for each ``candidates-<name>.txt`` of the split with a ``topk-<name>.tsv`` beside
the scored ``topk.tsv``, the result also has ``<name>``: those lists, checked against that set, over
all test users (a cold-item split's ``held-out-items``: the held-out test items ranked among
themselves, the ``"held-out-items"`` entry of :func:`graphrec.eval.slices.evaluate_slices`).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.peers.split_io import (
    excluded_at_test,
    extra_candidate_files,
    read_pairs,
    read_topk,
    topk_name,
)
from graphrec.errors import GraphRecError


def evaluate_topk(split: Path, topk: Path, *, ks: tuple[int, ...] = (10, 20)) -> dict[str, dict[str, float]]:
    """Recall/NDCG/HR/MRR@k of ``topk`` on ``split``'s test pairs, for all test users and per slice,
    plus one entry per extra candidate set that has its lists beside ``topk`` (module docstring).

    Raises:
        SplitError: A malformed split or top-K file (see :mod:`bench.peers.split_io`).
        GraphRecError: A test user without a list, a list shorter than ``max(ks)``, a non-candidate
            item, or an item the user has in an excluded part (train/valid) — naming the user and item.
    """
    from graphrec.eval.ranking import metrics_by_slice

    relevant: dict[str, set[str]] = defaultdict(set)
    for u, i in read_pairs(split / "test.tsv"):
        relevant[u].add(i)
    parts = excluded_at_test(split)
    known: dict[str, set[str]] = defaultdict(set)
    for name in parts:
        for u, i in read_pairs(split / f"{name}.tsv"):
            known[u].add(i)
    users = sorted(relevant)
    candidates = set((split / "candidates.txt").read_text().split())
    top = checked_lists(topk, users, candidates, known, k=max(ks), parts=parts, what="candidates.txt")
    slices: dict[str, list[str]] = json.loads((split / "slices.json").read_text())
    out = metrics_by_slice(top, users, relevant, slices=slices, ks=ks)
    for name, path in extra_candidate_files(split).items():
        lists = topk.parent / topk_name(name)
        if lists.is_file():
            only = set(path.read_text().split()) & candidates
            top = checked_lists(lists, users, only, known, k=max(ks), parts=parts, what=path.name)
            out[name] = metrics_by_slice(top, users, relevant, ks=ks)["all"]
    return out


def checked_lists(
    topk: Path,
    users: list[str],
    candidates: set[str],
    known: dict[str, set[str]],
    *,
    k: int,
    parts: tuple[str, ...],
    what: str,
) -> Any:
    """The first ``k`` items of ``topk``'s list of each of ``users`` (an object array, one row per user),
    once every list is long enough, holds ``candidates`` only and none of the user's ``known`` items.

    Raises:
        GraphRecError: The first list that breaks the protocol, naming the user and item.
    """
    import numpy as np

    lists = read_topk(topk)
    for u in users:
        got = lists.get(u)
        if got is None or len(got) < k:
            raise GraphRecError(
                f"{topk}: test user {u!r} has {0 if got is None else len(got)} recommendations, needs {k}"
            )
        for i in got[:k]:
            if i not in candidates:
                raise GraphRecError(f"{topk}: user {u!r} got {i!r}, which is not a candidate item (see {what})")
            if i in known[u]:
                raise GraphRecError(
                    f"{topk}: user {u!r} got {i!r}, one of its {'/'.join(parts)} items (they must be excluded)"
                )
    return np.array([lists[u][:k] for u in users], dtype=object)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("split", type=Path)
    p.add_argument("topk", type=Path)
    args = p.parse_args(argv)
    result: dict[str, Any] = evaluate_topk(args.split, args.topk)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
