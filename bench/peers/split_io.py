"""Read a split folder and write a peer's outputs: the small helpers every peer runner shares.

Stdlib + numpy only (no graphrec, no peer library), so any peer's virtual environment can import it:

    import split_io  # in bench/peers/run_<peer>.py, run by path: its folder is on sys.path

Split folder format: see ``bench/peers/split_files.py``. Outputs of a peer run in ``OUT/``:

* ``topk.tsv`` — header ``user_id<TAB>item_id<TAB>rank``, rank 1..k, raw tokens (:func:`write_topk`).
* ``result.json`` — the run's config, timings and validation score (:func:`write_result`).
* ``topk-<name>.tsv`` — for each extra candidate set ``candidates-<name>.txt`` of the split (e.g.
  ``held-out-items``: a cold-item split's held-out test items), the same lists ranked over that set only.

What a user's test list leaves out: its ``train`` and ``valid`` items, unless the split's ``meta.json``
names other parts in ``"test_exclude"`` (a cold-item split: ``["train"]``, as graphrec's evaluation of
that protocol excludes training items only); :func:`excluded_at_test` reads it.

Also here: :func:`load_split` (the whole folder, indexed), :func:`rank_top_k` (full ranking over
candidates with the user's train/valid items excluded), :func:`recall_at_k`, and the runners' common
command line (:func:`add_common_args`) and thread pinning (:func:`pin_threads`). As a script, it
scores a ``topk.tsv`` against a split's ``test.tsv``:

    python bench/peers/split_io.py SPLIT_DIR OUT/topk.tsv [--k 20]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SPLIT_FILES = ("train.tsv", "valid.tsv", "test.tsv", "candidates.txt", "items.txt")
DEFAULT_TEST_EXCLUDE = ("train", "valid")
EXTRA_CANDIDATES_PREFIX = "candidates-"
HEADER = ["user_id", "item_id"]
UNKNOWN_ITEM_SCORE = -1e30  # items a model has no score for: ranked last, after every scored item


class SplitError(Exception):
    """A split folder or file is missing or malformed (the message names the path and the fix)."""


def regenerate_hint(split: Path) -> str:
    """The command that (re)writes ``split`` (``.../<dataset>/seed<k>``)."""
    seed = split.name[4:] if split.name.startswith("seed") else "0"
    return f"python -m bench.peers.split_files {split.parent.name or '<dataset>'} --seed {seed}"


def add_common_args(
    p: argparse.ArgumentParser, *, epochs: int = 60, lr: float | None = None
) -> argparse.ArgumentParser:
    """The options every peer runner takes (``bench/peers_bench.py`` passes them)."""
    p.add_argument("--split", type=Path, required=True, help="split folder (bench/.work/splits/<dataset>/seed<k>)")
    p.add_argument("--out", type=Path, required=True, help="output folder: topk.tsv and result.json")
    p.add_argument("--model", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=epochs, help=f"most training epochs (default {epochs})")
    p.add_argument(
        "--patience", type=int, default=8, help="stop after this many epochs without a better valid Recall@k"
    )
    p.add_argument("--dim", type=int, default=64, help="embedding size")
    p.add_argument("--lr", type=float, default=lr, help=f"learning rate (default {lr})")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--k", type=int, default=20, help="length of the top-K lists and cut-off of valid Recall@k")
    return p


def pin_threads(n: int) -> None:
    """Cap BLAS/OpenMP threads at ``n``: environment for libraries loaded later, threadpoolctl (if
    installed) for those already loaded."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return
    threadpool_limits(n)


def read_lines(path: Path | str) -> list[str]:
    """Non-empty lines of a text file (``candidates.txt``, ``items.txt``), stripped."""
    path = Path(path)
    if not path.is_file():
        raise SplitError(f"{path}: no such file; write it with `{regenerate_hint(path.parent)}`")
    return [s for s in (line.strip() for line in path.read_text().splitlines()) if s]


