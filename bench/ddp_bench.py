"""Mini-batch training on one process vs several (``torchrun``, DistributedDataParallel over gloo), one graph.

    .venv/bin/python bench/ddp_bench.py ml-100k --seeds 0 1 2
    .venv/bin/python bench/ddp_bench.py amazon-kg --seeds 0 --lr 0.005 --epochs 40

Variants (``--variants``): ``single@T`` is the single-process path every ``graphrec train --num-neighbors``
run takes (no torchrun), on T torch threads; ``ddp:N@T`` is ``torchrun --nproc-per-node N`` with T threads
per process (:mod:`graphrec.train.distributed`; ``ddp:1`` runs the group path's plan on one process, which
isolates its cost from the speed-up). Each variant trains in its own process(es) on the same split of the same
prepared graph (``bench/.work/<dataset>``, made by ``train_bench.py``; exported once by this script and
handed to the children as a file, so no child opens the store), with the same seed, learning rate, batch
size, neighbour counts and early stopping, and is evaluated by the same full ranking (rank 0's). s/epoch is
training only (rank 0's wall time, waits on the other ranks included); validation runs on rank 0 alone.
Results go to ``bench/results/ddp_<dataset>.json`` (rows already there for the same variant and seed are
kept, so a rerun adds seeds). Needs the ``minibatch`` extra (torch-sparse).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import REPO  # bench/common.py (beside this script): also puts the repository root on sys.path

from bench.train_bench import DATASETS, dataset_split, dataset_target, prepared_graph
from graphrec.results import run_metadata


def parse_variant(variant: str) -> tuple[int, int]:
    """``"single@2"`` → ``(0, 2)``; ``"ddp:2@1"`` → ``(2, 1)``: (processes, 0 without torchrun; threads each)."""
    kind, _, threads = variant.partition("@")
    if kind == "single":
        return 0, int(threads or 2)
    if kind.startswith("ddp:"):
        return int(kind[4:]), int(threads or 1)
    raise SystemExit(f"variant {variant!r}: use single@T or ddp:N@T (e.g. single@2 ddp:2@1)")


def train_one(args: argparse.Namespace, graph_file: Path) -> dict[str, Any] | None:
    """A child (or one rank of a torchrun child): train, return the result on rank 0 (``None`` elsewhere)."""
    import contextlib

    import torch

    from graphrec.models.presets import model_spec
    from graphrec.train.config import TrainConfig
    from graphrec.train.distributed import launched, process_group
    from graphrec.train.fit import fit

    torch.set_num_threads(args.threads_each)
    with contextlib.ExitStack() as stack:
        group = stack.enter_context(process_group("cpu")) if launched() else None
        export, item_x, target = pickle.loads(graph_file.read_bytes())
        spec = model_spec(args.model, dim=args.dim)
        split = dataset_split(args.dataset, export, args.seed)
        config = TrainConfig(
            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience, seed=args.seed,
            num_neighbors=tuple(int(x) for x in args.num_neighbors.split(",")),
        )  # fmt: skip
        t0 = time.perf_counter()
        fitted = fit(export, split, spec, config, target=target, item_x=item_x if spec.text else None)
        seconds = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rss_all = [rss]
        if group is not None:
            import torch.distributed as dist

            gathered: list[Any] = [None] * group.world_size
            dist.all_gather_object(gathered, rss)
            rss_all = gathered
            if not group.leader:
                return None
    res = fitted.result
    assert res is not None
    return {
        "metrics": fitted.metrics, "best_epoch": res.best_epoch, "best_val": res.best_val,
        "epochs_run": len(res.history), "seconds_per_epoch": res.seconds_per_epoch, "seconds": seconds,
        "peak_rss_mb_per_process": rss_all, "history": res.history,
    }  # fmt: skip


def run_variant(args: argparse.Namespace, variant: str, seed: int, graph_file: Path) -> dict[str, Any]:
    """One variant and seed in fresh process(es); its result row."""
    processes, threads = parse_variant(variant)
    me = [str(Path(__file__).resolve()), args.dataset, "--model", args.model, "--lr", str(args.lr),
          "--epochs", str(args.epochs), "--patience", str(args.patience), "--batch-size", str(args.batch_size),
          "--dim", str(args.dim), "--num-neighbors", args.num_neighbors, "--seed", str(seed),
          "--threads-each", str(threads), "--child", str(graph_file)]  # fmt: skip
    if processes:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}", *me]
    else:
        cmd = [sys.executable, *me]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONWARNINGS": "ignore"}
    t0, load_before = time.perf_counter(), os.getloadavg()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode:
        sys.exit(f"variant {variant} seed {seed} failed:\n{proc.stderr[-4000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    row: dict[str, Any] = json.loads(lines[-1])
    row.update(variant=variant, processes=max(processes, 1), torchrun=bool(processes), threads_each=threads,
               seed=seed, wall_seconds=time.perf_counter() - t0, load_average_before=load_before,
               load_average_after=os.getloadavg())  # fmt: skip
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--model", default="lightgcn-merged")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["single@2", "ddp:2@1", "ddp:1@2"],
        help="single@T (no torchrun, T threads) or ddp:N@T (torchrun, N processes, T threads each)",
    )
    parser.add_argument("--num-neighbors", default="10,10,10")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--patience", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--threads-each", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        result = train_one(args, args.child)
        if result is not None:
            print(json.dumps(result, default=float), flush=True)
        return
    out = REPO / "bench" / "results" / f"ddp_{args.dataset}.json"
    previous = json.loads(out.read_text()) if out.exists() else {}
    rows: list[dict[str, Any]] = previous.get("runs", [])
    done = {(r["variant"], r["seed"]) for r in rows}
    from graphrec.models.presets import model_spec

    export, item_x, agent = prepared_graph(
        args.home or REPO / "bench" / ".work" / args.dataset, features=model_spec(args.model).text
    )
    config = {k: v for k, v in vars(args).items() if k not in ("child", "home", "seed", "threads_each")}
    with tempfile.TemporaryDirectory() as tmp:
        graph_file = Path(tmp) / "graph.pkl"
        graph_file.write_bytes(pickle.dumps((export, item_x, dataset_target(args.dataset, export))))
        for seed in args.seeds:
            for variant in args.variants:
                if (variant, seed) in done:
                    continue
                row = run_variant(args, variant, seed, graph_file)
                rows.append(row)
                slices = {s: round(m["recall@20"], 4) for s, m in row["metrics"].items()}
                speed = f"{row['seconds_per_epoch']:.2f} s/epoch, {row['epochs_run']} epochs (best {row['best_epoch']})"
                wall = f"{row['wall_seconds']:.0f} s wall"
                print(f"{args.model} {variant} seed {seed}: recall@20 {slices}, {speed}, {wall}", flush=True)
                meta = run_metadata(store=agent, cpus=os.cpu_count(), load_average=os.getloadavg())
                out.write_text(json.dumps({"config": config, "meta": meta, "runs": rows}, indent=1, default=float))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
