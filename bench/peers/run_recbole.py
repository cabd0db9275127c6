"""Train and evaluate a RecBole model (LightGCN, BPR, NGCF) on a peer split; write its top-K lists.

Runs inside the RecBole peer's own virtual environment (``bench/peers/install/recbole.sh``), never
graphrec's: it imports only the standard library, RecBole, torch, numpy and the peers' shared split
reader ``split_io`` (beside it, like the other peer runners).

    bench/.venvs/recbole/bin/python bench/peers/run_recbole.py \\
        --split bench/.work/splits/ml-100k/seed0 --out bench/.work/peers/recbole/ml-100k/seed0/LightGCN \\
        --model LightGCN --seed 0 --epochs 300 --dim 64 --layers 3 --lr 0.001 --batch-size 2048 \\
        --threads 1 --k 20 --patience 8

What it does:

1. Converts the split folder (see ``bench/peers/split_files.py``) into RecBole atomic files under
   ``OUT/recbole_work/data/peer_split/`` (``peer_split.{train,valid,test}.inter`` plus a
   ``peer_split.item`` listing every item of ``items.txt`` and ``candidates.txt``, so that items
   with no interaction at all are still rankable, as they are for graphrec; RecBole would otherwise
   only know the items that occur in some interaction file). The dataset is called ``peer_split``
   on purpose: a name RecBole knows (``ml-100k``) would pull in its bundled per-dataset config.
2. Trains with RecBole's own ``Trainer`` (early stopping on valid ``recall@20``), evaluates the best
   checkpoint on test with RecBole's own evaluator -> ``own_metrics``. RecBole ranks over *all*
   items there; on a cross-scenario split (amazon-kg) that includes the source scenario's items, so
   ``own_metrics`` is not comparable with the candidate-restricted top-K lists.
3. Ranks, for every test user, the candidate items by ``model.full_sort_predict`` of the best model,
   excluding the user's own train and valid items (RecBole's full-sort test evaluator excludes the
   same: its ``history_item`` is the union of the train/valid/test interactions minus the test
   positives, see ``FullSortEvalDataLoader._set_user_property`` and ``Sampler.get_used_ids``), and
   writes ``OUT/topk.tsv`` (``user_id<TAB>item_id<TAB>rank``, rank 1..k, raw tokens).
4. Writes ``OUT/result.json``: peer, version, model, config (all arguments), ``seconds_per_epoch``
   (mean wall time of RecBole's ``Trainer._train_epoch``: training only, no evaluation),
   ``epoch_seconds``, ``epochs_run``, ``best_epoch`` (0-based, the epoch whose checkpoint was
   kept), ``train_seconds`` (all of ``Trainer.fit``, validation included), ``own_metrics``,
   ``best_valid_metrics``, ``torch_threads`` and a few counts.

RecBole writes its logs (``log/``, ``log_tensorboard/``) relative to the working directory, so the
runner changes into ``OUT/recbole_work`` before building RecBole's objects.
"""

from __future__ import annotations

import os

# RecBole's torch.load of its own checkpoints predates torch's weights_only=True default.
os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"

import argparse
import contextlib
import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch
    from recbole.config import Config
    from recbole.data.dataset import Dataset
    from recbole.trainer import Trainer

MODELS = ("LightGCN", "BPR", "NGCF")
DATASET_NAME = "peer_split"
PHASES = ("train", "valid", "test")
WORK_MARKER = ".recbole_peer_work"
USERS_PER_EVAL_BATCH = 256  # full-sort evaluation batch size, in users
Pair = tuple[str, str]


