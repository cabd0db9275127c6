"""Where the embedded store's time goes: every store stage on ArcadeDB and Neo4j, same data, same hour.

    .venv/bin/python bench/store_cost_bench.py                          # 20k interactions, 2 rounds, both stores
    .venv/bin/python bench/store_cost_bench.py --interactions 100k --rounds 1
    .venv/bin/python bench/store_cost_bench.py --table                  # the table of the last results again

Data: the SYNTHETIC scale set of ``bench/scale_data.py`` (``--interactions``), generated into a temporary folder
(or ``--data DIR`` with a ``scale.toml``). Each round starts both servers afresh, in alternating order, each in a
temporary folder (ArcadeDB: the embedded server of a fresh graphrec home, started detached so it lives through the
round as it would through one ``graphrec`` command; Neo4j: ``scripts/neo4j_server.sh`` on a free port), then runs
every stage twice on the same server: **fresh** (the first pass on the just-started JVM, what one ``graphrec``
command on the embedded store meets) and **warm** (the graph cleared, the same stages again):

* ``start``: the server from nothing to answering on Bolt (fresh pass only); ``schema``: graphrec's constraints and
  indexes on the empty database;
* ``ingest …``: ``ingest_spec`` of the set, per stage kind (scenarios, items, item→scenario links, users,
  interactions, the recount), each summed over the scenarios; ``ingest rerun``: the same ingest again (every write
  matches; checkpoints of their own);
* ``topics``: ``extract_topics(method="metadata")`` (Topic nodes, HAS_TOPIC edges; no model);
* ``export``: ``export_graph`` (store → arrays);
* ``write-back …``: ``write_back`` of a run with random 64-d embeddings over the exported graph (so the writes have
  the shape and the sizes of a real run's): the embeddings, the top-20 ``RECOMMENDED`` into the first scenario and 5
  ``INTERESTED_IN`` per user; ``write-back again`` replaces them (deletes, then creates);
* ``clear``: the whole graph deleted (between the passes).

Every store call is timed by the query it runs (the store's own methods, wrapped; the queries are those graphrec
sends); ``server CPU`` is the server process's CPU seconds over the stage (``/proc``), less sensitive to the other
jobs on a shared machine than the wall time. The load average is recorded with every stage. Results:
``bench/results/store_cost.json``; the table (median over rounds, wall seconds, ArcadeDB / Neo4j ratios) is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from common import REPO, neo4j_server  # bench/common.py (beside this script): also puts the repository root on sys.path

from graphrec.data.export import export_graph
from graphrec.home import arcadedb_dir
from graphrec.results import run_metadata
from graphrec.serve.writeback import write_back
from graphrec.store import cypher
from graphrec.store.arcade import EmbeddedArcadeDB
from graphrec.store.bolt import GraphStore
from graphrec.store.connect import StoreConfig, open_store
from graphrec.train.record import RunRecord
from ingest import api as ingest_api
from ingest.pipeline import ingest_spec
from ingest.sources.scale import ScaleConfig, generate_scale, parse_count
from ingest.spec import load_spec

RESULTS = REPO / "bench" / "results" / "store_cost.json"
STORES = ("arcadedb", "neo4j")
#: The store's methods timed per query.
_TIMED_METHODS = ("write_batches", "write_returning", "execute_write", "stream", "stream_chunks", "delete_in_batches")
#: Query names by text, for the per-query timings.
QUERY_NAMES = {v: k for k in cypher.__all__ if isinstance(v := getattr(cypher, k), str)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 where it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Recorder:
    """Stage timings of one store and pass: wall seconds, server CPU seconds, load average; and per query."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.stages: dict[str, dict[str, float]] = {}
        self.queries: dict[str, dict[str, float]] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t, c = time.perf_counter(), cpu_seconds(self.pid)
        yield
        self.add(name, time.perf_counter() - t, cpu_seconds(self.pid) - c)

    def add(self, name: str, seconds: float, cpu: float | None = None) -> None:
        row = self.stages.setdefault(name, {"seconds": 0.0, "server_cpu": 0.0})
        row["seconds"] = round(row["seconds"] + seconds, 3)
        if cpu is not None:
            row["server_cpu"] = round(row["server_cpu"] + cpu, 3)
        row["load"] = round(os.getloadavg()[0], 2)

    def timed_store(self, store: GraphStore) -> None:
        """Wrap the store's query methods (this instance only) to time each call by its query's name."""

        def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(method)
            def timed(query: str, *args: Any, **kwargs: Any) -> Any:
                t = time.perf_counter()
                try:
                    out = method(query, *args, **kwargs)
                    if method.__name__ in ("stream", "stream_chunks"):
                        out = list(out)  # read fully inside the timing
                        return iter(out)
                    return out
                finally:
                    name = QUERY_NAMES.get(query, query.strip().splitlines()[0][:60])
                    q = self.queries.setdefault(name, {"seconds": 0.0, "calls": 0})
                    q["seconds"] = round(q["seconds"] + time.perf_counter() - t, 3)
                    q["calls"] += 1

            return timed

        for name in _TIMED_METHODS:
            setattr(store, name, wrap(getattr(store, name)))


