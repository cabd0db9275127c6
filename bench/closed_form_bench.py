"""Closed-form references for the cold-start transfer protocol (issue 12), seeds 0-2, on three pairs.

    OMP_NUM_THREADS=1 .venv/bin/python bench/closed_form_bench.py                 # all pairs, seeds 0 1 2
    OMP_NUM_THREADS=1 .venv/bin/python bench/closed_form_bench.py --pair movies-books --seeds 0
    .venv/bin/python bench/closed_form_bench.py --table                            # the table again, from the JSON
    OMP_NUM_THREADS=1 .venv/bin/python bench/closed_form_bench.py --diagnose --pair movies-books  # protocol variants

Pairs as ``bench/knowledge_bench.py``'s :data:`PAIRS` (Amazon-KG Movies_and_TV -> Books and its reverse
in the home ``bench/.work/amazon-kg``, MovieLens-100K genre families drama -> action in
``bench/.work/ml-100k-genres``; homes prepared by the CLI as those scripts do). Per seed, the split is
:func:`graphrec.data.splits.coldstart_transfer` with its simulated-cold validation slice
(:func:`graphrec.data.splits.simulated_cold`, same seed), and four models are evaluated by
:func:`graphrec.eval.slices.evaluate_slices` (full ranking over every target item, training items
excluded) on the test set's ``cold`` and ``warm`` slices:

* ``popularity`` — training-interaction counts of the target items;
* ``ease`` — target-only EASE, ridge chosen on validation Recall@20
  (:func:`graphrec.models.ease.fit_target_ease`); it cannot rank users without target history
  (their scores are all 0), so its cold figure is not meaningful and the table leaves it out;
* ``bridge`` — the kernel-ridge bridge from smoothed source histories to target rows, ``γ``, ``λ`` and
  the source EASE ridge chosen on the simulated-cold slice (:func:`graphrec.models.bridge.fit_bridge`);
* ``bridge+ease`` — the bridge for users without target training interactions, EASE for the others
  (:func:`graphrec.models.bridge.combined_reference`).

``--diagnose`` (after the main runs, with their chosen parameters; nothing re-selected, nothing selected on
test) measures two protocol variants that may explain a gap to another implementation's figures:
``exclude train+val`` (the validation items also excluded from the test ranking, as a harness that refits
on train+val would) and ``refit train+val`` (EASE and the bridge refitted on training and validation pairs
with the chosen ridge / parameters, validation items excluded); they go under ``diagnostics`` in the JSON.

No training loop: everything is closed form (single-threaded: set ``OMP_NUM_THREADS=1``). Results go to
``bench/results/closed_form.json`` after every (pair, seed); a rerun skips those already there
(``--fresh`` starts over).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from common import REPO  # bench/common.py (beside this script): also puts the repository root on sys.path

from graphrec.results import run_metadata

PAIR_NAMES = ("movies-books", "books-movies", "ml100k-genres")
MODELS = ("popularity", "ease", "bridge", "bridge+ease")
SLICES = ("cold", "warm")
METRICS = ("recall@20", "ndcg@20")
NOT_MEANINGFUL = {("ease", "cold")}
"""(model, slice) cells the table leaves out: target-only EASE scores users without target history 0."""
REFERENCE = {"movies-books": {"bridge+ease": {"cold": 0.0612, "warm": 0.2173}}}
"""The figures issue 12 quotes for the closed-form reference (Amazon-KG movies->books, seeds 0-2, Recall@20)."""
OUT = REPO / "bench" / "results" / "closed_form.json"


def load_export(pair: str) -> tuple[Any, str]:
    """``(export, store agent)`` of ``pair``'s prepared home (prepared first if needed, as knowledge_bench does).
    Item features are not loaded: no closed-form model here reads them."""
    from bench.knowledge_bench import prepare_pair_home
    from bench.train_bench import prepared_graph

    home = prepare_pair_home(pair)
    graph = prepared_graph(home, features=False)
    return graph.export, graph.store_agent


def run_seed(export: Any, pair: str, seed: int, cache: dict[Any, Any]) -> dict[str, Any]:
    """All four models on one seed's split of ``pair``: metrics per slice and what each selected."""
    import numpy as np
    import torch

    from bench.knowledge_bench import PAIRS
    from graphrec.data.splits import cold_path_train, coldstart_transfer, simulated_cold
    from graphrec.eval.slices import evaluate_slices
    from graphrec.models.bridge import combined_reference, evaluate_simulated_cold, fit_bridge
    from graphrec.models.ease import fit_target_ease
    from graphrec.train.references import popularity_scores

    source, target = PAIRS[pair]["source"], PAIRS[pair]["target"]
    split = coldstart_transfer(export, source=source, target=target, seed=seed)
    sim = simulated_cold(split, export, source=source, target=target, seed=seed)
    candidates = export.item_scenario == export.scenarios.index(target)
    out: dict[str, Any] = {
        "pair": pair,
        "seed": seed,
        "split": split.meta,
        "simulated_cold": sim.meta["simulated_cold"],
        "models": {},
    }

    def record(
        name: str, score: Any, selected: dict[str, Any], started: float, sim_val: dict[str, float] | None = None
    ) -> None:
        metrics = evaluate_slices(score, split, candidates, ks=(10, 20))  # the test slices (split: no simulated slice)
        out["models"][name] = {
            "metrics": metrics,
            "selected": selected,
            "seconds": time.perf_counter() - started,
            "simulated_cold_val": sim_val,
        }
        shown = {s: round(metrics.get(s, {}).get("recall@20", float("nan")), 4) for s in SLICES}
        print(
            f"{pair} seed {seed} {name}: R@20 {shown} ({out['models'][name]['seconds']:.0f} s) {short(selected)}",
            flush=True,
        )

    t0 = time.perf_counter()
    on_target = split.train[:, candidates[split.train[1]]]
    pop = popularity_scores(on_target, len(export.item_keys))

    def by_popularity(rows: torch.Tensor) -> torch.Tensor:
        return pop.expand(len(rows), -1)

    # popularity as a cold path on the simulated-cold slice: counts without the hidden pairs
    cold_pop = popularity_scores(cold_path_train(sim)[:, candidates[cold_path_train(sim)[1]]], len(export.item_keys))
    sim_pop = evaluate_simulated_cold(lambda rows: cold_pop.expand(len(rows), -1), sim, export, candidates, ks=(20,))
    record("popularity", by_popularity, {}, t0, sim_pop)

    t0 = time.perf_counter()
    ease, ease_params = fit_target_ease(export, split, target=target)
    record("ease", ease, ease_params, t0)

    t0 = time.perf_counter()
    bridge, bridge_params = fit_bridge(export, sim, source=source, target=target, seed=seed, cache=cache)
    sim_bridge = {"recall@20": bridge_params["val_recall@20"], "ndcg@20": bridge_params["val_ndcg@20"]}
    record("bridge", bridge, bridge_params, t0, sim_bridge)

    t0 = time.perf_counter()
    no_target = np.ones(len(export.user_ids), dtype=bool)
    no_target[on_target[0]] = False
    record("bridge+ease", combined_reference(bridge, ease, no_target), {"cold": "bridge", "warm": "ease"}, t0)
    return out


