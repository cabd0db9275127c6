"""The peer benchmark's plumbing: split files round-trip into the same Split graphrec trains on, and
the one evaluator scores top-K lists exactly as graphrec's own full-ranking evaluation does, and
refuses lists that break the protocol."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bench.peers.evaluate import evaluate_topk
from bench.peers.run_graphrec import split_from_files
from bench.peers.split_files import write_split_files
from graphrec.data.splits import coldstart_transfer
from graphrec.errors import GraphRecError
from graphrec.eval.ranking import dot_product_scores, evaluate_ranking, group_by_user, rank_top_k
from tests.helpers import toy_export, write_topk


@pytest.fixture()
def split_folder(tmp_path: Path):
    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    candidates = export.item_scenario == export.scenarios.index("books")
    folder = write_split_files(
        tmp_path / "split", export, split, item_x=x, meta={"target": "books"}, candidates=candidates
    )
    return export, split, candidates, folder


def test_split_files_round_trip(split_folder) -> None:
    export, split, candidates, folder = split_folder
    back = split_from_files(folder, export)
    for name in ("train", "val", "test"):
        assert np.array_equal(np.unique(getattr(back, name), axis=1), np.unique(getattr(split, name), axis=1)), name
    assert set(back.slices) == set(split.slices) == {"cold", "warm"}
    for name in split.slices:
        assert sorted(back.slices[name].tolist()) == sorted(split.slices[name].tolist())
    assert len((folder / "candidates.txt").read_text().split()) == int(candidates.sum())
    assert np.load(folder / "item_features.npy").shape == (len(export.item_keys), 4)


def test_evaluator_equals_graphrec_full_ranking(split_folder, tmp_path: Path) -> None:
    export, split, candidates, folder = split_folder
    rng = np.random.default_rng(1)
    score = dot_product_scores(torch.tensor(rng.normal(size=(80, 8)), dtype=torch.float32),
                               torch.tensor(rng.normal(size=(60, 8)), dtype=torch.float32))  # fmt: skip
    exclude = group_by_user(np.concatenate([split.train, split.val], axis=1))
    users = sorted(set(split.test[0].tolist()))
    write_topk(tmp_path / "topk.tsv", export, users, rank_top_k(score, users, candidates, exclude, k=20))
    got = evaluate_topk(folder, tmp_path / "topk.tsv")
    want = evaluate_ranking(score, split.test, exclude, candidates, slices=split.slices)
    assert set(got) == set(want) == {"all", "cold", "warm"}
    for s in want:
        for m, v in want[s].items():
            assert got[s][m] == pytest.approx(v), (s, m)
    assert 0 < got["cold"]["recall@20"] < 1


def test_evaluator_rejects_lists_that_break_the_protocol(split_folder, tmp_path: Path) -> None:
    export, split, candidates, folder = split_folder
    users = sorted(set(split.test[0].tolist()))
    books = np.flatnonzero(candidates)
    u0 = users[0]
    top = np.tile(books[:20], (len(users), 1))
    train_item = next(i for u, i in split.train.T.tolist() if u == u0 and candidates[i])
    top[0, 0] = train_item
    write_topk(tmp_path / "seen.tsv", export, users, top)
    with pytest.raises(GraphRecError, match="train/valid items"):
        evaluate_topk(folder, tmp_path / "seen.tsv")
    top[0, 0] = np.flatnonzero(~candidates)[0]
    write_topk(tmp_path / "movie.tsv", export, users, top)
    with pytest.raises(GraphRecError, match="not a candidate"):
        evaluate_topk(folder, tmp_path / "movie.tsv")
    write_topk(tmp_path / "short.tsv", export, users[1:], top[1:])
    with pytest.raises(GraphRecError, match=f"{export.user_ids[u0]!r} has 0 recommendations"):
        evaluate_topk(folder, tmp_path / "short.tsv")
