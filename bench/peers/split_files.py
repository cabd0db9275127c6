"""Write graphrec's split of a benchmark dataset as plain files that every peer reads.

    .venv/bin/python -m bench.peers.split_files ml-100k --seed 0
    .venv/bin/python -m bench.peers.split_files amazon-kg --seed 0
    .venv/bin/python -m bench.peers.split_files amazon-kg-coldstart-items-books --seed 0 1 2

Folder ``bench/.work/splits/<dataset>/seed<k>/`` (ignored by git; the data's licence forbids
redistribution, so the files are regenerated from ``../shared`` on demand):

* ``train.tsv``, ``valid.tsv``, ``test.tsv`` — header ``user_id<TAB>item_id``, one interaction per line.
  User ids are raw; item ids are ``<scenario>:<raw id>`` (unique across scenarios).
* ``candidates.txt`` — the rankable items (the target scenario's), one per line.
* ``slices.json`` — ``{"cold": [user ids], "warm": [...]}`` (``{}`` for a single-scenario split).
* ``items.txt`` + ``item_features.npy`` — every item and its BERT text feature row (float32), as
  ``graphrec embed`` wrote them (item text only; no interaction enters them).
* ``meta.json`` — dataset, protocol, seed, source, target, counts; ``test_exclude`` when a test list
  leaves out other parts than train and valid (see ``bench/peers/split_io.py``).

The same export, split and features feed graphrec's own benchmark (``bench/train_bench.py``).

Cold-item splits (``<dataset>-coldstart-items-<target>``, e.g. ``amazon-kg-coldstart-items-movies``) are
:func:`graphrec.data.splits.coldstart_items` of the dataset's graph on that target scenario, through
:func:`graphrec.train.run.make_split` exactly as ``graphrec train --split coldstart-items`` makes it:
20% of the target's interacted items held out with all their interactions (``test.tsv``), 10% more for
validation (``valid.tsv``), slices ``cold`` / ``warm`` (test users without / with target training
interactions). Beside the usual files they carry ``candidates-held-out-items.txt`` (the held-out test
items: the "held-out-items" ranking of :func:`graphrec.eval.slices.evaluate_slices`) and
``"test_exclude": ["train"]`` (graphrec's evaluation of the protocol excludes training items only).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from bench.common import REPO

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split

SPLITS_ROOT = REPO / "bench" / ".work" / "splits"
COLD_ITEMS = "coldstart-items"
HELD_OUT_ITEMS = "held-out-items"  # the extra candidate set of a cold-item split


def item_token(scenario: str, item_id: str) -> str:
    """The item id peers see: ``<scenario>:<raw id>``."""
    return f"{scenario}:{item_id}"


def split_dir(dataset: str, seed: int, root: Path = SPLITS_ROOT) -> Path:
    """Where :func:`write_split_files` puts ``dataset``'s split of ``seed``."""
    return root / dataset / f"seed{seed}"


def write_split_files(
    out: Path,
    export: GraphExport,
    split: Split,
    *,
    item_x: np.ndarray | None,
    meta: dict[str, object],
    candidates: np.ndarray,
    extra_candidates: dict[str, np.ndarray] | None = None,
) -> Path:
    """Write ``split`` (export rows) into ``out`` in the format of the module docstring; returns ``out``.

    ``extra_candidates`` (``{name: bool mask over items}``, each within ``candidates``) are written as
    ``candidates-<name>.txt``: further sets a peer ranks over (``topk-<name>.tsv``).
    """
    import numpy as np

    out.mkdir(parents=True, exist_ok=True)
    users = export.user_ids
    items = [item_token(s, i) for s, i in export.item_keys]
    for name, pairs in (("train", split.train), ("valid", split.val), ("test", split.test)):
        lines = ["user_id\titem_id"] + [f"{users[u]}\t{items[i]}" for u, i in pairs.T.tolist()]
        (out / f"{name}.tsv").write_text("\n".join(lines) + "\n")
    (out / "candidates.txt").write_text("\n".join(items[i] for i in np.flatnonzero(candidates)) + "\n")
    for name, mask in (extra_candidates or {}).items():
        (out / f"candidates-{name}.txt").write_text(
            "\n".join(items[i] for i in np.flatnonzero(mask & candidates)) + "\n"
        )
    slices = {name: [users[u] for u in rows.tolist()] for name, rows in split.slices.items()}
    (out / "slices.json").write_text(json.dumps(slices))
    (out / "items.txt").write_text("\n".join(items) + "\n")
    if item_x is not None:
        np.save(out / "item_features.npy", item_x.astype(np.float32))
    counts = {"train": int(split.train.shape[1]), "valid": int(split.val.shape[1]), "test": int(split.test.shape[1]),
              "users": len(users), "items": len(items), "candidates": int(candidates.sum())}  # fmt: skip
    (out / "meta.json").write_text(json.dumps({**meta, "counts": counts, "split": split.meta}, indent=1, default=str))
    return out


