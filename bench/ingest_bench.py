"""Ingest benchmark: relationships/s into Neo4j and ArcadeDB, batched UNWIND vs one row per transaction.

Runs both stores side by side in one run and reports ratios. Neo4j is started fresh from
scripts/neo4j_server.sh (Maven Central jars) unless --neo4j-uri is given; ArcadeDB is the
embedded server in a fresh temporary graphrec home.

    .venv/bin/python bench/ingest_bench.py                      # Amazon-KG Movies_and_TV + Books
    .venv/bin/python bench/ingest_bench.py --single-rows 2000   # fewer one-row transactions

Phases per store (all on the same rows):
  cold      full ingest of the spec into an empty database on a just-started server
  rerun     the same ingest again (idempotent: every MERGE matches)
  warm      INTERACTED deleted, full ingest again on the warmed-up server
  batched-N / single-N   the first N interactions written batched vs one MERGE per transaction
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from common import REPO  # bench/common.py (beside this script): also puts the repository root on sys.path

from graphrec.store import cypher
from graphrec.store.arcade_process import free_port
from graphrec.store.bolt import GraphStore
from graphrec.store.connect import StoreConfig, open_store
from ingest.pipeline import ingest_spec
from ingest.prepare import prepare_dataset
from ingest.spec import load_spec
from ingest.summary import IngestSummary


def interaction_rows(spec_path: Path, tmp: Path) -> list[dict[str, Any]]:
    prepared = prepare_dataset(load_spec(spec_path), tmp / "rejects.tsv", IngestSummary(spec=str(spec_path)))
    return [asdict(i) for p in prepared.values() for i in p.interactions]


def timed_ingest(store: GraphStore, spec_path: Path, tmp: Path, tag: str) -> dict[str, Any]:
    s = ingest_spec(store, load_spec(spec_path), run_dir=tmp / tag, state_dir=tmp / f"state-{tag}", progress=False)
    return {
        "relationships_per_second": round(s.relationships_per_second),
        "interaction_write_seconds": round(s.write_seconds, 3),
        "total_seconds": round(s.seconds, 3),
        "stage_seconds": s.stage_seconds,
    }


def single_vs_batched(store: GraphStore, rows: list[dict[str, Any]], n: int) -> dict[str, Any]:
    sample = rows[:n]
    store.delete_interactions()
    t = time.perf_counter()
    store.write_batches(cypher.MERGE_INTERACTIONS, sample, batch_size=10_000)
    batched = len(sample) / (time.perf_counter() - t)
    store.delete_interactions()
    t = time.perf_counter()
    for row in sample:
        store.execute_write(cypher.MERGE_INTERACTION_SINGLE, row)
    single = len(sample) / (time.perf_counter() - t)
    return {
        "rows": len(sample),
        "batched_relationships_per_second": round(batched),
        "single_relationships_per_second": round(single),
        "batched_over_single": round(batched / single, 1),
    }


def bench_store(
    name: str, cfg: StoreConfig, spec_path: Path, rows: list[dict[str, Any]], n_single: int, tmp: Path
) -> dict[str, Any]:
    print(f"[{name}] cold ingest ...", flush=True)
    with open_store(cfg) as store:
        store.clear()
        agent = store.capabilities.agent
        out: dict[str, Any] = {"agent": agent}
        out["cold"] = timed_ingest(store, spec_path, tmp, f"{name}-cold")
        print(f"[{name}] rerun ...", flush=True)
        out["rerun"] = timed_ingest(store, spec_path, tmp, f"{name}-rerun")
        print(f"[{name}] warm ...", flush=True)
        store.delete_interactions()
        out["warm"] = timed_ingest(store, spec_path, tmp, f"{name}-warm")
        print(f"[{name}] batched vs single on {n_single} rows ...", flush=True)
        out["single_vs_batched"] = single_vs_batched(store, rows, n_single)
        # leave the graph complete
        store.write_batches(cypher.MERGE_INTERACTIONS, rows)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", type=Path, default=REPO / "ingest" / "specs" / "amazon-kg.toml")
    ap.add_argument("--neo4j-uri", default=None, help="use this Neo4j instead of starting a fresh one")
    ap.add_argument("--single-rows", type=int, default=5_000, help="rows for the one-row-per-transaction phase")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ingest.json")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="graphrec-ingest-bench-"))
    rows = interaction_rows(args.spec, tmp)
    results: dict[str, Any] = {
        "benchmark": "ingest",
        "spec": str(args.spec.relative_to(REPO)) if args.spec.is_relative_to(REPO) else str(args.spec),
        "interactions": len(rows),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "git": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
        ).stdout.strip(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    script = REPO / "scripts" / "neo4j_server.sh"
    env = {**os.environ, "NEO4J_RUN_DIR": str(tmp / "neo4j")}
    uri = args.neo4j_uri
    started = False
    if uri is None:
        proc = subprocess.run(
            ["bash", str(script), "start", str(free_port())], env=env, capture_output=True, text=True, check=True
        )
        uri, started = proc.stdout.strip().splitlines()[-1], True
    try:
        results["neo4j"] = bench_store(
            "neo4j", StoreConfig(home=tmp / "home-neo4j", uri=uri), args.spec, rows, args.single_rows, tmp
        )
    finally:
        if started:
            subprocess.run(["bash", str(script), "stop"], env=env, capture_output=True)
    results["arcadedb"] = bench_store(
        "arcadedb", StoreConfig(home=tmp / "home-arcadedb"), args.spec, rows, args.single_rows, tmp
    )
    n, a = results["neo4j"], results["arcadedb"]
    results["ratios"] = {
        f"neo4j_over_arcadedb_{phase}": round(
            n[phase]["relationships_per_second"] / a[phase]["relationships_per_second"], 2
        )
        for phase in ("cold", "rerun", "warm")
    } | {
        "neo4j_batched_over_single": n["single_vs_batched"]["batched_over_single"],
        "arcadedb_batched_over_single": a["single_vs_batched"]["batched_over_single"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{'store':10} {'cold':>10} {'rerun':>10} {'warm':>10} {'batched-N':>10} {'single-N':>10} {'ratio':>7}")
    for name in ("neo4j", "arcadedb"):
        r = results[name]
        sb = r["single_vs_batched"]
        print(
            f"{name:10} {r['cold']['relationships_per_second']:>10,} {r['rerun']['relationships_per_second']:>10,} "
            f"{r['warm']['relationships_per_second']:>10,} {sb['batched_relationships_per_second']:>10,} "
            f"{sb['single_relationships_per_second']:>10,} {sb['batched_over_single']:>6}x"
        )
    print(f"ratios: {results['ratios']}\nwritten to {args.out}")


if __name__ == "__main__":
    main()