def read_pairs(path: Path | str) -> list[tuple[str, str]]:
    """``(user_id, item_id)`` rows of a ``user_id<TAB>item_id`` file, header skipped."""
    path = Path(path)
    lines = read_lines(path)
    if not lines or lines[0].split("\t")[:2] != HEADER:
        raise SplitError(
            f"{path}: expected the header 'user_id<TAB>item_id'; rewrite it with `{regenerate_hint(path.parent)}`"
        )
    out: list[tuple[str, str]] = []
    for n, line in enumerate(lines[1:], start=2):
        parts = line.split("\t")
        if len(parts) < 2:
            raise SplitError(f"{path} line {n}: expected 'user_id<TAB>item_id', got {line!r}")
        out.append((parts[0], parts[1]))
    return out


def write_topk(path: Path | str, topk: dict[str, list[str]]) -> None:
    """Write ``{user_id: [item_id, ...] best first}`` as ``user_id<TAB>item_id<TAB>rank`` (rank from 1)."""
    lines = ["user_id\titem_id\trank"]
    for user, items in topk.items():
        lines += [f"{user}\t{item}\t{rank}" for rank, item in enumerate(items, start=1)]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n")


def write_result(path: Path | str, result: dict[str, Any]) -> None:
    """Write a run's ``result.json`` (indented; paths and numpy scalars as plain values)."""

    def plain(o: object) -> object:
        return o.item() if isinstance(o, np.generic) else str(o)

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=1, default=plain) + "\n")


def topk_name(candidate_set: str | None = None) -> str:
    """File name of the top-K lists over the split's candidates (``topk.tsv``) or over one of its
    extra candidate sets (``topk-<name>.tsv``)."""
    return "topk.tsv" if candidate_set is None else f"topk-{candidate_set}.tsv"


def write_outputs(
    args: argparse.Namespace,
    top: dict[str, list[str]],
    *,
    peer: str,
    version: str,
    stats: dict[str, Any],
    extra_top: dict[str, dict[str, list[str]]] | None = None,
) -> dict[str, Any]:
    """Write ``OUT/topk.tsv`` (plus ``OUT/topk-<name>.tsv`` for each list set of ``extra_top``) and
    ``OUT/result.json`` (peer, version, model, config = the arguments plus the hyper-parameters chosen on
    validation in ``stats["chosen"]``, the rest of ``stats``, threads)."""
    write_topk(args.out / topk_name(), top)
    for name, lists in (extra_top or {}).items():
        write_topk(args.out / topk_name(name), lists)
    chosen = stats.pop("chosen", {})
    config = {**{k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}, **chosen}
    result = {"peer": peer, "version": version, "model": args.model, "config": config, **stats, "threads": args.threads}
    write_result(args.out / "result.json", result)
    return result


def check_split_dir(split: Path | str) -> Path:
    """``split`` as a Path once every file a peer reads is there; else a SplitError naming the fix."""
    split = Path(split)
    if not split.is_dir():
        raise SplitError(f"split folder {split} does not exist; write it with `{regenerate_hint(split)}`")
    missing = [name for name in SPLIT_FILES if not (split / name).is_file()]
    if missing:
        raise SplitError(f"split folder {split} lacks {', '.join(missing)}; rewrite it with `{regenerate_hint(split)}`")
    return split


def extra_candidate_files(split: Path | str) -> dict[str, Path]:
    """``{name: path}`` of a split folder's extra candidate sets (``candidates-<name>.txt``), by name."""
    split = Path(split)
    files = sorted(split.glob(f"{EXTRA_CANDIDATES_PREFIX}*.txt"))
    return {f.name[len(EXTRA_CANDIDATES_PREFIX) : -len(".txt")]: f for f in files}


def excluded_at_test(split: Path | str) -> tuple[str, ...]:
    """The parts (``train``, ``valid``) whose items a test list leaves out: ``meta.json``'s
    ``"test_exclude"`` when the split names it, else ``("train", "valid")``."""
    meta = Path(split) / "meta.json"
    if not meta.is_file():
        return DEFAULT_TEST_EXCLUDE
    parts = json.loads(meta.read_text()).get("test_exclude")
    if parts is None:
        return DEFAULT_TEST_EXCLUDE
    bad = [p for p in parts if p not in ("train", "valid")]
    if bad:
        raise SplitError(f"{meta}: test_exclude names {bad}; only 'train' and 'valid' are parts a list may leave out")
    return tuple(parts)


