"""graphrec's side of the peer benchmark: train a :data:`graphrec.models.presets.MODELS` preset on a
split folder's files and write its top-K lists and timing in the peers' format.

    .venv/bin/python -m bench.peers.run_graphrec --split bench/.work/splits/ml-100k/seed0 \\
        --home bench/.work/ml-100k --model lightgcn-merged --out OUT --seed 0

The split is read from the files (the same bytes every peer reads) and mapped onto the graph exported
from ``--home``; any pair of the files the graph lacks is an error. Outputs ``OUT/topk.tsv``
(``user_id, item_id, rank``: candidates only, the user's train and valid items excluded) and
``OUT/result.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.peers.split_files import item_token
from bench.peers.split_io import read_pairs, write_topk
from graphrec.errors import GraphRecError

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split


def split_from_files(split: Path, export: GraphExport) -> Split:
    """The :class:`~graphrec.data.splits.Split` a split folder describes, in ``export``'s rows.

    Raises:
        GraphRecError: A user or item of the files is not in the graph (the folder was written from
            another graph: regenerate it with ``python -m bench.peers.split_files``).
    """
    import numpy as np

    from graphrec.data.splits import Split

    user_row = {u: r for r, u in enumerate(export.user_ids)}
    item_row = {item_token(s, i): r for r, (s, i) in enumerate(export.item_keys)}

    def rows(name: str) -> np.ndarray:
        pairs = read_pairs(split / name)
        try:
            out = [(user_row[u], item_row[i]) for u, i in pairs]
        except KeyError as e:
            raise GraphRecError(f"{split / name}: {e.args[0]!r} is not in the graph; regenerate the folder with "
                                "`python -m bench.peers.split_files`") from e  # fmt: skip
        return np.array(out, dtype=np.int64).reshape(-1, 2).T.copy()

    slices = {name: np.array([user_row[u] for u in users], dtype=np.int64)
              for name, users in json.loads((split / "slices.json").read_text()).items()}  # fmt: skip
    meta = json.loads((split / "meta.json").read_text())
    return Split(rows("train.tsv"), rows("valid.tsv"), rows("test.tsv"), slices=slices, meta=meta.get("split", {}))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", type=Path, required=True)
    p.add_argument("--home", type=Path, required=True, help="graphrec home holding the dataset's graph and features")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--model", default="lightgcn-merged")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--lr", type=float, default=0.005)
    p.add_argument("--batch-size", type=int, default=2048)
    p.add_argument("--patience", type=int, default=8)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--k", type=int, default=20)
    args = p.parse_args(argv)

    import numpy as np
    import torch

    from bench.train_bench import prepared_graph
    from graphrec.eval.ranking import group_by_user, rank_top_k
    from graphrec.models.presets import model_spec
    from graphrec.results import run_metadata
    from graphrec.train.config import TrainConfig
    from graphrec.train.fit import fit

    if args.threads:
        torch.set_num_threads(args.threads)
    meta = json.loads((args.split / "meta.json").read_text())
    spec = model_spec(
        args.model, dim=args.dim, num_layers=args.layers if args.model not in ("bpr-mf", "popularity") else 0
    )
    export, item_x, _ = prepared_graph(args.home, features=spec.text)
    split = split_from_files(args.split, export)
    config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience, seed=args.seed
    )
    t0 = time.perf_counter()
    fitted = fit(export, split, spec, config, target=meta["target"], item_x=item_x)
    train_seconds = time.perf_counter() - t0
    exclude = group_by_user(np.concatenate([split.train, split.val], axis=1))
    users = sorted(set(split.test[0].tolist()))
    top = rank_top_k(fitted.score_fn(), users, fitted.inputs.candidates, exclude, k=args.k)
    tokens = [item_token(s, i) for s, i in export.item_keys]
    write_topk(
        args.out / "topk.tsv",
        {export.user_ids[u]: [tokens[i] for i in top[row].tolist()] for row, u in enumerate(users)},
    )
    res = fitted.result
    result = {
        "peer": "graphrec",
        "version": run_metadata()["versions"]["graphrec"],
        "model": args.model,
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "seconds_per_epoch": res.seconds_per_epoch if res else None,
        "epochs_run": len(res.history) if res else 0,
        "best_epoch": res.best_epoch if res else None,
        "best_val": res.best_val if res else None,
        "train_seconds": train_seconds,
        "split": split.meta,
        "harness_metrics": fitted.metrics,
        "threads": torch.get_num_threads(),
        "meta": run_metadata(),
    }  # fmt: skip  (harness_metrics: graphrec's own evaluation, training items excluded only)
    (args.out / "result.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
