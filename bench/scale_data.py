"""Generate the SYNTHETIC scale dataset (issue 15): files ``graphrec ingest`` reads, at any size.

    .venv/bin/python bench/scale_data.py --interactions 100k     # -> bench/.work/scale/100k/scale.toml
    .venv/bin/python bench/scale_data.py --interactions 10M --scenarios 3 --overlap 0.4 --seed 1
    graphrec ingest bench/.work/scale/100k/scale.toml

Writes per scenario an interactions and an items TSV, the spec ``scale.toml`` and ``manifest.json``
(parameters and counts) into ``--out`` (default ``bench/.work/scale/<size>``, ignored by git), then prints the
spec's path, the counts and the wall time. The model and the file format: ``ingest/sources/scale.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

try:
    from common import REPO  # run by path: bench/common.py, beside it, puts the repository root on sys.path
except ModuleNotFoundError:  # imported as bench.scale_data (tests, python -m): the root is on sys.path already
    from bench.common import REPO

from graphrec.errors import ConfigError
from ingest.sources.scale import ScaleConfig, generate_scale, parse_count, size_label

DEFAULT_ROOT = REPO / "bench" / ".work" / "scale"


def _count(text: str) -> int:
    try:
        return parse_count(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def main(argv: list[str] | None = None) -> int:
    """Parse the options, generate the dataset, print where it is and what it holds."""
    defaults = ScaleConfig(interactions=1)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--interactions", type=_count, required=True, help="total interactions: 100000, 100k, 1M, 10M")
    p.add_argument("--scenarios", type=int, default=defaults.scenarios, help="1 to 4 (default %(default)s)")
    p.add_argument(
        "--overlap", type=float, default=defaults.overlap, help="share of users in 2+ scenarios (default %(default)s)"
    )
    p.add_argument("--seed", type=int, default=defaults.seed, help="random seed (default %(default)s)")
    p.add_argument("--topics", type=int, default=defaults.topics, help="latent topics, 2 to 24 (default %(default)s)")
    p.add_argument(
        "--user-degree", type=float, default=defaults.user_degree, help="mean interactions per user (%(default)s)"
    )
    p.add_argument(
        "--item-degree", type=float, default=defaults.item_degree, help="mean interactions per item (%(default)s)"
    )
    p.add_argument("--out", type=Path, help="output folder (default bench/.work/scale/<size>)")
    args = p.parse_args(argv)
    config = ScaleConfig(
        interactions=args.interactions,
        scenarios=args.scenarios,
        overlap=args.overlap,
        seed=args.seed,
        topics=args.topics,
        user_degree=args.user_degree,
        item_degree=args.item_degree,
    )
    out = args.out or DEFAULT_ROOT / size_label(config.interactions)

    def progress(done: int, total: int) -> None:
        print(f"\r{done:,} / {total:,} interactions", end="", file=sys.stderr, flush=True)

    start = time.perf_counter()
    try:
        files = generate_scale(out, config, progress=progress)
    except ConfigError as e:
        print(f"\nerror: {e}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    print(file=sys.stderr)
    c = files.counts
    print(files.spec)
    print(
        f"{c['interactions']:,} interactions, {c['users']:,} users ({c['overlap_users']:,} in 2+ scenarios), "
        f"{c['items']:,} items in {seconds:.1f} s"
    )
    for name, s in c["scenarios"].items():
        print(
            f"  {name}: {s['interactions']:,} interactions, {s['users']:,} users, {s['items']:,} items "
            f"({s['items_with_interactions']:,} with interactions)"
        )
    print(f"  user degree {c['user_degree']}, item degree {c['item_degree']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
