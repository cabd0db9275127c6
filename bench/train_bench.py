"""Recommendation quality of graphrec, its ablations and baselines, in one harness, over seeds.

    # Amazon-KG Movies_and_TV -> Books, coldstart-transfer protocol, seeds 0-2 (all models)
    .venv/bin/python bench/train_bench.py amazon-kg
    # MovieLens-100K, per-user random 80/10/10, seeds 0-2
    .venv/bin/python bench/train_bench.py ml-100k

The graph is prepared once per dataset in its own graphrec home (default ``bench/.work/<dataset>``,
ignored by git) with the CLI, exactly as a user would: ``graphrec ingest <spec>``, ``graphrec embed``,
``graphrec topics extract --method discovered`` and ``--method metadata``. Then the graph is exported
once, and every (model, learning rate, seed) is trained through ``graphrec.train.fit.fit`` and
evaluated by full ranking over the target scenario's items (training items excluded), per slice.
Results go to ``bench/results/train_<dataset>.json`` after every run, and a rerun skips the runs
already there (``--fresh`` starts over).

Model selection is by validation Recall@20 (mean over seeds) for every model alike; the summary also
lists, for the baselines, the best learning rate per slice chosen on the *test* set — an oracle that
can only flatter the baselines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

try:
    from common import REPO  # run by path: bench/common.py, beside it, puts the repository root on sys.path
except ModuleNotFoundError:  # imported as bench.train_bench (tests, python -m): the root is on sys.path already
    from bench.common import REPO

from graphrec.home import ensure_home
from graphrec.results import run_metadata

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split

DATASETS: dict[str, dict[str, Any]] = {
    "amazon-kg": {
        "spec": "ingest/specs/amazon-kg.toml",
        "protocol": "coldstart",
        "source": "movies",
        "target": "books",
        "slices": ("cold", "warm"),
    },
    "ml-100k": {
        "spec": "ingest/specs/ml-100k.toml",
        "protocol": "random",
        "source": None,
        "target": None,  # the spec's single scenario
        "slices": ("all",),
    },
}
ALL_MODELS = (
    "popularity",
    "bpr-mf",
    "lightgcn-target",
    "lightgcn-merged",
    "graphrec-no-topics",
    "graphrec-no-bert",
    "graphrec-single",
    "graphrec",
    "graphrec-transfer",
)
DEFAULT_MODELS = ALL_MODELS[:-1]


def graphrec_cli(home: Path, *args: str) -> None:
    cmd = [str(REPO / ".venv" / "bin" / "graphrec"), "--home", str(home), "--no-progress", *args]
    print("$", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO)


def prepare(home: Path, spec: str, *, n_topics: int | None) -> list[str]:
    """Ingest, embed and extract topics into ``home`` unless already done; returns the commands."""
    marker = home / "prepared.json"
    steps = [
        ["ingest", spec],
        ["embed"],
        ["topics", "extract", "--method", "discovered", *(["--n-topics", str(n_topics)] if n_topics else [])],
        ["topics", "extract", "--method", "metadata"],
    ]
    if not marker.exists():
        ensure_home(home)  # private (0700) from the start, as graphrec itself creates homes
        for step in steps:
            graphrec_cli(home, *step)
        marker.write_text(json.dumps({"steps": steps}))
    return ["graphrec " + " ".join(s) for s in steps]


class PreparedGraph(NamedTuple):
    """A prepared home's graph (see :func:`prepare`): its export, the item features aligned with it
    (``None`` when not loaded) and the store that served it (``store.capabilities.agent``)."""

    export: GraphExport
    item_x: np.ndarray | None
    store_agent: str


def prepared_graph(home: Path, *, features: bool = True) -> PreparedGraph:
    """Export the graph of a prepared home from its store, and load its item features unless ``features`` is false."""
    from graphrec.data.export import export_graph
    from graphrec.home import features_file
    from graphrec.store.connect import StoreConfig, open_store
    from graphrec.train.run import load_item_features

    with open_store(StoreConfig(home=home.resolve())) as store:
        export = export_graph(store)
        agent = store.capabilities.agent
    item_x = load_item_features(export, features_file(home)) if features else None
    return PreparedGraph(export, item_x, agent)


def dataset_target(dataset: str, export: GraphExport) -> str:
    """The target scenario of ``dataset`` (:data:`DATASETS`; a single-scenario graph's only scenario)."""
    return DATASETS[dataset]["target"] or export.scenarios[0]


def dataset_split(dataset: str, export: GraphExport, seed: int) -> Split:
    """The split of ``dataset``'s protocol (:data:`DATASETS`) for ``seed``, on its target scenario."""
    from graphrec.train.run import SplitConfig, make_split

    ds = DATASETS[dataset]
    config = SplitConfig(protocol=ds["protocol"], source=ds["source"], seed=seed)
    return make_split(export, config, target=dataset_target(dataset, export))


def summarise(runs: list[dict[str, Any]], slices: tuple[str, ...]) -> dict[str, Any]:
    """Per model: the learning rate chosen by mean validation recall, and mean ± std per slice."""
    by_model: dict[str, dict[float, list[dict[str, Any]]]] = {}
    for r in runs:
        by_model.setdefault(r["model"], {}).setdefault(r["lr"], []).append(r)
    out: dict[str, Any] = {}
    for model, by_lr in by_model.items():
        chosen = max(by_lr, key=lambda lr: statistics.mean(r["best_val"] or 0.0 for r in by_lr[lr]))
        entry: dict[str, Any] = {"lr": chosen, "seeds": sorted(r["seed"] for r in by_lr[chosen])}
        for s in slices:
            for m in ("recall@20", "ndcg@20", "recall@10", "ndcg@10"):
                vals = [r["metrics"][s][m] for r in by_lr[chosen] if s in r["metrics"]]
                if vals:
                    entry[f"{s}/{m}"] = statistics.mean(vals)
                    entry[f"{s}/{m}_std"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
        spe = [r["seconds_per_epoch"] for r in by_lr[chosen] if r.get("seconds_per_epoch")]
        entry["seconds_per_epoch"] = statistics.mean(spe) if spe else None
        entry["epochs_run"] = [r["epochs_run"] for r in by_lr[chosen]]
        oracle = oracle_rows(runs, model, slices)
        entry["oracle"] = {s: [oracle["lr"][s], oracle[f"{s}/recall@20"]] for s in oracle["lr"]}
        out[model] = entry
    return out


def oracle_rows(runs: list[dict[str, Any]], model: str, slices: tuple[str, ...]) -> dict[str, Any]:
    """``model``'s best learning rate *per slice*, chosen on the test set (flatters the model)."""
    by_lr: dict[float, list[dict[str, Any]]] = {}
    for r in runs:
        if r["model"] == model:
            by_lr.setdefault(r["lr"], []).append(r)
    entry: dict[str, Any] = {"lr": {}}
    for s in slices:
        complete = [lr for lr, rs in by_lr.items() if all(s in r["metrics"] for r in rs)]
        if not complete:
            continue
        best = max(complete, key=lambda lr: statistics.mean(r["metrics"][s]["recall@20"] for r in by_lr[lr]))
        entry["lr"][s] = best
        for m in ("recall@20", "ndcg@20"):
            vals = [r["metrics"][s][m] for r in by_lr[best]]
            entry[f"{s}/{m}"] = statistics.mean(vals)
            entry[f"{s}/{m}_std"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return entry


def print_table(
    summary: dict[str, Any], slices: tuple[str, ...], reference: str | None, runs: list[dict[str, Any]] | None = None
) -> None:
    """Markdown table: mean ± std over seeds per slice, ratios to ``reference``; plus the reference's
    per-slice oracle row when it was run with several learning rates."""
    cols = [f"{s} {m}" for s in slices for m in ("R@20", "N@20")]
    print("| model | lr | " + " | ".join(cols) + " | s/epoch |")
    print("|---" * (len(cols) + 3) + "|")
    ref = summary.get(reference or "", {})
    rows = [(m, summary[m]) for m in ALL_MODELS if m in summary]
    if runs and reference and len({r["lr"] for r in runs if r["model"] == reference}) > 1:
        oracle = oracle_rows(runs, reference, slices)
        label = "/".join(str(oracle["lr"][s]) for s in slices)
        rows.insert(
            [m for m, _ in rows].index(reference) + 1,
            (f"{reference} (lr per slice chosen on test)", {**oracle, "lr": label}),
        )
    for model, e in rows:
        if not e:
            continue
        cells = []
        for s in slices:
            for m in ("recall@20", "ndcg@20"):
                v, sd = e.get(f"{s}/{m}"), e.get(f"{s}/{m}_std")
                if v is None:
                    cells.append("–")
                    continue
                ratio = f" ({v / ref[f'{s}/{m}']:.2f}×)" if ref.get(f"{s}/{m}") else ""
                cells.append(f"{v:.4f} ± {sd:.4f}{ratio}")
        spe = f"{e['seconds_per_epoch']:.2f}" if e.get("seconds_per_epoch") else "–"
        if model == reference:
            model = f"{model} (lr chosen on validation)"
        print(f"| {model} | {e['lr']} | " + " | ".join(cells) + f" | {spe} |")


def import_peer_runs(runs: list[dict[str, Any]], peers_file: Path, models: list[str]) -> list[dict[str, Any]]:
    """``runs`` plus graphrec's runs of ``models`` from a peers_bench results file, as this script records
    them: the metrics of this harness (``harness_metrics``: training items excluded), learning rate,
    seed, best validation recall and timing. A (model, lr, seed) already in ``runs`` is replaced."""
    peers = json.loads(peers_file.read_text())["runs"]
    imported = [
        {
            "model": r["model"],
            "lr": r["config"]["lr"],
            "seed": r["seed"],
            "metrics": r["harness_metrics"],
            "best_epoch": r["best_epoch"],
            "best_val": r.get("best_val"),
            "epochs_run": r["epochs_run"],
            "seconds_per_epoch": r["seconds_per_epoch"],
            "seconds": r["train_seconds"],
            "split": r.get("split"),
            "from": f"bench/peers_bench.py ({peers_file.name})",
        }
        for r in peers
        if r["peer"] == "graphrec" and r["model"] in models
    ]
    if not imported:
        raise SystemExit(f"no graphrec run of {models} in {peers_file}; run bench/peers_bench.py first")
    keys = {(r["model"], r["lr"], r["seed"]) for r in imported}
    return [r for r in runs if (r["model"], r["lr"], r["seed"]) not in keys] + imported


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", choices=sorted(DATASETS))
    p.add_argument("--home", type=Path, default=None, help="graphrec home (default bench/.work/<dataset>)")
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), choices=ALL_MODELS)
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--lrs", nargs="+", type=float, default=[0.005], help="learning rates tried per trainable model")
    p.add_argument(
        "--merged-lrs",
        nargs="+",
        type=float,
        default=None,
        help="learning rates for lightgcn-merged, the reference baseline (default: --lrs)",
    )
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=2048)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--patience", type=int, default=8)
    p.add_argument("--n-topics", type=int, default=None, help="discovered topics (default sqrt(items/2))")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--fresh", action="store_true", help="ignore results already in the output file")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--table", action="store_true", help="only print the table of the results file")
    p.add_argument(
        "--import-peers",
        nargs="+",
        default=None,
        metavar="MODEL",
        help="instead of training: add these graphrec models' runs from bench/results/peers_<dataset>.json "
        "(bench/peers_bench.py trains them with this harness's fit() on the same splits and "
        "records this harness's metrics), then print the table",
    )
    args = p.parse_args(argv)
    ds = DATASETS[args.dataset]
    out = args.out or REPO / "bench" / "results" / f"train_{args.dataset}.json"
    if args.import_peers:
        data = json.loads(out.read_text())
        data["runs"] = import_peer_runs(
            data["runs"], REPO / "bench" / "results" / f"peers_{args.dataset}.json", args.import_peers
        )
        data["summary"] = summarise(data["runs"], ds["slices"])
        out.write_text(json.dumps(data, indent=1, default=float))
        args.table = True
    if args.table:
        runs = json.loads(out.read_text())["runs"]
        print_table(summarise(runs, ds["slices"]), ds["slices"], "lightgcn-merged", runs)
        return

    import torch

    from graphrec.models.presets import model_spec
    from graphrec.train.config import TrainConfig
    from graphrec.train.fit import fit

    if args.threads:
        torch.set_num_threads(args.threads)
    home = args.home or REPO / "bench" / ".work" / args.dataset
    commands = prepare(home.resolve(), ds["spec"], n_topics=args.n_topics)
    export, item_x, agent = prepared_graph(home)
    target = dataset_target(args.dataset, export)
    previous = json.loads(out.read_text()) if out.exists() and not args.fresh else {}
    runs: list[dict[str, Any]] = previous.get("runs", [])
    done = {(r["model"], r["lr"], r["seed"]) for r in runs}
    header = {
        "dataset": args.dataset, "target": target, "source": ds["source"], "protocol": ds["protocol"],
        "prepare": commands, "store": agent, "threads": torch.get_num_threads(),
        "train": {"epochs": args.epochs, "batch_size": args.batch_size, "dim": args.dim, "patience": args.patience},
        "nodes": export.num_nodes, "interactions": int(export.interactions.shape[1]),
        "notes": previous.get("notes", []),
    }  # fmt: skip
    for seed in args.seeds:
        split = dataset_split(args.dataset, export, seed)
        for model in args.models:
            trainable = model != "popularity"
            lrs = (args.merged_lrs or args.lrs) if model == "lightgcn-merged" else args.lrs
            for lr in lrs if trainable else [0.0]:
                if (model, lr, seed) in done:
                    continue
                spec = model_spec(model, dim=args.dim)
                config = TrainConfig(
                    epochs=args.epochs, batch_size=args.batch_size, lr=lr or 1e-3, patience=args.patience, seed=seed
                )
                t0 = time.perf_counter()
                fitted = fit(export, split, spec, config, target=target, item_x=item_x if spec.text else None)
                res = fitted.result
                run = {
                    "model": model, "lr": lr, "seed": seed, "metrics": fitted.metrics,
                    "best_epoch": res.best_epoch if res else None, "best_val": res.best_val if res else None,
                    "epochs_run": len(res.history) if res else 0,
                    "seconds_per_epoch": res.seconds_per_epoch if res else None,
                    "seconds": time.perf_counter() - t0, "split": split.meta,
                }  # fmt: skip
                runs.append(run)
                slices = {s: round(fitted.metrics.get(s, {}).get("recall@20", float("nan")), 4) for s in ds["slices"]}
                print(f"{model} lr={lr} seed={seed}: recall@20 {slices} best epoch {run['best_epoch']} "
                      f"({run['seconds']:.0f} s)", flush=True)  # fmt: skip
                summary = summarise(runs, ds["slices"])
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(
                    json.dumps(
                        {**header, "meta": run_metadata(), "summary": summary, "runs": runs}, indent=1, default=float
                    )
                )
    summary = summarise(runs, ds["slices"])
    print_table(summary, ds["slices"], "lightgcn-merged" if "lightgcn-merged" in summary else None, runs)


if __name__ == "__main__":
    main()
