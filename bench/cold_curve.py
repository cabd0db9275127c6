"""Diagnostic: a model's *test* Recall@20 per slice after every epoch (Amazon-KG coldstart split).

    .venv/bin/python bench/cold_curve.py --model graphrec-single --lrs 0.005 0.002

It answers "how high could cold-user recall get if epoch or learning rate were chosen perfectly?" —
an upper bound on what any model selection (e.g. a simulated-cold validation set) could gain. The
curves look at the test set, so they are never used to choose anything: training runs its normal
early stopping on validation, with patience set to the epoch budget so the whole curve is drawn.
Output: ``bench/results/cold_curve_<model>.json``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from common import REPO  # bench/common.py (beside this script): also puts the repository root on sys.path

from bench.train_bench import dataset_split, dataset_target, prepared_graph
from graphrec.results import run_metadata

DATASET = "amazon-kg"  # the coldstart-transfer protocol: Movies_and_TV -> Books


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="graphrec-single")
    parser.add_argument("--lrs", nargs="+", type=float, default=[0.005, 0.002])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import torch

    from graphrec.eval.ranking import evaluate_ranking, group_by_user
    from graphrec.models.presets import model_spec
    from graphrec.train.config import TrainConfig
    from graphrec.train.fit import fit
    from graphrec.train.loop import score_fn

    torch.set_num_threads(args.threads)
    export, item_x, _ = prepared_graph(REPO / "bench" / ".work" / DATASET)
    target = dataset_target(DATASET, export)
    split = dataset_split(DATASET, export, args.seed)
    exclude = group_by_user(split.train)
    candidates = export.item_scenario == export.scenarios.index(target)
    spec = model_spec(args.model)
    out = REPO / "bench" / "results" / f"cold_curve_{args.model}.json"
    curves: dict[str, list[dict[str, Any]]] = {}
    for lr in args.lrs:
        curve = curves.setdefault(str(lr), [])

        def record(
            channel: str, epoch: int, model: Any, adj: Any, curve: list[dict[str, Any]] = curve, lr: float = lr
        ) -> None:
            test = evaluate_ranking(
                score_fn(model, adj), split.test, exclude, candidates, slices=split.slices, ks=(20,)
            )
            row = {"channel": channel, "epoch": epoch, **{s: test[s]["recall@20"] for s in ("cold", "warm")}}
            curve.append(row)
            print(
                f"lr {lr} {channel or 'model'} epoch {epoch}: test cold {row['cold']:.4f} warm {row['warm']:.4f}",
                flush=True,
            )

        config = TrainConfig(epochs=args.epochs, lr=lr, patience=args.epochs, seed=args.seed)
        fitted = fit(export, split, spec, config, target=target, item_x=item_x, on_epoch=record)
        assert fitted.result is not None
        best = max(curve, key=lambda r: r["cold"])
        summary = {"lr": lr, "selected_epoch": fitted.result.best_epoch, "selected_test": fitted.metrics,
                   "best_cold_epoch": best["epoch"], "best_cold": best["cold"]}  # fmt: skip
        curves[f"summary {lr}"] = [summary]
        out.write_text(
            json.dumps({"config": vars(args), "meta": run_metadata(), "curves": curves}, indent=1, default=float)
        )
        print(f"lr {lr}: validation picked epoch {summary['selected_epoch']} (test cold "
              f"{fitted.metrics['cold']['recall@20']:.4f}); best test cold along the curve {best['cold']:.4f} "
              f"at epoch {best['epoch']}")  # fmt: skip


if __name__ == "__main__":
    main()
