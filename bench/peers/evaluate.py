"""One evaluator for graphrec and every peer: top-K lists (``topk.tsv``) against a split folder's
``test.tsv``, with graphrec's metric code (:func:`graphrec.eval.ranking.metrics_at_k`), per slice.

    .venv/bin/python -m bench.peers.evaluate bench/.work/splits/ml-100k/seed0 OUT/topk.tsv

Every list is checked before it is scored: each test user has one, of at least ``max(ks)`` items, all
of them candidates (the target scenario's items) and none of them the user's training or validation
items (the exclusion RecBole's test evaluator applies, and every runner here applies).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.peers.split_io import read_pairs, read_topk
from graphrec.errors import GraphRecError


def evaluate_topk(split: Path, topk: Path, *, ks: tuple[int, ...] = (10, 20)) -> dict[str, dict[str, float]]:
    """Recall/NDCG/HR/MRR@k of ``topk`` on ``split``'s test pairs, for all test users and per slice.

    Raises:
        SplitError: A malformed split or top-K file (see :mod:`bench.peers.split_io`).
        GraphRecError: A test user without a list, a list shorter than ``max(ks)``, a non-candidate
            item, or an item the user has in train/valid — naming the user and item.
    """
    import numpy as np

    from graphrec.eval.ranking import metrics_by_slice

    relevant: dict[str, set[str]] = defaultdict(set)
    for u, i in read_pairs(split / "test.tsv"):
        relevant[u].add(i)
    known: dict[str, set[str]] = defaultdict(set)
    for name in ("train.tsv", "valid.tsv"):
        for u, i in read_pairs(split / name):
            known[u].add(i)
    candidates = set((split / "candidates.txt").read_text().split())
    lists = read_topk(topk)
    users = sorted(relevant)
    k = max(ks)
    for u in users:
        got = lists.get(u)
        if got is None or len(got) < k:
            raise GraphRecError(f"{topk}: test user {u!r} has {0 if got is None else len(got)} recommendations, needs {k}")
        for i in got[:k]:
            if i not in candidates:
                raise GraphRecError(f"{topk}: user {u!r} got {i!r}, which is not a candidate item (see candidates.txt)")
            if i in known[u]:
                raise GraphRecError(f"{topk}: user {u!r} got {i!r}, one of its train/valid items (they must be excluded)")
    top = np.array([lists[u][:k] for u in users], dtype=object)
    slices: dict[str, list[str]] = json.loads((split / "slices.json").read_text())
    return metrics_by_slice(top, users, relevant, slices=slices, ks=ks)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("split", type=Path)
    p.add_argument("topk", type=Path)
    args = p.parse_args(argv)
    result: dict[str, Any] = evaluate_topk(args.split, args.topk)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
