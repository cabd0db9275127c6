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
  ``--item-features none`` is plain matrix factorisation (indicator only); ``--item-features text``
  the text rows alone, no indicator (LightFM's features-only model: every item, new or not, is placed
  by its text). Users: indicator only.
* ``--model WARP`` or ``BPR`` (LightFM's loss), ``no_components=--dim``, ``learning_rate=--lr``
  (adagrad), trained with ``fit_partial`` one epoch at a time on ``--threads`` threads; valid Recall@k
  after each, early stopping after ``--patience`` epochs without improvement, the best epoch kept.
  With more than one thread LightFM's Hogwild SGD is not deterministic.
* Scores: user representation . item representation + item bias over every item; lists hold
  candidates only, the user's train and valid items excluded (train only where the split's
  ``meta.json`` says so: a cold-item split). A user without a training interaction (possible in a
  cold-item split: all of its interactions are on held-out items) has no learnt vector: its
  representation is zero, so it is ranked by the item biases alone (for a cold item, the biases of its
  text features).
* ``--new-items cold`` (for a cold-item split): items that occur in valid/test but never in train are
  new catalogue entries, unknown when the model is trained: they are left out of the training matrix
  (never sampled, not even as WARP negatives) and scored through their text feature rows alone (an
  untrained indicator would be noise); with ``--item-features none`` nothing represents them, so they
  are ranked last, in a random order drawn per user (seeded by ``--seed``): a random ranking of them.
  ``--new-items train`` (the default) keeps every item of ``items.txt`` in the training matrix.
* Extra candidate sets of the split (``candidates-<name>.txt``, e.g. a cold-item split's held-out
  items) get their own lists, ranked over that set only: ``topk-<name>.tsv``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Sequence
from typing import Any

import split_io  # bench/peers/split_io.py: this script's folder is on sys.path when it runs by path
from split_io import Split, SplitError

MODELS = ("WARP", "BPR")
NEW_ITEM_FLOOR = -1e6  # ids-only scores of new items: below every learnt score, above split_io.UNKNOWN_ITEM_SCORE


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: the common peer options plus LightFM's parameters."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    split_io.add_common_args(p, epochs=60, lr=0.05)
    p.add_argument("--item-features", choices=("bert", "none", "text"), default="bert",
                   help="bert: [identity | item_features.npy] (default); none: identity only; "
                        "text: item_features.npy only")  # fmt: skip
    p.add_argument("--text-weight", type=float, default=0.3,
                   help="L2 norm of each item's text feature row, next to its indicator's weight 1 "
                        "(default 0.3)")  # fmt: skip
    p.add_argument("--text-dims", type=int, default=0,
                   help="keep this many principal components of the text features (0: all 384, the default); "
                        "LightFM's cost grows with the non-zeros per item row, so fewer is faster")  # fmt: skip
    p.add_argument("--item-alpha", type=float, default=0.0, help="L2 penalty on item features (default 0)")
    p.add_argument("--user-alpha", type=float, default=0.0, help="L2 penalty on user features (default 0)")
    p.add_argument("--max-sampled", type=int, default=10, help="WARP: most negatives sampled per positive (default 10)")
    p.add_argument("--new-items", choices=("train", "cold"), default="train",
                   help="items only in valid/test: in the training matrix (train, the default) or left out of "
                        "training and scored by their text features only (cold: for a cold-item split)")  # fmt: skip
    p.add_argument("--select-on", choices=("all", "new-items"), default="all",
                   help="early stopping on valid Recall@k over all candidates (all, the default) or, with new items, "
                        "among the new validation items only (new-items)")  # fmt: skip
    args = p.parse_args(argv)
    if args.model not in MODELS:
        p.error(f"--model must be one of {', '.join(MODELS)} (got {args.model!r})")
    if min(args.epochs, args.patience, args.threads, args.k, args.dim) < 1:
        p.error("--epochs, --patience, --threads, --k and --dim must be >= 1")
    if args.text_dims < 0:
        p.error("--text-dims must be >= 0")
    return args


class Data:
    """The split as LightFM matrices: user index, interactions (users x trained items), item features.

    ``item_features`` are the rows of the trained items (all of ``items.txt`` unless ``new_items`` is
    ``"cold"``), ``score_features`` those of every item of ``items.txt`` as scored (a new item's
    indicator dropped); ``new_items`` the item rows left out of training.
    """

    def __init__(
        self, split: Split, item_features: str, text_weight: float, text_dims: int = 0, new_items: str = "train"
    ) -> None:
        import numpy as np
        import scipy.sparse as sp

        self.split = split
        trained = {u for u, _ in split.train}
        # users without training interactions after the others, so a split without any keeps its order
        self.untrained = sorted({u for u, _ in (*split.valid, *split.test)} - trained)
        self.users = sorted(trained) + self.untrained
        self.user_index = {u: n for n, u in enumerate(self.users)}
        n_items = len(split.items)
        new = np.zeros(n_items, dtype=bool)
        if new_items == "cold":
            new[sorted({split.item_index[i] for _, i in (*split.valid, *split.test)})] = True
            new[[split.item_index[i] for _, i in split.train]] = False
        self.new_items = np.flatnonzero(new)
        known = np.flatnonzero(~new)
        column = np.full(n_items, -1, dtype=np.int64)
        column[known] = np.arange(len(known))
        rows = [self.user_index[u] for u, _ in split.train]
        cols = column[[split.item_index[i] for _, i in split.train]]
        shape = (len(self.users), len(known))
        inter = sp.coo_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=shape).tocsr()
        inter.data[:] = 1.0  # duplicates count once
        self.interactions = inter.tocoo()
        features = self._item_features(split, item_features, text_weight, text_dims)
        self.item_features = features[known] if len(self.new_items) else features
        self.has_text = item_features != "none"
        if (
            len(self.new_items) and item_features != "text"
        ):  # a new item: its text columns only (its indicator was never trained)
            features = features.tolil()
            features[self.new_items, self.new_items] = 0.0
            features = features.tocsr()
            features.eliminate_zeros()
        self.score_features = features

    @staticmethod
    def _item_features(split: Split, kind: str, text_weight: float, text_dims: int) -> Any:
        """``[identity | text rows scaled to L2 norm text_weight]`` (CSR float32), identity only
        (``none``) or text rows only (``text``); the text rows projected on their first ``text_dims``
        principal components when > 0."""
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
        if kind == "text":
            return sp.csr_matrix(x, dtype=np.float32)
        return sp.hstack([identity, sp.csr_matrix(x)], format="csr", dtype=np.float32)


