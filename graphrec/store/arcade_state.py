"""The embedded server's state file (``server.json``): which server runs for a graphrec home."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from graphrec.home import replace_private

logger = logging.getLogger(__name__)


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
        log_offset: Size of the server log, in bytes, before this server wrote to it: a command that
            finds it still starting waits until it has logged that it (and its database) is up, not
            only until its Bolt port answers. ``None`` in state files written before it was recorded.
    """

    pid: int
    bolt_port: int
    http_port: int
    database: str
    detached: bool
    owner_pid: int
    log_offset: int | None = None

    @property
    def uri(self) -> str:
        """The Bolt URI of this server."""
        return f"bolt://127.0.0.1:{self.bolt_port}"


def read_state(path: Path) -> ArcadeServerInfo | None:
    """The server recorded in the state file ``path``; ``None`` where there is none (or it is unreadable,
    with a warning)."""
    try:
        data = json.loads(path.read_text())
        return ArcadeServerInfo(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as e:
        logger.warning("ignoring unreadable embedded-server state file %s (%s)", path, e)
        return None


def write_state(path: Path, info: ArcadeServerInfo) -> None:
    """Record ``info`` in the state file ``path`` (written atomically, 0600)."""
    replace_private(path, json.dumps(asdict(info)))
