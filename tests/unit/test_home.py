"""The private home (0700, tightened when looser) and the per-home write lock, without a database."""

from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from graphrec.home import ensure_home
from graphrec.lock import HomeLockedError, read_holder, write_lock


def mode(p: Path) -> int:
    return stat.S_IMODE(p.lstat().st_mode)


def test_new_home_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        home = ensure_home(tmp_path / "a" / "home")
    finally:
        os.umask(old)
    assert mode(home) == 0o700


def test_loose_home_is_tightened_with_a_notice(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    home = tmp_path / "home"
    (home / "runs" / "ingest-1").mkdir(parents=True)
    (home / "runs" / "ingest-1" / "rejects.tsv").write_text("raw\n")
    (home / "mine.txt").write_text("not graphrec's\n")
    for p, m in [(home, 0o755), (home / "runs", 0o755), (home / "runs" / "ingest-1", 0o775),
                 (home / "runs" / "ingest-1" / "rejects.tsv", 0o666), (home / "mine.txt", 0o644)]:  # fmt: skip
        os.chmod(p, m)
    with caplog.at_level(logging.WARNING, logger="graphrec.home"):
        ensure_home(home)
    assert mode(home) == 0o700
    assert mode(home / "runs") == 0o700 and mode(home / "runs" / "ingest-1") == 0o700
    assert mode(home / "runs" / "ingest-1" / "rejects.tsv") == 0o600
    assert mode(home / "mine.txt") == 0o644  # not graphrec's: left alone (the 0700 home already hides it)
    assert "was accessible to other users (mode 0755)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="graphrec.home"):
        ensure_home(home)  # already private: silent
    assert caplog.text == ""


def test_sticky_shared_directory_is_never_changed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp
    with caplog.at_level(logging.WARNING, logger="graphrec.home"):
        ensure_home(shared)
    assert mode(shared) == 0o1777
    assert "shared with other users" in caplog.text


def _try_lock_in_child(home: Path) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys; from pathlib import Path; from graphrec.lock import write_lock, HomeLockedError\n"
        "try:\n"
        f"    with write_lock(Path({str(home)!r})): print('acquired')\n"
        "except HomeLockedError as e:\n"
        "    print(e); sys.exit(3)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_write_lock_refuses_a_second_writer_and_names_the_holder(tmp_path: Path) -> None:
    home = tmp_path / "h"
    with write_lock(home, command="graphrec ingest big.toml"):
        assert mode(home) == 0o700 and mode(home / "write.lock") == 0o600
        holder = read_holder(home)
        assert holder is not None and holder.pid == os.getpid() and holder.command == "graphrec ingest big.toml"
        with write_lock(home):  # re-entrant within the process (quickstart runs ingest, embed, train)
            pass
        child = _try_lock_in_child(home)
        assert child.returncode == 3, child.stdout + child.stderr
        assert (
            f"another graphrec command (pid {os.getpid()}: graphrec ingest big.toml, since " in child.stdout
            and f"holds the write lock of home {home.resolve()}; wait for it to finish" in child.stdout
        )
        # still held after the re-entrant exit
        assert _try_lock_in_child(home).returncode == 3
    assert read_holder(home) is None
    child = _try_lock_in_child(home)
    assert child.returncode == 0 and child.stdout.strip() == "acquired"


def test_write_lock_of_a_killed_writer_is_free(tmp_path: Path) -> None:
    home = tmp_path / "h"
    code = (
        "import sys, time; from pathlib import Path; from graphrec.lock import write_lock\n"
        f"with write_lock(Path({str(home)!r})):\n"
        "    print('held', flush=True); time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        with pytest.raises(HomeLockedError, match=f"pid {proc.pid}: "), write_lock(home):
            pass
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with write_lock(home):  # the kernel released it with the process
        holder = read_holder(home)
        assert holder is not None and holder.pid == os.getpid()


@pytest.mark.parametrize(
    "args",
    [["clear", "--yes"], ["query", "--write", "CREATE (:User {id: 'x'})"], ["ingest", "SPEC"]],
    ids=["clear", "query-write", "ingest"],
)
def test_cli_writers_fail_clearly_while_the_lock_is_held(tmp_path: Path, args: list[str]) -> None:
    # the lock is taken before the store opens, so no database is needed to see the refusal
    home = tmp_path / "h"
    spec = tmp_path / "spec.toml"
    spec.write_text("")
    args = [str(spec) if a == "SPEC" else a for a in args]
    with write_lock(home, command="graphrec ingest held.toml"):
        out = subprocess.run(
            [sys.executable, "-m", "graphrec", "--home", str(home), *args], capture_output=True, text=True, timeout=120
        )
    assert out.returncode == 1, out.stderr
    assert f"error: another graphrec command (pid {os.getpid()}: graphrec ingest held.toml" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (home / "arcadedb").exists()  # refused before touching the store


def test_store_config_makes_a_relative_home_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the embedded server runs in its own working directory: a relative home made it miss its password file
    from graphrec.store.connect import StoreConfig

    monkeypatch.chdir(tmp_path)
    assert StoreConfig(home=Path("rel/home")).home == tmp_path.resolve() / "rel" / "home"
    assert StoreConfig(home=Path("~")).home == Path.home().resolve()