# ----------------------------------------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of the module docstring."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--split", type=Path, required=True, help="split folder written by bench.peers.split_files")
    p.add_argument("--out", type=Path, required=True, help="output folder (topk.tsv, result.json, RecBole work dir)")
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=_positive_int, default=300)
    p.add_argument("--dim", type=_positive_int, default=64, help="embedding size")
    p.add_argument("--layers", type=_positive_int, default=3, help="propagation layers (LightGCN, NGCF)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=_positive_int, default=2048)
    p.add_argument("--threads", type=_positive_int, default=1, help="torch / BLAS threads")
    p.add_argument("--k", type=_positive_int, default=20, help="length of the top-K lists")
    p.add_argument("--patience", type=_positive_int, default=8,
                   help="early stopping: epochs without a better valid recall@20")  # fmt: skip
    return p.parse_args(argv)


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def limit_threads(threads: int) -> None:
    """Cap OpenMP/BLAS pools before numpy or torch is imported (torch's own pool is set later)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ["CUDA_VISIBLE_DEVICES"] = ""  # a CPU benchmark, also on a machine with a GPU


# -------------------------------------------------------------------------------------- split files


def write_atomic_files(split: dict[str, list[Pair]], items: list[str], data_dir: Path) -> None:
    """RecBole atomic files: ``<name>.<phase>.inter`` for every phase and ``<name>.item`` (``items``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for phase, pairs in split.items():
        lines = ["user_id:token\titem_id:token"] + [f"{u}\t{i}" for u, i in pairs]
        (data_dir / f"{DATASET_NAME}.{phase}.inter").write_text("\n".join(lines) + "\n")
    (data_dir / f"{DATASET_NAME}.item").write_text("\n".join(["item_id:token", *items]) + "\n")


def prepare_work_dir(out: Path) -> Path:
    """A fresh ``OUT/recbole_work`` (removed first only if an earlier run of this script made it)."""
    work = out / "recbole_work"
    if work.exists():
        if not (work / WORK_MARKER).exists():
            raise SystemExit(f"error: {work} exists but was not made by run_recbole.py; choose another --out")
        shutil.rmtree(work)
    work.mkdir(parents=True)
    (work / WORK_MARKER).write_text("made by bench/peers/run_recbole.py; removed on the next run\n")
    return work


# ----------------------------------------------------------------------------------------- RecBole


def model_params(args: argparse.Namespace) -> dict[str, Any]:
    """Architecture settings of ``args.model``."""
    if args.model == "LightGCN":
        return {"embedding_size": args.dim, "n_layers": args.layers}
    if args.model == "NGCF":
        return {"embedding_size": args.dim, "hidden_size_list": [args.dim] * args.layers}
    return {"embedding_size": args.dim}


def recbole_settings(args: argparse.Namespace, work: Path, n_items: int) -> dict[str, Any]:
    """RecBole's config dict for this run."""
    return {
        "data_path": str(work / "data"),
        "checkpoint_dir": str(work / "checkpoints"),
        "benchmark_filename": list(PHASES),
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "load_col": {"inter": ["user_id", "item_id"], "item": ["item_id"]},
        "eval_args": {"group_by": "user", "order": "RO", "mode": "full"},
        "metrics": ["Recall", "NDCG", "Hit", "MRR"],
        "topk": [10, 20],
        "valid_metric": "recall@20",
        "valid_metric_bigger": True,
        "stopping_step": args.patience,
        "eval_step": 1,
        "train_batch_size": args.batch_size,
        "eval_batch_size": USERS_PER_EVAL_BATCH * (n_items + 1),  # RecBole divides it by item_num
        "learner": "adam",
        "learning_rate": args.lr,
        "epochs": args.epochs,
        "train_neg_sample_args": {
            "distribution": "uniform",
            "sample_num": 1,
            "alpha": 1.0,
            "dynamic": False,
            "candidate_num": 0,
        },
        "seed": args.seed,
        "reproducibility": True,
        "use_gpu": False,
        "gpu_id": "",
        "worker": 0,
        "show_progress": False,
        "save_dataset": False,
        "save_dataloaders": False,
        "log_wandb": False,
        "state": "INFO",
        "metric_decimal_place": 6,
        **model_params(args),
    }


@contextlib.contextmanager
def bare_argv() -> Iterator[None]:
    """Hide our flags from RecBole's Config, which parses ``--key=value`` out of ``sys.argv``."""
    saved = sys.argv
    sys.argv = saved[:1]
    try:
        yield
    finally:
        sys.argv = saved


def make_config(args: argparse.Namespace, settings: dict[str, Any]) -> Config:
    """RecBole's Config on the CPU."""
    import torch
    from recbole.config import Config

    with bare_argv():
        config = Config(model=args.model, dataset=DATASET_NAME, config_dict=settings)
    config["device"] = torch.device("cpu")
    return config


class EpochClock:
    """Wraps a trainer's ``_train_epoch`` (training only) and ``_save_checkpoint`` (best epoch)."""

    def __init__(self, trainer: Trainer) -> None:
        self.epoch_seconds: list[float] = []
        self.best_epoch: int | None = None
        train_epoch, save_checkpoint = trainer._train_epoch, trainer._save_checkpoint

        def timed_train_epoch(*a: Any, **kw: Any) -> Any:
            start = time.perf_counter()
            loss = train_epoch(*a, **kw)
            self.epoch_seconds.append(time.perf_counter() - start)
            return loss

        def recorded_save(epoch: int, *a: Any, **kw: Any) -> Any:
            self.best_epoch = epoch  # Trainer.fit saves exactly when the valid metric improves
            return save_checkpoint(epoch, *a, **kw)

        trainer._train_epoch = timed_train_epoch  # type: ignore[method-assign]
        trainer._save_checkpoint = recorded_save  # type: ignore[method-assign]


def metrics_dict(result: Any) -> dict[str, float]:
    """RecBole's OrderedDict of metrics as plain floats."""
    return {str(key): float(value) for key, value in (result or {}).items()}


# ----------------------------------------------------------------------------------------- top-K


def internal_ids(dataset: Dataset, field: str, tokens: list[str]) -> np.ndarray:
    """RecBole internal ids of ``tokens`` (all must be known)."""
    import numpy as np

    table = dataset.field2token_id[field]
    unknown = [t for t in tokens if t not in table]
    if unknown:
        raise RuntimeError(f"{len(unknown)} {field} tokens unknown to RecBole, e.g. {unknown[:3]}")
    return np.fromiter((table[t] for t in tokens), dtype=np.int64, count=len(tokens))


def seen_items(dataset: Dataset, pairs: list[Pair]) -> dict[int, set[int]]:
    """Internal user id -> internal ids of the items in ``pairs`` (the train and valid rows)."""
    users = internal_ids(dataset, dataset.uid_field, [u for u, _ in pairs])
    items = internal_ids(dataset, dataset.iid_field, [i for _, i in pairs])
    seen: dict[int, set[int]] = {}
    for u, i in zip(users.tolist(), items.tolist()):
        seen.setdefault(u, set()).add(i)
    return seen


def candidate_mask(dataset: Dataset, candidates: list[str]) -> torch.Tensor:
    """Boolean mask over RecBole's item ids (``[PAD]`` = 0 included, never a candidate)."""
    import torch

    mask = torch.zeros(dataset.item_num, dtype=torch.bool)
    mask[torch.from_numpy(internal_ids(dataset, dataset.iid_field, candidates))] = True
    mask[0] = False
    return mask


def rank_users(
    model: Any, dataset: Dataset, users: np.ndarray, seen: dict[int, set[int]], mask: torch.Tensor, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-``k`` (scores, internal item ids) of ``users`` over ``mask`` minus each user's seen items."""
    import torch
    from recbole.data.interaction import Interaction

    scores = model.full_sort_predict(Interaction({dataset.uid_field: torch.from_numpy(users)})).view(len(users), -1)
    scores = scores.clone()
    scores[:, ~mask] = -torch.inf
    rows = [torch.full((len(seen.get(u, ())),), r, dtype=torch.long) for r, u in enumerate(users.tolist())]
    cols = [torch.tensor(sorted(seen.get(u, ())), dtype=torch.long) for u in users.tolist()]
    if rows:
        scores[torch.cat(rows), torch.cat(cols)] = -torch.inf
    return torch.topk(scores, min(k, scores.shape[1]), dim=1)


def topk_lists(
    model: Any, dataset: Dataset, test_users: list[str], seen: dict[int, set[int]], mask: torch.Tensor, k: int
) -> list[tuple[str, str, int]]:
    """``(user, item, rank)`` rows for every test user, raw tokens, ranks 1..k (fewer if few items are left)."""
    import torch

    model.eval()
    uids = internal_ids(dataset, dataset.uid_field, test_users)
    rows: list[tuple[str, str, int]] = []
    with torch.no_grad():
        for start in range(0, len(uids), USERS_PER_EVAL_BATCH):
            batch = uids[start : start + USERS_PER_EVAL_BATCH]
            top_scores, top_items = rank_users(model, dataset, batch, seen, mask, k)
            for r, user in enumerate(test_users[start : start + USERS_PER_EVAL_BATCH]):
                finite = torch.isfinite(top_scores[r])
                tokens = dataset.id2token(dataset.iid_field, top_items[r][finite].numpy())
                rows.extend((user, str(item), rank) for rank, item in enumerate(tokens, start=1))
    return rows


def history_matches_recbole(test_data: Any, dataset: Dataset, test_users: list[str], seen: dict[int, set[int]]) -> bool:
    """Whether our exclusion set equals RecBole's test-time ``history_item`` for every test user."""
    for u in internal_ids(dataset, dataset.uid_field, test_users).tolist():
        history = test_data.uid2history_item[u]
        if set(history.tolist() if history is not None else ()) != seen.get(u, set()):
            return False
    return True


def write_topk(path: Path, rows: list[tuple[str, str, int]]) -> None:
    """``topk.tsv`` with header ``user_id<TAB>item_id<TAB>rank``."""
    lines = ["user_id\titem_id\trank"] + [f"{u}\t{i}\t{r}" for u, i, r in rows]
    path.write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------------------- main


@contextlib.contextmanager
def working_dir(path: Path) -> Iterator[None]:
    """Run the block in ``path`` (RecBole writes ``./log`` and ``./log_tensorboard``)."""
    saved = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(saved)


def load_split(path: Path) -> tuple[dict[str, list[Pair]], list[str], list[str]]:
    """The phases' ``(user, item)`` rows, the candidate items and every item of a split folder, read by the
    peers' shared reader (:func:`split_io.load_split`: every token of the phases and candidates is an item of
    ``items.txt``, which RecBole's item file lists, so that items no interaction names are rankable too)."""
    import split_io  # beside this script (on sys.path when run by path); imports numpy: after limit_threads
    from split_io import SplitError

    split = split_io.load_split(path)
    if not split.candidates:
        raise SplitError(f"{path / 'candidates.txt'} is empty")
    pairs = {"train": split.train, "valid": split.valid, "test": split.test}
    quoted = next((t for rows in pairs.values() for row in rows for t in row if '"' in t), None)
    if quoted is not None:  # RecBole's atomic-file reader would mangle it
        raise SplitError(f"{path}: token {quoted!r} contains a quote; RecBole cannot read it")
    return pairs, split.candidates, list(dict.fromkeys(split.items))


def train_and_rank(
    args: argparse.Namespace, work: Path, pairs: dict[str, list[Pair]], candidates: list[str], n_items: int
) -> dict[str, Any]:
    """Train, evaluate with RecBole's evaluator, write ``topk.tsv``; returns the run's facts for ``result.json``."""
    import recbole
    import torch
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_logger, init_seed

    torch.set_num_threads(args.threads)
    config = make_config(args, recbole_settings(args, work, n_items))
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    clock = EpochClock(trainer)

    start = time.perf_counter()
    _, best_valid = trainer.fit(train_data, valid_data, saved=True, show_progress=False)
    train_seconds = time.perf_counter() - start
    own = metrics_dict(trainer.evaluate(test_data, load_best_model=True, show_progress=False))

    test_users = list(dict.fromkeys(u for u, _ in pairs["test"]))
    seen = seen_items(dataset, pairs["train"] + pairs["valid"])
    rows = topk_lists(model, dataset, test_users, seen, candidate_mask(dataset, candidates), args.k)
    write_topk(args.out / "topk.tsv", rows)
    return {
        "version": recbole.__version__,
        "seconds_per_epoch": sum(clock.epoch_seconds) / max(len(clock.epoch_seconds), 1),
        "epoch_seconds": clock.epoch_seconds,
        "epochs_run": len(clock.epoch_seconds),
        "best_epoch": clock.best_epoch,
        "train_seconds": train_seconds,
        "own_metrics": own,
        "best_valid_metrics": metrics_dict(best_valid),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "n_users": int(dataset.user_num - 1),
        "n_items": int(dataset.item_num - 1),
        "n_candidates": len(candidates),
        "topk_users": len(test_users),
        "exclusion_matches_recbole_history": history_matches_recbole(test_data, dataset, test_users, seen),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Everything of the module docstring; returns the content of ``result.json``."""
    pairs, candidates, items = load_split(args.split)
    args.out.mkdir(parents=True, exist_ok=True)
    work = prepare_work_dir(args.out)
    write_atomic_files(pairs, items, work / "data" / DATASET_NAME)
    with working_dir(work):
        facts = train_and_rank(args, work, pairs, candidates, len(items))
    config = {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()}
    return {"peer": "recbole", "version": facts.pop("version"), "model": args.model, "config": config, **facts}


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: a missing or malformed split folder exits with one line naming the fix."""
    args = parse_args(argv)
    args.split, args.out = args.split.resolve(), args.out.resolve()
    limit_threads(args.threads)
    from split_io import SplitError  # after limit_threads: split_io imports numpy

    try:
        result = run(args)
    except SplitError as e:
        sys.exit(f"error: {e}")
    path = args.out / "result.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(path)


if __name__ == "__main__":
    main()