def diagnose(export: Any, pair: str, seed: int, run: dict[str, Any], cache: dict[Any, Any]) -> dict[str, Any]:
    """The protocol variants of ``--diagnose`` for one seed, with the parameters ``run`` (a main run) chose."""
    import dataclasses

    import numpy as np

    from bench.knowledge_bench import PAIRS
    from graphrec.data.splits import coldstart_transfer, simulated_cold
    from graphrec.eval.slices import evaluate_slices
    from graphrec.models.bridge import fit_bridge
    from graphrec.models.ease import fit_target_ease

    source, target = PAIRS[pair]["source"], PAIRS[pair]["target"]
    split = coldstart_transfer(export, source=source, target=target, seed=seed)
    sim = simulated_cold(split, export, source=source, target=target, seed=seed)
    candidates = export.item_scenario == export.scenarios.index(target)
    both = np.concatenate([split.train, split.val], axis=1)
    no_val = np.zeros((2, 0), dtype=np.int64)
    exclude_val = dataclasses.replace(split, train=both)  # for evaluation only: validation items excluded too
    l2 = run["models"]["ease"]["selected"]["l2"]
    b = run["models"]["bridge"]["selected"]
    grid = {"gammas": (b["gamma"],), "l2s": (b["l2"],), "source_l2s": (b["source_l2"],), "seed": seed, "cache": cache}
    out: dict[str, Any] = {
        "pair": pair,
        "seed": seed,
        "ease_l2": l2,
        "bridge": {k: b[k] for k in ("gamma", "l2", "source_l2")},
    }
    ease, _ = fit_target_ease(export, split, target=target, l2s=(l2,))
    out["ease exclude train+val"] = evaluate_slices(ease, exclude_val, candidates, ks=(20,))
    ease_refit, _ = fit_target_ease(
        export, dataclasses.replace(split, train=both, val=no_val), target=target, l2s=(l2,)
    )
    out["ease refit train+val"] = evaluate_slices(ease_refit, exclude_val, candidates, ks=(20,))
    bridge_refit, _ = fit_bridge(
        export, dataclasses.replace(sim, train=both, val=no_val), source=source, target=target, **grid
    )
    out["bridge refit train+val"] = evaluate_slices(bridge_refit, exclude_val, candidates, ks=(20,))
    shown = {
        k: {s: round(v[s]["recall@20"], 4) for s in SLICES if s in v}
        for k, v in out.items()
        if isinstance(v, dict) and "warm" in v
    }
    print(f"{pair} seed {seed} diagnostics: R@20 {shown}", flush=True)
    return out


