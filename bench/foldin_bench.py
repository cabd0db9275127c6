"""Fold-in of users who arrive after training (issue 14): whole users held out of the graph before training,
folded in from their source history, against the transductive cold users of the same split.

    .venv/bin/python bench/foldin_bench.py users --pair movies-books --seeds 0 1 2
    .venv/bin/python bench/foldin_bench.py items --pair movies-books --seeds 0 1 2   # items (refresh)
    .venv/bin/python bench/foldin_bench.py users --table          # the table again, from the JSON

Per seed, one ``graphrec`` training on the coldstart-transfer split of the pair with a seeded half of its
cold test users taken out of the graph entirely (:func:`graphrec.data.splits.unseen_users`: their source
history too — no weight, selection or closed-form block sees any of their interactions). Then, Recall and
NDCG@20 by full ranking over every target item (their history excluded) on:

* ``unseen, fold-in`` — the held-out users, folded in from their source history with the trained weights
  (:mod:`graphrec.serve.foldin`; no retraining);
* ``transductive cold`` — the other half of the cold users, who were in the graph (their source history
  trained on), scored by their trained vectors: what the issue compares against;
* ``transductive cold, fold-in`` — the same users folded in from their histories instead (no ID
  embedding: isolates the fold-in's approximation from the choice of users);
* ``popularity`` on both halves (training counts), for scale.

``items``: the same for catalogue items added after training (:func:`evaluate_items_seed`), against
popularity and text kNN. Results go to ``bench/results/foldin_<pair>.json`` / ``foldin_items_<pair>.json``
after every seed (a rerun skips seeds already there);
timings are not asserted anywhere.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from common import REPO  # bench/common.py (beside this script): also puts the repository root on sys.path

from graphrec.results import run_metadata

ROWS = (
    ("unseen_foldin", "unseen users, fold-in (never in the graph)"),
    ("cold_transductive", "transductive cold users (in the graph)"),
    ("cold_foldin", "transductive cold users, fold-in instead"),
    ("unseen_popularity", "popularity, unseen users"),
    ("cold_popularity", "popularity, transductive cold users"),
)
METRICS = ("recall@20", "ndcg@20")


def results_file(pair: str) -> Path:
    return REPO / "bench" / "results" / f"foldin_{pair}.json"


def evaluate_seed(pair: str, seed: int, *, lr: float, dim: int) -> dict[str, Any]:
    """One seed: train with the unseen users out of the graph, then score both halves every way."""
    import numpy as np
    import torch
    from knowledge_bench import PAIRS, load_pair

    from graphrec.data.splits import UNSEEN, coldstart_transfer, unseen_users
    from graphrec.eval.ranking import evaluate_ranking, group_by_user
    from graphrec.models.presets import model_spec
    from graphrec.serve.foldin import FoldIn
    from graphrec.train.config import TrainConfig
    from graphrec.train.fit import fit
    from graphrec.train.record import record_run

    p = PAIRS[pair]
    export, item_x, _ = load_pair(pair)
    split = unseen_users(coldstart_transfer(export, source=p["source"], target=p["target"], seed=seed), seed=seed)
    unseen, cold = split.slices[UNSEEN], split.slices["cold"]
    # leakage check: no pair of an unseen user is trained on or validated on
    assert not np.isin(split.train[0], unseen).any() and not np.isin(split.val[0], unseen).any()
    config = TrainConfig(seed=seed, lr=lr)
    started = time.perf_counter()
    fitted = fit(export, split, model_spec("graphrec", dim=dim), config, target=p["target"], item_x=item_x)
    seconds = time.perf_counter() - started
    name = f"foldin-{pair}-{seed}"
    record = record_run(fitted, export, split, config, name=name, target=p["target"], source=p["source"])
    fold = record.fold_in
    assert isinstance(fold, FoldIn)
    candidates = record.scenario_mask(p["target"])
    histories = {
        **group_by_user(split.train[:, np.isin(split.train[0], cold)]),
        **group_by_user(split.dropped[:, np.isin(split.dropped[0], unseen)]),
    }

    def folded(users: np.ndarray) -> dict[int, np.ndarray]:
        return {int(u): fold.user_vector(np.array(sorted(histories.get(int(u), set())), dtype=np.int64)) for u in users}

    vectors = {**folded(unseen), **{-1 - k: v for k, v in folded(cold).items()}}  # cold users' fold-ins: keys -1-u
    item = torch.from_numpy(record.item)
    trained_user = torch.from_numpy(record.user)
    counts = np.bincount(split.train[1], minlength=len(record.item_keys)).astype(np.float32)

    def metrics(users: np.ndarray, how: str) -> dict[str, float]:
        test = split.test[:, np.isin(split.test[0], users)]
        exclude = {int(u): histories.get(int(u), set()) for u in users}
        if how == "transductive":
            score = lambda rows: trained_user[rows] @ item.T  # noqa: E731
        elif how == "popularity":
            score = lambda rows: torch.from_numpy(counts).expand(len(rows), -1)  # noqa: E731
        else:
            offset = 0 if how == "foldin-unseen" else 1

            def score(rows: torch.Tensor) -> torch.Tensor:
                keys = [int(r) if not offset else -1 - int(r) for r in rows.tolist()]
                return torch.from_numpy(np.stack([vectors[k] for k in keys])) @ item.T

        out = evaluate_ranking(score, test, exclude, candidates, ks=(20,))["all"]
        return {m: out[m] for m in METRICS} | {"users": out["users"]}

    return {
        "pair": pair, "seed": seed, "lr": lr, "dim": dim, "seconds": seconds,
        "unseen_users": len(unseen), "cold_users": len(cold),
        "unseen_foldin": metrics(unseen, "foldin-unseen"),
        "cold_transductive": metrics(cold, "transductive"),
        "cold_foldin": metrics(cold, "foldin-cold"),
        "unseen_popularity": metrics(unseen, "popularity"),
        "cold_popularity": metrics(cold, "popularity"),
        "graphrec_test": fitted.metrics,
        "selected": {k: v for k, v in (fitted.result.config if fitted.result else {}).items() if k == "cold_path"},
    }  # fmt: skip


ITEM_ROWS = (
    ("unseen_refresh", "items added after training (refresh: text + topics)"),
    ("unseen_text_only", "the same items, text only (no topic edges)"),
    ("cold_transductive", "transductive cold items (in the graph, no interactions)"),
    ("unseen_popularity", "popularity, added items"),
    ("unseen_text_knn", "text kNN, added items"),
    ("cold_text_knn", "text kNN, transductive cold items"),
)


def evaluate_items_seed(pair: str, seed: int, *, lr: float, dim: int) -> dict[str, Any]:
    """One seed of the cold-item fold-in: a coldstart-items split whose test items are split in two halves;
    the *added* half is out of the graph (no topic edge: an isolated node influences nothing, and it has no
    interaction), the other half stays (topic edges, no interaction: transductive). After training, the
    added half gets its vectors as ``graphrec refresh`` gives them (text through the trained projection, its
    topic edges from the graph now). Each half is ranked among its own items (the protocol's
    ``held-out-items`` ranking), its test pairs found."""
    import dataclasses

    import numpy as np
    import torch
    from knowledge_bench import PAIRS, load_pair

    from graphrec.data.splits import coldstart_items
    from graphrec.eval.ranking import evaluate_ranking, group_by_user
    from graphrec.models.presets import model_spec
    from graphrec.models.text_knn import text_profiles
    from graphrec.serve.refresh import item_vectors
    from graphrec.train.config import TrainConfig
    from graphrec.train.fit import fit
    from graphrec.train.record import record_run

    p = PAIRS[pair]
    export, item_x, _ = load_pair(pair)
    split = coldstart_items(export, target=p["target"], seed=seed)
    test_items = np.unique(split.test[1])
    rng = np.random.default_rng(seed)
    added = np.sort(rng.permutation(test_items)[: len(test_items) // 2])
    kept = np.setdiff1d(test_items, added)
    cut = np.isin(export.has_topic[0], added)
    graph = dataclasses.replace(
        export, has_topic=export.has_topic[:, ~cut], has_topic_weight=export.has_topic_weight[~cut]
    )
    config = TrainConfig(seed=seed, lr=lr)
    started = time.perf_counter()
    fitted = fit(graph, split, model_spec("graphrec", dim=dim), config, target=p["target"], item_x=item_x)
    seconds = time.perf_counter() - started
    record = record_run(
        fitted, graph, split, config, name=f"foldin-items-{pair}-{seed}", target=p["target"], source=None
    )
    assert record.fold_in is not None
    position = {int(i): k for k, i in enumerate(added)}
    on = np.isin(export.has_topic[0], added) & np.isin(export.topic_ids, record.topic_ids)[export.has_topic[1]]
    edges = np.array([[position[int(i)] for i in export.has_topic[0, on]], export.has_topic[1, on]])
    target = np.ones(len(added), dtype=bool)
    refreshed, _ = item_vectors(record.fold_in, export.item_scenario[added], target, item_x[added],
                                topic_edges=edges, topic_weight=export.has_topic_weight[on])  # fmt: skip
    text_only, _ = item_vectors(record.fold_in, export.item_scenario[added], target, item_x[added])
    users = torch.from_numpy(record.user)
    exclude = group_by_user(split.train)
    counts = torch.from_numpy(np.bincount(split.train[1], minlength=len(export.item_keys)).astype(np.float32))
    text_users, text_items = text_profiles(split.train, item_x, len(export.user_ids))

    def metrics(items: np.ndarray, vectors: np.ndarray | str) -> dict[str, float]:
        test = split.test[:, np.isin(split.test[1], items)]
        candidates = np.zeros(len(export.item_keys), dtype=bool)
        candidates[items] = True
        if isinstance(vectors, str):
            if vectors == "popularity":
                score = lambda rows: counts.expand(len(rows), -1)  # noqa: E731
            else:
                score = lambda rows: text_users[rows] @ text_items.T  # noqa: E731
        else:
            item = torch.from_numpy(record.item.copy())
            item[torch.from_numpy(items)] = torch.from_numpy(vectors)
            score = lambda rows: users[rows] @ item.T  # noqa: E731
        out = evaluate_ranking(score, test, exclude, candidates, ks=(20,))["all"]
        return {m: out[m] for m in METRICS} | {"users": out["users"]}

    return {
        "pair": pair, "seed": seed, "lr": lr, "dim": dim, "seconds": seconds,
        "added_items": len(added), "cold_items": len(kept), "added_topic_edges": int(on.sum()),
        "unseen_refresh": metrics(added, refreshed),
        "unseen_text_only": metrics(added, text_only),
        "cold_transductive": metrics(kept, record.item[kept]),
        "unseen_popularity": metrics(added, "popularity"),
        "unseen_text_knn": metrics(added, "text-knn"),
        "cold_text_knn": metrics(kept, "text-knn"),
        "graphrec_test": fitted.metrics,
    }  # fmt: skip


def print_table(runs: list[dict[str, Any]], rows: tuple[tuple[str, str], ...] = ROWS) -> None:
    for pair in sorted({r["pair"] for r in runs}):
        mine = [r for r in runs if r["pair"] == pair]
        seeds = sorted(r["seed"] for r in mine)
        counts = {k: v for k, v in mine[0].items() if k.endswith(("_users", "_items"))}
        print(f"\n{pair}, seeds {seeds}: mean ± sd over seeds ({counts} per seed)")
        print(f"| {'':48} | Recall@20 | NDCG@20 |")
        base = {m: statistics.mean(r["cold_transductive"][m] for r in mine) for m in METRICS}
        for key, label in rows:
            cells = []
            for m in METRICS:
                values = [r[key][m] for r in mine]
                sd = statistics.stdev(values) if len(values) > 1 else 0.0
                cells.append(f"{statistics.mean(values):.4f} ± {sd:.4f} ({statistics.mean(values) / base[m]:.2f}×)")
            print(f"| {label:48} | {' | '.join(cells)} |")


def main(argv: list[str] | None = None) -> None:
    from knowledge_bench import PAIRS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="?", choices=("users", "items"), default="users")
    ap.add_argument("--pair", choices=sorted(PAIRS), default="movies-books")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--lr", type=float, default=0.005)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--table", action="store_true", help="print the table from the JSON and stop")
    args = ap.parse_args(argv)
    path = results_file(args.pair if args.what == "users" else f"items_{args.pair}")
    evaluate = evaluate_seed if args.what == "users" else evaluate_items_seed
    data = json.loads(path.read_text()) if path.exists() else {"runs": []}
    if not args.table:
        for seed in args.seeds:
            if any(r["seed"] == seed and r["lr"] == args.lr and r["dim"] == args.dim for r in data["runs"]):
                continue
            run = evaluate(args.pair, seed, lr=args.lr, dim=args.dim)
            data["runs"].append(run)
            data["meta"] = run_metadata(run="foldin_bench", command=["bench/foldin_bench.py", *(argv or [])])
            path.write_text(json.dumps(data, indent=2, default=str))
            print(f"seed {seed}: { ({k: v for k, v in run.items() if k.startswith(('unseen', 'cold'))}) }")
    print_table(data["runs"], ROWS if args.what == "users" else ITEM_ROWS)


if __name__ == "__main__":
    main()
