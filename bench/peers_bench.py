"""graphrec side by side with the peers a user would pick instead, on the same split files, with one
evaluator, in one run.

    .venv/bin/python bench/peers_bench.py ml-100k              # per-user random 80/10/10, seeds 0-2
    .venv/bin/python bench/peers_bench.py amazon-kg            # Movies_and_TV -> Books, coldstart-transfer
    .venv/bin/python bench/peers_bench.py ml-100k --quick      # smoke run: graphrec + Cornac EASE, 1 seed, few epochs
    .venv/bin/python bench/peers_bench.py amazon-kg --table    # reprint the table of the results file
    .venv/bin/python bench/peers_bench.py amazon-kg --speed 5  # training speed: graphrec's LightGCN vs RecBole's,
                                                               # 5 epochs each, same threads (run on an idle machine)

How it works:

1. The dataset's graph is prepared once with the CLI (see ``bench/train_bench.py``), and its split for
   each seed is written as plain files by ``bench/peers/split_files.py``.
2. Each peer runs in its own virtual environment under ``bench/.venvs/<peer>`` (created on first use
   by ``bench/peers/install/<peer>.sh``), reads the split files, trains (early stopping on the
   validation file where the peer has epochs) and writes its top-K lists (candidates only: the target
   scenario's items; the user's train and valid items excluded) and its timing.
3. Every list — graphrec's included — is scored by ``bench/peers/evaluate.py`` with graphrec's metric
   code, per slice (cold / warm users on Amazon-KG).
4. Results append to ``bench/results/peers_<dataset>.json`` after every run (a rerun skips the runs
   already there; ``--fresh`` starts over); ``--quick`` writes to ``bench/results/tmp/`` instead.

Peers train on the merged interactions of all scenarios (for Amazon-KG: Movies and Books). Every run
pins the same thread count (``--threads``, default 2) through ``torch.set_num_threads`` / the peer's
own setting and ``OMP_NUM_THREADS``, so the seconds per epoch compare.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common import REPO  # bench/common.py (beside this script): also puts the repository root on sys.path

from bench.peers.evaluate import evaluate_topk
from bench.peers.split_files import split_dir
from bench.train_bench import DATASETS, prepare
from graphrec.results import run_metadata

VENVS = REPO / "bench" / ".venvs"
WORK = REPO / "bench" / ".work" / "peers"


@dataclass(frozen=True)
class PeerRun:
    """One model of one peer and its hyper-parameters (``args`` go to the peer's runner)."""

    peer: str
    model: str
    args: tuple[str, ...] = ()
    epochs: bool = True  # trained for epochs (gets --epochs/--patience), unlike EASE
    seeds: tuple[int, ...] | None = None  # only these seeds (default: all of the run)

    @property
    def name(self) -> str:
        return f"{self.peer}:{self.model}"


@dataclass(frozen=True)
class Suite:
    """The runs of one dataset, with the shared training budget."""

    runs: tuple[PeerRun, ...]
    epochs: int
    reference: str = "graphrec:graphrec"
    speed_pair: tuple[str, str] = ("graphrec:lightgcn-merged", "recbole:LightGCN")
    notes: dict[str, str] = field(default_factory=dict)


# Hyper-parameters. graphrec's models: the learning rates bench/train_bench.py chose by validation
# (bench/results/train_<dataset>.json). RecBole's LightGCN/BPR/NGCF: the same as graphrec's
# LightGCN-equivalent (same architecture, Adam, BPR, batch size). Cornac EASE: its L2 weight chosen on
# the validation file from a grid; Cornac BPR: one SGD pass per "epoch" that first drifts down, so 200
# epochs validated every 10 (lr 0.05); LightFM: WARP, item features = identity + the first 32 principal
# components of the BERT rows at weight 0.3 (the full 384 columns cost 100× per epoch and scored lower).
# On Amazon-KG the runs marked seeds=(0,) run on seed 0 only and RecBole NGCF (about 3× LightGCN
# per epoch) not at all (run it with --runs recbole:NGCF), to keep the suite within a few hours on 2 cores.
CORNAC_BPR = PeerRun("cornac", "BPR", ("--lr", "0.05", "--epochs", "200", "--eval-every", "10", "--patience", "5"))
LIGHTFM = PeerRun("lightfm", "WARP", ("--lr", "0.05", "--text-dims", "32"))
SUITES: dict[str, Suite] = {
    "ml-100k": Suite(
        epochs=60,
        runs=(
            PeerRun("graphrec", "graphrec", ("--lr", "0.01")),  # its collaborative channel's choice (all users warm)
            PeerRun("graphrec", "lightgcn-merged", ("--lr", "0.01")),
            PeerRun("recbole", "LightGCN", ("--lr", "0.01")),
            PeerRun("recbole", "BPR", ("--lr", "0.005")),
            PeerRun("recbole", "NGCF", ("--lr", "0.005")),
            PeerRun("cornac", "EASE", (), epochs=False),
            CORNAC_BPR,
            LIGHTFM,
        ),
        reference="graphrec:graphrec",
    ),
    "amazon-kg": Suite(
        epochs=40,
        runs=(
            PeerRun("graphrec", "graphrec", ("--lr", "0.005")),
            PeerRun("graphrec", "lightgcn-merged", ("--lr", "0.005")),
            PeerRun("recbole", "LightGCN", ("--lr", "0.005")),
            PeerRun("cornac", "EASE", ("--lamb", "50", "100", "200"), epochs=False),
            PeerRun("recbole", "BPR", ("--lr", "0.005"), seeds=(0,)),
            PeerRun("recbole", "NGCF", ("--lr", "0.005"), seeds=()),  # (~3× LightGCN per epoch: not run by default)
            dataclasses.replace(CORNAC_BPR, seeds=(0,)),
            dataclasses.replace(LIGHTFM, seeds=(0,)),
        ),
        reference="graphrec:graphrec",
    ),
}
QUICK = Suite(
    epochs=3,
    runs=(PeerRun("graphrec", "lightgcn-merged", ("--lr", "0.01")), PeerRun("cornac", "EASE", (), epochs=False)),
    reference="graphrec:lightgcn-merged",
)
QUICK_FLOOR = 0.1  # Recall@20 every quick run must reach on ML-100K (popularity: 0.17)


def peer_python(peer: str) -> Path:
    """The interpreter of ``peer``'s environment, created by its install script on first use."""
    if peer == "graphrec":
        return REPO / ".venv" / "bin" / "python"
    venv = VENVS / peer
    if not (venv / ".installed").exists():
        script = REPO / "bench" / "peers" / "install" / f"{peer}.sh"
        print(f"== installing {peer} into {venv} ({script.relative_to(REPO)})", flush=True)
        subprocess.run(["bash", str(script), str(venv)], check=True)
    return venv / "bin" / "python"


def ensure_split(dataset: str, seed: int, home: Path) -> Path:
    """The split folder of ``dataset``/``seed``, written from the prepared graph when missing."""
    folder = split_dir(dataset, seed)
    if not (folder / "meta.json").exists():
        subprocess.run([str(peer_python("graphrec")), "-m", "bench.peers.split_files", dataset, "--seed", str(seed),
                        "--home", str(home)], check=True, cwd=REPO)  # fmt: skip
    return folder


def run_peer(
    run: PeerRun, split: Path, out: Path, *, seed: int, suite: Suite, threads: int, dim: int, home: Path
) -> dict[str, Any]:
    """Train ``run`` on ``split`` in its environment; returns its result.json plus the shared evaluation."""
    python = peer_python(run.peer)
    if run.peer == "graphrec":
        cmd = [str(python), "-m", "bench.peers.run_graphrec", "--home", str(home)]
    else:
        cmd = [str(python), str(REPO / "bench" / "peers" / f"run_{run.peer}.py")]
    cmd += ["--split", str(split), "--out", str(out), "--model", run.model, "--seed", str(seed), "--dim", str(dim),
            "--threads", str(threads), "--k", "20", *run.args]  # fmt: skip
    if run.epochs:
        cmd += [] if "--epochs" in run.args else ["--epochs", str(suite.epochs)]
        cmd += [] if "--patience" in run.args else ["--patience", "8"]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "PYTHONHASHSEED": str(seed)}
    print("$", " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO, env=env)
    result = json.loads((out / "result.json").read_text())
    result.update(run=run.name, seed=seed, wall_seconds=time.perf_counter() - t0,
                  metrics=evaluate_topk(split, out / "topk.tsv"))  # fmt: skip
    return result


def evaluator_check(result: dict[str, Any]) -> dict[str, float]:
    """|peer's own evaluator − graphrec's evaluator| per metric, where both rank the same items (all
    items of a single-scenario split). The issue's bar: within 0.002."""
    own, ours = result["own_metrics"], result["metrics"]["all"]
    return {
        m: abs(own[m] - ours[m]) for m in ("recall@10", "recall@20", "ndcg@10", "ndcg@20") if m in own and m in ours
    }


def summarise(runs: list[dict[str, Any]], slices: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Per run name: mean ± std over seeds of Recall/NDCG@20 per slice, and mean seconds per epoch."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_name.setdefault(r["run"], []).append(r)
    out: dict[str, dict[str, Any]] = {}
    for name, rs in by_name.items():
        entry: dict[str, Any] = {"seeds": sorted(r["seed"] for r in rs)}
        for s in slices:
            for m in ("recall@20", "ndcg@20"):
                vals = [r["metrics"][s][m] for r in rs if s in r["metrics"]]
                if vals:
                    entry[f"{s}/{m}"] = statistics.mean(vals)
                    entry[f"{s}/{m}_std"] = statistics.stdev(vals) if len(vals) > 1 else 0.0
        spe = [r["seconds_per_epoch"] for r in rs if r.get("seconds_per_epoch")]
        entry["seconds_per_epoch"] = statistics.mean(spe) if spe else None
        entry["epochs_run"] = [r.get("epochs_run") for r in rs]
        out[name] = entry
    return out


def print_tables(
    summary: dict[str, dict[str, Any]], slices: tuple[str, ...], suite: Suite, order: list[str],
    checks: Sequence[dict[str, float]] = (),
) -> None:  # fmt: skip
    """Quality (ratios to the reference) and training speed (graphrec / RecBole) tables, Markdown."""
    ref = summary.get(suite.reference, {})
    cols = [f"{s} {m}" for s in slices for m in ("R@20", "N@20")]
    print(f"| run | {' | '.join(cols)} | s/epoch | epochs run | seeds |")
    print("|---" * (len(cols) + 4) + "|")
    for name in order:
        e = summary.get(name)
        if not e:
            continue
        cells = []
        for s in slices:
            for m in ("recall@20", "ndcg@20"):
                v = e.get(f"{s}/{m}")
                if v is None:
                    cells.append("–")
                    continue
                ratio = (
                    f" ({ref[f'{s}/{m}'] / v:.2f}×)" if ref.get(f"{s}/{m}") and name != suite.reference and v else ""
                )
                cells.append(f"{v:.4f} ± {e[f'{s}/{m}_std']:.4f}{ratio}")
        spe = f"{e['seconds_per_epoch']:.2f}" if e.get("seconds_per_epoch") else "–"
        seeds = ",".join(str(x) for x in e["seeds"])
        print(f"| {name} | {' | '.join(cells)} | {spe} | {e['epochs_run']} | {seeds} |")
    print(f"\n(×: {suite.reference}'s value divided by the row's; > 1 means graphrec is ahead)")
    if checks:
        worst = max(max(c.values()) for c in checks)
        print(
            f"\nevaluator check ({len(checks)} RecBole runs): "
            f"largest |RecBole's own evaluator − graphrec's| = {worst:.6f}"
        )
    a, b = (summary.get(n, {}).get("seconds_per_epoch") for n in suite.speed_pair)
    if a and b:
        print(
            f"\ntraining speed: {suite.speed_pair[0]} {a:.2f} s/epoch, {suite.speed_pair[1]} {b:.2f} s/epoch, "
            f"ratio {a / b:.2f}×"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", choices=sorted(SUITES))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument(
        "--runs",
        nargs="+",
        default=None,
        help="subset of runs, as peer:model, on every seed given "
        "(default: all of the suite, seed-limited runs on their seeds)",
    )
    p.add_argument("--threads", type=int, default=2, help="threads for every run (default 2)")
    p.add_argument("--dim", type=int, default=64)
    p.add_argument(
        "--quick", action="store_true", help="graphrec + Cornac EASE, seed 0, 3 epochs; results to bench/results/tmp/"
    )
    p.add_argument(
        "--speed",
        type=int,
        default=None,
        metavar="EPOCHS",
        help="training-speed run only: the suite's speed pair (graphrec's LightGCN, RecBole's) for EPOCHS "
        "epochs each, seed 0, no early stopping; results to bench/results/peers_speed_<dataset>.json",
    )
    p.add_argument("--fresh", action="store_true", help="ignore results already in the output file")
    p.add_argument("--table", action="store_true", help="only print the tables of the results file")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    suite = QUICK if args.quick else SUITES[args.dataset]
    seeds = [0] if (args.quick or args.speed) else args.seeds
    if args.speed:  # same epochs for both, none stopped early: s/epoch over the whole run
        pair = [r for r in suite.runs if r.name in suite.speed_pair]
        suite = Suite(runs=tuple(PeerRun(r.peer, r.model, (*r.args, "--patience", str(args.speed))) for r in pair),
                      epochs=args.speed, reference=suite.speed_pair[0], speed_pair=suite.speed_pair)  # fmt: skip
    slices = ("cold", "warm") if DATASETS[args.dataset]["protocol"] == "coldstart" else ("all",)
    name = f"peers_speed_{args.dataset}.json" if args.speed else f"peers_{args.dataset}.json"
    out = args.out or REPO / "bench" / "results" / ("tmp" if args.quick else "") / name
    order = [r.name for r in suite.runs]
    if args.table:
        data = json.loads(out.read_text())
        print_tables(
            data["summary"],
            slices,
            suite,
            order,
            [r["evaluator_check"] for r in data["runs"] if "evaluator_check" in r],
        )
        return 0
    selected = [r for r in suite.runs if args.runs is None or r.name in args.runs]
    if args.runs and len(selected) != len(args.runs):
        p.error(f"unknown run in {args.runs}; this suite has {order}")
    home = (REPO / "bench" / ".work" / args.dataset).resolve()
    prepare(home, DATASETS[args.dataset]["spec"], n_topics=None)
    previous = json.loads(out.read_text()) if out.exists() and not (args.fresh or args.quick or args.speed) else {}
    runs: list[dict[str, Any]] = previous.get("runs", [])
    done = {(r["run"], r["seed"]) for r in runs}
    header = {"dataset": args.dataset, "threads": args.threads, "dim": args.dim, "epochs": suite.epochs,
              "machine": {"cpus": os.cpu_count()}, "suite": [dataclasses.asdict(r) for r in suite.runs]}  # fmt: skip
    for seed in seeds:
        split = ensure_split(args.dataset, seed, home)
        for run in selected:
            if (run.name, seed) in done or (run.seeds is not None and seed not in run.seeds and args.runs is None):
                continue
            mode = "quick" if args.quick else ("speed" if args.speed else "quality")
            folder = WORK / args.dataset / mode / f"seed{seed}" / run.name.replace(":", "-")
            result = run_peer(run, split, folder, seed=seed, suite=suite, threads=args.threads, dim=args.dim, home=home)
            if result.get("own_metrics") and DATASETS[args.dataset]["protocol"] != "coldstart":
                result["evaluator_check"] = evaluator_check(result)
            runs.append(result)
            shown = {s: round(result["metrics"].get(s, {}).get("recall@20", float("nan")), 4) for s in slices}
            print(
                f"{run.name} seed={seed}: recall@20 {shown}, {result.get('seconds_per_epoch') or 0:.2f} s/epoch",
                flush=True,
            )
            out.parent.mkdir(parents=True, exist_ok=True)
            summary = summarise(runs, slices)
            kept = (
                {"superseded": previous["superseded"]} if "superseded" in previous else {}
            )  # earlier settings' runs, with why
            out.write_text(
                json.dumps(
                    {**header, "meta": run_metadata(), "summary": summary, "runs": runs, **kept},
                    indent=1,
                    default=float,
                )
            )
    summary = summarise(runs, slices)
    print_tables(summary, slices, suite, order, [r["evaluator_check"] for r in runs if "evaluator_check" in r])
    missing = [
        r.name
        for r in selected
        if r.name not in summary and (r.seeds is None or set(r.seeds) & set(seeds) or args.runs)
    ]
    if missing:
        print(f"missing results: {missing}", file=sys.stderr)
        return 1
    if args.quick:  # a smoke run must still rank: popularity scores 0.17 Recall@20 on this split
        weak = {n: e["all/recall@20"] for n, e in summary.items() if e.get("all/recall@20", 0.0) < QUICK_FLOOR}
        if weak:
            print(f"quick run: Recall@20 below {QUICK_FLOOR} (popularity level) for {weak}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
