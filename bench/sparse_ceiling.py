"""What bounds a sparse new scenario: closed-form models of other families at p = 5%, each selected on
validation, on the same splits as ``bench/knowledge_bench.py sparse`` (issue 12's ceiling check).

    OMP_NUM_THREADS=1 .venv/bin/python bench/sparse_ceiling.py --pair ml100k-genres            # seeds 0 1 2
    OMP_NUM_THREADS=1 .venv/bin/python bench/sparse_ceiling.py --pair movies-books --seeds 0
    .venv/bin/python bench/sparse_ceiling.py --table                                            # from the JSON

The split is ``knowledge_bench``'s (:func:`graphrec.data.splits.coldstart_transfer`, then
:func:`graphrec.data.splits.sparse_target` keeping a fraction ``p`` of each user's target training pairs,
the source scenario complete). Two families that graphrec does not contain, both using every training pair
of both scenarios, each with one parameter chosen on validation Recall@20 (full ranking over the target's
items, training items excluded; nothing read from test before the choice):

* ``ease-merged`` — EASE (Steck, 2019) over every item with a training interaction, source and target
  together, scored on the target's items: the item–item model that carries a user's source history to the
  target through the users who have both. Ridge ``λ`` from :data:`EASE_L2`; one eigendecomposition of the
  Gram matrix serves every ``λ`` (``P = Q diag(1/(Λ+λ)) Qᵀ``).
* ``user-knn`` — cosine user-kNN over the whole training history (both scenarios), a user's scores the
  sum over their ``k`` nearest users of those users' target training items weighted by similarity;
  ``k`` from :data:`KNN_K`.

Popularity (the target's training counts) is printed beside them for reference. The graph models and the
bridge of the same splits are in ``knowledge_sparse*.json``; ``--table`` quotes graphrec and merged
LightGCN from there where a run of the same pair, fraction and seed exists. Results go to
``bench/results/sparse_ceiling.json`` (``--tag T``: ``sparse_ceiling-T.json``, a parallel lane) after every
(pair, seed); a rerun skips those already there; ``--table`` reads every lane.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

try:
    from common import REPO  # run by path: bench/common.py, beside it, puts the repository root on sys.path
except ModuleNotFoundError:  # imported as bench.sparse_ceiling (tests): the root is on sys.path already
    from bench.common import REPO

from graphrec.results import run_metadata

EASE_L2 = (10.0, 100.0, 500.0, 2000.0, 5000.0, 20000.0)
"""Ridges of ``ease-merged`` tried on validation."""
KNN_K = (25, 50, 100, 200, 400, 800)
"""Neighbourhood sizes of ``user-knn`` tried on validation."""
MODELS = ("popularity", "ease-merged", "user-knn")
OUT = REPO / "bench" / "results" / "sparse_ceiling.json"
CHUNK = 512


def merged_ease(train: Any, num_users: int, num_items: int, candidates: Any) -> dict[float, Any]:
    """``{λ: score function}`` of EASE over every item with a training pair, scored on ``candidates``."""
    import numpy as np
    import torch

    from graphrec.models.ease import user_item_matrix

    items = np.unique(train[1])
    x = user_item_matrix(train, num_users, items).astype(np.float64)
    lam, q = np.linalg.eigh(np.asarray((x.T @ x).todense(), dtype=np.float64))
    lam = np.clip(lam, 0.0, None)
    on_target = np.flatnonzero(candidates[items])  # columns of the target's items with a training pair
    q_t = q[on_target]
    fns: dict[float, Any] = {}
    for l2 in EASE_L2:
        inv = 1.0 / (lam + l2)
        p_diag = (q_t**2) @ inv  # diag of P = (G + λI)⁻¹ on the target columns

        def score(rows: torch.Tensor, inv: Any = inv, p_diag: Any = p_diag) -> torch.Tensor:
            xr = x[rows.numpy()]
            xp = np.asarray((xr @ q) * inv) @ q_t.T  # x P on the target columns
            b = -xp / p_diag  # x B = x − x P diag(1/diag P); x's own entries only touch excluded items
            out = np.full((len(rows), num_items), -np.inf, dtype=np.float32)
            out[:, items[on_target]] = b
            return torch.from_numpy(out)

        fns[l2] = score
    return fns


def user_knn(train: Any, num_users: int, num_items: int, candidates: Any) -> dict[int, Any]:
    """``{k: score function}`` of cosine user-kNN over the whole history, scoring the target's items."""
    import numpy as np
    import scipy.sparse as sp
    import torch

    from graphrec.models.ease import user_item_matrix

    x = user_item_matrix(train, num_users, np.arange(num_items)).astype(np.float64)
    norm = np.sqrt(np.asarray(x.sum(1)).ravel())
    xn = sp.diags(1.0 / np.maximum(norm, 1e-12)) @ x
    xnt = xn.T.tocsr()
    target = x @ sp.diags(candidates.astype(np.float64))
    target = target.tocsr()
    kmax = max(KNN_K)
    cache: dict[int, tuple[Any, Any]] = {}

    def neighbours(rows: Any) -> tuple[Any, Any]:
        key = hash(rows.tobytes())
        if key not in cache:
            sim = np.asarray((xn[rows] @ xnt).todense())
            sim[np.arange(len(rows)), rows] = 0.0
            k = min(kmax, num_users - 1)
            top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
            top_sim = np.take_along_axis(sim, top, axis=1)
            order = np.argsort(-top_sim, axis=1)
            cache[key] = (np.take_along_axis(top, order, axis=1), np.take_along_axis(top_sim, order, axis=1))
        return cache[key]

    fns: dict[int, Any] = {}
    for k in KNN_K:

        def score(rows: torch.Tensor, k: int = k) -> torch.Tensor:
            r = rows.numpy()
            top, top_sim = neighbours(r)
            k = min(k, top.shape[1])  # a graph with fewer users than k: every other user
            w = sp.csr_matrix(
                (top_sim[:, :k].ravel(), (np.repeat(np.arange(len(r)), k), top[:, :k].ravel())),
                shape=(len(r), num_users),
            )
            out = np.asarray((w @ target).todense(), dtype=np.float32)
            out[:, ~candidates] = -np.inf
            return torch.from_numpy(out)

        fns[k] = score
    return fns


