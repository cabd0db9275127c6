"""The local Neo4j that a bulk load stops, imports into and starts again: the server of
``scripts/neo4j_server.sh`` (Neo4j Community 5.26 from Maven Central jars), and its ``neo4j-admin``.

``neo4j-admin`` is the class ``org.neo4j.cli.AdminTool`` of the artifact ``org.neo4j:neo4j-command-line``;
its ``database import full`` command is ``org.neo4j:neo4j-import-tool``. Both are among the jars the script
fetches into ``scripts/neo4j/lib`` (``scripts/neo4j/pom.xml``), so the importer runs from the same jars,
version for version, as the server, with ``NEO4J_HOME`` set to the server's home and ``NEO4J_CONF`` to a
folder holding the server's configuration file.

The server is restarted as it was started: the heap, Java options, home, port and configuration file are
read from its command line (``/proc/<pid>/cmdline``), falling back to the environment the script reads
(``NEO4J_HEAP``, ``NEO4J_JAVA_OPTS``, ``NEO4J_CONF``) where that cannot be read.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from graphrec.errors import ConfigError, StoreError, StoreUnavailableError

logger = logging.getLogger(__name__)

#: The repository's scripts folder (graphrec installed from a clone, editable or not).
SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
#: ``scripts/neo4j_server.sh``.
SCRIPT = SCRIPTS / "neo4j_server.sh"
#: The environment variable naming the script's run folder, and the folder the script uses without it.
RUN_DIR_ENV = "NEO4J_RUN_DIR"
DEFAULT_RUN_DIR = SCRIPTS / "neo4j" / "run"
#: The launcher's main class (scripts/neo4j/GraphrecNeo4j.java) and neo4j-admin's.
LAUNCHER_CLASS = "GraphrecNeo4j"
ADMIN_CLASS = "org.neo4j.cli.AdminTool"
#: Jars that hold ``neo4j-admin database import full`` (prefixes of their file names in the lib folder).
ADMIN_JARS = ("neo4j-command-line-", "neo4j-import-tool-")
#: Seconds the script may take to stop or start the server (it waits up to 60 s, resp. 180 s, itself).
_STOP_TIMEOUT = 120
_START_TIMEOUT = 400


@dataclass(frozen=True)
class Launch:
    """How the running server was started (what a restart repeats).

    Attributes:
        heap: The JVM's ``-Xmx`` value, e.g. ``"1g"``.
        java_opts: Other JVM options.
        home: The server's Neo4j home (databases under ``home/data``).
        port: Its Bolt port.
        conf: Its configuration file (``neo4j.conf`` format).
    """

    heap: str
    java_opts: tuple[str, ...]
    home: Path
    port: int
    conf: Path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class ScriptServer:
    """The Neo4j that ``scripts/neo4j_server.sh`` runs from ``run_dir`` (its ``uri``, ``neo4j.pid``, ``home/``).

    Attributes:
        run_dir: The script's run folder (``$NEO4J_RUN_DIR``, default ``scripts/neo4j/run``).
        script: The script.
    """

    run_dir: Path
    script: Path = SCRIPT

    @classmethod
    def find(cls, run_dir: str | Path | None = None) -> ScriptServer:
        """The server of ``run_dir`` (default ``$NEO4J_RUN_DIR``, else ``scripts/neo4j/run``), which must be running.

        Raises:
            ConfigError: The script is not there (graphrec not run from a clone) or no server runs from that folder.
        """
        if not SCRIPT.is_file():
            raise ConfigError(
                f"--bulk restarts the Neo4j of scripts/neo4j_server.sh, which is not at {SCRIPT} (graphrec is not "
                "run from a clone of its repository); run it from a clone, or ingest without --bulk"
            )
        folder = Path(run_dir or os.environ.get(RUN_DIR_ENV) or DEFAULT_RUN_DIR).expanduser().resolve()
        server = cls(folder)
        if server.pid() is None:
            raise ConfigError(
                f"no Neo4j started by scripts/neo4j_server.sh runs from {folder} (no live pid in "
                f"{folder / 'neo4j.pid'}); start it with `NEO4J_RUN_DIR={folder} scripts/neo4j_server.sh start "
                "PORT`, or pass the run folder of the one you started (--neo4j-run-dir, or $NEO4J_RUN_DIR)"
            )
        return server

    @property
    def uri(self) -> str:
        """The Bolt URI the script wrote when it started the server."""
        path = self.run_dir / "uri"
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"cannot read {path} ({e}); start the server with scripts/neo4j_server.sh") from e

    def check_serves(self, uri: str) -> None:
        """Refuse ``uri`` unless it reaches this server (same port on this machine; ``bolt://`` or ``neo4j://``).

        Raises:
            ConfigError: ``uri`` is another server.
        """
        mine, theirs = urlsplit(self.uri), urlsplit(uri)
        local = {"127.0.0.1", "localhost", "::1"}
        if theirs.scheme not in ("bolt", "neo4j") or theirs.hostname not in local or theirs.port != mine.port:
            raise ConfigError(
                f"--bulk stops, imports into and restarts the Neo4j of scripts/neo4j_server.sh in {self.run_dir}, "
                f"which serves {self.uri}, not {uri}; pass --uri {self.uri}, or the run folder of the server at {uri} "
                "(--neo4j-run-dir). Another server (remote, or not started by the script) cannot be bulk-loaded by "
                "graphrec: ingest without --bulk"
            )

    def pid(self) -> int | None:
        """The server's pid while it runs, else ``None``."""
        try:
            pid = int((self.run_dir / "neo4j.pid").read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    @property
    def lib(self) -> Path:
        """The Neo4j jars the script fetched from Maven Central."""
        return self.script.parent / "neo4j" / "lib"

    def launch(self) -> Launch:
        """How the running server was started: from its command line, else from the script's environment."""
        pid = self.pid()
        args: list[str] = []
        if pid is not None:
            try:
                args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            except OSError:
                args = []
        if pid is not None and LAUNCHER_CLASS in args:
            cwd = Path(f"/proc/{pid}/cwd").resolve()  # where the script ran: relative paths are relative to it
            at = args.index(LAUNCHER_CLASS)
            jvm = args[1 : args.index("-cp")] if "-cp" in args[:at] else args[1:at]
            heap = next((a[len("-Xmx") :] for a in jvm if a.startswith("-Xmx")), "1g")
            rest = args[at + 1 :]
            conf = cwd / rest[2] if len(rest) > 2 and rest[2] else self._default_conf()
            opts = tuple(a for a in jvm if not a.startswith("-Xmx"))
            return Launch(heap, opts, cwd / rest[0], int(rest[1]), conf)
        port = int(self.uri.rsplit(":", 1)[-1])
        return Launch(
            os.environ.get("NEO4J_HEAP", "1g"),
            tuple(shlex.split(os.environ.get("NEO4J_JAVA_OPTS", ""))),
            self.run_dir / "home",
            port,
            self._default_conf(),
        )

    def _default_conf(self) -> Path:
        return Path(os.environ.get("NEO4J_CONF") or self.script.parent / "neo4j" / "neo4j.conf")

    def _script(self, args: list[str], env: dict[str, str], timeout: int) -> subprocess.CompletedProcess[str]:
        full = {**os.environ, **env, RUN_DIR_ENV: str(self.run_dir)}
        try:
            return subprocess.run(  # its own session: a Ctrl-C of graphrec's terminal does not reach the server
                ["bash", str(self.script), *args], env=full, capture_output=True, text=True, timeout=timeout,
                start_new_session=True,
            )  # fmt: skip
        except subprocess.TimeoutExpired as e:
            raise StoreUnavailableError(
                f"scripts/neo4j_server.sh {' '.join(args)} did not finish within {timeout} s (run folder "
                f"{self.run_dir}); see {self.run_dir / 'neo4j.log'}"
            ) from e

    def stop(self) -> None:
        """Stop the server (SIGTERM: Neo4j closes its databases cleanly).

        Raises:
            StoreUnavailableError: The script failed, or the server still runs.
        """
        done = self._script(["stop"], {}, _STOP_TIMEOUT)
        if done.returncode != 0 or self.pid() is not None:
            raise StoreUnavailableError(
                f"could not stop the Neo4j of {self.run_dir} (scripts/neo4j_server.sh stop: exit {done.returncode}: "
                f"{done.stderr.strip()[-500:]}); stop it by hand and rerun"
            )

    def start(self, launch: Launch) -> str:
        """Start the server as :meth:`launch` said it was started; returns its Bolt URI once Bolt answers.

        Raises:
            StoreUnavailableError: It did not start (the message quotes the script, which quotes the log).
        """
        env = {
            "NEO4J_HEAP": launch.heap,
            "NEO4J_JAVA_OPTS": shlex.join(launch.java_opts),
            "NEO4J_CONF": str(launch.conf),
        }
        done = self._script(["start", str(launch.port)], env, _START_TIMEOUT)
        if done.returncode != 0:
            raise StoreUnavailableError(
                f"could not start the Neo4j of {self.run_dir} again after the import (scripts/neo4j_server.sh "
                f"start {launch.port}: exit {done.returncode}): {done.stderr.strip()[-1500:]}; fix the cause and start "
                f"it with `NEO4J_RUN_DIR={self.run_dir} scripts/neo4j_server.sh start {launch.port}`"
            )
        return done.stdout.strip().splitlines()[-1]

    def admin_command(
        self, launch: Launch, conf_dir: Path, *, heap: str | None = None
    ) -> tuple[list[str], dict[str, str]]:
        """``neo4j-admin``'s command line and environment for the server's home, from the Maven Central jars.

        ``conf_dir`` receives a copy of the server's configuration file as ``neo4j.conf`` (``NEO4J_CONF`` names
        a folder for neo4j-admin, a file for the script). ``heap``: the importer JVM's ``-Xmx`` (default: the
        JVM's, a quarter of the memory; the importer keeps its big structures off the heap).

        Raises:
            StoreError: Java or the importer's jars are missing.
        """
        missing = [p for p in ADMIN_JARS if not any(self.lib.glob(f"{p}[0-9]*.jar"))]
        if missing:
            raise StoreError(
                f"the importer's jars ({', '.join(p + '*.jar' for p in missing)}) are not in {self.lib}; fetch them "
                "with `scripts/neo4j_server.sh fetch` (rm -rf scripts/neo4j/lib first if the folder is from an "
                "older version)"
            )
        java = shutil.which("java")
        if java is None:
            raise StoreError("the importer needs Java 17+ (`java` is not on PATH), as the server does")
        conf_dir.mkdir(parents=True, exist_ok=True)
        text = launch.conf.read_text(encoding="utf-8") if launch.conf.is_file() else ""
        (conf_dir / "neo4j.conf").write_text(text, encoding="utf-8")
        env = {**os.environ, "NEO4J_HOME": str(launch.home), "NEO4J_CONF": str(conf_dir)}
        jvm = [f"-Xmx{heap}"] if heap else []
        return [java, *jvm, "-cp", f"{self.lib}/*", ADMIN_CLASS], env
