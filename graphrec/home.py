"""The graphrec home directory: embedded database, caches and run results.

The home is private to its owner: :func:`ensure_home` creates it with mode 0700, and a home
found readable or writable by group or others is tightened (with a logged notice). Files in
it are created 0600 by the CLI (which sets its umask to 077) and by the embedded ArcadeDB
server (started with umask 077); library code never changes the process umask, but the 0700
home keeps whatever it writes out of other users' reach.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

logger = logging.getLogger(__name__)

HOME_ENV = "GRAPHREC_HOME"
PASSWORD_ENV = "GRAPHREC_NEO4J_PASSWORD"
DEFAULT_HOME = Path("~/.graphrec")
ITEM_FEATURES_FILE = "item_features.npz"
"""File name of the item features under ``<home>/features`` (:func:`features_file`)."""
HOME_MODE = 0o700
PRIVATE_UMASK = 0o077
# what graphrec writes in a home: only these are tightened recursively when an older, looser home is found
# (the home itself may be a directory the user also uses for other things)
HOME_ENTRIES = ("arcadedb", "runs", "state", "features", "cache", "quickstart", "write.lock")


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the graphrec home: the explicit argument, else ``$GRAPHREC_HOME``, else ``~/.graphrec``.

    The directory is not created here (see :func:`ensure_home`).
    """
    if home is not None:
        return Path(home).expanduser().resolve()
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser().resolve() if env else DEFAULT_HOME.expanduser().resolve()


def ensure_home(home: Path) -> Path:
    """Create the home readable by its owner only (0700), or tighten an existing looser one.

    A home whose mode lets group or others in is set to 0700 with a warning, and group/other
    permission bits are removed from the files graphrec wrote in it (:data:`HOME_ENTRIES`).
    A directory that is not owned by the current user or that has the sticky bit (``/tmp``) is
    never changed: graphrec only warns that it is shared.

    Args:
        home: The resolved home (see :func:`resolve_home`).

    Returns:
        ``home``.
    """
    home.parent.mkdir(parents=True, exist_ok=True)
    try:
        home.mkdir(mode=HOME_MODE)
    except FileExistsError:
        pass
    else:
        os.chmod(home, HOME_MODE)  # mkdir's mode is filtered by the umask; make it exact
        return home
    st = home.stat()
    if not stat.S_ISDIR(st.st_mode) or stat.S_IMODE(st.st_mode) & 0o077 == 0:
        return home
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid != os.getuid() or mode & stat.S_ISVTX:
        logger.warning(
            "graphrec home %s (mode %04o) is shared with other users and not owned by you or sticky; "
            "its files may be readable by them: use a private home (--home or $%s)",
            home, mode, HOME_ENV,
        )  # fmt: skip
        return home
    os.chmod(home, HOME_MODE)
    for name in HOME_ENTRIES:
        _strip_group_other(home / name)
    logger.warning(
        "graphrec home %s was accessible to other users (mode %04o); restricted it and the files graphrec wrote "
        "in it to you (0700 directories, no group/other permissions on files)",
        home, mode,
    )  # fmt: skip
    return home


def _strip_group_other(path: Path) -> None:
    """Remove group and other permission bits from ``path`` and, for a directory, everything under it."""
    paths = [path]
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            paths += [Path(root) / n for n in dirs + files]
    for p in paths:
        try:
            st = p.lstat()
            if not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o077:
                os.chmod(p, stat.S_IMODE(st.st_mode) & ~0o077)
        except FileNotFoundError:
            continue


def arcadedb_dir(home: Path) -> Path:
    """Where the embedded ArcadeDB server keeps its data and state."""
    return home / "arcadedb"


def runs_dir(home: Path) -> Path:
    """Where run results (ingest summaries, rejects, training runs) are written."""
    return home / "runs"


def state_dir(home: Path) -> Path:
    """Where ingest keeps its resume checkpoints."""
    return home / "state"


def features_file(home: Path) -> Path:
    """The item feature file ``graphrec embed`` writes and training, topics and export read."""
    return home / "features" / ITEM_FEATURES_FILE


def embedding_cache_file(home: Path) -> Path:
    """The on-disk cache of text embeddings (model identity + text hash → vector)."""
    return home / "cache" / "embeddings.sqlite"


def llm_cache_file(home: Path) -> Path:
    """The on-disk cache of LLM topic-extraction answers."""
    return home / "cache" / "llm_responses.sqlite"


def quickstart_dir(home: Path, seed: int) -> Path:
    """Where ``graphrec quickstart`` generates its synthetic dataset of ``seed``."""
    return home / "quickstart" / f"seed{seed}"


def write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only (0600) and write ``text``; fails if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def replace_private(path: Path, content: str | bytes | Callable[[BinaryIO], object]) -> None:
    """Replace ``path`` atomically with a 0600 file, whatever the umask.

    The content goes to a temporary file beside ``path`` (``.<name>.tmp``) that is then renamed
    over it, so ``path`` is always either the old file or the complete new one, never truncated.

    Args:
        path: The file to write.
        content: Text (UTF-8), bytes, or a function that writes the file through a binary handle
            (e.g. ``lambda f: np.savez(f, ...)``; what it returns is ignored).
    """
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
            if callable(content):
                content(fh)
            else:
                fh.write(content.encode() if isinstance(content, str) else content)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
