"""Concurrent graphrec commands on one home, as real processes on a real embedded ArcadeDB.

Timing is made deterministic without sleeps: a command started through :data:`PAUSED_CLI`
is the real CLI, except that it stops itself (SIGSTOP) right after it has joined the embedded
server (``EmbeddedArcadeDB.attach``); the test continues it (SIGCONT) when it wants. The
write lock is taken before the store opens, so a paused writer also holds the write lock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphrec.store.arcade_process import pid_alive

pytestmark = pytest.mark.arcadedb  # the commands start the embedded server themselves

PAUSED_CLI = """
import os, signal, sys
import graphrec.store.arcade as arcade
_attach = arcade.EmbeddedArcadeDB.attach
def attach(self):
    client = _attach(self)
    os.kill(os.getpid(), signal.SIGSTOP)  # joined the server: wait for the test's SIGCONT
    return client
arcade.EmbeddedArcadeDB.attach = attach
sys.argv[0] = "graphrec"
from graphrec.cli import cli
cli(prog_name="graphrec")
"""

STARTING_CLI = """
import os, signal, sys
import graphrec.store.arcade as arcade
_wait = arcade.EmbeddedArcadeDB._wait_for_bolt
def wait_for_bolt(self, info, *, proc, log_offset=None):
    if proc is not None:  # this command started the JVM and waits for it: stop here
        os.kill(os.getpid(), signal.SIGSTOP)
    return _wait(self, info, proc=proc, log_offset=log_offset)
arcade.EmbeddedArcadeDB._wait_for_bolt = wait_for_bolt
sys.argv[0] = "graphrec"
from graphrec.cli import cli
cli(prog_name="graphrec")
"""


_spawned: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_leftovers(tmp_path: Path) -> Iterator[None]:
    """After a failing test: kill the commands it left paused and the servers of its homes."""
    yield
    while _spawned:
        proc = _spawned.pop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    for state in tmp_path.glob("*/arcadedb/server.json"):
        pid = int(json.loads(state.read_text())["pid"])
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ingest.sources.synthetic import generate

    return generate(tmp_path_factory.mktemp("data"), seed=3, users=120, items_per_scenario=60).spec


def graphrec(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "graphrec", "--home", str(home), "--no-progress", *args]


def paused(home: Path, *args: str, script: str = PAUSED_CLI) -> subprocess.Popen[str]:
    """Start ``graphrec ARGS`` that stops itself once it uses the server (or where ``script`` says);
    returns when it has stopped."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "--home", str(home), "--no-progress", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _spawned.append(proc)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"graphrec {' '.join(args)} exited ({proc.returncode}) before pausing: {out}{err}")
        if Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T":
            return proc
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"graphrec {' '.join(args)} did not reach the server within 180 s")


def resume(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    os.kill(proc.pid, signal.SIGCONT)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def server_pid(home: Path) -> int:
    return int(json.loads((home / "arcadedb" / "server.json").read_text())["pid"])


def jvm_running(home: Path) -> bool:
    ps = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True).stdout
    return any(str(home / "arcadedb") in line and not line.startswith("Z") for line in ps.splitlines())


def wait_until(cond, timeout: float = 90) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def test_readers_and_a_writer_share_the_server_and_a_second_writer_is_refused(tmp_path: Path, dataset: Path) -> None:
    home = tmp_path / "home"
    # the writer starts the server (it is the first command) and pauses holding the write lock
    writer = paused(home, "ingest", str(dataset), "--batch-size", "100")
    started_by = json.loads((home / "arcadedb" / "server.json").read_text())
    assert started_by["owner_pid"] == writer.pid and not started_by["detached"]
    jvm = started_by["pid"]
    readers = [
        paused(home, "query", "MATCH (n) WHERE n:User OR n:Item RETURN count(n) AS n", "--format", "json"),
        paused(home, "stats"),
    ]
    # a second writer is refused at once, naming the holder
    second = subprocess.run(graphrec(home, "ingest", str(dataset)), capture_output=True, text=True, timeout=120)
    assert second.returncode == 1, second.stderr
    assert (
        f"another graphrec command (pid {writer.pid}: graphrec --home {home} --no-progress ingest {dataset}"
        in second.stderr
    )
    assert f"holds the write lock of home {home}; wait for it to finish" in second.stderr
    assert "Traceback" not in second.stderr
    # the command that started the server finishes first; the server stays up for the readers
    code, out, err = resume(writer)
    assert code == 0, err
    assert "rejected 0 rows" in out
    assert pid_alive(jvm) and server_pid(home) == jvm
    code, out, err = resume(readers[0])
    assert code == 0, err
    (row,) = json.loads(out)
    assert row["n"] == 120 + 2 * 60  # every user and item the writer loaded
    assert pid_alive(jvm)  # the stats reader still uses it
    code, out, err = resume(readers[1])
    assert code == 0, err
    assert "books" in out and "movies" in out
    # the last client stopped it
    assert wait_until(lambda: not pid_alive(jvm))
    assert not (home / "arcadedb" / "server.json").exists()
    assert not jvm_running(home)
    # the write lock went with the writer: a new writer runs
    again = subprocess.run(graphrec(home, "clear", "--yes"), capture_output=True, text=True, timeout=180)
    assert again.returncode == 0 and "deleted" in again.stdout, again.stderr
    assert not jvm_running(home)


