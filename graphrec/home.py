"""The graphrec home directory: embedded database, caches and run results."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "GRAPHREC_HOME"
PASSWORD_ENV = "GRAPHREC_NEO4J_PASSWORD"
DEFAULT_HOME = Path("~/.graphrec")


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the graphrec home: the explicit argument, else ``$GRAPHREC_HOME``, else ``~/.graphrec``.

    The directory is not created here.
    """
    if home is not None:
        return Path(home).expanduser().resolve()
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser().resolve() if env else DEFAULT_HOME.expanduser().resolve()


def arcadedb_dir(home: Path) -> Path:
    """Where the embedded ArcadeDB server keeps its data and state."""
    return home / "arcadedb"


def runs_dir(home: Path) -> Path:
    """Where run results (ingest summaries, rejects, training runs) are written."""
    return home / "runs"