def short(selected: dict[str, Any]) -> str:
    return " ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in selected.items()
        if k in ("l2", "gamma", "source_l2", "val_recall@20")
    )


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per pair and model: mean and std over seeds of each slice's metrics, and the chosen parameters per seed."""
    out: dict[str, Any] = {}
    for pair in dict.fromkeys(r["pair"] for r in runs):
        rows = sorted((r for r in runs if r["pair"] == pair), key=lambda r: r["seed"])
        out[pair] = {}
        for model in MODELS:
            entry: dict[str, Any] = {"seeds": [r["seed"] for r in rows if model in r["models"]]}
            for s in SLICES:
                for m in METRICS:
                    vals = [
                        r["models"][model]["metrics"][s][m]
                        for r in rows
                        if model in r["models"] and s in r["models"][model]["metrics"]
                    ]
                    if vals:
                        entry[f"{s}/{m}"] = statistics.mean(vals)
                        entry[f"{s}/{m}_std"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
            entry["selected"] = {
                r["seed"]: {k: v for k, v in r["models"][model]["selected"].items()
                            if k in ("l2", "gamma", "source_l2", "val_recall@20")}
                for r in rows if model in r["models"]
            }  # fmt: skip
            sim = [
                r["models"][model]["simulated_cold_val"]["recall@20"]
                for r in rows
                if (r["models"].get(model) or {}).get("simulated_cold_val")
            ]
            if sim:
                entry["simulated_cold_val/recall@20"] = statistics.mean(sim)
            out[pair][model] = entry
    return out


def print_table(data: dict[str, Any]) -> None:
    summary = data["summary"]
    print("\n| pair | model | cold R@20 | cold N@20 | warm R@20 | warm N@20 | sim-cold val R@20 | seeds |")
    print("|---|---|---|---|---|---|---|---|")
    for pair, models in summary.items():
        for model, e in models.items():
            cells = []
            for s in SLICES:
                for m in METRICS:
                    key = f"{s}/{m}"
                    cells.append(
                        "n/a"
                        if (model, s) in NOT_MEANINGFUL or key not in e
                        else f"{e[key]:.4f} ± {e[key + '_std']:.4f}"
                    )
            sim = e.get("simulated_cold_val/recall@20")
            print(
                f"| {pair} | {model} | "
                + " | ".join(cells)
                + f" | {'' if sim is None else f'{sim:.4f}'} | {','.join(map(str, e['seeds']))} |"
            )
    print(
        "\nChosen parameters per seed (bridge: source EASE ridge, γ, kernel ridge λ, simulated-cold val R@20; "
        "ease: ridge, val R@20):"
    )
    for pair, models in summary.items():
        for model in ("ease", "bridge"):
            for seed, sel in models.get(model, {}).get("selected", {}).items():
                print(f"- {pair} {model} seed {seed}: " + ", ".join(f"{k} {v:.4g}" for k, v in sel.items()))
    diagnostics = data.get("diagnostics") or []
    if diagnostics:
        print("\nDiagnostics (protocol variants, parameters as chosen above; Recall@20 mean over the seeds listed):")
        print("\n| pair | variant | cold R@20 | warm R@20 | seeds |\n|---|---|---|---|---|")
        for pair in dict.fromkeys(d["pair"] for d in diagnostics):
            rows = [d for d in diagnostics if d["pair"] == pair]
            for variant in ("ease exclude train+val", "ease refit train+val", "bridge refit train+val"):
                cells = []
                for s in SLICES:
                    vals = [d[variant][s]["recall@20"] for d in rows if s in d.get(variant, {})]
                    skip = (variant.startswith("ease") and s == "cold") or (
                        variant.startswith("bridge") and s == "warm"
                    )
                    cells.append("n/a" if skip or not vals else f"{statistics.mean(vals):.4f}")
                print(f"| {pair} | {variant} | " + " | ".join(cells) + f" | {','.join(str(d['seed']) for d in rows)} |")
    for pair, ref in REFERENCE.items():
        if pair in summary:
            for model, figures in ref.items():
                got = summary[pair].get(model, {})
                print(f"\nIssue 12's reference, {pair} {model}: " + ", ".join(
                    f"{s} {v:.4f} (here {got.get(f'{s}/recall@20', float('nan')):.4f})"
                    for s, v in figures.items()))  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pair", nargs="+", default=list(PAIR_NAMES), choices=PAIR_NAMES)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--fresh", action="store_true", help="ignore the runs already in the JSON")
    p.add_argument("--table", action="store_true", help="print the table from the JSON and exit")
    p.add_argument(
        "--diagnose", action="store_true", help="the protocol variants (see the docstring) for runs already done"
    )
    args = p.parse_args(argv)
    if args.table:
        print_table(json.loads(OUT.read_text()))
        return
    import torch

    torch.set_num_threads(1)
    data = json.loads(OUT.read_text()) if OUT.exists() and not args.fresh else {"runs": []}
    runs: list[dict[str, Any]] = data["runs"]
    done = {(r["pair"], r["seed"]) for r in runs}
    if args.diagnose:
        torch.set_num_threads(1)
        found = {(r["pair"], r["seed"]): r for r in runs}
        diagnostics: list[dict[str, Any]] = data.setdefault("diagnostics", [])
        for pair in args.pair:
            export, _ = load_export(pair)
            cache_d: dict[Any, Any] = {}
            for seed in args.seeds:
                if (pair, seed) in found:
                    diagnostics[:] = [d for d in diagnostics if (d["pair"], d["seed"]) != (pair, seed)]
                    diagnostics.append(diagnose(export, pair, seed, found[(pair, seed)], cache_d))
                    OUT.write_text(json.dumps(data, indent=1, default=float))
        return
    agents: dict[str, str] = data.get("stores", {})
    exports: dict[str, Any] = {}
    for pair in args.pair:
        todo = [s for s in args.seeds if (pair, s) not in done]
        if not todo:
            continue
        from bench.knowledge_bench import PAIRS

        home = PAIRS[pair]["home"]
        if home not in exports:
            exports.clear()  # one home's graph in memory at a time
            exports[home], agents[home] = load_export(pair)
        cache: dict[Any, Any] = {}  # source EASE per ridge: the source part of the split does not depend on the seed
        for seed in todo:
            runs.append(run_seed(exports[home], pair, seed, cache))
            payload = {
                "protocol": "coldstart-transfer",
                "meta": run_metadata(),
                "stores": agents,
                "summary": summarise(runs),
                "runs": runs,
                "diagnostics": data.get("diagnostics", []),
            }
            OUT.write_text(json.dumps(payload, indent=1, default=float))
    print_table(json.loads(OUT.read_text()))


if __name__ == "__main__":
    main()
