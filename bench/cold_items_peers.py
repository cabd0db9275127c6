"""LightFM with BERT item features — the peer that can place an item nobody has interacted with — on
graphrec's cold-item protocol, Amazon-KG (both directions) and the MovieLens-100K genre pair, seeds 0-2.

    .venv/bin/python bench/cold_items_peers.py                  # all runs not yet in the results file
    .venv/bin/python bench/cold_items_peers.py --table          # reprint the table of the results file
    .venv/bin/python bench/cold_items_peers.py --targets books --seeds 0 --variants lightfm-text-w1.0
    .venv/bin/python bench/cold_items_peers.py --dataset ml-100k-genres   # target action (bench/genre_pair.py)

Protocol: :func:`graphrec.data.splits.coldstart_items` on the target scenario (Amazon-KG ``books``: source
movies; ``movies``: source books; ml-100k-genres ``action``: source drama), written per seed by
``bench/peers/split_files.py`` into ``bench/.work/splits/<dataset>-coldstart-items-<target>/seed<k>/``:
20% of the target's interacted items held out with all their interactions (test), 10% more for
validation; every other interaction of both scenarios is training. Metrics are graphrec's
(``bench/peers/evaluate.py`` scores with :func:`graphrec.eval.ranking.metrics_by_slice`), as
:func:`graphrec.eval.slices.evaluate_slices` defines them for this protocol:

* ``all`` (and its ``cold`` / ``warm`` user slices): each test user ranks every target item, held-out
  ones included, its training items excluded; Recall/NDCG@20 over its test pairs.
* ``held-out-items``: the same users and pairs, ranked among the held-out test items only.

LightFM (``bench/peers/run_lightfm.py``, in ``bench/.venvs/lightfm``): WARP, 64 factors, learning rate
0.05 (the settings of ``bench/peers_bench.py``), BERT rows reduced to their first 32 principal
components, one thread. The held-out items are new catalogue entries (``--new-items cold``): they are
not in the training matrix (not even as negatives) and are scored through their text features alone.
Variants (:data:`VARIANTS`): ``hybrid`` = ``[item indicator | BERT]`` (the standard LightFM hybrid), at
text weights 0.3 and 1.0; ``text`` = BERT rows only (LightFM's features-only model), at 1.0 and 0.3;
``ids`` = indicator only (plain MF: it cannot place a new item, which it ranks last; a reference).
Early stopping on validation exactly as graphrec's training does it for this protocol: Recall@20 of
the validation items' interactions ranked over all target items (training items excluded), checked
after every epoch; the best epoch is kept. For the hybrid that score is ~0 at every epoch (a new item,
placed by text alone, never outranks a trained one), so its epoch would be chosen by noise: the
``-sel-new`` variants stop on the validation analogue of ``held-out-items`` instead (the validation
pairs ranked among the validation items only). Per target and per reported ranking, the text weight
and the variant that is "LightFM (BERT)" are chosen by the mean over seeds of the matching validation
score at each run's kept epoch — ``all``: validation ranked over all target items; ``held-out-items``:
among the validation items — never on test.

Results: ``bench/results/cold_items_lightfm.json`` (Amazon-KG) and
``bench/results/cold_items_lightfm_ml-100k-genres.json`` (every run, written after each; a rerun skips runs
already there, ``--fresh`` starts over), with the Markdown table (mean ± std over seeds) under ``table``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import REPO  # bench/common.py (beside this script): also puts the repository root on sys.path

from bench.peers.evaluate import evaluate_topk
from bench.peers.split_files import cold_items_name, split_dir, write_cold_items_split

# dataset: its target scenarios, its home under bench/.work, its results file, how its home is prepared
DATASETS: dict[str, dict[str, Any]] = {
    "amazon-kg": {"targets": ("books", "movies"), "results": "cold_items_lightfm.json",
                  "prepare": "`.venv/bin/python bench/train_bench.py amazon-kg` (its first step)"},
    "ml-100k-genres": {"targets": ("action",), "results": "cold_items_lightfm_ml-100k-genres.json",
                       "prepare": "`.venv/bin/python bench/genre_pair.py`"},
}  # fmt: skip
RESULTS = REPO / "bench" / "results"
WORK = REPO / "bench" / ".work" / "peers" / "cold-items"
# name: (--item-features, --text-weight, --select-on); in the order they run (the most informative first)
VARIANTS: dict[str, tuple[str, float, str]] = {
    "lightfm-hybrid-w0.3": ("bert", 0.3, "all"),
    "lightfm-text-w1.0": ("text", 1.0, "all"),
    "lightfm-hybrid-w1.0": ("bert", 1.0, "all"),
    "lightfm-ids": ("none", 0.0, "all"),
    "lightfm-text-w0.3": ("text", 0.3, "all"),
    "lightfm-hybrid-w1.0-sel-new": ("bert", 1.0, "new-items"),
    "lightfm-hybrid-w0.3-sel-new": ("bert", 0.3, "new-items"),
    "lightfm-text-w1.0-sel-new": ("text", 1.0, "new-items"),
}
VALID_KEYS = {"all": "valid_recall@20", "held-out-items": "valid_new_items_recall@20"}  # validation score per ranking
FAMILIES = {"bert": "hybrid: id + BERT", "text": "BERT only", "none": "ids only, reference"}
SLICES = ("held-out-items", "all", "cold", "warm")


def ensure_splits(home: Path, dataset: str, targets: list[str], seeds: list[int]) -> dict[tuple[str, int], Path]:
    """The split folder of every (target, seed), written from the prepared graph where missing.

    Raises:
        SystemExit: The home is not prepared (no ``prepared.json``): prepare it first.
    """
    folders = {(t, s): split_dir(cold_items_name(dataset, t), s) for t in targets for s in seeds}
    missing = [key for key, folder in folders.items() if not (folder / "meta.json").exists()]
    if missing:
        if not (home / "prepared.json").exists():
            sys.exit(f"error: {home} is not a prepared graphrec home (no prepared.json); prepare it with "
                     f"{DATASETS[dataset]['prepare']} and rerun")  # fmt: skip
        from bench.train_bench import prepared_graph

        export, item_x, _ = prepared_graph(home)
        for t, s in missing:
            print(
                write_cold_items_split(folders[(t, s)], export, item_x, dataset=dataset, target=t, seed=s), flush=True
            )
    return folders


def lightfm_python() -> Path:
    """LightFM's interpreter (``bench/.venvs/lightfm``, installed by its script on first use)."""
    from bench.peers_bench import peer_python

    return peer_python("lightfm")


