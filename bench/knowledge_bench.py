"""Where knowledge must pay: cold items and sparse new scenarios, on several scenario pairs, seeds 0-2.

    # cold items: 20% of the target's items held out with all their interactions (10% more for validation)
    .venv/bin/python bench/knowledge_bench.py cold-items --pair movies-books
    # sparse target: a fraction p of each user's target training interactions kept (coldstart-transfer split)
    .venv/bin/python bench/knowledge_bench.py sparse --pair movies-books --fractions 0.05
    # cold users: the coldstart-transfer split itself (graphrec's cold path selected on simulated-cold users)
    .venv/bin/python bench/knowledge_bench.py cold-users --pair movies-books --merged-lrs 0.005 0.001
    .venv/bin/python bench/knowledge_bench.py table          # the tables again, from the JSON

Pairs (:data:`PAIRS`): Amazon-KG Movies_and_TV -> Books, its reverse Books -> Movies_and_TV, and
MovieLens-100K with genre families as scenarios (``bench/genre_pair.py``). Homes are prepared with the
CLI as ``bench/train_bench.py`` does (ingest, embed, discovered and metadata topics). Every model trains
through :func:`graphrec.train.fit.fit` on the same split, selection on validation only (early
stopping; EASE's ridge; graphrec's content map), evaluation by full ranking over every target item,
training items excluded (``held-out-items``: only among the held-out test items). Results go to
``bench/results/knowledge_<protocol>.json`` after every run; a rerun skips the runs already there.
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

PAIRS: dict[str, dict[str, Any]] = {
    "movies-books": {"home": "amazon-kg", "spec": "ingest/specs/amazon-kg.toml", "source": "movies", "target": "books"},
    "books-movies": {"home": "amazon-kg", "spec": "ingest/specs/amazon-kg.toml", "source": "books", "target": "movies"},
    "ml100k-genres": {"home": "ml-100k-genres", "spec": None, "source": "drama", "target": "action"},
}
MODELS = (
    "popularity",
    "ease",
    "text-knn",
    "lightgcn-target",
    "lightgcn-merged",
    "graphrec-no-bert",
    "graphrec-no-topics",
    "graphrec-no-source",
    "graphrec-no-bridge",
    "graphrec-no-text-block",
    "graphrec-no-text-map",
    "graphrec-no-ease",
    "graphrec-single",
    "graphrec",
    "bridge+ease",
)
COLD_ITEM_MODELS = ("popularity", "ease", "text-knn", "lightgcn-merged", "graphrec")
COLD_USER_MODELS = ("popularity", "ease", "bridge+ease", "lightgcn-merged", "graphrec")
SPARSE_MODELS = (
    "popularity",
    "ease",
    "lightgcn-target",
    "lightgcn-merged",
    "graphrec-no-bert",
    "graphrec-no-topics",
    "graphrec",
)
SLICES = {
    "cold-items": ("held-out-items", "all", "warm", "cold"),
    "sparse": ("all", "warm", "cold"),
    "cold-users": ("cold", "warm", "all"),
}
PROTOCOLS = tuple(SLICES)
METRICS = ("recall@20", "ndcg@20")


def results_file(protocol: str, tag: str | None = None) -> Path:
    return REPO / "bench" / "results" / f"knowledge_{protocol}{'-' + tag if tag else ''}.json"


def all_runs(protocol: str) -> list[dict[str, Any]]:
    """The runs of ``protocol`` in its results file and its tagged ones (``--tag``: parallel lanes)."""
    files = [results_file(protocol), *sorted(results_file(protocol).parent.glob(f"knowledge_{protocol}-*.json"))]
    return [r for f in files if f.exists() for r in json.loads(f.read_text())["runs"]]


def prepare_pair_home(pair: str) -> Path:
    """``pair``'s graphrec home, prepared with the CLI first if needed (Amazon-KG: ``train_bench.prepare``;
    the MovieLens genre pair: ``bench/genre_pair.py``)."""
    from bench.train_bench import prepare

    p = PAIRS[pair]
    home = REPO / "bench" / ".work" / p["home"]
    if p["spec"] is not None:
        prepare(home.resolve(), p["spec"], n_topics=None)
    elif not (home / "prepared.json").exists():
        from bench.genre_pair import main as prepare_genre_pair

        prepare_genre_pair([])
    return home


def load_pair(pair: str) -> tuple[Any, Any, str]:
    """``(export, item features, store agent)`` of ``pair``'s prepared home (prepared now if needed)."""
    from bench.train_bench import prepared_graph

    export, item_x, agent = prepared_graph(prepare_pair_home(pair))
    return export, item_x, agent


