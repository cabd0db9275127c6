"""Cornac peer: EASE or BPR trained on a split folder's ``train.tsv``, top-K lists of the test users.

Runs in Cornac's own environment (``bash bench/peers/install/cornac.sh bench/.venvs/cornac``); it
imports no graphrec:

    bench/.venvs/cornac/bin/python bench/peers/run_cornac.py --split bench/.work/splits/ml-100k/seed0 \\
        --out bench/.work/peers/cornac-ease --model EASE --threads 1
    bench/.venvs/cornac/bin/python bench/peers/run_cornac.py --split ... --out ... --model BPR \\
        --epochs 60 --patience 8 --dim 64 --lr 0.01 --lambda-reg 0.01

* The training set is ``train.tsv`` as implicit feedback (rating 1), built with
  ``cornac.data.Dataset.from_uir``; for a cross-scenario split it holds both scenarios' interactions.
* ``EASE``: one closed-form fit per ``lamb`` (Cornac's dense inverse of the item gram matrix: about
  2 minutes at 1 thread for Amazon-KG's 13.6k items, under a second for ML-100K). ``--lamb`` lists the
  values to try; by default a hill-climb on the ladder 10 25 50 ... 5000 from 250 (up while valid
  Recall@k improves, else down; usually 3-4 fits). The best on valid Recall@k is kept
  (``epochs_run`` 1, ``seconds_per_epoch`` = its fit time; ``grid`` lists every fit).
* ``BPR``: ``k=--dim``, ``learning_rate=--lr``, ``lambda_reg``; trained one epoch at a time (Cornac's
  BPR warm-starts from its factors), valid Recall@k after each (or every ``--eval-every`` epochs),
  early stopping after ``--patience`` validations without improvement, the best epoch's factors
  restored. Cornac's BPR epoch is one SGD pass over the interactions (milliseconds on ML-100K): it
  needs 100-200 of them (ML-100K: lr 0.05 peaks near epoch 80, lr 0.01 is still rising at 200). With
  ``--threads 1`` the run is deterministic under ``--seed``; with more threads Cornac's parallel SGD is not.
* Scores come from ``model.score(user_idx)`` over all of Cornac's items; items absent from
  ``train.tsv`` rank last. Lists hold candidates only, the user's train and valid items excluded.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import split_io  # bench/peers/split_io.py: this script's folder is on sys.path when it runs by path
from split_io import Split, SplitError

MODELS = ("EASE", "BPR")
LAMB_LADDER = (10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0)
LAMB_START = 250.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: the common peer options plus Cornac's model parameters."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    split_io.add_common_args(p, epochs=60, lr=0.01)
    p.add_argument("--lamb", type=float, nargs="+", default=None,
                   help="EASE L2 weights to try, the best on valid Recall@k kept (default: hill-climb "
                        f"{' '.join(f'{x:g}' for x in LAMB_LADDER)} from {LAMB_START:g})")  # fmt: skip
    p.add_argument("--lambda-reg", type=float, default=0.01, help="BPR L2 regularisation (default 0.01)")
    p.add_argument("--eval-every", type=int, default=1,
                   help="BPR: validate every N epochs (--patience counts validations); Cornac's BPR epoch is one "
                        "cheap SGD pass, it needs ~100+ of them at lr 0.01-0.05")  # fmt: skip
    args = p.parse_args(argv)
    if args.model not in MODELS:
        p.error(f"--model must be one of {', '.join(MODELS)} (got {args.model!r})")
    if min(args.epochs, args.patience, args.eval_every, args.threads, args.k, args.dim) < 1:
        p.error("--epochs, --patience, --eval-every, --threads, --k and --dim must be >= 1")
    return args


def build_train_set(split: Split, seed: int) -> Any:
    """Cornac Dataset of ``train.tsv`` (implicit: rating 1)."""
    from cornac.data import Dataset

    return Dataset.from_uir([(u, i, 1.0) for u, i in split.train], seed=seed)


class Scorer:
    """``score_fn`` for :func:`split_io.rank_top_k`: a fitted Cornac model's scores over ``items.txt``."""

    def __init__(self, model: Any, train_set: Any, split: Split) -> None:
        import numpy as np

        self.model, self.split = model, split
        self.uid_map: dict[str, int] = train_set.uid_map
        self.cols = np.empty(train_set.num_items, dtype=np.int64)  # Cornac item index -> items.txt row
        for token, idx in train_set.iid_map.items():
            self.cols[idx] = split.item_index[token]

    def __call__(self, users: Sequence[str]) -> Any:
        import numpy as np

        out = np.full((len(users), len(self.split.items)), split_io.UNKNOWN_ITEM_SCORE)
        for row, u in enumerate(users):
            out[row, self.cols] = np.asarray(self.model.score(self.uid_map[u]), dtype=np.float64).ravel()
        return out