def cold_items_name(dataset: str, target: str) -> str:
    """Split name of ``dataset``'s cold-item protocol on ``target`` (its folder under the splits root)."""
    return f"{dataset}-{COLD_ITEMS}-{target}"


def parse_split_name(name: str) -> tuple[str, str | None]:
    """``(dataset, cold-item target or None)`` of a split name (``amazon-kg``, ``amazon-kg-coldstart-items-books``)."""
    dataset, sep, target = name.partition(f"-{COLD_ITEMS}-")
    return (dataset, target) if sep and target else (name, None)


def write_cold_items_split(
    out: Path, export: GraphExport, item_x: np.ndarray | None, *, dataset: str, target: str, seed: int
) -> Path:
    """Write the cold-item split of ``target`` (see the module docstring) for ``seed`` into ``out``.

    The split is graphrec's own (:func:`graphrec.train.run.make_split` with ``coldstart-items``), not
    a copy of its rule; the folder lists the held-out test items as ``candidates-held-out-items.txt``.
    """
    import numpy as np

    from graphrec.train.run import SplitConfig, make_split

    split = make_split(export, SplitConfig(protocol=COLD_ITEMS, seed=seed), target=target)
    candidates = export.item_scenario == export.scenarios.index(target)
    held_out = np.zeros(len(export.item_keys), dtype=bool)
    held_out[np.unique(split.test[1])] = True
    source = [s for s in export.scenarios if s != target]
    meta = {"dataset": dataset, "protocol": COLD_ITEMS, "seed": seed,
            "source": source[0] if len(source) == 1 else source, "target": target,
            "test_exclude": ["train"]}  # fmt: skip
    return write_split_files(out, export, split, item_x=item_x, meta=meta, candidates=candidates,
                             extra_candidates={HELD_OUT_ITEMS: held_out})  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", help="a dataset of bench/train_bench.py (amazon-kg, ml-100k), or its cold-item split "
                                   "<dataset>-coldstart-items-<target> "
                                   "(e.g. amazon-kg-coldstart-items-movies)")  # fmt: skip
    p.add_argument("--seed", type=int, nargs="+", default=[0])
    p.add_argument("--home", type=Path, default=None, help="graphrec home (default bench/.work/<dataset>)")
    p.add_argument("--root", type=Path, default=SPLITS_ROOT)
    args = p.parse_args(argv)

    from bench.train_bench import (
        DATASETS,
        dataset_split,
        dataset_target,
        prepare,
        prepared_graph,
    )

    dataset, cold_target = parse_split_name(args.dataset)
    if dataset not in DATASETS:
        p.error(
            f"unknown dataset {dataset!r}; use one of {sorted(DATASETS)}, optionally as <dataset>-{COLD_ITEMS}-<target>"
        )
    ds = DATASETS[dataset]
    home = (args.home or REPO / "bench" / ".work" / dataset).resolve()
    prepare(home, ds["spec"], n_topics=None)
    export, item_x, _ = prepared_graph(home)
    if cold_target is not None:
        if cold_target not in export.scenarios:
            p.error(f"target {cold_target!r} is not a scenario of {dataset}; it has {export.scenarios}")
        for seed in args.seed:
            print(write_cold_items_split(split_dir(args.dataset, seed, args.root), export, item_x, dataset=dataset,
                                         target=cold_target, seed=seed))  # fmt: skip
        return
    target = dataset_target(args.dataset, export)
    candidates = export.item_scenario == export.scenarios.index(target)
    for seed in args.seed:
        split = dataset_split(args.dataset, export, seed)
        meta = {
            "dataset": args.dataset,
            "protocol": ds["protocol"],
            "seed": seed,
            "source": ds["source"],
            "target": target,
        }
        out = write_split_files(
            split_dir(args.dataset, seed, args.root), export, split, item_x=item_x, meta=meta, candidates=candidates
        )
        print(out)


if __name__ == "__main__":
    main()
