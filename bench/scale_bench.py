"""Scale benchmark (issue 15): wall time and peak memory of every stage as the graph grows.

    .venv/bin/python bench/scale_bench.py --sizes 100k 1M                 # both stores, every stage
    .venv/bin/python bench/scale_bench.py --sizes 10M --stores neo4j --merge-sample-seconds 900 \
        --skip evaluate write-back --full-batch-max-steps 20             # the largest set on Neo4j
    .venv/bin/python bench/scale_bench.py --table                         # table, exponents and plot from the JSON

Data: the synthetic multi-scenario sets of ``bench/scale_data.py`` (generated on first use into
``bench/.work/scale/<size>``). Per size and store, a fresh graphrec home under ``bench/.work/scale-homes``
(Neo4j: a server of its own, started by ``scripts/neo4j_server.sh`` with ``--neo4j-heap``), then:

* ``ingest`` — ``graphrec ingest SPEC`` as a process of its own (GNU ``time``: wall and peak RSS of the
  client; the database server's memory is its own: Neo4j's heap is set, ArcadeDB's is graphrec's default);
* ``bulk ingest`` (Neo4j) — ``graphrec ingest SPEC --bulk`` into an empty server, where the command exists;
* one process for the rest, each stage timed in turn, its peak RSS the process's high-water mark reset
  before the stage (``/proc/self/clear_refs``; what earlier stages still hold counts, as it would in a
  pipeline): ``export`` (store → arrays → ``HeteroData``), ``embed`` uncached (every item's text through
  MiniLM) and cached (the same call again), ``topics`` (``discovered``: k-means over the item vectors, then the
  topic graph), ``train`` with one full-batch epoch and with one mini-batch epoch (``--num-neighbors 10,10,10``,
  where the ``minibatch`` extra is installed, up to ``--mini-batch-max-interactions``) of ``graphrec-single``
  (BERT features + topics; a random split) — above ``--embed-max-items`` items the uncached embed is a 5,000-text
  sample's rate, extrapolated, and neither the features nor the topics are made, so the GNN timed is
  ``lightgcn-merged`` (ids only) —, the full-ranking ``evaluate`` of the test
  users, ``write-back`` (embeddings, top-20 and topic affinities) and in-process ``serve`` latency (one user's
  top-20, p50 / p99 over 200 users).

A full-batch epoch propagates the whole graph at every BPR step (``batch_size`` pairs), so its cost grows
with interactions × steps; above ``--full-batch-max-steps`` steps it is measured with fewer, larger steps and
the epoch at the default batch size extrapolated from the per-step time (flagged in the table).

Results: ``bench/results/scale.json`` (after every stage; a rerun skips what is there), the table and the
fitted growth exponents (slope of log time over log interactions) with ``--table``, the plot
``bench/results/scale.png``. Timings are not asserted anywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import REPO, neo4j_server  # bench/common.py (beside this script): also puts the repository root on sys.path

from graphrec.results import run_metadata

WORK = REPO / "bench" / ".work"
RESULTS = REPO / "bench" / "results" / "scale.json"
GRAPHREC = REPO / ".venv" / "bin" / "graphrec"
PYTHON = REPO / ".venv" / "bin" / "python"
STAGES = ("ingest", "bulk ingest", "export", "embed uncached", "embed cached", "topics", "train full-batch",
          "epoch full-batch", "train mini-batch", "epoch mini-batch", "evaluate", "write-back", "serve p50",
          "serve p99")  # fmt: skip
TARGET = "movies"  # the generator's first (largest) scenario


# --- results file ------------------------------------------------------------------------------------------
def load_results() -> dict[str, Any]:
    return json.loads(RESULTS.read_text()) if RESULTS.exists() else {"rows": [], "meta": {}}


def save_row(row: dict[str, Any]) -> None:
    """Add or replace the row of (size, store, stage)."""
    data = load_results()
    key = (row["size"], row["store"], row["stage"])
    meta = run_metadata(load_average=os.getloadavg())
    row = {**row, "git": meta.get("git"), "load_average": meta.get("load_average")}  # rows come from several runs
    data["rows"] = [r for r in data["rows"] if (r["size"], r["store"], r["stage"]) != key] + [row]
    data["meta"] = meta
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=1))
    extra = {k: v for k, v in row.items() if k not in ("size", "store", "stage", "seconds", "peak_mb", "git")}
    print(f"{row['size']:>5} {row['store']:<8} {row['stage']:<18} {row.get('seconds') or 0:10.2f} s "
          f"{row.get('peak_mb') or 0:9.0f} MB  {extra}", flush=True)  # fmt: skip


def done(size: str, store: str, stage: str) -> bool:
    return any((r["size"], r["store"], r["stage"]) == (size, store, stage) for r in load_results()["rows"])


# --- data, servers, timed processes ---------------------------------------------------------------------------
def dataset(size: str) -> tuple[Path, dict[str, Any]]:
    """The spec and manifest of the scale set of ``size`` (generated if missing)."""
    folder = WORK / "scale" / size
    if not (folder / "manifest.json").exists():
        subprocess.run([str(PYTHON), str(REPO / "bench" / "scale_data.py"), "--interactions", size, "--out",
                        str(folder)], check=True)  # fmt: skip
    return folder / "scale.toml", json.loads((folder / "manifest.json").read_text())


def timed(cmd: list[str], log: Path) -> tuple[float, float]:
    """Run ``cmd`` under GNU ``time``; returns (wall seconds, peak RSS MB). Raises on failure (log kept)."""
    stats = log.with_suffix(".time")
    with log.open("w") as out:
        proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", str(stats), *cmd], stdout=out,
                              stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}); log: {log}")
    wall, rss_kb = stats.read_text().split()[-2:]
    return float(wall), int(rss_kb) / 1024


def store_args(home: Path, uri: str | None) -> list[str]:
    return ["--home", str(home), *(["--uri", uri] if uri else []), "--no-progress"]


def has_bulk() -> bool:
    out = subprocess.run([str(GRAPHREC), "ingest", "--help"], capture_output=True, text=True)
    return "--bulk" in out.stdout


# --- the parent: per size and store ------------------------------------------------------------------------
def bench_size(size: str, stores: list[str], args: argparse.Namespace) -> None:
    spec, manifest = dataset(size)
    n = int(manifest["counts"]["interactions"])
    for store in stores:
        if store == "neo4j" and args.merge_sample_seconds:
            bench_neo4j_bulk_first(size, spec, n, args)
            continue
        home = WORK / "scale-homes" / f"{size}-{store}"
        with contextlib.ExitStack() as stack:
            uri = stack.enter_context(neo4j_server(home / "neo4j-run", args.neo4j_heap)) if store == "neo4j" else None
            if not done(size, store, "ingest"):
                if home.exists() and store == "arcadedb":  # a fresh graph: the ingest is timed from empty
                    shutil.rmtree(home)
                home.mkdir(parents=True, exist_ok=True)
                wall, rss = timed([str(GRAPHREC), *store_args(home, uri), "ingest", str(spec)], home / "ingest.log")
                save_row({"size": size, "store": store, "stage": "ingest", "seconds": wall, "peak_mb": rss,
                          "interactions": n, "relationships_per_s": n / wall,
                          "interactions_per_s": _reported_rate(home / "ingest.log")})  # fmt: skip
            if store == "neo4j" and not args.no_bulk and not done(size, store, "bulk ingest") and has_bulk():
                bulk_home = WORK / "scale-homes" / f"{size}-neo4j-bulk"
                shutil.rmtree(bulk_home, ignore_errors=True)
                with neo4j_server(bulk_home / "neo4j-run", args.neo4j_heap) as bulk_uri:
                    bulk_ingest_row(size, spec, n, bulk_home, bulk_uri)
            mini = _has_minibatch() and n <= args.mini_batch_max_interactions
            needed = ("export", "serve p99", *(("epoch mini-batch",) if mini else ()))
            if args.ingest_only or all(done(size, store, s) for s in needed):
                continue
            run_pipeline(size, store, home, uri, args)


def _reported_rate(log: Path) -> float | None:
    """The interaction write rate a finished ``graphrec ingest`` reports (``wrote interactions at N ...``, with
    ``--bulk``: ``bulk-imported interactions (files, server stop, import, restart, indexes) at N ...``)."""
    import re

    found = re.search(r"interactions (?:\(.*?\) )?at ([\d,.]+) relationships/s", log.read_text())
    return float(found.group(1).replace(",", "")) if found else None


def bulk_ingest_row(size: str, spec: Path, n: int, home: Path, uri: str) -> None:
    """``graphrec ingest SPEC --bulk`` into the empty Neo4j of ``home/neo4j-run`` (serving ``uri``), timed; its row."""
    wall, rss = timed([str(GRAPHREC), *store_args(home, uri), "ingest", str(spec), "--bulk",
                       "--neo4j-run-dir", str(home / "neo4j-run")], home / "ingest.log")  # fmt: skip
    save_row({"size": size, "store": "neo4j", "stage": "bulk ingest", "seconds": wall, "peak_mb": rss,
              "interactions": n, "relationships_per_s": n / wall,
              "interactions_per_s": _reported_rate(home / "ingest.log")})  # fmt: skip


def run_pipeline(size: str, store: str, home: Path, uri: str | None, args: argparse.Namespace) -> None:
    """Every stage after ingest, in a child process of its own (its log: ``<home>/pipeline.log``)."""
    cmd = [str(PYTHON), __file__, "_pipeline", "--size", size, "--store", store, "--home", str(home),
           "--embed-max-items", str(args.embed_max_items), "--full-batch-max-steps",
           str(args.full_batch_max_steps), "--mini-batch-max-interactions",
           str(args.mini_batch_max_interactions), "--skip", *args.skip]  # fmt: skip
    if uri:
        cmd += ["--uri", uri]
    with (home / "pipeline.log").open("w") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}).returncode  # fmt: skip
    if rc:
        print(f"{size} {store}: the pipeline stopped ({rc}); see {home / 'pipeline.log'}", flush=True)


def bench_neo4j_bulk_first(size: str, spec: Path, n: int, args: argparse.Namespace) -> None:
    """Neo4j where a full ``MERGE`` ingest would run for hours (``--merge-sample-seconds``): the ``MERGE``
    path's rate is sampled, the graph comes from the bulk path, and the other stages run on it.

    The sample: ``graphrec ingest`` into a server of its own for the given seconds, the count of
    ``INTERACTED`` relationships polled every 10 s; its rate is the slope over the samples taken while
    interactions were being written (the item and user stages before them excluded, which favours
    ``MERGE``: the bulk rate is over the whole command). The ``ingest`` row is that rate's projection.
    """
    import neo4j

    home = WORK / "scale-homes" / f"{size}-neo4j"
    if not done(size, "neo4j", "ingest"):
        sample_home = WORK / "scale-homes" / f"{size}-neo4j-merge-sample"
        shutil.rmtree(sample_home, ignore_errors=True)
        sample_home.mkdir(parents=True)
        with neo4j_server(sample_home / "neo4j-run", args.neo4j_heap) as uri:
            driver = neo4j.GraphDatabase.driver(uri, auth=None)
            cmd = [str(GRAPHREC), *store_args(sample_home, uri), "ingest", str(spec)]
            samples: list[tuple[float, int]] = []
            with (sample_home / "ingest.log").open("w") as log:
                t0 = time.perf_counter()
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "OMP_NUM_THREADS": "1"})  # fmt: skip
                try:
                    while proc.poll() is None and time.perf_counter() - t0 < args.merge_sample_seconds:
                        time.sleep(10)
                        count = driver.execute_query("MATCH ()-[r:INTERACTED]->() RETURN count(r) AS c").records[0]["c"]
                        samples.append((time.perf_counter() - t0, int(count)))
                finally:
                    proc.terminate()
                    proc.wait(timeout=120)
                wall = time.perf_counter() - t0
            driver.close()
        if proc.returncode == 0:  # it finished within the time: the whole ingest, at the rate it reports
            rate = _reported_rate(sample_home / "ingest.log")
            save_row({"size": size, "store": "neo4j", "stage": "ingest", "seconds": wall, "peak_mb": None,
                      "interactions": n, "relationships_per_s": n / wall,
                      "interactions_per_s": rate})  # fmt: skip
        else:
            writing = [(t, c) for t, c in samples if c > 0]
            if len(writing) < 3:
                raise SystemExit(f"{size}: {args.merge_sample_seconds} s reached too few interactions for a rate")
            import numpy as np

            rate = float(np.polyfit([t for t, _ in writing], [c for _, c in writing], 1)[0])
            before = writing[0][0] - writing[0][1] / rate  # when the interaction stage began
            save_row({"size": size, "store": "neo4j", "stage": "ingest", "seconds": before + n / rate,
                      "peak_mb": None, "interactions": n, "relationships_per_s": n / (before + n / rate),
                      "interactions_per_s": rate, "extrapolated_from": samples[-1][1],
                      "sampled_seconds": samples[-1][0], "before_interactions_s": before})  # fmt: skip
    if not done(size, "neo4j", "bulk ingest"):
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
    with neo4j_server(home / "neo4j-run", args.neo4j_heap) as uri:
        if not done(size, "neo4j", "bulk ingest"):
            bulk_ingest_row(size, spec, n, home, uri)
        if not args.ingest_only and not done(size, "neo4j", "serve p99"):
            run_pipeline(size, "neo4j", home, uri, args)


# --- the child: every stage after ingest, in one process ----------------------------------------------------
class Stage:
    """Times a stage and its peak RSS (the high-water mark reset at its start)."""

    def __init__(self, size: str, store: str, name: str, **extra: Any) -> None:
        self.row: dict[str, Any] = {"size": size, "store": store, "stage": name, **extra}

    def __enter__(self) -> Stage:
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.row.setdefault("seconds", time.perf_counter() - self.t0)
            self.row["peak_mb"] = peak_rss_mb()
            save_row(self.row)


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pipeline(args: argparse.Namespace) -> None:
    import numpy as np

    from graphrec import api
    from graphrec.data.export import export_graph, to_hetero_data
    from graphrec.home import embedding_cache_file, features_file
    from graphrec.store import cypher
    from graphrec.text.encoder import TextEncoder
    from graphrec.train.config import TrainConfig
    from ingest.api import build_topic_graph, extract_topics

    size, name, home = args.size, args.store, Path(args.home)
    with api.open_store(home=home, uri=args.uri) as store:
        with Stage(size, name, "export") as st:
            export = export_graph(store)
            to_hetero_data(export, export.interactions)
            st.row.update(interactions=int(export.interactions.shape[1]), users=len(export.user_ids),
                          items=len(export.item_keys))  # fmt: skip
        n_items, n_interactions = len(export.item_keys), int(export.interactions.shape[1])
        del export
        embedding_cache_file(home).unlink(missing_ok=True)  # uncached means uncached, on a rerun too
        features_file(home).unlink(missing_ok=True)
        if n_items <= args.embed_max_items:
            with Stage(size, name, "embed uncached", items=n_items):
                api.embed(store, home=home)
            with Stage(size, name, "embed cached", items=n_items):
                api.embed(store, home=home)
        else:  # a sample's rate, extrapolated; no features, so no topics, and the GNN trains on ids alone
            texts = [f"{r['title']} {r['text'] or ''}" for r in store.read(cypher.ITEM_TEXTS, {"scenarios": None})]
            sample = [texts[i] for i in np.random.default_rng(0).choice(len(texts), 5_000, replace=False)]
            encoder = TextEncoder(progress=False)
            encoder.encode(sample[:64])  # load the model outside the timing
            t0 = time.perf_counter()
            encoder.encode(sample)
            rate = len(sample) / (time.perf_counter() - t0)
            save_row({"size": size, "store": name, "stage": "embed uncached", "seconds": n_items / rate,
                      "peak_mb": peak_rss_mb(), "items": n_items, "extrapolated_from": len(sample)})  # fmt: skip
            del texts, sample, encoder
        knowledge = n_items <= args.embed_max_items
        model = "graphrec-single" if knowledge else "lightgcn-merged"
        if knowledge:
            with Stage(size, name, "topics") as st:
                report = extract_topics(store, method="discovered", home=home)
                build_topic_graph(store, home=home)
                st.row["topics"] = report.topics

        train_pairs = int(0.8 * n_interactions)  # the random split trains on about 80% of each user's
        steps = -(-train_pairs // TrainConfig().batch_size)
        full_cfg = TrainConfig(epochs=1, patience=1)
        extrapolate = steps > args.full_batch_max_steps
        if extrapolate:  # the same epoch in fewer, larger steps: per-step time × the default's steps
            full_cfg = TrainConfig(epochs=1, patience=1, batch_size=-(-train_pairs // args.full_batch_max_steps))
        evaluate = "evaluate" not in args.skip
        # without evaluation nothing is held out (``split="none"``, no refit): no validation pass either
        split, refit = ("random", None) if evaluate else ("none", False)
        with Stage(size, name, "train full-batch", model=model, split=split) as st:
            run = api.train(store, target=TARGET, model=model, split=split, refit=refit, config=full_cfg,
                            features=features_file(home) if knowledge else None, home=home)  # fmt: skip
        spe = _seconds_per_epoch(run)
        if extrapolate:
            used = -(-train_pairs // full_cfg.batch_size)
            save_row({"size": size, "store": name, "stage": "epoch full-batch", "seconds": spe / used * steps,
                      "peak_mb": st.row["peak_mb"], "steps": steps, "extrapolated_from_steps": used})  # fmt: skip
        else:
            save_row({"size": size, "store": name, "stage": "epoch full-batch", "seconds": spe,
                      "peak_mb": st.row["peak_mb"], "steps": steps})  # fmt: skip
        if evaluate:
            with Stage(size, name, "evaluate"):
                metrics = run.evaluate()
            save_row({"size": size, "store": name, "stage": "quality", "seconds": None, "peak_mb": None,
                      "recall@20": {s: m.get("recall@20") for s, m in metrics.items()}})  # fmt: skip
        folder = run.save(home=home)
        if "write-back" not in args.skip:
            with Stage(size, name, "write-back"):
                run.write_back(store)
        _serve(size, name, folder)
        if _has_minibatch() and n_interactions <= args.mini_batch_max_interactions:
            with Stage(size, name, "train mini-batch", model=model, num_neighbors="10,10,10"):
                mini = api.train(store, target=TARGET, model=model, split="random",
                                 config=TrainConfig(epochs=1, patience=1, num_neighbors=(10, 10, 10)),
                                 features=features_file(home) if knowledge else None, home=home)  # fmt: skip
            save_row({"size": size, "store": name, "stage": "epoch mini-batch", "seconds": _seconds_per_epoch(mini),
                      "peak_mb": None})  # fmt: skip


def _seconds_per_epoch(run: Any) -> float:
    """Training seconds of the run's epoch (validation excluded), as its record keeps them."""
    return float(run.record.metrics.get("seconds_per_epoch") or math.nan)


