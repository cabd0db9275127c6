"""Serving benchmark: top-20 latency for one user over 100k synthetic items in-process and over HTTP
(``graphrec serve``), and ``graphrec recommend`` for 1,000 users end to end, with memory peaks.

    .venv/bin/python bench/serve_bench.py                       # 100k items, 20k users, 64-d
    .venv/bin/python bench/serve_bench.py --items 10000 --queries 200   # smaller

A synthetic run folder (random embeddings, 30 random interactions per user) is written with
graphrec's own run-folder code (``save_embeddings`` / ``save_split``) into a temporary graphrec home.

* In-process, one user per call: :func:`graphrec.serve.recommend.recommend` (the function behind
  ``graphrec recommend``: excludes the user's known items, ranks the scenario's items) against the
  floor a hand-written server would have — NumPy ``item @ user``, known items masked, ``argpartition``
  top-20 — on the same run and users. p50 / p99 over ``--queries`` users after a warm-up.
* In-process, 1,000 users in one call (chunked scoring).
* The CLI: ``graphrec recommend --run DIR --users FILE -k 20 --output recs.csv`` for 1,000 users, as a
  subprocess (interpreter start, imports, loading the run, ranking, writing the CSV), best of
  ``--repeats``; its peak RSS from GNU ``/usr/bin/time`` (absent: not reported).
* The service: ``graphrec serve --run DIR --no-store`` on a free loopback port, and a bounded load
  generator in this process: at each of ``--clients`` (default 1, 8, 32) that many threads, each with
  one persistent ``http.client`` connection, send ``GET /recommend?user=…&k=20`` back to back (a closed
  loop: every client waits for its answer) until ``--http-requests`` have been answered; p50 / p99 of
  the request latencies seen by the clients, next to the in-process figures as a ratio, and the service
  process's peak RSS (``VmHWM`` of ``/proc/<pid>/status``). The load generator shares the machine's
  cores with the service (and with whatever else runs: the load average is recorded).

Results go to ``bench/results/serve.json``; timings are not asserted anywhere.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from common import REPO  # bench/common.py (beside this script): also puts the repository root on sys.path

from graphrec.results import run_metadata


def synthetic_run(folder: Path, *, n_users: int, n_items: int, dim: int, per_user: int, seed: int) -> Path:
    """Write a run folder with random embeddings and ``per_user`` random training items per user."""
    import numpy as np

    from graphrec.train.rundir import CONFIG_FILE, METRICS_FILE, save_embeddings, save_split

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    emb = {
        "user": rng.standard_normal((n_users, dim), dtype=np.float32),
        "item": rng.standard_normal((n_items, dim), dtype=np.float32),
        "topic": np.zeros((0, dim), dtype=np.float32),
    }
    users = np.repeat(np.arange(n_users), per_user)
    items = rng.integers(0, n_items, size=len(users))
    train = np.unique(np.stack([users, items]), axis=1).astype(np.int64)
    empty = np.zeros((2, 0), dtype=np.int64)
    save_embeddings(folder, emb, user_ids=[f"u{k}" for k in range(n_users)],
                    item_keys=[("items", f"i{k}") for k in range(n_items)], topic_ids=[])  # fmt: skip
    save_split(folder, train, empty, empty.copy(), {})
    (folder / CONFIG_FILE).write_text(json.dumps({"target": "items", "model": {"name": "synthetic"}}))
    (folder / METRICS_FILE).write_text(json.dumps({"metrics": {}}))
    return folder


def percentiles(seconds: list[float]) -> dict[str, float]:
    """p50 / p99 / mean in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50_ms": ms[len(ms) // 2],
        "p99_ms": ms[min(len(ms) - 1, int(len(ms) * 0.99))],
        "mean_ms": statistics.mean(ms),
    }


def numpy_floor(run: Any, rows: list[int], k: int) -> list[float]:
    """Per-user latency of the hand-written NumPy top-k (known items masked)."""
    import numpy as np

    known = {r: np.fromiter(items, dtype=np.int64) for r, items in run.known_items(rows).items()}
    out = []
    for r in rows:
        t0 = time.perf_counter()
        scores = run.item @ run.user[r]
        scores[known[r]] = -np.inf
        top = np.argpartition(-scores, k)[:k]
        top = top[np.argsort(-scores[top])]
        out.append(time.perf_counter() - t0)
    return out


