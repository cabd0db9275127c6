"""The per-home write lock: one graphrec command at a time writes to a home's graph and state.

Writers (``ingest``, ``clear``, ``query --write``, ``embed``, ``topics extract``/``graph``,
``train`` with write-back, ``quickstart``) take an exclusive ``flock`` on ``<home>/write.lock``
and record their pid and command line in it; a second writer fails at once with
:class:`HomeLockedError` naming the holder. Readers (``query``, ``stats``, ``recommend``, ...)
never take it. The kernel releases the lock when its holder exits, however it exits, so a
crashed writer never leaves the home locked (its record is then simply overwritten).

The lock is per home, also with an external Neo4j (``--uri``): two homes pointing at the same
Neo4j database are not serialised against each other. Within one process the lock is
re-entrant (``quickstart`` runs ``ingest``, ``embed`` and ``train`` under one lock); it does
not serialise threads of one process.

Library use::

    from graphrec.lock import write_lock

    with write_lock(home):
        ...  # ingest_spec(...), write_back(...), store.clear()
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shlex
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from graphrec.errors import GraphRecError
from graphrec.home import ensure_home

logger = logging.getLogger(__name__)

LOCK_FILE = "write.lock"
_MAX_COMMAND_CHARS = 300


class HomeLockedError(GraphRecError):
    """Another process holds the write lock of the home.

    Attributes:
        home: The locked home.
        holder: What the lock file says about the holder (``None`` if not yet recorded).
    """

    def __init__(self, message: str, *, home: Path, holder: LockHolder | None) -> None:
        super().__init__(message)
        self.home = home
        self.holder = holder


@dataclass(frozen=True)
class LockHolder:
    """The process recorded in a home's write lock file.

    Attributes:
        pid: Its process id.
        command: Its command line.
        since: When it took the lock (UTC, ISO 8601).
    """

    pid: int
    command: str
    since: str


_held: dict[Path, tuple[int, int]] = {}  # home -> (fd, depth) for the locks this process holds
_held_guard = threading.Lock()


def lock_path(home: Path) -> Path:
    """The write lock file of ``home``."""
    return home / LOCK_FILE


def command_line() -> str:
    """This process's command line as recorded in the lock (``graphrec ingest spec.toml``)."""
    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if prog in ("__main__.py", "-m", "-c", ""):
        prog = "graphrec" if prog == "__main__.py" else "python"
    text = shlex.join([prog, *sys.argv[1:]])
    return text if len(text) <= _MAX_COMMAND_CHARS else text[: _MAX_COMMAND_CHARS - 1] + "…"


def read_holder(home: Path) -> LockHolder | None:
    """The holder recorded in the lock file of ``home``; ``None`` if nothing is recorded.

    A holder releases the lock and clears its record when it is done; a killed holder's record
    stays (while the lock itself is free) until the next writer overwrites it.
    """
    try:
        return _parse(lock_path(home).read_bytes())
    except OSError:
        return None


def _parse(data: bytes) -> LockHolder | None:
    try:
        d = json.loads(data)
        return LockHolder(pid=int(d["pid"]), command=str(d["command"]), since=str(d["since"]))
    except (ValueError, KeyError, TypeError):
        return None


def _locked_error(home: Path, fd: int) -> HomeLockedError:
    holder = _parse(os.pread(fd, 64 * 1024, 0))
    who = f"pid {holder.pid}: {holder.command}, since {holder.since}" if holder else "its pid is not recorded yet"
    return HomeLockedError(
        f"another graphrec command ({who}) holds the write lock of home {home}; wait for it to finish "
        "(commands that only read, like query and stats, can run meanwhile)",
        home=home,
        holder=holder,
    )


@contextlib.contextmanager
def write_lock(home: Path, *, command: str | None = None, wait: bool = False) -> Iterator[None]:
    """Hold the write lock of ``home`` for the ``with`` block (creating the home 0700 if needed).

    Args:
        home: The graphrec home (resolved).
        command: Recorded as the holder's command line (default: this process's argv).
        wait: Block until the lock is free instead of failing.

    Raises:
        HomeLockedError: Another process holds the lock (and ``wait`` is false).
    """
    key = Path(home).resolve()
    with _held_guard:
        if key in _held:
            fd, depth = _held[key]
            _held[key] = (fd, depth + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            _release(key)
        return
    ensure_home(key)
    fd = os.open(lock_path(key), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise _locked_error(key, fd) from None
        record = {
            "pid": os.getpid(),
            "command": command or command_line(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    with _held_guard:
        _held[key] = (fd, 1)
    logger.debug("took the write lock of %s", key)
    try:
        yield
    finally:
        _release(key)


def _release(key: Path) -> None:
    with _held_guard:
        fd, depth = _held[key]
        if depth > 1:
            _held[key] = (fd, depth - 1)
            return
        del _held[key]
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
    os.close(fd)  # releases the flock
    logger.debug("released the write lock of %s", key)