def make_split(export: Any, pair: str, protocol: str, seed: int, fraction: float) -> Any:
    from graphrec.data.splits import coldstart_items, coldstart_transfer, sparse_target

    p = PAIRS[pair]
    if protocol == "cold-items":
        return coldstart_items(export, target=p["target"], seed=seed)
    split = coldstart_transfer(export, source=p["source"], target=p["target"], seed=seed)
    return sparse_target(split, export, target=p["target"], fraction=fraction, seed=seed)


def summarise(runs: list[dict[str, Any]], protocol: str) -> dict[str, Any]:
    """Per (pair, fraction, model): the learning rate chosen on mean validation recall, mean ± std per slice
    (cold-users: every learning rate a model ran at, as ``model@lr``: the issue compares each)."""
    groups: dict[tuple[str, float, str], dict[float, list[dict[str, Any]]]] = {}
    for r in runs:
        several = (
            protocol == "cold-users"
            and len({x["lr"] for x in runs if x["model"] == r["model"] and x["pair"] == r["pair"]}) > 1
        )
        model = f"{r['model']}@{r['lr']:g}" if several else r["model"]
        groups.setdefault((r["pair"], r["fraction"], model), {}).setdefault(r["lr"], []).append(r)
    out: dict[str, Any] = {}
    for (pair, fraction, model), by_lr in groups.items():
        lr = max(by_lr, key=lambda x: statistics.mean(r["best_val"] or 0.0 for r in by_lr[x]))
        rs = by_lr[lr]
        entry: dict[str, Any] = {"lr": lr, "seeds": sorted(r["seed"] for r in rs)}
        out[f"{pair}|{fraction}|{model}"] = {**entry, **slice_stats(rs, SLICES[protocol])}
    return out


def slice_stats(
    runs: list[dict[str, Any]], slices: tuple[str, ...], metrics: tuple[str, ...] = METRICS
) -> dict[str, list[float]]:
    """``{"<slice>/<metric>": [mean, sample std]}`` over ``runs`` (std 0 for one run); slices a run lacks are
    skipped."""
    out: dict[str, list[float]] = {}
    for s in slices:
        for m in metrics:
            vals = [r["metrics"][s][m] for r in runs if s in r["metrics"]]
            if vals:
                out[f"{s}/{m}"] = [statistics.mean(vals), statistics.stdev(vals) if len(vals) > 1 else 0.0]
    return out


