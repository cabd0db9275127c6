"""Full-batch vs mini-batch (LinkNeighborLoader) training of one model, side by side in one run.

    .venv/bin/python bench/minibatch_bench.py ml-100k --model lightgcn-merged --lr 0.01
    .venv/bin/python bench/minibatch_bench.py amazon-kg --model lightgcn-merged --lr 0.005

Each variant trains in its own process (so peak RSS, measured by GNU ``time``, is its own) on the
same split of the same prepared graph (``bench/.work/<dataset>``, made by ``train_bench.py``) with the
same seed, learning rate, batch size and early stopping, and is evaluated by the same full ranking.
Results go to ``bench/results/minibatch_<dataset>.json``. Needs the ``minibatch`` extra (torch-sparse).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import REPO  # bench/common.py (beside this script): also puts the repository root on sys.path

from bench.train_bench import DATASETS, dataset_split, dataset_target, prepared_graph
from graphrec.results import run_metadata


def train_one(args: argparse.Namespace, num_neighbors: str) -> dict[str, Any]:
    """Child process: train one variant, print its result as JSON."""
    import torch

    from graphrec.models.presets import model_spec
    from graphrec.train.config import TrainConfig
    from graphrec.train.fit import fit

    torch.set_num_threads(args.threads)
    spec = model_spec(args.model, dim=args.dim)
    export, item_x, _ = prepared_graph(args.home or REPO / "bench" / ".work" / args.dataset, features=spec.text)
    target = dataset_target(args.dataset, export)
    split = dataset_split(args.dataset, export, args.seed)
    hops = None if num_neighbors == "full" else tuple(int(x) for x in num_neighbors.split(","))
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=args.patience,
        seed=args.seed,
        num_neighbors=hops,
    )
    t0 = time.perf_counter()
    fitted = fit(export, split, spec, config, target=target, item_x=item_x)
    res = fitted.result
    assert res is not None
    return {
        "num_neighbors": num_neighbors, "metrics": fitted.metrics, "best_epoch": res.best_epoch,
        "epochs_run": len(res.history), "seconds_per_epoch": res.seconds_per_epoch, "seconds": time.perf_counter() - t0,
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--model", default="lightgcn-merged")
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--variants", nargs="+", default=["full", "10,10,10", "20,20,20"],
                        help="'full' or per-hop neighbour counts (default: full 10,10,10 20,20,20)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--patience", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(train_one(args, args.child), default=float))
        return
    out = REPO / "bench" / "results" / f"minibatch_{args.dataset}.json"
    rows = []
    for variant in args.variants:
        with tempfile.NamedTemporaryFile(suffix=".time") as timing:
            cmd = [
                "/usr/bin/time",
                "-f",
                "%M",
                "-o",
                timing.name,
                sys.executable,
                __file__,
                *(argv or sys.argv[1:]),
                "--child",
                variant,
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode:
                sys.exit(f"variant {variant} failed:\n{proc.stderr[-3000:]}")
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            row["peak_rss_mb"] = int(Path(timing.name).read_text().split()[-1]) / 1024
        rows.append(row)
        slices = {s: round(m["recall@20"], 4) for s, m in row["metrics"].items()}
        print(f"{args.model} {variant}: recall@20 {slices}, {row['seconds_per_epoch']:.2f} s/epoch, "
              f"{row['epochs_run']} epochs (best {row['best_epoch']}), peak RSS {row['peak_rss_mb']:.0f} MB",
              flush=True)  # fmt: skip
    config = {k: v for k, v in vars(args).items() if k not in ("child", "home")}
    out.write_text(json.dumps({"config": config, "meta": run_metadata(), "runs": rows}, indent=1, default=float))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