def _has_minibatch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch_sparse") is not None


def _serve(size: str, store: str, folder: Path) -> None:
    """p50 / p99 of one user's top-20 from the run folder, in process (the service's ranking)."""
    import numpy as np

    from graphrec.serve.service import ServedRun
    from graphrec.train.rundir import load_run

    served = ServedRun(load_run(folder))
    users = list(np.random.default_rng(0).choice(served.record.user_ids, 200, replace=False))
    served.recommend(users[:5], k=20)
    lat = []
    for u in users:
        t0 = time.perf_counter()
        served.recommend([u], k=20)
        lat.append(time.perf_counter() - t0)
    lat.sort()
    for q, stage in ((0.5, "serve p50"), (0.99, "serve p99")):
        save_row({"size": size, "store": store, "stage": stage, "seconds": lat[min(len(lat) - 1, int(q * len(lat)))],
                  "peak_mb": None, "items": len(served.record.item_keys)})  # fmt: skip


# --- the table ----------------------------------------------------------------------------------------------
def table() -> None:
    """The per-stage table, growth exponents and the log-log plot, from the JSON."""
    import numpy as np

    rows = [r for r in load_results()["rows"] if r.get("seconds") is not None]
    sizes = sorted({r["size"] for r in rows}, key=lambda s: _interactions(s))
    stores = sorted({r["store"] for r in rows})
    print("| stage | store | " + " | ".join(f"{s} s (MB)" for s in sizes) + " | exponent |")
    print("|---|---|" + "---:|" * (len(sizes) + 1))
    series: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for stage in STAGES:
        for store in stores:
            cells, pts = [], []
            for size in sizes:
                r = next((r for r in rows if (r["size"], r["store"], r["stage"]) == (size, store, stage)), None)
                if r is None:
                    cells.append("")
                    continue
                flag = "*" if "extrapolated_from" in r or "extrapolated_from_steps" in r else ""
                mem = f" ({r['peak_mb']:,.0f})" if r.get("peak_mb") else ""
                cells.append(f"{r['seconds']:,.3g}{flag}{mem}")
                pts.append((_interactions(size), float(r["seconds"])))
            if not pts:
                continue
            slope = np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)[0] if len(pts) > 1 else None
            series[(stage, store)] = pts
            exponent = f"{slope:.2f}" if slope is not None else ""
            print(f"| {stage} | {store} | " + " | ".join(cells) + f" | {exponent} |")
    _plot(series)


