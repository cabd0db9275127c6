"""Ctrl-C and diverged training, for real, on both stores (issue 11 items 7 and 11, and the SIGINT part
of the kill matrix): a ``graphrec train`` process gets SIGINT mid-training, another mid-write-back, then
the ``graphrec write-back`` that finishes it gets one too; each ends with one clear line and exit code
130, leaves no run folder that later commands would take for a complete one, and a rerun ends with
exactly k RECOMMENDED edges per user, the configured INTERESTED_IN edges, an embedding on every user and
item, and nothing twice. ``train --lr 1e30`` stops with the fix
and writes nothing.

The interrupts land at observed points, not after a sleep: training is interrupted once its log shows
epoch 2 (of 1,000), the write-back once the graph holds its first RECOMMENDED (or INTERESTED_IN) edges
(written 5 or 2 rows per transaction, so over a hundred transactions remain). The graph is watched
through one connection opened before the command starts, so a check costs one query, not a connection.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphrec.cli import cli
from graphrec.home import runs_dir
from graphrec.store.bolt import GraphStore
from graphrec.store.connect import StoreConfig, open_store
from graphrec.train.rundir import is_complete, load_run
from ingest.sources.synthetic import generate
from tests.helpers import cli_args

K, TOPICS = 5, 3
TRAIN = ["train", "--target", "books", "--source", "movies", "--model", "lightgcn-merged", "--dim", "16",
         "-k", str(K), "--topics-per-user", str(TOPICS)]  # fmt: skip


def invoke(cfg: StoreConfig, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli, [*cli_args(cfg), *args])
    assert result.exit_code == code, result.output
    return result.stdout if code == 0 else result.stderr


@pytest.fixture
def graph(store_config: StoreConfig, tmp_path: Path) -> StoreConfig:
    """120 synthetic users, 60 movies and 60 books, and the items' themes as metadata topics."""
    files = generate(tmp_path / "data", seed=3, users=120, items_per_scenario=60)
    invoke(store_config, "ingest", str(files.spec))
    invoke(store_config, "topics", "extract", "--method", "metadata")
    return store_config


def count(store: GraphStore, query: str, **params: object) -> int:
    """The ``n`` that ``query`` returns, read through an open ``store``."""
    return int(store.read(query, params)[0]["n"])


def one(cfg: StoreConfig, query: str, **params: object) -> int:
    """:func:`count` through a connection of its own."""
    with open_store(cfg, ensure_schema=False) as store:
        return count(store, query, **params)


def assert_written_back(cfg: StoreConfig, run: str) -> None:
    """Exactly the complete write-back of ``run``: k books per user, TOPICS interests per user, every
    user and item embedded, all edges of ``run``, none twice."""
    with open_store(cfg, ensure_schema=False) as store:
        users = store.read("MATCH (u:User) RETURN count(u) AS n")[0]["n"]
        per_user = (
            "MATCH (u:User)-[r:{rel}]->(x) WITH u, count(r) AS n, count(DISTINCT x) AS targets "
            "RETURN count(u) AS users, min(n) AS lo, max(n) AS hi, sum(n) AS total, sum(targets) AS distinct_targets"
        )
        recs = store.read(per_user.format(rel="RECOMMENDED"))[0]
        assert recs == {"users": users, "lo": K, "hi": K, "total": K * users, "distinct_targets": K * users}
        interests = store.read(per_user.format(rel="INTERESTED_IN"))[0]
        assert interests == {
            "users": users,
            "lo": TOPICS,
            "hi": TOPICS,
            "total": TOPICS * users,
            "distinct_targets": TOPICS * users,
        }
        kinds = store.read(
            "MATCH ()-[r:RECOMMENDED|INTERESTED_IN]->(x) RETURN type(r) AS rel, collect(DISTINCT r.run) AS runs, "
            "collect(DISTINCT x.scenario) AS scenarios ORDER BY rel"
        )
        assert kinds == [{"rel": "INTERESTED_IN", "runs": [run], "scenarios": []},
                         {"rel": "RECOMMENDED", "runs": [run], "scenarios": ["books"]}]  # fmt: skip
        for label in ("User", "Item"):
            missing = store.read(
                f"MATCH (n:{label}) WHERE n.embedding IS NULL OR size(n.embedding) <> 16 RETURN count(n) AS n"
            )
            assert missing[0]["n"] == 0, label