@dataclass
class Split:
    """A split folder read whole: pairs as raw tokens, plus the item universe and the candidates.

    ``items`` is the order of ``items.txt`` (and of ``item_features.npy``'s rows); ``item_index``
    maps a token to its row there. ``extra_candidates`` are the folder's ``candidates-<name>.txt``
    sets (subsets of ``candidates``); ``test_exclude`` the parts a test list leaves out.
    """

    path: Path
    train: list[tuple[str, str]]
    valid: list[tuple[str, str]]
    test: list[tuple[str, str]]
    items: list[str]
    candidates: list[str]
    extra_candidates: dict[str, list[str]] = field(default_factory=dict)
    test_exclude: tuple[str, ...] = DEFAULT_TEST_EXCLUDE
    item_index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.item_index = {item: n for n, item in enumerate(self.items)}
        extra = [(f"{EXTRA_CANDIDATES_PREFIX}{n}.txt", iter(v)) for n, v in self.extra_candidates.items()]
        for name, tokens in (("train", (i for _, i in self.train)), ("valid", (i for _, i in self.valid)),
                             ("test", (i for _, i in self.test)), ("candidates", self.candidates), *extra):  # fmt: skip
            unknown = next((t for t in tokens if t not in self.item_index), None)
            if unknown is not None:
                raise SplitError(
                    f"{self.path}: {name} item {unknown!r} is not in items.txt; "
                    f"rewrite it with `{regenerate_hint(self.path)}`"
                )

    def candidate_mask(self, candidate_set: str | None = None) -> np.ndarray:
        """Boolean mask over ``items``: True for the rankable (target scenario's) items, or for those of
        the extra candidate set ``candidate_set`` (always within the candidates)."""
        mask = np.zeros(len(self.items), dtype=bool)
        mask[[self.item_index[i] for i in self.candidates]] = True
        if candidate_set is not None:
            only = np.zeros(len(self.items), dtype=bool)
            only[[self.item_index[i] for i in self.extra_candidates[candidate_set]]] = True
            mask &= only
        return mask

    def item_features(self) -> np.ndarray:
        """``item_features.npy`` (float32, one row per item of ``items``)."""
        path = self.path / "item_features.npy"
        if not path.is_file():
            raise SplitError(
                f"{path}: no such file; write it with `{regenerate_hint(self.path)}` "
                "(needs the dataset's item features)"
            )
        x: np.ndarray = np.load(path)
        if x.ndim != 2 or x.shape[0] != len(self.items):
            raise SplitError(f"{path}: shape {x.shape}, expected ({len(self.items)}, d) to match items.txt")
        return x

    def seen(self, names: Iterable[str] = ("train", "valid")) -> dict[str, set[str]]:
        """``{user_id: {item tokens}}`` of the named parts (the items to exclude from a user's list)."""
        out: dict[str, set[str]] = defaultdict(set)
        for name in names:
            for u, i in getattr(self, name):
                out[u].add(i)
        return out

    def test_seen(self) -> dict[str, set[str]]:
        """``{user_id: {item tokens}}`` a test list leaves out (the parts of ``test_exclude``)."""
        return self.seen(self.test_exclude)


def load_split(split: Path | str) -> Split:
    """Read a split folder (see ``bench/peers/split_files.py``); SplitError if it is incomplete."""
    split = check_split_dir(split)
    extra = {name: read_lines(path) for name, path in extra_candidate_files(split).items()}
    return Split(path=split, train=read_pairs(split / "train.tsv"), valid=read_pairs(split / "valid.tsv"),
                 test=read_pairs(split / "test.tsv"), items=read_lines(split / "items.txt"),
                 candidates=read_lines(split / "candidates.txt"), extra_candidates=extra,
                 test_exclude=excluded_at_test(split))  # fmt: skip