class Scorer:
    """``score_fn`` for :func:`split_io.rank_top_k`: user . item representations + item bias, all items
    (users without a training interaction: item bias only)."""

    def __init__(self, model: Any, data: Data, seed: int = 0) -> None:
        import numpy as np

        self.item_bias, self.item_emb = model.get_item_representations(data.score_features)
        self.random_new: np.ndarray | None = None
        if not data.has_text and len(data.new_items):  # an ids-only model cannot place a new item: last,
            # in a random order drawn per user (seeded), as a random ranking of the new items
            self.random_new, self.rng = data.new_items, np.random.default_rng(seed)
            self.item_emb = self.item_emb.copy()
            self.item_emb[data.new_items] = 0.0
        _, user_emb = model.get_user_representations()
        self.user_emb = user_emb.copy()
        self.user_emb[len(data.users) - len(data.untrained) :] = 0.0  # never trained: LightFM's random start
        self.user_index = data.user_index

    def __call__(self, users: Sequence[str]) -> Any:
        rows = [self.user_index[u] for u in users]
        scores = self.user_emb[rows] @ self.item_emb.T + self.item_bias[None, :]
        if self.random_new is not None:
            scores = scores.astype("float64")
            scores[:, self.random_new] = NEW_ITEM_FLOOR + self.rng.random((len(rows), len(self.random_new)))
        return scores


def valid_recall(model: Any, data: Data, k: int, *, new_only: bool = False) -> float:
    """Recall@k on ``valid.tsv`` (candidates only, the user's train items excluded); with ``new_only``
    ranked among the new items of ``valid.tsv`` only (a cold-item split's validation items)."""
    import numpy as np

    relevant = split_io.group(data.split.valid)
    only = None
    if new_only:
        only = np.zeros(len(data.split.items), dtype=bool)
        only[[data.split.item_index[i] for _, i in data.split.valid]] = True
        keep = np.zeros(len(data.split.items), dtype=bool)
        keep[data.new_items] = True
        only &= keep
    top = split_io.rank_top_k(
        Scorer(model, data), sorted(relevant), data.split, k=k, exclude=data.split.seen(["train"]), only=only
    )
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
        row = {"epoch": epoch, f"valid_recall@{args.k}": recall, "train_seconds": seconds}
        shown = f"valid recall@{args.k} {recall:.4f}"
        if len(data.new_items):  # also among the new validation items alone (a cold-item split)
            row[f"valid_new_items_recall@{args.k}"] = new = valid_recall(model, data, args.k, new_only=True)
            shown += f", among new items {new:.4f}"
            recall = new if args.select_on == "new-items" else recall
        history.append(row)
        print(f"LightFM {args.model} epoch {epoch}: {seconds:.1f}s, {shown}", flush=True)
        if recall > best_recall:
            best, best_recall, best_epoch, stale = copy.deepcopy(model), recall, epoch, 0
        else:
            stale += 1
            if stale >= args.patience:
                break
    n_feat = data.item_features.shape[1]
    n_text = n_feat - (0 if args.item_features == "text" else len(data.split.items))
    stats = {"chosen": {"loss": args.model.lower(), "no_components": args.dim, "learning_rate": args.lr,
                        "item_feature_columns": n_feat, "text_columns": n_text},
             "history": history, "seconds_per_epoch": train_seconds / epochs_run, "epochs_run": epochs_run,
             "best_epoch": best_epoch, "train_seconds": train_seconds, f"valid_recall@{args.k}": best_recall,
             "selected_on": args.select_on if len(data.new_items) else "all"}  # fmt: skip
    return best, stats


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train, write ``topk.tsv`` and ``result.json`` into ``args.out``; returns the result."""
    split_io.pin_threads(args.threads)
    import lightfm

    split = split_io.load_split(args.split)
    data = Data(split, args.item_features, args.text_weight, args.text_dims, args.new_items)
    test_users = sorted({u for u, _ in split.test})
    model, stats = train(args, data)
    stats["users_without_training"] = len(data.untrained)
    stats["new_item_count"] = len(data.new_items)
    scorer, exclude = Scorer(model, data, args.seed), split.test_seen()
    top = split_io.rank_top_k(scorer, test_users, split, k=args.k, exclude=exclude)
    extra = {name: split_io.rank_top_k(scorer, test_users, split, k=args.k, exclude=exclude, candidate_set=name)
             for name in split.extra_candidates}  # fmt: skip
    return split_io.write_outputs(args, top, peer="lightfm", version=lightfm.__version__, stats=stats, extra_top=extra)


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