def interrupt_when(
    cfg: StoreConfig, args: list[str], ready: Callable[[str], bool], *, timeout: float = 180
) -> tuple[int, str]:
    """Run ``graphrec -v ARGS`` in a subprocess, send it SIGINT as soon as ``ready(stderr so far)`` is
    true, and return its exit code and stderr. Fails if the command ends before that."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphrec", *cli_args(cfg), "-v", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    deadline = time.monotonic() + timeout
    try:
        while not ready("".join(lines)):
            assert proc.poll() is None, (
                f"the command ended (rc {proc.returncode}) before the interrupt:\n{''.join(lines)[-3000:]}"
            )
            assert time.monotonic() < deadline, f"no interrupt point within {timeout} s:\n{''.join(lines)[-3000:]}"
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    return rc, "".join(lines)


def assert_clear_interrupt(rc: int, stderr: str, message: str) -> None:
    assert rc == 130, stderr[-3000:]
    assert f"error: interrupted (Ctrl-C) {message}" in stderr, stderr[-3000:]
    for bad in ("Traceback", "lost the connection", "restart the server", "Aborted!"):
        assert bad not in stderr, stderr[-3000:]


def test_sigint_during_training_saves_nothing_and_a_rerun_completes(graph: StoreConfig) -> None:
    runs = runs_dir(graph.home)
    before = sorted(runs.iterdir()) if runs.exists() else []
    rc, stderr = interrupt_when(
        graph, [*TRAIN, "--epochs", "1000", "--patience", "1000"], lambda err: "epoch 2 loss" in err
    )
    assert_clear_interrupt(rc, stderr, "while training: no run was saved and nothing was written to the graph")
    assert "epoch 999" not in stderr
    # no folder left behind (the command removed the one it had created), nothing written back
    assert (sorted(runs.iterdir()) if runs.exists() else []) == before
    assert one(graph, "MATCH ()-[r:RECOMMENDED|INTERESTED_IN]->() RETURN count(r) AS n") == 0
    assert one(graph, "MATCH (u:User) WHERE u.embedding IS NOT NULL RETURN count(u) AS n") == 0
    # the rerun (the per-home write lock of the interrupted command is gone) ends complete
    out = invoke(graph, *TRAIN, "--epochs", "3")
    run = Path(out.split("run: ")[1].split()[0])
    assert is_complete(run)
    assert_written_back(graph, load_run(run).name)


def test_sigint_during_write_back_then_write_back_completes(graph: StoreConfig, tmp_path: Path) -> None:
    first = tmp_path / "first"
    invoke(graph, *TRAIN, "--epochs", "2", "--out", str(first))
    assert_written_back(graph, first.name)
    second = tmp_path / "second"
    new_edges = "MATCH ()-[r:RECOMMENDED]->() WHERE r.run = $run RETURN count(r) AS n"
    with open_store(graph, ensure_schema=False) as probe:  # 600 edges, 5 per transaction
        rc, stderr = interrupt_when(
            graph, [*TRAIN, "--epochs", "2", "--write-batch-size", "5", "--out", str(second)],
            lambda err: "RECOMMENDED into books" in err and count(probe, new_edges, run=second.name) > 0,
        )  # fmt: skip
    assert_clear_interrupt(
        rc, stderr, f"during the write-back of run {second.name}: the run folder {second} is complete"
    )
    advised = re.search(r"Finish with `graphrec (.+?)`; it replaces what was written", stderr)
    assert advised, stderr
    advised_args = shlex.split(advised.group(1))  # the same home and store, run, scenario, k and topics per user
    write_back = [
        "write-back",
        "--run",
        str(second),
        "--scenario",
        "books",
        "-k",
        str(K),
        "--topics-per-user",
        str(TOPICS),
    ]
    assert advised_args == [f"--home={graph.home}", *([f"--uri={graph.uri}"] if graph.uri else []), *write_back]
    # interrupted mid-way: part of the new run's edges are there, and the run folder is complete
    written = one(graph, new_edges, run=second.name)
    users = one(graph, "MATCH (u:User) RETURN count(u) AS n")
    assert 0 < written < K * users
    assert load_run(second).name == second.name
    # the advised command, interrupted in turn (in its INTERESTED_IN stage), says the same
    new_interests = "MATCH ()-[r:INTERESTED_IN]->() WHERE r.run = $run RETURN count(r) AS n"
    assert one(graph, new_interests, run=second.name) == 0
    with open_store(graph, ensure_schema=False) as probe:  # 360 edges, 2 per transaction
        rc, stderr = interrupt_when(
            graph, [*write_back, "--batch-size", "2"],
            lambda err: f"write-back of {second.name}: INTERESTED_IN" in err
            and count(probe, new_interests, run=second.name) > 0,
        )  # fmt: skip
    assert_clear_interrupt(rc, stderr, f"during the write-back of run {second.name}")
    assert 0 < one(graph, new_interests, run=second.name) < TOPICS * users
    # uninterrupted, it finishes: exactly the second run's results, the first run's all replaced
    out = invoke(graph, *write_back)
    assert f"write-back ({second.name})" in out
    assert_written_back(graph, second.name)


def test_diverged_training_stops_with_the_fix_and_writes_nothing(graph: StoreConfig, tmp_path: Path) -> None:
    out = tmp_path / "diverged"
    err = invoke(graph, *TRAIN, "--lr", "1e30", "--epochs", "5", "--out", str(out), code=1)
    assert re.match(r"error: training diverged: the BPR loss is nan after epoch \d with learning rate 1e\+30;", err), (
        err
    )
    assert "Lower the learning rate (graphrec train --lr" in err and "Traceback" not in err
    assert not out.exists()  # the command created the folder and removed it
    assert one(graph, "MATCH ()-[r:RECOMMENDED|INTERESTED_IN]->() RETURN count(r) AS n") == 0
    assert one(graph, "MATCH (n) WHERE n.embedding IS NOT NULL RETURN count(n) AS n") == 0