def run_seed(export: Any, pair: str, seed: int, fraction: float) -> dict[str, Any]:
    """The three models on one seed's sparse split: the validation grid, the choice, test metrics."""
    import numpy as np

    from bench.knowledge_bench import PAIRS, make_split
    from graphrec.eval.slices import evaluate_slices
    from graphrec.train.references import popularity_scores

    split = make_split(export, pair, "sparse", seed, fraction)
    candidates = np.asarray(export.item_scenario == export.scenarios.index(PAIRS[pair]["target"]))
    nu, ni = len(export.user_ids), len(export.item_keys)
    out: dict[str, Any] = {"pair": pair, "seed": seed, "fraction": fraction, "split": split.meta, "models": {}}
    pop = popularity_scores(split.train[:, candidates[split.train[1]]], ni)
    grids = {
        "popularity": lambda: {None: lambda rows: pop.expand(len(rows), -1)},
        "ease-merged": lambda: merged_ease(split.train, nu, ni, candidates),
        "user-knn": lambda: user_knn(split.train, nu, ni, candidates),
    }
    for name, build in grids.items():
        t0 = time.perf_counter()
        fns = build()
        grid = []
        for param, fn in fns.items():
            val = evaluate_slices(fn, split, candidates, on="val", ks=(20,))["all"]["recall@20"]
            grid.append({"param": param, "val_recall@20": val})
        best = max(grid, key=lambda g: g["val_recall@20"])  # ties: the first (max keeps the earliest)
        metrics = evaluate_slices(fns[best["param"]], split, candidates, ks=(10, 20))
        out["models"][name] = {
            "selected": best["param"],
            "grid": grid,
            "metrics": metrics,
            "seconds": time.perf_counter() - t0,
        }
        shown = {s: round(m["recall@20"], 4) for s, m in metrics.items()}
        print(f"{pair} p={fraction} seed {seed} {name} ({best['param']}): R@20 {shown} "
              f"({out['models'][name]['seconds']:.0f} s)", flush=True)  # fmt: skip
    return out


