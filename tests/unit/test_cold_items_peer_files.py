"""The cold-item protocol in the peers' files: the folder holds graphrec's own split, the evaluator
scores peers' lists exactly as graphrec's evaluation of that protocol does ("all", its slices and
"held-out-items"), and the LightFM runner keeps held-out items out of training and places them by text."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.peers.evaluate import evaluate_topk
from bench.peers.run_graphrec import split_from_files
from bench.peers.split_files import (
    HELD_OUT_ITEMS,
    item_token,
    parse_split_name,
    write_cold_items_split,
)
from bench.peers.split_io import load_split
from graphrec.data.splits import coldstart_items
from graphrec.errors import GraphRecError
from graphrec.eval.ranking import dot_product_scores, group_by_user, rank_top_k
from graphrec.eval.slices import evaluate_slices
from tests.helpers import toy_export, write_topk


@pytest.fixture()
def cold_folder(tmp_path: Path):
    export, x = toy_export()
    folder = write_cold_items_split(tmp_path / "amazon-kg-coldstart-items-books" / "seed0", export, x,
                                    dataset="toy", target="books", seed=0)  # fmt: skip
    split = coldstart_items(export, target="books", seed=0)
    candidates = export.item_scenario == export.scenarios.index("books")
    return export, split, candidates, folder


def test_cold_items_folder_is_graphrecs_split(cold_folder) -> None:
    export, split, _, folder = cold_folder
    back = split_from_files(folder, export)
    for name in ("train", "val", "test"):
        assert np.array_equal(np.unique(getattr(back, name), axis=1), np.unique(getattr(split, name), axis=1)), name
    tokens = [item_token(s, i) for s, i in export.item_keys]
    held = (folder / f"candidates-{HELD_OUT_ITEMS}.txt").read_text().split()
    assert held == [tokens[i] for i in np.unique(split.test[1])]
    assert set(held).isdisjoint(i for _, i in load_split(folder).train)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["test_exclude"] == ["train"] and meta["protocol"] == "coldstart-items" and meta["source"] == "movies"
    loaded = load_split(folder)
    assert loaded.test_exclude == ("train",) and loaded.extra_candidates[HELD_OUT_ITEMS] == held
    assert parse_split_name("amazon-kg-coldstart-items-books") == ("amazon-kg", "books")
    assert parse_split_name("amazon-kg") == ("amazon-kg", None)


def test_evaluator_equals_graphrecs_cold_item_evaluation(cold_folder, tmp_path: Path) -> None:
    export, split, candidates, folder = cold_folder
    rng = np.random.default_rng(3)
    score = dot_product_scores(torch.tensor(rng.normal(size=(80, 8)), dtype=torch.float32),
                               torch.tensor(rng.normal(size=(60, 8)), dtype=torch.float32))  # fmt: skip
    exclude = group_by_user(split.train)  # graphrec's rule for this protocol: training items only
    users = sorted(set(split.test[0].tolist()))
    held = np.zeros_like(candidates)
    held[np.unique(split.test[1])] = True
    write_topk(tmp_path / "topk.tsv", export, users, rank_top_k(score, users, candidates, exclude, k=20))
    (tmp_path / "no-held").mkdir()
    write_topk(tmp_path / "no-held" / "topk.tsv", export, users, rank_top_k(score, users, candidates, exclude, k=20))
    write_topk(tmp_path / f"topk-{HELD_OUT_ITEMS}.tsv", export, users, rank_top_k(score, users, held, exclude, k=5))
    got = evaluate_topk(folder, tmp_path / "topk.tsv", ks=(5,))
    want = evaluate_slices(score, split, candidates, ks=(5,))
    assert set(got) == set(want) and HELD_OUT_ITEMS in want and "warm" in want
    for s in want:
        for m, v in want[s].items():
            assert got[s][m] == pytest.approx(v), (s, m)
    assert got[HELD_OUT_ITEMS]["recall@5"] > got["all"]["recall@5"]  # fewer items to rank among
    assert HELD_OUT_ITEMS not in evaluate_topk(folder, tmp_path / "no-held" / "topk.tsv", ks=(5,))  # no lists, no entry


def test_evaluator_checks_lists_against_the_protocols_exclusions(cold_folder, tmp_path: Path) -> None:
    export, split, candidates, folder = cold_folder
    users = sorted(set(split.test[0].tolist()))
    with_val = next(u for u in users if u in set(split.val[0].tolist()))
    val_item = next(i for u, i in split.val.T.tolist() if u == with_val)
    books = [i for i in np.flatnonzero(candidates).tolist() if i != val_item]
    top = np.array(
        [[val_item, *[i for i in books if i not in group_by_user(split.train).get(u, set())][:4]] for u in users]
    )
    write_topk(tmp_path / "topk.tsv", export, users, top)
    evaluate_topk(folder, tmp_path / "topk.tsv", ks=(5,))  # a validation item may be recommended (not excluded)
    train_item = next(i for u, i in split.train.T.tolist() if u == users[0] and candidates[i])
    top[0, 0] = train_item
    write_topk(tmp_path / "topk.tsv", export, users, top)
    with pytest.raises(GraphRecError, match="one of its train items"):
        evaluate_topk(folder, tmp_path / "topk.tsv", ks=(5,))
    seen0 = group_by_user(split.train).get(users[0], set())
    top[0, 0] = next(i for i in books if i not in np.unique(split.test[1]) and i not in top[0] and i not in seen0)
    write_topk(tmp_path / "topk.tsv", export, users, top)
    write_topk(tmp_path / f"topk-{HELD_OUT_ITEMS}.tsv", export, users, top)  # not held-out items
    with pytest.raises(GraphRecError, match=f"not a candidate item \\(see candidates-{HELD_OUT_ITEMS}.txt\\)"):
        evaluate_topk(folder, tmp_path / "topk.tsv", ks=(5,))


def test_lightfm_data_keeps_new_items_out_of_training(cold_folder) -> None:
    export, split, _, folder = cold_folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "peers"))
    from bench.peers.run_lightfm import Data

    files = load_split(folder)
    new = np.unique(np.concatenate([split.val[1], split.test[1]]))
    data = Data(files, "bert", 1.0, text_dims=2, new_items="cold")
    assert data.new_items.tolist() == new.tolist()
    n_items = len(export.item_keys)
    assert (
        data.interactions.shape == (len(data.users), n_items - len(new))
        and data.interactions.nnz == split.train.shape[1]
    )
    assert data.item_features.shape == (n_items - len(new), n_items + 2)
    score = data.score_features.toarray()
    assert np.all(score[new, new] == 0) and np.all(score[new, n_items:] != 0)  # new items: text columns only
    known = np.setdiff1d(np.arange(n_items), new)
    assert np.all(score[known, known] == 1)
    assert Data(files, "bert", 1.0, text_dims=2).interactions.shape[1] == n_items  # default: every item trained
    only_text = Data(files, "text", 1.0, text_dims=2, new_items="cold")
    assert only_text.score_features.shape == (n_items, 2) and only_text.item_features.shape == (n_items - len(new), 2)
