"""Metadata recorded with every run result: versions, git hash, time."""

from __future__ import annotations

import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = ("graphrec", "neo4j", "neo4j-rust-ext", "arcadedb-embedded", "torch", "torch-geometric", "transformers")


def git_hash(path: Path | None = None) -> str | None:
    """The short git commit of the graphrec checkout (``None`` outside a git checkout)."""
    where = path or Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def package_versions() -> dict[str, str]:
    """Installed versions of graphrec's main dependencies (absent ones are omitted)."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def run_metadata(**extra: Any) -> dict[str, Any]:
    """Versions, git hash, Python, platform and time, plus ``extra`` fields (e.g. the store agent)."""
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git": git_hash(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": package_versions(),
        **extra,
    }
