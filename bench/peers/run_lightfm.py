"""LightFM peer: the hybrid model (item indicator + BERT text features) on a split folder's ``train.tsv``.

Runs in LightFM's own environment (``bash bench/peers/install/lightfm.sh bench/.venvs/lightfm``); it
imports no graphrec:

    bench/.venvs/lightfm/bin/python bench/peers/run_lightfm.py --split bench/.work/splits/ml-100k/seed0 \\
        --out bench/.work/peers/lightfm-warp --model WARP --epochs 60 --patience 8 --dim 64 --lr 0.05 --threads 1

* Interactions: ``train.tsv`` as implicit feedback (1), users x every item of ``items.txt``; for a
  cross-scenario split both scenarios' interactions.
* Item features (``--item-features bert``, the default): ``[identity | text]``, the standard LightFM
  hybrid — each item's own indicator (weight 1) plus its ``item_features.npy`` row, L2-normalised and
  scaled by ``--text-weight``, so items with few or no interactions still get a representation.
  LightFM sums an item's feature embeddings at every update, so the 384 dense text columns make an
  epoch ~100x slower than plain MF; ``--text-dims N`` keeps their first N principal components.
  ``--item-features none`` is plain matrix factorisation (indicator only). Users: indicator only.
* ``--model WARP`` or ``BPR`` (LightFM's loss), ``no_components=--dim``, ``learning_rate=--lr``
  (adagrad), trained with ``fit_partial`` one epoch at a time on ``--threads`` threads; valid Recall@k
  after each, early stopping after ``--patience`` epochs without improvement, the best epoch kept.
  With more than one thread LightFM's Hogwild SGD is not deterministic.
* Scores: user representation . item representation + item bias over every item; lists hold
  candidates only, the user's train and valid items excluded.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import split_io  # noqa: E402
from split_io import Split, SplitError  # noqa: E402

MODELS = ("WARP", "BPR")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: the common peer options plus LightFM's parameters."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    split_io.add_common_args(p, epochs=60, lr=0.05)
    p.add_argument("--item-features", choices=("bert", "none"), default="bert",
                   help="bert: [identity | item_features.npy] (default); none: identity only")  # fmt: skip
    p.add_argument("--text-weight", type=float, default=0.3,
                   help="L2 norm of each item's text feature row, next to its indicator's weight 1 (default 0.3)")  # fmt: skip
    p.add_argument("--text-dims", type=int, default=0,
                   help="keep this many principal components of the text features (0: all 384, the default); "
                        "LightFM's cost grows with the non-zeros per item row, so fewer is faster")  # fmt: skip
    p.add_argument("--item-alpha", type=float, default=0.0, help="L2 penalty on item features (default 0)")
    p.add_argument("--user-alpha", type=float, default=0.0, help="L2 penalty on user features (default 0)")
    p.add_argument("--max-sampled", type=int, default=10, help="WARP: most negatives sampled per positive (default 10)")
    args = p.parse_args(argv)
    if args.model not in MODELS:
        p.error(f"--model must be one of {', '.join(MODELS)} (got {args.model!r})")
    if min(args.epochs, args.patience, args.threads, args.k, args.dim) < 1:
        p.error("--epochs, --patience, --threads, --k and --dim must be >= 1")
    if args.text_dims < 0:
        p.error("--text-dims must be >= 0")
    return args


class Data:
    """The split as LightFM matrices: user index, interactions (users x items.txt), item features."""

    def __init__(self, split: Split, item_features: str, text_weight: float, text_dims: int = 0) -> None:
        import numpy as np
        import scipy.sparse as sp

        self.split = split
        self.users = sorted({u for u, _ in split.train})
        self.user_index = {u: n for n, u in enumerate(self.users)}
        rows = [self.user_index[u] for u, _ in split.train]
        cols = [split.item_index[i] for _, i in split.train]
        shape = (len(self.users), len(split.items))
        inter = sp.coo_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=shape).tocsr()
        inter.data[:] = 1.0  # duplicates count once
        self.interactions = inter.tocoo()
        self.item_features = self._item_features(split, item_features, text_weight, text_dims)

    @staticmethod
    def _item_features(split: Split, kind: str, text_weight: float, text_dims: int) -> Any:
        """``[identity | text rows scaled to L2 norm text_weight]`` (CSR float32), or identity only;
        the text rows projected on their first ``text_dims`` principal components when > 0."""
        import numpy as np
        import scipy.sparse as sp

        n = len(split.items)
        identity = sp.identity(n, dtype=np.float32, format="csr")
        if kind == "none":
            return identity
        x: np.ndarray = split.item_features().astype(np.float32)
        if 0 < text_dims < x.shape[1]:
            centred = x - x.mean(axis=0)
            _, _, vt = np.linalg.svd(centred, full_matrices=False)
            x = centred @ vt[:text_dims].T
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.where(norms > 0, norms, 1.0) * np.float32(text_weight)
        return sp.hstack([identity, sp.csr_matrix(x)], format="csr", dtype=np.float32)

    def check_users(self, users: list[str], what: str) -> None:
        """SplitError when a user of ``what`` has no training interaction (LightFM has no vector for it)."""
        unknown = [u for u in users if u not in self.user_index]
        if unknown:
            raise SplitError(f"{len(unknown)} {what} user(s) have no interaction in train.tsv, e.g. {unknown[:3]}; "
                             "LightFM cannot score them (the split should give every user a training interaction)")  # fmt: skip


class Scorer:
    """``score_fn`` for :func:`split_io.rank_top_k`: user . item representations + item bias, all items."""

    def __init__(self, model: Any, data: Data) -> None:
        self.item_bias, self.item_emb = model.get_item_representations(data.item_features)
        _, self.user_emb = model.get_user_representations()
        self.user_index = data.user_index

    def __call__(self, users: Sequence[str]) -> Any:
        rows = [self.user_index[u] for u in users]
        return self.user_emb[rows] @ self.item_emb.T + self.item_bias[None, :]


def valid_recall(model: Any, data: Data, k: int) -> float:
    """Recall@k on ``valid.tsv`` (candidates only, the user's train items excluded)."""
    relevant = split_io.group(data.split.valid)
    top = split_io.rank_top_k(Scorer(model, data), sorted(relevant), data.split, k=k, exclude=data.split.seen(["train"]))
    return split_io.recall_at_k(top, relevant, k)


def train(args: argparse.Namespace, data: Data) -> tuple[Any, dict[str, Any]]:
    """``fit_partial`` one epoch at a time, early stopping on valid Recall@k; returns the best model."""
    from lightfm import LightFM

    model = LightFM(no_components=args.dim, loss=args.model.lower(), learning_rate=args.lr, item_alpha=args.item_alpha,
                    user_alpha=args.user_alpha, max_sampled=args.max_sampled, random_state=args.seed)  # fmt: skip
    best, best_recall, best_epoch, stale, train_seconds, epochs_run = model, -1.0, 0, 0, 0.0, 0
    history = []
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        model.fit_partial(data.interactions, item_features=data.item_features, epochs=1, num_threads=args.threads)
        seconds = time.perf_counter() - t0
        train_seconds += seconds
        epochs_run = epoch
        recall = valid_recall(model, data, args.k)
        history.append({"epoch": epoch, f"valid_recall@{args.k}": recall, "train_seconds": seconds})
        print(f"LightFM {args.model} epoch {epoch}: {seconds:.1f}s, valid recall@{args.k} {recall:.4f}", flush=True)
        if recall > best_recall:
            best, best_recall, best_epoch, stale = copy.deepcopy(model), recall, epoch, 0
        else:
            stale += 1
            if stale >= args.patience:
                break
    n_feat = data.item_features.shape[1]
    stats = {"chosen": {"loss": args.model.lower(), "no_components": args.dim, "learning_rate": args.lr,
                        "item_feature_columns": n_feat, "text_columns": n_feat - len(data.split.items)},
             "history": history, "seconds_per_epoch": train_seconds / epochs_run, "epochs_run": epochs_run,
             "best_epoch": best_epoch, "train_seconds": train_seconds, f"valid_recall@{args.k}": best_recall}  # fmt: skip
    return best, stats


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train, write ``topk.tsv`` and ``result.json`` into ``args.out``; returns the result."""
    split_io.pin_threads(args.threads)
    import lightfm

    split = split_io.load_split(args.split)
    data = Data(split, args.item_features, args.text_weight, args.text_dims)
    test_users = sorted({u for u, _ in split.test})
    data.check_users(test_users, "test")
    data.check_users(sorted({u for u, _ in split.valid}), "valid")
    model, stats = train(args, data)
    top = split_io.rank_top_k(Scorer(model, data), test_users, split, k=args.k, exclude=split.seen())
    return split_io.write_outputs(args, top, peer="lightfm", version=lightfm.__version__, stats=stats)


def main(argv: list[str] | None = None) -> None:
    """Entry point: clear one-line errors for a missing or malformed split."""
    args = parse_args(argv)
    try:
        result = run(args)
    except SplitError as e:
        sys.exit(f"error: {e}")
    print(f"lightfm {args.model}: valid recall@{args.k} {result[f'valid_recall@{args.k}']:.4f}, "
          f"{result['seconds_per_epoch']:.1f}s/epoch -> {args.out / 'topk.tsv'}")  # fmt: skip


if __name__ == "__main__":
    main()
