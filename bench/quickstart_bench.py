"""The same ``graphrec quickstart`` on the embedded ArcadeDB and on Neo4j, same hour, alternating order.

    .venv/bin/python bench/quickstart_bench.py --rounds 2        # bench/results/quickstart_stores.json

Each run is a fresh graphrec home in a temporary folder and a ``graphrec quickstart`` process of its own (wall
time of the whole command: interpreter start, imports, the embedded server's start where it is the store,
ingest, embed, topics, training, evaluation, write-back, recommend, explain, the Cypher query). Neo4j runs
are given a server of their own, started before the command by ``scripts/neo4j_server.sh`` (its start time is
recorded apart, not in the command's); the embedded store starts its server inside the command, as a
newcomer's first run does. The rounds alternate which store goes first.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from common import REPO, neo4j_server  # bench/common.py (beside this script): also the repository root on sys.path

from graphrec.results import run_metadata

GRAPHREC = REPO / ".venv" / "bin" / "graphrec"
RESULTS = REPO / "bench" / "results" / "quickstart_stores.json"


def run_quickstart(store: str, folder: Path) -> dict[str, Any]:
    """One ``graphrec quickstart`` on ``store`` in a fresh home under ``folder``; its wall seconds."""
    row: dict[str, Any] = {"store": store, "load_average_before": os.getloadavg()}
    with contextlib.ExitStack() as stack:
        uri_args: list[str] = []
        if store == "neo4j":
            t0 = time.perf_counter()
            uri_args = ["--uri", stack.enter_context(neo4j_server(folder / "neo4j-run"))]
            row["server_start_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        done = subprocess.run(
            [str(GRAPHREC), "--home", str(folder / f"home-{store}"), *uri_args, "--no-progress", "quickstart"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        row["seconds"] = time.perf_counter() - t0
    row["rc"] = done.returncode
    if done.returncode != 0:
        row["error"] = done.stderr[-2000:]
    row["load_average_after"] = os.getloadavg()
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    for r in range(args.rounds):
        order = ("arcadedb", "neo4j") if r % 2 == 0 else ("neo4j", "arcadedb")
        for store in order:
            with tempfile.TemporaryDirectory(prefix="graphrec-qs-") as tmp:
                row = {"round": r, **run_quickstart(store, Path(tmp))}
            rows.append(row)
            print(json.dumps(row, default=float), flush=True)
    medians = {
        s: statistics.median(x["seconds"] for x in rows if x["store"] == s and x["rc"] == 0)
        for s in ("arcadedb", "neo4j")
        if any(x["store"] == s and x["rc"] == 0 for x in rows)
    }
    result = {"meta": run_metadata(), "rounds": args.rounds, "runs": rows, "median_seconds": medians}
    if len(medians) == 2:
        result["ratio_arcadedb_to_neo4j"] = medians["arcadedb"] / medians["neo4j"]
    args.out.write_text(json.dumps(result, indent=1, default=float))
    print(json.dumps({"median_seconds": medians, "ratio": result.get("ratio_arcadedb_to_neo4j")}))


if __name__ == "__main__":
    main()
