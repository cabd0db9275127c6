"""Bulk loading vs MERGE batches into Neo4j: relationships/s of ``graphrec ingest --bulk`` (Neo4j's importer,
``neo4j-admin database import full``, from Maven Central jars) and of the checked ``MERGE`` path, on one spec,
and whether both graphs are the same.

Two fresh Neo4j 5.26 servers of scripts/neo4j_server.sh (own run folders under bench/.work/bulk/NAME, same
heap) are started; the spec is ingested with ``MERGE`` into one and bulk-loaded into the other; then the
node and relationship counts per label and type, and an order-independent digest of every interaction
(user, scenario, item, rating, ts, with the values' types) and of every item's title, text and categories,
are compared. The lead's scale benchmark may call :func:`bench_bulk` per size.

    .venv/bin/python bench/bulk_bench.py --spec ingest/specs/ml-1m.toml --name ml-1m
    .venv/bin/python bench/bulk_bench.py --spec bench/.work/scale/1m/spec.toml --name scale-1m --no-merge

Rates: MERGE's is ``INTERACTED`` rows over the seconds of its interaction batches (``IngestSummary.
relationships_per_second``); the bulk path's is the same rows over everything it does after validation and
before the recount: writing the CSV files, stopping the server, the import, the restart and graphrec's
indexes online. Both also report their whole ingest (validation and the recount of every key included).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from common import REPO, neo4j_server  # bench/common.py (beside this script): also puts the repository root on sys.path

from graphrec.stats import graph_stats
from graphrec.store import cypher
from graphrec.store.connect import StoreConfig, open_store
from ingest import api as ingest_api
from ingest.spec import load_spec
from ingest.summary import IngestSummary

WORK = REPO / "bench" / ".work" / "bulk"


def _digest(rows: Any) -> dict[str, Any]:
    """An order-independent digest of rows (dicts): count and the sum of each row's hash (values typed)."""
    n, total = 0, 0
    for row in rows:
        text = repr(sorted((k, type(v).__name__, v) for k, v in row.items()))
        total = (total + int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")) % 2**64
        n += 1
    return {"rows": n, "sum": f"{total:016x}"}


def graph_fingerprint(uri: str, home: Path) -> dict[str, Any]:
    """Counts per label and type, and digests of the interactions and item properties, of the graph at ``uri``."""
    with open_store(StoreConfig(home=home, uri=uri), ensure_schema=False) as store:
        stats = graph_stats(store)
        return {
            "nodes": stats.nodes,
            "relationships": stats.relationships,
            "interactions": _digest(store.stream(cypher.EXPORT_INTERACTIONS)),
            "item_texts": _digest(store.stream(cypher.ITEM_TEXTS, {"scenarios": None})),
            "item_categories": _digest(store.stream(cypher.ITEM_CATEGORIES)),
            "constraints": [r["name"] for r in store.read(cypher.SHOW_CONSTRAINTS)],
            "indexes": [r["name"] for r in store.read(cypher.SHOW_INDEXES)],
        }


def _figures(s: IngestSummary) -> dict[str, Any]:
    return {
        "relationships_per_second": round(s.relationships_per_second),
        "write_seconds": round(s.write_seconds, 2),
        "total_seconds": round(s.seconds, 2),
        "stage_seconds": {k: v for k, v in s.stage_seconds.items() if not k.startswith(("items:", "in_scenario:"))},
    }


def bench_bulk(
    spec_path: Path, name: str, *, merge: bool = True, compare: bool = True, heap: str = "2g", keep: bool = False
) -> dict[str, Any]:
    """Bulk-load ``spec_path`` into a fresh Neo4j (and ``MERGE`` it into another with ``merge``); returns the figures.

    Args:
        spec_path: The dataset spec.
        name: Names the work folder (bench/.work/bulk/NAME, emptied first).
        merge: Also ingest with MERGE batches, for the ratio.
        compare: Fingerprint both graphs (reads every interaction: minutes at 10M).
        heap: Both servers' heap.
        keep: Leave the servers running (their run folders under the work folder).
    """
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    spec = load_spec(spec_path)
    out: dict[str, Any] = {"spec": str(spec_path), "heap": heap}
    runs = {"bulk": work / "bulk-neo4j"} | ({"merge": work / "merge-neo4j"} if merge else {})
    with contextlib.ExitStack() as servers:
        uris = {kind: servers.enter_context(neo4j_server(run, heap, keep=keep)) for kind, run in runs.items()}
        if merge:
            print(f"[{name}] MERGE ingest into {uris['merge']} ...", flush=True)
            with open_store(StoreConfig(home=work / "merge-home", uri=uris["merge"])) as store:
                s = ingest_api.ingest(store, spec, home=work / "merge-home", run_dir=work / "merge-ingest")
            out["merge"] = _figures(s)
        print(f"[{name}] bulk load into {uris['bulk']} ...", flush=True)
        b = ingest_api.bulk_ingest(
            spec, neo4j_run_dir=runs["bulk"], home=work / "bulk-home", run_dir=work / "bulk-ingest"
        )
        out["interactions"] = sum(c.interactions_loaded for c in b.scenarios.values())
        out["bulk"] = _figures(b)
        if merge:
            out["ratio_relationships_per_second"] = round(
                out["bulk"]["relationships_per_second"] / out["merge"]["relationships_per_second"], 2
            )
            out["ratio_whole_ingest"] = round(out["merge"]["total_seconds"] / out["bulk"]["total_seconds"], 2)
        if compare:
            print(f"[{name}] comparing the graphs ...", flush=True)
            fingerprints = {kind: graph_fingerprint(uri, work / f"{kind}-home") for kind, uri in uris.items()}
            out["fingerprint"] = fingerprints["bulk"]
            if merge:
                out["identical"] = fingerprints["bulk"] == fingerprints["merge"]
                if not out["identical"]:
                    out["merge_fingerprint"] = fingerprints["merge"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", type=Path, default=REPO / "ingest" / "specs" / "ml-1m.toml")
    ap.add_argument("--name", default="ml-1m", help="names the work folder and the result file (bulk_NAME.json)")
    ap.add_argument("--no-merge", action="store_true", help="bulk-load only (no MERGE run, no ratio)")
    ap.add_argument("--no-compare", action="store_true", help="skip reading both graphs back")
    ap.add_argument("--heap", default="2g", help="both servers' heap (NEO4J_HEAP)")
    ap.add_argument("--keep", action="store_true", help="leave both servers running")
    ap.add_argument("--out", type=Path, default=None, help="result file (default bench/results/bulk_NAME.json)")
    args = ap.parse_args()
    result = {
        "benchmark": "bulk",
        "name": args.name,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "load_average_before": os.getloadavg(),
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
        ).stdout.strip(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        **bench_bulk(
            args.spec, args.name, merge=not args.no_merge, compare=not args.no_compare, heap=args.heap, keep=args.keep
        ),
        "load_average_after": os.getloadavg(),
    }
    path = args.out or REPO / "bench" / "results" / f"bulk_{args.name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result.get(k) for k in ("interactions", "ratio_relationships_per_second",
                                                   "ratio_whole_ingest", "identical")}))  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