def check_users(users: list[str], train_set: Any, what: str) -> None:
    """SplitError when a user of ``what`` has no training interaction (Cornac cannot score it)."""
    unknown = [u for u in users if u not in train_set.uid_map]
    if unknown:
        raise SplitError(f"{len(unknown)} {what} user(s) have no interaction in train.tsv, e.g. {unknown[:3]}; "
                         "Cornac cannot score them "
                         "(the split should give every user a training interaction)")  # fmt: skip


def valid_recall(scorer: Scorer, split: Split, k: int) -> float:
    """Recall@k on ``valid.tsv`` (candidates only, the user's train items excluded)."""
    relevant = split_io.group(split.valid)
    top = split_io.rank_top_k(scorer, sorted(relevant), split, k=k, exclude=split.seen(["train"]))
    return split_io.recall_at_k(top, relevant, k)


class EaseSearch:
    """EASE fits by ``lamb``, scored on valid Recall@k; only the best model is kept in memory."""

    def __init__(self, args: argparse.Namespace, train_set: Any, split: Split) -> None:
        self.args, self.train_set, self.split = args, train_set, split
        self.grid: list[dict[str, Any]] = []
        self.best: tuple[float, Any, dict[str, Any]] | None = None

    def __call__(self, lamb: float) -> float:
        """Fit EASE with ``lamb``; its valid Recall@k."""
        from cornac.models import EASE

        for done in self.grid:
            if done["lamb"] == lamb:
                return float(done[f"valid_recall@{self.args.k}"])
        model = EASE(lamb=lamb, posB=True, verbose=False, seed=self.args.seed)
        t0 = time.perf_counter()
        model.fit(self.train_set)
        seconds = time.perf_counter() - t0
        recall = valid_recall(Scorer(model, self.train_set, self.split), self.split, self.args.k)
        self.grid.append({"lamb": lamb, "fit_seconds": seconds, f"valid_recall@{self.args.k}": recall})
        print(f"EASE lamb={lamb:g}: fit {seconds:.1f}s, valid recall@{self.args.k} {recall:.4f}", flush=True)
        if self.best is None or recall > self.best[0]:
            self.best = (recall, model, self.grid[-1])
        return recall


def ladder_search(evaluate: Callable[[float], float], ladder: Sequence[float], start: int) -> None:
    """Hill-climb ``evaluate`` along ``ladder`` from ``ladder[start]``: up while it improves, else down."""
    best = evaluate(ladder[start])
    for step in (1, -1):
        i, moved = start, False
        while 0 <= i + step < len(ladder):
            score = evaluate(ladder[i + step])
            if score <= best:
                break
            best, i, moved = score, i + step, True
        if moved:
            return