def peak_rss_mb(pid: int) -> float | None:
    """``VmHWM`` (peak resident set) of a running process in MB, from ``/proc``; ``None`` elsewhere."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    found = [line.split()[1] for line in lines if line.startswith("VmHWM:")]
    return int(found[0]) / 1024 if found else None


def start_service(
    home: Path, run_dir: Path, port: int, *, pythonpath: Path | None = None
) -> subprocess.Popen[bytes]:  # fmt: skip
    """``graphrec serve --run RUN_DIR --no-store`` on ``port``; returns once ``/readyz`` answers 200.

    ``pythonpath``: run the ``graphrec`` of that source tree (e.g. a worktree of an older commit) with
    this environment's packages, instead of the installed one.
    """
    cmd = [str(REPO / ".venv" / "bin" / "graphrec"), "--home", str(home), "--no-progress", "serve", "--run",
           str(run_dir), "--no-store", "--port", str(port)]  # fmt: skip
    env = dict(os.environ) | ({"PYTHONPATH": str(pythonpath)} if pythonpath is not None else {})
    log_path = home / f"serve-{port}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=pythonpath or REPO)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"graphrec serve exited: {log_path.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
            conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"graphrec serve not ready after 300 s: {log_path.read_text()}")


def http_load(port: int, users: list[str], *, clients: int, requests: int, k: int) -> dict[str, Any]:
    """``clients`` threads, one persistent connection each, ``GET /recommend`` back to back until
    ``requests`` answers in all (after 5 warm-up requests per client): latency percentiles, throughput,
    failures."""
    per_client = max(1, requests // clients)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    ready = threading.Barrier(clients + 1)

    def client(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = users[c::clients] or users

        def one(n: int) -> None:
            conn.request("GET", f"/recommend?user={mine[n % len(mine)]}&k={k}")
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                failures.append(f"{resp.status} {body[:200]!r}")

        for n in range(5):
            one(n)
        ready.wait()
        out = latencies[c]
        for n in range(per_client):
            t0 = time.perf_counter()
            one(n + 5)
            out.append(time.perf_counter() - t0)
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    flat = [x for xs in latencies for x in xs]
    return {**percentiles(flat), "requests": len(flat), "seconds": wall, "requests_per_s": len(flat) / wall,
            "failures": len(failures), "failure_examples": failures[:3]}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--users", type=int, default=20_000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--per-user", type=int, default=30, help="known items per user (excluded from the top-k)")
    p.add_argument("--queries", type=int, default=1000, help="single-user calls timed")
    p.add_argument("--batch", type=int, default=1000, help="users of the batch call and the CLI run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--clients", default="1,8,32", help="concurrent HTTP clients, comma-separated levels")
    p.add_argument("--http-requests", type=int, default=2000, help="timed HTTP requests per concurrency level")
    p.add_argument("--no-http", action="store_true", help="skip the graphrec serve measurements")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "serve.json")
    args = p.parse_args(argv)

    import numpy as np
    import torch

    from graphrec.serve.recommend import recommend
    from graphrec.serve.service import ServedRun
    from graphrec.store.arcade_process import free_port
    from graphrec.train.rundir import load_run

    if args.threads:
        torch.set_num_threads(args.threads)
    k = 20
    with tempfile.TemporaryDirectory(prefix="graphrec-serve-") as tmp:
        home = Path(tmp)
        run_dir = synthetic_run(home / "runs" / "train-synthetic", n_users=args.users, n_items=args.items, dim=args.dim,
                                per_user=args.per_user, seed=0)  # fmt: skip
        run = load_run(run_dir)
        rng = np.random.default_rng(1)
        rows = rng.choice(len(run.user_ids), size=args.queries, replace=False).tolist()
        ids = [run.user_ids[r] for r in rows]
        for u in ids[:20]:  # warm-up
            recommend(run, [u], scenario="items", k=k)
        single = []
        for u in ids:
            t0 = time.perf_counter()
            recommend(run, [u], scenario="items", k=k)
            single.append(time.perf_counter() - t0)
        floor = numpy_floor(run, rows, k)
        served = ServedRun(run)  # the service's own ranking, in-process
        for u in ids[:20]:
            served.recommend([u], k=k)
        core = []
        for u in ids:
            t0 = time.perf_counter()
            served.recommend([u], k=k)
            core.append(time.perf_counter() - t0)
        del served
        batch_ids = [run.user_ids[r] for r in rng.choice(len(run.user_ids), size=args.batch, replace=False).tolist()]
        batch = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            recs = recommend(run, batch_ids, scenario="items", k=k)
            batch.append(time.perf_counter() - t0)
        assert len(recs.rows) == k * len(batch_ids)
        users_file = home / "users.txt"
        users_file.write_text("\n".join(batch_ids) + "\n")
        cli, cli_peaks = [], []
        cmd = [str(REPO / ".venv" / "bin" / "graphrec"), "--home", str(home), "--no-progress", "recommend",
               "--run", str(run_dir), "--users", str(users_file), "-k", str(k),
               "--output", str(home / "recs.csv")]  # fmt: skip
        # the CLI's own peak RSS from GNU time (getrusage(RUSAGE_CHILDREN) would count this process's
        # pages, which a forked child holds until it execs)
        timer = ["/usr/bin/time", "-f", "peak_kb=%M"] if Path("/usr/bin/time").exists() else []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            done = subprocess.run(timer + cmd, check=True, capture_output=True, text=True)
            cli.append(time.perf_counter() - t0)
            peak = [line for line in done.stderr.splitlines() if line.startswith("peak_kb=")]
            if peak:
                cli_peaks.append(int(peak[-1].removeprefix("peak_kb=")) / 1024)
        lines = (home / "recs.csv").read_text().count("\n")
        assert lines == k * len(batch_ids) + 1, lines
        service: dict[str, Any] = {}
        if not args.no_http:
            port = free_port()
            load_before = os.getloadavg()
            proc = start_service(home, run_dir, port)
            try:
                service["idle_rss_mb"] = peak_rss_mb(proc.pid)
                for clients in [int(c) for c in args.clients.split(",")]:
                    service[f"clients_{clients}"] = http_load(
                        port, ids, clients=clients, requests=args.http_requests, k=k
                    )
                    print(f"{clients} clients: {service[f'clients_{clients}']}", flush=True)
                service["peak_rss_mb"] = peak_rss_mb(proc.pid)
            finally:
                proc.terminate()
                proc.wait(timeout=60)
            service["load_average_before"] = load_before
            service["load_average_after"] = os.getloadavg()
    child_peak_mb = max(cli_peaks) if cli_peaks else None
    self_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "config": vars(args) | {"out": str(args.out)}, "threads": torch.get_num_threads(), "meta": run_metadata(),
        "single_user": {"graphrec.recommend": percentiles(single), "numpy floor": percentiles(floor),
                        "service core (ServedRun.recommend)": percentiles(core)},
        "http": service,
        "batch_seconds": min(batch), "batch_users": len(batch_ids),
        "cli_seconds": min(cli), "cli_users": len(batch_ids), "cli_peak_rss_mb": child_peak_mb,
        "in_process_peak_rss_mb": self_peak_mb,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str))
    g, f = result["single_user"]["graphrec.recommend"], result["single_user"]["numpy floor"]
    print(f"| top-{k}, one user, {args.items:,} items | p50 ms | p99 ms |\n|---|---|---|")
    print(f"| graphrec.serve.recommend | {g['p50_ms']:.2f} | {g['p99_ms']:.2f} |")
    print(f"| NumPy floor (matmul + mask + argpartition) | {f['p50_ms']:.2f} | {f['p99_ms']:.2f} |")
    print(f"| ratio graphrec / floor | {g['p50_ms'] / f['p50_ms']:.2f}× | {g['p99_ms'] / f['p99_ms']:.2f}× |")
    c = result["single_user"]["service core (ServedRun.recommend)"]
    print(f"| service core in-process (ServedRun.recommend) | {c['p50_ms']:.2f} | {c['p99_ms']:.2f} |")
    for name, h in service.items():
        if name.startswith("clients_"):
            print(
                f"| HTTP GET /recommend, {name.removeprefix('clients_')} concurrent client(s) "
                f"({h['requests_per_s']:.0f} req/s, {h['failures']} failed) | {h['p50_ms']:.2f} | {h['p99_ms']:.2f} |"
                f" ratio to the core in-process: {h['p50_ms'] / c['p50_ms']:.1f}× / {h['p99_ms'] / c['p99_ms']:.1f}×"
            )
    if service:
        print(
            f"service process peak RSS {service.get('peak_rss_mb') or float('nan'):.0f} MB (idle after loading "
            f"{service.get('idle_rss_mb') or float('nan'):.0f} MB); load average before / after "
            f"{service['load_average_before']} / {service['load_average_after']}"
        )
    print(f"\nbatch of {len(batch_ids)} users in-process: {min(batch):.3f} s; `graphrec recommend` CLI for "
          f"{len(batch_ids)} users: {min(cli):.2f} s (peak RSS {child_peak_mb or float('nan'):.0f} MB); "
          f"in-process peak RSS {self_peak_mb:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