def print_tables(data: dict[str, Any], protocol: str) -> None:
    summary = data["summary"]
    keys = sorted({tuple(k.split("|")[:2]) for k in summary}, key=lambda t: (t[0], float(t[1])))
    for pair, fraction in keys:
        rows = {k.split("|")[2]: v for k, v in summary.items() if k.startswith(f"{pair}|{fraction}|")}
        head = f"{pair}" + (f", p = {float(fraction):g}" if protocol == "sparse" else "")
        print(f"\n### {head}\n")
        cols = [f"{s} {m.replace('recall', 'R').replace('ndcg', 'N')}" for s in SLICES[protocol] for m in METRICS]
        print("| model | lr | seeds | " + " | ".join(cols) + " |")
        print("|---" * (len(cols) + 3) + "|")
        for model in sorted(
            rows, key=lambda m: (MODELS.index(m.split("@")[0]) if m.split("@")[0] in MODELS else 99, m)
        ):
            e = rows[model]
            cells = [
                f"{e[f'{s}/{m}'][0]:.4f} ± {e[f'{s}/{m}'][1]:.4f}" if f"{s}/{m}" in e else "–"
                for s in SLICES[protocol]
                for m in METRICS
            ]
            print(f"| {model} | {e['lr'] or '–'} | {','.join(map(str, e['seeds']))} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("protocol", choices=(*PROTOCOLS, "table"))
    p.add_argument("--pair", nargs="+", default=["movies-books"], choices=sorted(PAIRS))
    p.add_argument("--models", nargs="+", default=None, choices=MODELS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--fractions", nargs="+", type=float, default=[0.05], help="sparse: target fractions p")
    p.add_argument("--lrs", nargs="+", type=float, default=[0.005])
    p.add_argument("--merged-lrs", nargs="+", type=float, default=None, help="lightgcn-merged's lrs (default --lrs)")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--verbose", action="store_true", help="log every epoch")
    p.add_argument(
        "--mode",
        choices=("split", "refit", "none"),
        default="split",
        help="split: select on the split's validation, train on its training pairs (default); refit: as "
        "`graphrec train --split none` now does, on the split's training + validation pairs: validation carved "
        "out, selection, training again on all (model name +refit); none: as --split none --no-refit, all "
        "those pairs trained for --epochs with nothing selected (+none). Test pairs are the same in all three",
    )
    p.add_argument(
        "--tag",
        default=None,
        help="write knowledge_<protocol>-<tag>.json (a parallel lane; `table` reads them all, "
        "`table --tag T` that lane's runs only: one run side by side; a glob, e.g. 'refit-*', several lanes)",
    )
    args = p.parse_args(argv)
    if args.verbose:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.protocol == "table":
        for protocol in PROTOCOLS:
            lanes = (
                sorted(results_file(protocol).parent.glob(results_file(protocol, args.tag).name)) if args.tag else []
            )
            runs = [r for f in lanes for r in json.loads(f.read_text())["runs"]] if args.tag else all_runs(protocol)
            if runs:
                print(f"\n## {protocol}")
                print_tables({"summary": summarise(runs, protocol)}, protocol)
        return

    from graphrec.data.splits import merged_validation
    from graphrec.models.presets import model_spec
    from graphrec.train.config import TrainConfig
    from graphrec.train.fit import fit
    from graphrec.train.refit import fit_refit

    out = results_file(args.protocol, args.tag)
    data = json.loads(out.read_text()) if out.exists() else {"runs": []}
    runs: list[dict[str, Any]] = data["runs"]
    done = {(r["pair"], r["fraction"], r["model"], r["lr"], r["seed"]) for r in runs}
    models = args.models or {"cold-items": COLD_ITEM_MODELS, "cold-users": COLD_USER_MODELS}.get(
        args.protocol, SPARSE_MODELS
    )
    fractions = args.fractions if args.protocol == "sparse" else [1.0]
    for pair in args.pair:
        export, item_x, agent = load_pair(pair)
        target = PAIRS[pair]["target"]
        for fraction in fractions:
            for seed in args.seeds:
                split = make_split(export, pair, args.protocol, seed, fraction)
                for base_model in models:
                    spec = model_spec(base_model, dim=args.dim)
                    model = base_model + ("" if args.mode == "split" else f"+{args.mode}")
                    trainable = spec.kind == "gnn"
                    lrs = (args.merged_lrs or args.lrs) if base_model == "lightgcn-merged" else args.lrs
                    for lr in lrs if trainable else [0.0]:
                        if (pair, fraction, model, lr, seed) in done:
                            continue
                        config = TrainConfig(epochs=args.epochs, lr=lr or 1e-3, patience=args.patience, seed=seed)
                        t0 = time.perf_counter()
                        x = item_x if spec.text else None
                        if args.mode == "split":
                            fitted = fit(export, split, spec, config, target=target, item_x=x)
                        elif args.mode == "refit":
                            fitted, _ = fit_refit(
                                export, merged_validation(split), spec, config, target=target, item_x=x
                            )
                        else:
                            fitted = fit(export, merged_validation(split), spec, config, target=target, item_x=x)
                        res = fitted.result
                        res_config = res.config if res else {}
                        run = {
                            "pair": pair, "fraction": fraction, "model": model, "mode": args.mode, "lr": lr,
                            "seed": seed, "metrics": fitted.metrics, "best_epoch": res.best_epoch if res else None,
                            "best_val": res.best_val if res else None, "epochs_run": len(res.history) if res else 0,
                            "selected": {k: v for k, v in res_config.items()
                                         if k in ("item_gate", "cold_path", "l2", "grid", "bridge", "ease", "refit")},
                            "channels": {k: {f: v[f] for f in ("best_epoch", "best_val")}
                                         for k, v in res_config.get("channels", {}).items()},
                            "seconds": time.perf_counter() - t0, "split": split.meta, "store": agent,
                        }  # fmt: skip
                        runs.append(run)
                        shown = {
                            s: round(fitted.metrics.get(s, {}).get("recall@20", float("nan")), 4)
                            for s in SLICES[args.protocol]
                        }
                        print(f"{pair} p={fraction} {model} lr={lr} seed={seed}: R@20 {shown} best epoch "
                              f"{run['best_epoch']} ({run['seconds']:.0f} s)", flush=True)  # fmt: skip
                        header = {
                            "protocol": args.protocol,
                            "train": {
                                "epochs": args.epochs,
                                "patience": args.patience,
                                "dim": args.dim,
                                "batch_size": 2048,
                            },
                        }
                        out.write_text(
                            json.dumps(
                                {
                                    **header,
                                    "meta": run_metadata(),
                                    "summary": summarise(runs, args.protocol),
                                    "runs": runs,
                                },
                                indent=1,
                                default=float,
                            )
                        )
    print_tables(json.loads(out.read_text()), args.protocol)


if __name__ == "__main__":
    main()
