"""Two versions of ``graphrec serve`` side by side: the code of a git commit (in a temporary worktree) and the
working tree, alternating rounds on the same synthetic run, HTTP p50/p99 and requests/s per concurrency level.

    OMP_NUM_THREADS=1 .venv/bin/python bench/serve_ab.py --before HEAD --rounds 3
    OMP_NUM_THREADS=1 .venv/bin/python bench/serve_ab.py --before a3728e5 --clients 8 --http-requests 4000

The run, the service command and the load generator are ``bench/serve_bench.py``'s (100,000 items, 20,000
users, 64-d; ``graphrec serve --run DIR --no-store``; N client threads in this process, one persistent
connection each, ``GET /recommend?user=…&k=20`` back to back). The "before" service is the same command with
``PYTHONPATH`` on the worktree, so it runs that commit's ``graphrec`` with this environment's packages. Each
round starts both services afresh, in alternating order (before first in odd rounds), and loads each at every
level after a warm-up. Results (every round, and the means) go to ``--out``; timings are asserted nowhere.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from common import REPO  # bench/common.py: also puts the repository root on sys.path
from serve_bench import http_load, peak_rss_mb, start_service, synthetic_run

from graphrec.results import run_metadata
from graphrec.store.arcade_process import free_port


def measure(home: Path, run_dir: Path, users: list[str], levels: list[int], requests: int,
            pythonpath: Path | None) -> dict[str, Any]:  # fmt: skip
    port = free_port()
    proc = start_service(home, run_dir, port, pythonpath=pythonpath)
    try:
        out: dict[str, Any] = {"load_average_before": list(os.getloadavg())}
        for c in levels:
            http_load(port, users, clients=c, requests=min(requests, 500), k=20)  # warm-up at this level
            out[f"clients_{c}"] = http_load(port, users, clients=c, requests=requests, k=20)
        out["peak_rss_mb"] = peak_rss_mb(proc.pid)
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _line(clients: int, f: dict[str, Any]) -> str:
    return f"{clients} clients p50 {f['p50_ms']:.2f} p99 {f['p99_ms']:.2f} {f['requests_per_s']:.0f}/s"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", default="HEAD", help="the commit to compare the working tree with")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--clients", default="1,8,32", help="concurrency levels, comma-separated")
    p.add_argument("--http-requests", type=int, default=3000, help="timed requests per level and round")
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--users", type=int, default=20_000)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "serve_ab.json")
    args = p.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    before = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", args.before], check=True,
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="graphrec-serve-ab-") as tmp:
        home, tree = Path(tmp) / "home", Path(tmp) / "before"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), before], check=True,
                       capture_output=True)  # fmt: skip
        try:
            home.mkdir()
            run_dir = synthetic_run(home / "runs" / "synthetic", n_users=args.users, n_items=args.items, dim=64,
                                    per_user=30, seed=0)  # fmt: skip
            users = [f"u{k}" for k in range(0, args.users, max(1, args.users // 4000))]
            for r in range(1, args.rounds + 1):
                order = [("before", tree), ("after", None)] if r % 2 else [("after", None), ("before", tree)]
                for code, path in order:
                    figures = measure(home, run_dir, users, levels, args.http_requests, path)
                    rows.append({"round": r, "code": code, **figures})
                    shown = ", ".join(_line(c, figures[f"clients_{c}"]) for c in levels)
                    print(f"round {r} {code}: {shown}", flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
    means = {
        code: {
            f"clients_{c}": {
                key: statistics.mean(row[f"clients_{c}"][key] for row in rows if row["code"] == code)
                for key in ("p50_ms", "p99_ms", "requests_per_s")
            }
            for c in levels
        }
        for code in ("before", "after")
    }
    for c in levels:
        b, a = means["before"][f"clients_{c}"], means["after"][f"clients_{c}"]
        p99, rate = a["p99_ms"] / b["p99_ms"], a["requests_per_s"] / b["requests_per_s"]
        print(f"{c} clients: p99 {b['p99_ms']:.2f} -> {a['p99_ms']:.2f} ms ({p99:.2f}x), "
              f"{b['requests_per_s']:.0f} -> {a['requests_per_s']:.0f} req/s ({rate:.2f}x)")  # fmt: skip
    result = {"benchmark": "serve_ab", "before": before, "after": "working tree", **run_metadata(),
              "settings": vars(args) | {"out": str(args.out)}, "rounds": rows, "means": means}  # fmt: skip
    args.out.write_text(json.dumps(result, indent=1, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