def test_server_left_by_killed_commands_is_reused_and_then_stopped(tmp_path: Path, dataset: Path) -> None:
    home = tmp_path / "home"
    first = paused(home, "stats")
    jvm = server_pid(home)
    first.kill()  # SIGKILL: no chance to stop the server
    first.communicate()
    assert pid_alive(jvm)  # no parent-death signal: a server may outlive the command that started it
    assert (
        "no command uses it (left by a killed command)"
        in subprocess.run(graphrec(home, "server", "status"), capture_output=True, text=True, timeout=60).stdout
    )
    out = subprocess.run(
        graphrec(home, "query", "RETURN 1 AS one", "--format", "json"), capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0 and json.loads(out.stdout) == [{"one": 1}], out.stderr
    assert (
        f"embedded ArcadeDB (pid {jvm}, started by pid {first.pid}) was left running by graphrec commands" in out.stderr
    )
    assert wait_until(lambda: not pid_alive(jvm)) and not jvm_running(home)


def test_a_command_killed_while_the_server_starts_leaves_no_orphan(tmp_path: Path) -> None:
    """Killed after the JVM was launched and before it answered: the server is recorded all the same, so
    the next command reuses it (rather than starting a second JVM on a locked database) and stops it."""
    home = tmp_path / "home"
    first = paused(home, "stats", script=STARTING_CLI)
    jvm = server_pid(home)
    assert pid_alive(jvm)
    first.kill()
    first.communicate()
    status = subprocess.run(graphrec(home, "server", "status"), capture_output=True, text=True, timeout=60).stdout
    assert str(jvm) in status and "no command uses it (left by a killed command)" in status, status
    out = subprocess.run(
        graphrec(home, "query", "RETURN 1 AS one", "--format", "json"), capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0 and json.loads(out.stdout) == [{"one": 1}], out.stderr
    assert f"embedded ArcadeDB (pid {jvm}, started by pid {first.pid}) was left running" in out.stderr
    assert wait_until(lambda: not pid_alive(jvm)) and not jvm_running(home)


def test_detached_server_outlives_commands_and_stop_waits_for_them(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = subprocess.run(graphrec(home, "server", "start"), capture_output=True, text=True, timeout=180)
    assert out.returncode == 0 and out.stdout.startswith("started"), out.stderr
    jvm = server_pid(home)
    try:
        reader = paused(home, "query", "RETURN 1 AS one", "--format", "json")
        stop = subprocess.run(graphrec(home, "server", "stop"), capture_output=True, text=True, timeout=60)
        assert (
            stop.returncode == 1 and "is in use by other graphrec commands" in stop.stderr and "--force" in stop.stderr
        )
        code, out_, err = resume(reader)
        assert code == 0 and json.loads(out_) == [{"one": 1}], err
        assert pid_alive(jvm) and server_pid(home) == jvm  # detached: the last client leaves it running
        stop = subprocess.run(graphrec(home, "server", "stop"), capture_output=True, text=True, timeout=120)
        assert stop.returncode == 0 and stop.stdout.strip() == "stopped", stop.stderr
        assert not pid_alive(jvm)
    finally:
        if pid_alive(jvm):
            os.kill(jvm, signal.SIGKILL)


def test_a_running_server_becomes_detached_on_server_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    reader = paused(home, "stats")
    jvm = server_pid(home)
    try:
        out = subprocess.run(graphrec(home, "server", "start"), capture_output=True, text=True, timeout=120)
        assert out.returncode == 0 and out.stdout.startswith("already running"), out.stderr
        code, _, err = resume(reader)
        assert code == 0, err
        assert pid_alive(jvm)  # its last client left it running: it is detached now
        assert "detached" in subprocess.run(graphrec(home, "server", "status"), capture_output=True, text=True).stdout
        assert (
            subprocess.run(graphrec(home, "server", "stop"), capture_output=True, text=True).stdout.strip() == "stopped"
        )
    finally:
        if pid_alive(jvm):
            os.kill(jvm, signal.SIGKILL)


def test_home_is_private_after_a_real_ingest(tmp_path: Path, dataset: Path) -> None:
    """No file or directory in a fresh home is accessible to group or others, whatever the caller's umask:
    database and WAL (walked while the server runs and after it stopped), logs, rejects, summaries, checkpoints."""

    def loose_entries() -> list[str]:
        entries = [home, *home.rglob("*")]
        return [
            f"{oct(p.lstat().st_mode & 0o777)} {p}" for p in entries if not p.is_symlink() and p.lstat().st_mode & 0o077
        ]

    home = tmp_path / "home"
    out = subprocess.run(
        graphrec(home, "ingest", str(dataset)), capture_output=True, text=True, timeout=300,
        preexec_fn=lambda: os.umask(0o022),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert list((home / "arcadedb" / "databases" / "graphrec").glob("*.bucket"))
    assert list(home.glob("runs/ingest-*/rejects.tsv")) and list(home.glob("runs/ingest-*/summary.json"))
    assert list(home.glob("state/*.json")) and (home / "arcadedb" / "server.log").exists()
    assert loose_entries() == []
    reader = paused(home, "stats")  # the server runs (open database, transaction logs)
    assert loose_entries() == []
    code, _, err = resume(reader)
    assert code == 0, err
    assert loose_entries() == []
    assert oct(home.stat().st_mode & 0o777) == "0o700"


def test_library_use_keeps_the_home_private_without_touching_the_umask(tmp_path: Path) -> None:
    """Without the CLI's umask: the home is 0700 and the server's own files are 0600 (it runs with umask 077);
    the library leaves the process umask as it found it."""
    home = tmp_path / "home"
    code = (
        "import os; from pathlib import Path; os.umask(0o022)\n"
        "from graphrec.store.connect import StoreConfig, open_store\n"
        f"with open_store(StoreConfig(home=Path({str(home)!r}))) as s:\n"
        "    s.run_query('CREATE (:User {id: $id})', {'id': 'u1'}, write=True)\n"
        "print(oct(os.umask(0o022)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0o22"
    assert oct(home.stat().st_mode & 0o777) == "0o700"
    server_files = [p for p in (home / "arcadedb").rglob("*") if not p.is_symlink()]
    assert any(p.suffix == ".bucket" for p in server_files)
    assert [f"{oct(p.stat().st_mode & 0o777)} {p}" for p in server_files if p.stat().st_mode & 0o077] == []


def test_a_port_taken_between_choice_and_bind_starts_the_server_on_new_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Two commands starting servers at once can pick the same free port: the second JVM cannot bind it.
    Here a real listener holds the Bolt port the first start chose; the server starts on new ports."""
    import socket

    import graphrec.store.arcade as arcade

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    real = arcade.free_ports
    picks: list[list[int]] = []

    def first_taken(n: int) -> list[int]:
        ports = real(n)
        picks.append([taken.getsockname()[1], *ports[1:]] if not picks else ports)
        return picks[-1]

    monkeypatch.setattr(arcade, "free_ports", first_taken)
    server = arcade.EmbeddedArcadeDB(tmp_path / "arcadedb")
    try:
        with caplog.at_level("WARNING", logger="graphrec.store.arcade"):
            client = server.attach()
        try:
            assert len(picks) == 2 and client.info.bolt_port == picks[1][0] != picks[0][0]
        finally:
            client.close()
        assert "taken by another process" in caplog.text
        assert b"Unable to listen" in server.log_path.read_bytes()
    finally:
        server.stop()
        taken.close()