def fit_ease(args: argparse.Namespace, train_set: Any, split: Split) -> tuple[Any, dict[str, Any]]:
    """Fit EASE for each ``--lamb`` (or hill-climb :data:`LAMB_LADDER`); keep the best on valid Recall@k."""
    search = EaseSearch(args, train_set, split)
    if args.lamb:
        for lamb in args.lamb:
            search(lamb)
    else:
        ladder_search(search, LAMB_LADDER, LAMB_LADDER.index(LAMB_START))
    assert search.best is not None
    recall, model, chosen = search.best
    grid = search.grid
    stats = {"chosen": {"lamb_search": "grid" if args.lamb else "ladder", "lamb": chosen["lamb"], "posB": True},
             "grid": grid, "seconds_per_epoch": chosen["fit_seconds"], "epochs_run": 1, "best_epoch": 1,
             "train_seconds": chosen["fit_seconds"], "grid_seconds": sum(g["fit_seconds"] for g in grid),
             f"valid_recall@{args.k}": recall}  # fmt: skip
    return model, stats


def fit_bpr(args: argparse.Namespace, train_set: Any, split: Split) -> tuple[Any, dict[str, Any]]:
    """Train BPR epoch by epoch with early stopping on valid Recall@k; the best epoch's factors restored."""
    import numpy as np
    from cornac.models import BPR

    deterministic = args.threads == 1
    model = BPR(k=args.dim, max_iter=1, learning_rate=args.lr, lambda_reg=args.lambda_reg, use_bias=True,
                num_threads=args.threads, verbose=False, seed=args.seed if deterministic else None)  # fmt: skip
    if not deterministic:  # Cornac forces one thread when seeded: seed the initialisation only
        model.rng = np.random.RandomState(args.seed)
    scorer = Scorer(model, train_set, split)
    best_recall, best_epoch, stale, train_seconds, epochs_run = -1.0, 0, 0, 0.0, 0
    best_state: tuple[Any, ...] = ()
    history = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Model is already fitted": the warm start is intended
            model.fit(train_set)
        train_seconds += time.perf_counter() - t0
        epochs_run = epoch
        if epoch % args.eval_every and epoch != args.epochs:
            continue
        recall = valid_recall(scorer, split, args.k)
        history.append({"epoch": epoch, f"valid_recall@{args.k}": recall})
        print(f"BPR epoch {epoch}: valid recall@{args.k} {recall:.4f}", flush=True)
        if recall > best_recall:
            best_recall, best_epoch, stale = recall, epoch, 0
            best_state = (model.u_factors.copy(), model.i_factors.copy(), model.i_biases.copy())
        else:
            stale += 1
            if stale >= args.patience:
                break
    model.u_factors, model.i_factors, model.i_biases = best_state
    stats = {"chosen": {"k": args.dim, "learning_rate": args.lr, "lambda_reg": args.lambda_reg, "use_bias": True,
                        "num_threads": model.num_threads},
             "history": history, "seconds_per_epoch": train_seconds / epochs_run, "epochs_run": epochs_run,
             "best_epoch": best_epoch, "train_seconds": train_seconds,
             f"valid_recall@{args.k}": best_recall}  # fmt: skip
    return model, stats


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train, write ``topk.tsv`` and ``result.json`` into ``args.out``; returns the result."""
    split_io.pin_threads(args.threads)
    import cornac

    split = split_io.load_split(args.split)
    train_set = build_train_set(split, args.seed)
    test_users = sorted({u for u, _ in split.test})
    check_users(test_users, train_set, "test")
    check_users(sorted({u for u, _ in split.valid}), train_set, "valid")
    model, stats = (fit_ease if args.model == "EASE" else fit_bpr)(args, train_set, split)
    top = split_io.rank_top_k(Scorer(model, train_set, split), test_users, split, k=args.k, exclude=split.seen())
    return split_io.write_outputs(args, top, peer="cornac", version=cornac.__version__, stats=stats)


def main(argv: list[str] | None = None) -> None:
    """Entry point: clear one-line errors for a missing or malformed split."""
    args = parse_args(argv)
    try:
        result = run(args)
    except SplitError as e:
        sys.exit(f"error: {e}")
    print(f"cornac {args.model}: valid recall@{args.k} {result[f'valid_recall@{args.k}']:.4f}, "
          f"train {result['train_seconds']:.1f}s -> {args.out / 'topk.tsv'}")  # fmt: skip


if __name__ == "__main__":
    main()