def graph_runs(pair: str, fraction: float) -> dict[tuple[str, int], float]:
    """``{(model, seed): all R@20}`` of graphrec and merged LightGCN in ``knowledge_sparse*.json`` (the
    latest run of each; merged LightGCN at the rate with the better validation Recall@20 per seed)."""
    found: dict[tuple[str, int], tuple[float, float]] = {}
    for f in sorted((REPO / "bench" / "results").glob("knowledge_sparse*.json")):
        for r in json.loads(f.read_text())["runs"]:
            if r["pair"] != pair or r["fraction"] != fraction or r.get("mode", "split") != "split":
                continue
            if r["model"] == "graphrec" and "coldval" in f.name:
                found[("graphrec", r["seed"])] = (0.0, r["metrics"]["all"]["recall@20"])
            elif r["model"] == "lightgcn-merged":
                key = ("lightgcn-merged", r["seed"])
                val = float(r.get("best_val") or 0.0)
                if key not in found or val > found[key][0]:
                    found[key] = (val, r["metrics"]["all"]["recall@20"])
    return {k: v[1] for k, v in found.items()}


def mean_sd(values: list[float]) -> str:
    """``mean ± sample sd`` to four digits (sd 0 for one value), as ``knowledge_bench`` writes them."""
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.4f}"


def table(runs: list[dict[str, Any]]) -> None:
    for pair, fraction in dict.fromkeys((r["pair"], r["fraction"]) for r in runs):
        rows = sorted((r for r in runs if r["pair"] == pair and r["fraction"] == fraction), key=lambda r: r["seed"])
        seeds = [r["seed"] for r in rows]
        graph = graph_runs(pair, fraction)
        print(f"\n{pair}, p = {fraction:g}, seeds {seeds}: all R@20 (test), parameter chosen on validation")
        print("| model | all R@20 | warm R@20 | cold R@20 | chosen |\n|---|---|---|---|---|")
        for model in MODELS:
            cells = []
            for s in ("all", "warm", "cold"):
                v = [r["models"][model]["metrics"].get(s, {}).get("recall@20", float("nan")) for r in rows]
                cells.append(mean_sd(v))
            chosen = ", ".join(str(r["models"][model]["selected"]) for r in rows)
            print(f"| {model} | {' | '.join(cells)} | {chosen} |")
        for model in ("lightgcn-merged", "graphrec"):
            v = [graph[(model, s)] for s in seeds if (model, s) in graph]
            if len(v) == len(seeds):
                print(f"| {model} (knowledge_sparse*.json) | {mean_sd(v)} | | | |")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    from bench.knowledge_bench import PAIRS  # light: the pairs' table, no model code

    p.add_argument("--pair", nargs="+", default=["ml100k-genres"], choices=sorted(PAIRS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--fraction", type=float, default=0.05)
    p.add_argument("--table", action="store_true", help="print the table from the JSON files and stop")
    p.add_argument("--tag", default=None, help="write sparse_ceiling-<tag>.json (a parallel lane)")
    args = p.parse_args(argv)
    out = OUT.with_name(f"{OUT.stem}-{args.tag}.json") if args.tag else OUT
    data = json.loads(out.read_text()) if out.exists() else {"runs": []}
    if not args.table:
        from bench.closed_form_bench import load_export

        for pair in args.pair:
            export, _ = load_export(pair)
            for seed in args.seeds:
                if any(
                    r["pair"] == pair and r["seed"] == seed and r["fraction"] == args.fraction for r in data["runs"]
                ):
                    continue
                data["runs"].append({**run_seed(export, pair, seed, args.fraction), "meta": run_metadata()})
                out.write_text(json.dumps(data, indent=1, default=str))
    lanes = sorted(OUT.parent.glob(f"{OUT.stem}*.json"))
    table([r for f in lanes for r in json.loads(f.read_text())["runs"]])


if __name__ == "__main__":
    main()