def fake_run(store: GraphStore, seed: int) -> RunRecord:
    """A run over the graph's users, items and topics with random embeddings (the shapes a real run writes)."""
    export = export_graph(store)
    rng = np.random.default_rng(seed)
    dim = 64

    def emb(n: int) -> np.ndarray:
        return rng.standard_normal((n, dim)).astype(np.float32)

    empty = np.zeros((2, 0), dtype=np.int64)
    return RunRecord(
        name=f"store-cost-{seed}",
        config={"model": {"name": "random"}, "embeddings": True},
        metrics={},
        user=emb(len(export.user_ids)),
        item=emb(len(export.item_keys)),
        topic=emb(len(export.topic_ids)),
        user_ids=export.user_ids,
        item_keys=export.item_keys,
        topic_ids=export.topic_ids,
        train=export.interactions,
        val=empty,
        test=empty,
    )


def run_pass(store: GraphStore, rec: Recorder, spec: Path, work: Path, tag: str) -> None:
    """Every stage once, into an empty graph."""
    cpu: dict[str, float] = {}
    last = [cpu_seconds(rec.pid)]

    def on_batch(stage: str, rows: int) -> None:  # server CPU since the previous batch, to this batch's stage
        now = cpu_seconds(rec.pid)
        kind = stage.split(":")[0]
        cpu[kind] = cpu.get(kind, 0.0) + now - last[0]
        last[0] = now

    summary = ingest_spec(store, load_spec(spec), run_dir=work / f"run-{tag}", state_dir=work / f"state-{tag}",
                          progress=False, on_batch=on_batch)  # fmt: skip
    cpu["recount"] = cpu_seconds(rec.pid) - last[0]
    rec.add("ingest (all)", summary.seconds - summary.stage_seconds["validate"], sum(cpu.values()))
    for key, seconds in summary.stage_seconds.items():
        if key != "validate":
            rec.add(f"ingest {key.split(':')[0]}", seconds)
    for kind, seconds in cpu.items():
        rec.stages[f"ingest {kind}"]["server_cpu"] = round(seconds, 3)
    rec.stages["ingest relationships/s"] = {"rate": round(summary.relationships_per_second)}
    with rec.stage("ingest rerun"):
        ingest_spec(store, load_spec(spec), run_dir=work / f"run-{tag}-rerun", state_dir=work / f"state-{tag}-rerun",
                    progress=False)  # fmt: skip
    with rec.stage("topics"):
        ingest_api.extract_topics(store, method="metadata", home=work / f"home-{tag}")
    with rec.stage("export"):
        run = fake_run(store, seed=0)
    scenario = run.item_keys[0][0]
    with rec.stage("write-back"):
        write_back(store, run, scenario=scenario, k=20, topics_per_user=5)
    with rec.stage("write-back again"):
        write_back(store, run, scenario=scenario, k=20, topics_per_user=5)


@contextlib.contextmanager
def server(name: str, work: Path, rec_start: dict[str, float]) -> Iterator[tuple[StoreConfig, int]]:
    """A fresh server of ``name`` under ``work``; yields the store config and the server's pid."""
    home = work / f"home-{name}"
    home.mkdir(mode=0o700)
    if name == "arcadedb":
        embedded = EmbeddedArcadeDB(arcadedb_dir(home))
        t = time.perf_counter()
        info, _ = embedded.ensure_running(detached=True)
        rec_start["seconds"] = time.perf_counter() - t
        rec_start["server_cpu"] = cpu_seconds(info.pid)
        try:
            yield StoreConfig(home=home), info.pid
        finally:
            embedded.stop()
        return
    t = time.perf_counter()
    with neo4j_server(work / "neo4j") as uri:
        rec_start["seconds"] = time.perf_counter() - t
        pid = int((work / "neo4j" / "neo4j.pid").read_text())
        rec_start["server_cpu"] = cpu_seconds(pid)
        yield StoreConfig(home=home, uri=uri), pid


