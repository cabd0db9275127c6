"""The embedded ArcadeDB JVM as a process: the wheel's bundled runtime, free ports, the server command,
spawning it with its log, waiting until it serves Bolt, and terminating it.

Knows nothing of the state file or of the clients sharing a server (:mod:`graphrec.store.arcade`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from graphrec.errors import StoreUnavailableError

logger = logging.getLogger(__name__)


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


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


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


def server_command(
    java: Path,
    jars: Path,
    *,
    root: Path,
    database: str,
    root_user: str,
    root_password_file: Path,
    ports: tuple[int, int, int],
    heap: str,
) -> list[str]:
    """The JVM command line of a server with its data under ``root``, in production mode.

    Args:
        java: The bundled Java executable (:func:`runtime_paths`).
        jars: The directory of ArcadeDB's jars.
        root: Server directory; databases live in ``root/databases``.
        database: The database served (created with ``root_user`` as its owner).
        root_user: The server's root user.
        root_password_file: File holding the root password.
        ports: ``(bolt, http, https)`` ports on 127.0.0.1.
        heap: JVM max heap, e.g. ``"2g"``.
    """
    bolt_port, http_port, https_port = ports
    props = {
        "arcadedb.server.rootPath": str(root),
        "arcadedb.server.databaseDirectory": str(root / "databases"),
        "arcadedb.server.rootPasswordPath": str(root_password_file),
        "arcadedb.server.httpIncomingHost": "127.0.0.1",
        "arcadedb.server.httpIncomingPort": str(http_port),
        "arcadedb.server.httpsIncomingPort": str(https_port),
        "arcadedb.server.plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
        "arcadedb.bolt.host": "127.0.0.1",
        "arcadedb.bolt.port": str(bolt_port),
        "arcadedb.server.defaultDatabases": f"{database}[{root_user}]",
        "arcadedb.server.mode": "production",
    }
    cmd = [str(java), f"-Xmx{heap}", *(f"-D{k}={v}" for k, v in props.items())]
    return [*cmd, "-cp", f"{jars}/*", "com.arcadedb.server.ArcadeDBServer"]


def spawn(cmd: list[str], *, cwd: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start the server command with its output appended to ``log_path``.

    The JVM runs with umask 077 (its database, WAL and logs are its owner's only), in its own
    session with no parent-death signal (it outlives the command that started it while others use
    it), and in ``cwd``: ArcadeDB's java.util.logging writes ``./log/arcadedb.log.*`` relative to the
    working directory, so its logs stay under the graphrec home, not wherever graphrec was called.

    Returns:
        ``(process, log_offset)``: the log's size before the server wrote to it.
    """
    log = os.fdopen(os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab")
    log_offset = log.seek(0, os.SEEK_END)
    try:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            umask=0o077, start_new_session=True, cwd=str(cwd),
        )  # fmt: skip
    finally:
        log.close()
    return proc, log_offset


def log_since(log_path: Path, log_offset: int) -> bytes:
    """The server log written since byte ``log_offset`` (empty when it cannot be read)."""
    try:
        with open(log_path, "rb") as fh:
            fh.seek(log_offset)
            return fh.read()
    except OSError:
        return b""


def _started_since(log_path: Path, log_offset: int) -> bool:
    """Whether the log written since ``log_offset`` says the server (and its database) is up."""
    return b"ArcadeDB Server started" in log_since(log_path, log_offset)


def port_taken_since(log_path: Path, log_offset: int) -> bool:
    """Whether the log written since ``log_offset`` says a port could not be bound (another process took
    it between graphrec's choice and the JVM's bind). The JVM goes on running without that listener, so
    this is noticed from the log, not from its exit."""
    text = log_since(log_path, log_offset)
    return b"Unable to listen" in text or b"Address already in use" in text


def log_tail(log_path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of the server log (``"(no log)"`` when it cannot be read)."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def wait_for_bolt(
    pid: int,
    bolt_port: int,
    *,
    log_path: Path,
    timeout: float,
    proc: subprocess.Popen[bytes] | None,
    log_offset: int | None = None,
) -> None:
    """Wait until the server answers on its Bolt port (and, given ``log_offset``, has logged since then
    that it started).

    Args:
        pid: The server's process id.
        bolt_port: Its Bolt port.
        log_path: Its log, quoted when it fails.
        timeout: Seconds to wait.
        proc: The process, where this process started it (its exit is then noticed at once).
        log_offset: Log size before the start; ``None`` for a server started earlier.

    Raises:
        StoreUnavailableError: The server exited, died or did not answer in time; the message quotes its log.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StoreUnavailableError(
                f"embedded ArcadeDB exited with code {proc.returncode} during start-up; "
                f"last lines of {log_path}:\n{log_tail(log_path)}\n"
                "If another process holds the database, stop it (`graphrec server stop`) and retry."
            )
        if proc is None and not pid_alive(pid):
            raise StoreUnavailableError(f"embedded ArcadeDB (pid {pid}) died; see {log_path}")
        if proc is not None and log_offset is not None and port_taken_since(log_path, log_offset):
            raise StoreUnavailableError(
                f"embedded ArcadeDB could not listen on one of its ports (another process took it); "
                f"last lines of {log_path}:\n{log_tail(log_path)}"
            )
        if port_open(bolt_port) and (log_offset is None or _started_since(log_path, log_offset)):
            return
        time.sleep(0.25)
    raise StoreUnavailableError(
        f"embedded ArcadeDB did not answer on Bolt port {bolt_port} within {timeout:.0f} s; "
        f"last lines of {log_path}:\n{log_tail(log_path)}"
    )


def terminate(pid: int, *, timeout: float) -> None:
    """Stop process ``pid``: SIGTERM, then SIGKILL after ``timeout`` seconds (reaping it if it is a child)."""
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
