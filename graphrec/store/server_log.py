"""The server's own reason for a failed request, read from its log where its answer hides it.

ArcadeDB in production mode (the embedded store) answers clients "The request failed. Check the
server log for the details" and logs the reason; :class:`ServerLog` finds it there so that the error
graphrec raises quotes the reason and names the log.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

_CONCEALED = " (concealed from the client in production mode)"
_EXCEPTION_LINE = re.compile(r"^(?:Caused by: )?(?:[\w$]+\.)*([\w$]+(?:Exception|Error)): (.+)$")


class ServerLog:
    """A server's log file, read after a failure whose message only says "check the server log".

    Args:
        path: The log file.
        wait: Seconds to wait for the reason to land in the log (the server logs it as it answers;
            a loaded machine can be that slow to flush it; only a failed request waits).
    """

    def __init__(self, path: Path, *, wait: float = 5.0) -> None:
        self.path = Path(path)
        self.wait = wait

    def offset(self) -> int | None:
        """The log's current size (taken before a request), or ``None`` where it cannot be read."""
        try:
            return os.stat(self.path).st_size
        except OSError:
            return None

    def explain(self, message: str, offset: int | None) -> str:
        """``message``, or the server's own reason logged after ``offset`` where the message hides it.

        Where the log holds no reason, the message keeps the log's path (and names a full disk, which
        also stops the log itself).
        """
        if offset is None or "server log" not in message:
            return message
        deadline = time.monotonic() + self.wait
        reason = server_log_reason(self.path, offset)
        while reason is None and time.monotonic() < deadline:
            time.sleep(0.05)
            reason = server_log_reason(self.path, offset)
        if reason is not None:
            return f"{reason} (the server's reason, from its log {self.path})"
        disk = disk_full_reason(self.path.parent)
        if disk is not None:
            return f"{message}: {disk} (server log {self.path})"
        return f"{message} (the server logged no reason; its log: {self.path})"


def disk_full_reason(path: Path, *, min_free: int = 1 << 20) -> str | None:
    """``"No space left on device: …"`` where the filesystem holding ``path`` has less than ``min_free``
    bytes (default 1 MiB) free, else ``None`` (also where it cannot be measured). For a failed write whose
    reason the server could not log: its log lies on the same full disk."""
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return None
    if free >= min_free:
        return None
    return (
        f"No space left on device: {free} bytes free on the filesystem of {path}; "
        "free space there (or move the graphrec home)"
    )


def server_log_reason(log: Path, offset: int, *, limit: int = 256 * 1024) -> str | None:
    """The reason of the latest failure that a server logged after byte ``offset`` of ``log``, or ``None``.

    ArcadeDB in production mode answers clients "The request failed. Check the server log for the
    details" and logs the reason: either one line holding "(concealed from the client in production
    mode)" (e.g. a syntax error; another thread's output may follow it on the same line), or an
    exception with its stack trace and causes (the root cause, e.g. ``IOException: No space left on
    device``, is reported).

    Args:
        log: The server's log file.
        offset: Size of the log before the failed request.
        limit: Most bytes read.
    """
    try:
        with open(log, "rb") as fh:
            fh.seek(offset)
            text = fh.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return None
    concealed: str | None = None
    first: str | None = None
    root: str | None = None
    for line in text.splitlines():
        line = line.strip()
        if _CONCEALED in line:
            body = line[: line.index(_CONCEALED)]
            body = body.split("] ", 1)[1] if "] " in body else body
            concealed = body.removeprefix("BOLT: ")
            first = root = None
            continue
        m = _EXCEPTION_LINE.match(line)
        if m is None:
            continue
        found = f"{m.group(1)}: {m.group(2)}"
        if line.startswith("Caused by: "):
            root = found
        else:
            first, root, concealed = found, None, None
    return concealed or root or first