def bench_store(name: str, spec: Path, work: Path) -> dict[str, Any]:
    """Both passes on a fresh server of ``name``."""
    start: dict[str, float] = {}
    out: dict[str, Any] = {}
    with server(name, work, start) as (config, pid):
        for tag in ("fresh", "warm"):
            print(f"  [{name}] {tag} pass ...", flush=True)
            rec = Recorder(pid)
            if tag == "fresh":
                rec.add("start", start["seconds"], start["server_cpu"])
            with rec.stage("open store"):  # connect (what every command pays), schema apart
                store = open_store(config, ensure_schema=False)
            with store:
                out["agent"] = store.capabilities.agent
                rec.timed_store(store)
                with rec.stage("schema"):  # created on the empty database (fresh), checked (warm)
                    store.ensure_schema()
                run_pass(store, rec, spec, work, f"{name}-{tag}")
                with rec.stage("clear"):
                    store.clear()
            out[tag] = {"stages": rec.stages, "queries": rec.queries}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--interactions", default="20k", help="size of the synthetic set (default %(default)s)")
    ap.add_argument("--data", type=Path, help="an existing scale set folder (scale.toml) instead of generating one")
    ap.add_argument("--rounds", type=int, default=2, help="rounds, each with fresh servers (default %(default)s)")
    ap.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES))
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--table", action="store_true", help="print the table of --out and exit")
    args = ap.parse_args()
    if args.table:
        print_table(json.loads(args.out.read_text()))
        return
    work = Path(tempfile.mkdtemp(prefix="graphrec-store-cost-"))
    try:
        data = args.data
        if data is None:
            data = work / "data"
            generate_scale(data, ScaleConfig(interactions=parse_count(args.interactions)))
        spec = data / "scale.toml"
        manifest = json.loads((data / "manifest.json").read_text())
        results: dict[str, Any] = {
            "benchmark": "store_cost",
            "data": {k: manifest["counts"][k] for k in ("interactions", "users", "items")},
            "metadata": run_metadata(),
            "rounds": [],
        }
        for r in range(args.rounds):
            order = args.stores if r % 2 == 0 else list(reversed(args.stores))
            round_out: dict[str, Any] = {"load_before": os.getloadavg()[0]}
            for name in order:
                print(f"round {r + 1}: {name}", flush=True)
                round_dir = work / f"round{r}"
                round_dir.mkdir(exist_ok=True)
                round_out[name] = bench_store(name, spec, round_dir)
            results["rounds"].append(round_out)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=2) + "\n")
        print_table(results)
        print(f"written to {args.out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _median(results: dict[str, Any], store: str, tag: str, stage: str, key: str = "seconds") -> float | None:
    values = [
        rnd[store][tag]["stages"][stage][key]
        for rnd in results["rounds"]
        if store in rnd and stage in rnd[store][tag]["stages"] and key in rnd[store][tag]["stages"][stage]
    ]
    return statistics.median(values) if values else None


def print_table(results: dict[str, Any]) -> None:
    """Per stage: median wall seconds (and server CPU seconds) per store and pass, with ArcadeDB / Neo4j ratios."""
    rounds = results["rounds"]
    stages: list[str] = []
    for rnd in rounds:
        for store in STORES:
            for tag in ("fresh", "warm"):
                for stage in rnd.get(store, {}).get(tag, {}).get("stages", {}):
                    if stage not in stages:
                        stages.append(stage)
    data = results["data"]
    print(f"\n{data['interactions']:,} interactions, {data['users']:,} users, {data['items']:,} items; "
          f"{len(rounds)} round(s); median wall s (server CPU s)")  # fmt: skip

    def cell(store: str, tag: str, stage: str) -> str:
        if stage.endswith("/s"):
            rate = _median(results, store, tag, stage, "rate")
            return "-" if rate is None else f"{rate:,.0f}"
        s = _median(results, store, tag, stage)
        if s is None:
            return "-"
        c = _median(results, store, tag, stage, "server_cpu")
        return f"{s:.2f} ({c:.1f})" if c is not None else f"{s:.2f}"

    def ratio(tag: str, stage: str) -> str:
        key = "rate" if stage.endswith("/s") else "seconds"
        a, n = _median(results, "arcadedb", tag, stage, key), _median(results, "neo4j", tag, stage, key)
        if a is None or n is None or n == 0:
            return "-"
        return f"{n / a:.2f}x" if stage.endswith("/s") else f"{a / n:.2f}x"

    cols = ("ArcadeDB fresh", "Neo4j fresh", "ratio", "ArcadeDB warm", "Neo4j warm", "ratio")
    print(f"{'stage':24} " + " ".join(f"{c:>{7 if c == 'ratio' else 16}}" for c in cols))
    for stage in stages:
        print(f"{stage:24} {cell('arcadedb', 'fresh', stage):>16} {cell('neo4j', 'fresh', stage):>16} "
              f"{ratio('fresh', stage):>7} {cell('arcadedb', 'warm', stage):>16} {cell('neo4j', 'warm', stage):>16} "
              f"{ratio('warm', stage):>7}")  # fmt: skip
    print("ratio: ArcadeDB seconds / Neo4j seconds (for relationships/s: Neo4j / ArcadeDB); > 1 = ArcadeDB slower")


if __name__ == "__main__":
    main()