def group(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """``{user_id: {item tokens}}`` of ``pairs``."""
    out: dict[str, set[str]] = defaultdict(set)
    for u, i in pairs:
        out[u].add(i)
    return dict(out)


def top_k_rows(scores: np.ndarray, k: int) -> list[np.ndarray]:
    """Per row, the column indices of its ``k`` best finite scores, best first (ties: lower index)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    out = []
    for row, cols in zip(scores, part):
        cols = cols[np.lexsort((cols, -row[cols]))]
        out.append(cols[np.isfinite(row[cols])])
    return out


ScoreFn = Callable[[Sequence[str]], np.ndarray]


def rank_top_k(
    score_fn: ScoreFn,
    users: Sequence[str],
    split: Split,
    *,
    k: int,
    exclude: dict[str, set[str]],
    batch: int = 512,
    candidate_set: str | None = None,
    only: np.ndarray | None = None,
) -> dict[str, list[str]]:
    """Top-``k`` candidate tokens per user, best first, the user's ``exclude`` items left out.

    ``score_fn(user_ids)`` returns a ``(len(user_ids), len(split.items))`` array over ``items.txt``'s
    order (``UNKNOWN_ITEM_SCORE`` for items the model cannot score; never NaN). Non-candidates and
    excluded items get ``-inf``; a list is shorter than ``k`` only if fewer candidates are left.
    ``candidate_set`` ranks only the items of that extra candidate set (``candidates-<name>.txt``),
    ``only`` (a bool mask over ``items``) only the candidates it marks.
    """
    blocked = ~split.candidate_mask(candidate_set)
    if only is not None:
        blocked |= ~np.asarray(only, dtype=bool)
    out: dict[str, list[str]] = {}
    for start in range(0, len(users), batch):
        chunk = users[start : start + batch]
        scores = np.array(score_fn(chunk), dtype=np.float64)
        if scores.shape != (len(chunk), len(split.items)):
            raise ValueError(f"score_fn returned shape {scores.shape}, expected {(len(chunk), len(split.items))}")
        scores[:, blocked] = -np.inf
        for row, u in enumerate(chunk):
            seen = [split.item_index[i] for i in exclude.get(u, ())]
            scores[row, seen] = -np.inf
        for u, cols in zip(chunk, top_k_rows(scores, k)):
            out[u] = [split.items[c] for c in cols]
    return out


def recall_at_k(topk: dict[str, list[str]], relevant: dict[str, set[str]], k: int = 20) -> float:
    """Mean over users of ``relevant`` of hits in their first ``k`` items / number relevant (0 without a list)."""
    if not relevant:
        return 0.0
    total = 0.0
    for u, rel in relevant.items():
        hits = sum(1 for i in topk.get(u, [])[:k] if i in rel)
        total += hits / len(rel)
    return total / len(relevant)


def read_topk(path: Path | str) -> dict[str, list[str]]:
    """``{user_id: [item_id, ...]}`` best first, from a ``topk.tsv``."""
    path = Path(path)
    lines = path.read_text().splitlines()
    if not lines or lines[0].split("\t") != ["user_id", "item_id", "rank"]:
        raise SplitError(f"{path}: expected the header 'user_id<TAB>item_id<TAB>rank'")
    rows: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for n, line in enumerate(lines[1:], start=2):
        try:
            u, i, r = line.split("\t")
            rows[u].append((int(r), i))
        except ValueError as e:
            raise SplitError(f"{path} line {n}: expected 'user_id<TAB>item_id<TAB>rank', got {line!r}") from e
    return {u: [i for _, i in sorted(v)] for u, v in rows.items()}


def main(argv: list[str] | None = None) -> None:
    """Print Recall@k of a ``topk.tsv`` against a split's ``test.tsv``."""
    p = argparse.ArgumentParser(description="Recall@k of a topk.tsv against a split folder's test.tsv")
    p.add_argument("split", type=Path)
    p.add_argument("topk", type=Path)
    p.add_argument("--k", type=int, default=20)
    args = p.parse_args(argv)
    try:
        relevant = group(read_pairs(check_split_dir(args.split) / "test.tsv"))
        topk = read_topk(args.topk)
    except SplitError as e:
        sys.exit(f"error: {e}")
    print(json.dumps({f"recall@{args.k}": recall_at_k(topk, relevant, args.k), "users": len(relevant)}))


if __name__ == "__main__":
    main()