def run_one(python: Path, split: Path, variant: str, *, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """Train one LightFM variant on ``split`` (one thread) and score its lists; the run's record."""
    features, weight, select_on = VARIANTS[variant]
    out = WORK / split.parent.name / f"seed{seed}" / variant
    params = {"loss": "warp", "no_components": args.dim, "learning_rate": args.lr, "item_features": features,
              "text_weight": weight if features != "none" else None,
              "text_dims": args.text_dims if features != "none" else None,
              "epochs": args.epochs, "patience": args.patience, "new_items": "cold", "select_on": select_on,
              "threads": 1}  # fmt: skip
    cmd = [str(python), str(REPO / "bench" / "peers" / "run_lightfm.py"), "--split", str(split), "--out", str(out),
           "--model", "WARP", "--seed", str(seed), "--dim", str(args.dim), "--lr", str(args.lr), "--threads", "1",
           "--k", "20", "--epochs", str(args.epochs), "--patience", str(args.patience), "--item-features", features,
           "--text-weight", str(weight), "--text-dims", str(args.text_dims), "--new-items", "cold",
           "--select-on", select_on]  # fmt: skip
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": str(seed),
    }
    print("$", " ".join(c if i else Path(c).name for i, c in enumerate(cmd)), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO, env=env)
    wall = time.perf_counter() - t0
    result = json.loads((out / "result.json").read_text())
    meta = json.loads((split / "meta.json").read_text())
    return {
        "pair": f"{meta['source']}→{meta['target']}", "source": meta["source"], "target": meta["target"], "seed": seed,
        "model": variant, "family": FAMILIES[features], "params": params, "best_epoch": result["best_epoch"],
        "epochs_run": result["epochs_run"], "valid_recall@20": result["valid_recall@20"],
        "valid_curve": [{k: v for k, v in h.items() if k != "train_seconds"} for h in result["history"]],
        "metrics": evaluate_topk(split, out / "topk.tsv"), "seconds": {"train": result["train_seconds"], "wall": wall,
        "per_epoch": result["seconds_per_epoch"]}, "lightfm": result["version"],
        "users_without_training": result.get("users_without_training"), "new_items": result.get("new_item_count"),
        "split": {k: meta["split"][k] for k in ("test_items", "val_items", "test_interactions", "val_interactions",
                                                "test_users", "cold_users", "warm_users")},
    }  # fmt: skip


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def kept_valid(run: dict[str, Any], key: str) -> float:
    """Validation score ``key`` (:data:`VALID_KEYS`) of ``run`` at the epoch it kept."""
    return next(h[key] for h in run["valid_curve"] if h["epoch"] == run["best_epoch"])


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per target and variant: mean ± std per slice and metric, mean validation scores at the kept
    epochs, best epochs; per target the choices made on validation, for each reported ranking (the
    text weight per family, and the LightFM (BERT) peer)."""
    out: dict[str, Any] = {}
    for target in sorted({r["target"] for r in runs}):
        per: dict[str, Any] = {}
        for variant in VARIANTS:
            rs = sorted((r for r in runs if r["target"] == target and r["model"] == variant), key=lambda r: r["seed"])
            if not rs:
                continue
            entry: dict[str, Any] = {"family": rs[0]["family"], "seeds": [r["seed"] for r in rs],
                                     "best_epochs": [r["best_epoch"] for r in rs],
                                     "selected_on": VARIANTS[variant][2]}  # fmt: skip
            for ranking, key in VALID_KEYS.items():
                entry[f"valid/{ranking}"] = statistics.mean(kept_valid(r, key) for r in rs)
            for s in SLICES:
                for m in ("recall@20", "ndcg@20"):
                    vals = [r["metrics"][s][m] for r in rs if s in r["metrics"]]
                    if vals:
                        entry[f"{s}/{m}"], entry[f"{s}/{m}_std"] = mean_std(vals)
            entry["train_seconds"] = statistics.mean(r["seconds"]["train"] for r in rs)
            per[variant] = entry
        full = {v: e for v, e in per.items() if len(e["seeds"]) == max(len(x["seeds"]) for x in per.values())}
        chosen: dict[str, str] = {}
        for ranking in VALID_KEYS:  # the all-items figure among runs stopped on all; held-out-items: any run
            ok = [v for v in full if ranking == "held-out-items" or VARIANTS[v][2] == "all"]
            for family in ("bert", "text"):
                cands = [v for v in ok if VARIANTS[v][0] == family]
                if cands:
                    chosen[f"{FAMILIES[family]} for {ranking}"] = max(cands, key=lambda v: full[v][f"valid/{ranking}"])
            bert = [v for v in ok if VARIANTS[v][0] != "none"]
            if bert:
                chosen[f"LightFM (BERT) for {ranking}"] = max(bert, key=lambda v: full[v][f"valid/{ranking}"])
        out[target] = {
            "source": next(r["source"] for r in runs if r["target"] == target),
            "variants": per,
            "chosen": chosen,
        }
    return out


def table(summary: dict[str, Any]) -> str:
    """Markdown: one block per pair, a row per variant (mean ± std over seeds), choices marked."""
    cols = [f"{s} {m}" for s in ("held-out-items", "all") for m in ("R@20", "N@20")] + ["cold R@20", "warm R@20"]
    lines = [f"| pair | LightFM variant | {' | '.join(cols)} | valid R@20 all / held-out | stopped on | "
             "best epochs | seeds |",
             "|---" * (len(cols) + 6) + "|"]  # fmt: skip
    for target, block in summary.items():
        pair = f"{block['source']} → {target}"
        marks: dict[str, list[str]] = {}  # the peer's figure per ranking (the per-family choices are in the JSON)
        for what, v in block["chosen"].items():
            if what.startswith("LightFM (BERT) for "):
                marks.setdefault(v, []).append(what.removeprefix("LightFM (BERT) for "))
        for variant, e in block["variants"].items():
            cells = []
            for s, m in [(s, m) for s in ("held-out-items", "all") for m in ("recall@20", "ndcg@20")] + [
                ("cold", "recall@20"),
                ("warm", "recall@20"),
            ]:
                v = e.get(f"{s}/{m}")
                cells.append("–" if v is None else f"{v:.4f} ± {e[f'{s}/{m}_std']:.4f}")
            name = f"{variant} ({e['family']})" + (
                "" if variant not in marks else " ◀ peer for " + " and ".join(sorted(marks[variant]))
            )
            lines.append(f"| {pair} | {name} | {' | '.join(cells)} | "
                         f"{e['valid/all']:.4f} / {e['valid/held-out-items']:.4f} | {e['selected_on']} | "
                         f"{','.join(str(x) for x in e['best_epochs'])} | "
                         f"{','.join(str(x) for x in e['seeds'])} |")  # fmt: skip
    lines.append("\n◀ peer for <ranking>: the LightFM (BERT) figure of that ranking's columns in the cold-item "
                 "table, chosen per target among the BERT variants by the mean over seeds of the matching validation "
                 "Recall@20 (all: validation pairs ranked over all target items, among runs stopped on it; "
                 "held-out-items: among the validation items), never on test. 'stopped on': the validation score of "
                 "early stopping.")  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=list(DATASETS), default="amazon-kg")
    p.add_argument("--targets", nargs="+", help="target scenarios (default: every one of the dataset)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--epochs", type=int, default=40, help="most epochs (default 40)")
    p.add_argument(
        "--patience", type=int, default=6, help="epochs without a better validation recall before stopping (default 6)"
    )
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--text-dims", type=int, default=32)
    p.add_argument("--home", type=Path, help="the prepared home (default bench/.work/<dataset>)")
    p.add_argument("--out", type=Path, help="results file (default per dataset, see above)")
    p.add_argument("--fresh", action="store_true", help="ignore runs already in the results file")
    p.add_argument("--table", action="store_true", help="only print the table of the results file")
    args = p.parse_args(argv)
    dataset, targets_of = args.dataset, DATASETS[args.dataset]["targets"]
    args.targets = args.targets or list(targets_of)
    if unknown := sorted(set(args.targets) - set(targets_of)):
        p.error(f"--targets {' '.join(unknown)}: not a target of {dataset}; choose among {', '.join(targets_of)}")
    args.home = args.home or REPO / "bench" / ".work" / dataset
    args.out = args.out or RESULTS / DATASETS[dataset]["results"]
    previous = json.loads(args.out.read_text()) if args.out.exists() and not args.fresh else {}
    runs: list[dict[str, Any]] = previous.get("runs", [])
    if args.table:
        print(table(summarise(runs)))
        if previous.get("missing"):
            print(f"\nnot run yet: {', '.join(previous['missing'])}")
        return 0
    folders = ensure_splits(args.home.resolve(), dataset, args.targets, args.seeds)
    python = lightfm_python()
    done = {(r["target"], r["seed"], r["model"]) for r in runs}
    header = {"dataset": dataset, "protocol": "coldstart-items", "peer": "lightfm", "threads": 1, "variants": VARIANTS,
              "text_weight_grid": sorted({w for f, w, _ in VARIANTS.values() if f != "none"}),
              "selection": "per target and ranking, mean over seeds of the matching validation Recall@20 at the "
                           "kept epoch (all: validation pairs ranked over all target items; held-out-items: among "
                           "the validation items)",
              "command": f"OMP_NUM_THREADS=1 .venv/bin/python bench/cold_items_peers.py --dataset {dataset}",
              }  # fmt: skip
    from graphrec.results import run_metadata

    def save() -> None:
        summary = summarise(runs)
        have = {(r["target"], r["seed"], r["model"]) for r in runs}
        missing = [f"{v} {t} seed{s}" for v in VARIANTS for t in targets_of for s in (0, 1, 2) if (t, s, v) not in have]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**header, "meta": run_metadata(), "summary": summary, "table": table(summary),
                                        "missing": missing, "runs": runs},
                                       indent=1, ensure_ascii=False, default=float))  # fmt: skip

    for variant in args.variants:
        for target in args.targets:
            for seed in args.seeds:
                if (target, seed, variant) in done:
                    continue
                run = run_one(python, folders[(target, seed)], variant, seed=seed, args=args)
                runs.append(run)
                shown = {s: round(run["metrics"][s]["recall@20"], 4) for s in ("held-out-items", "all")}
                print(f"{variant} {run['pair']} seed={seed}: recall@20 {shown}, best epoch {run['best_epoch']}, "
                      f"{run['seconds']['wall']:.0f}s", flush=True)  # fmt: skip
                save()
    save()  # also when every run was already there: the summary and table of the current code
    print(table(summarise(runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