def _interactions(size: str) -> int:
    from ingest.sources.scale import parse_count

    return parse_count(size)


def _plot(series: dict[tuple[str, str], list[tuple[int, float]]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {key: pts for key, pts in series.items() if len(pts) > 1}
    if not series:
        return
    fig, ax = plt.subplots(figsize=(8, 6))
    for (stage, store), pts in series.items():
        ax.loglog([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"{stage} ({store})")
    ax.set_xlabel("interactions")
    ax.set_ylabel("seconds")
    ax.set_title("graphrec: cost per stage vs graph size")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(RESULTS.with_suffix(".png"), dpi=120)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", nargs="?", default="bench", choices=("bench", "_pipeline"))
    p.add_argument("--sizes", nargs="+", default=["100k", "1M"])
    p.add_argument("--stores", nargs="+", default=["neo4j", "arcadedb"], choices=("neo4j", "arcadedb"))
    p.add_argument("--neo4j-heap", default="4g", help="heap of the benchmark's Neo4j servers (default 4g)")
    p.add_argument("--embed-max-items", type=int, default=100_000, help="above: the uncached embed from a sample")
    p.add_argument(
        "--mini-batch-max-interactions",
        type=int,
        default=2_000_000,
        help="above: no mini-batch epoch (its time per batch is linear; see the smaller sizes)",
    )
    p.add_argument("--full-batch-max-steps", type=int, default=400, help="above: a full-batch epoch extrapolated")
    p.add_argument("--ingest-only", action="store_true")
    p.add_argument(
        "--merge-sample-seconds",
        type=int,
        default=0,
        help="Neo4j: sample the MERGE ingest's rate for this long instead of a full MERGE ingest, and run the "
        "other stages on the bulk-loaded graph (for 10M, where the MERGE ingest runs for hours)",
    )
    p.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=("evaluate", "write-back"),
        help="stages left out (e.g. at 10M, where a full ranking of 500k users or a write-back of every user's "
        "top-20 runs for hours; training then holds nothing out: split none, no validation)",
    )
    p.add_argument("--no-bulk", action="store_true")
    p.add_argument("--table", action="store_true")
    # the child's
    p.add_argument("--size")
    p.add_argument("--store")
    p.add_argument("--home")
    p.add_argument("--uri")
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill stops the servers (their ``finally``)
    if args.table:
        table()
    elif args.what == "_pipeline":
        pipeline(args)
    else:
        for size in args.sizes:
            bench_size(size, args.stores, args)
        table()


if __name__ == "__main__":
    main(sys.argv[1:])
