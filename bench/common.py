"""What the benchmark scripts share: the repository root, as a path and on the import path.

A script run by path (``.venv/bin/python bench/train_bench.py``) has its own folder, ``bench/``, at the
front of ``sys.path``, so it imports this module as ``common``; importing it puts the repository root there
too, so that the ``bench.*`` imports that follow resolve (graphrec and ingest are installed, bench is not).
A module that is also imported as ``bench.<name>`` (by the tests, or by ``python -m bench.peers.…``) reads
it as ``bench.common`` there. The peer runners that run in a peer's own virtual environment share
``bench/peers/split_io.py`` instead (standard library and numpy only).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: The script that fetches, starts and stops the Neo4j of the tests and benchmarks.
NEO4J_SCRIPT = REPO / "scripts" / "neo4j_server.sh"


@contextlib.contextmanager
def neo4j_server(run_dir: Path, heap: str | None = None, *, keep: bool = False) -> Iterator[str]:
    """A Neo4j of its own on a free port (``scripts/neo4j_server.sh``, run folder ``run_dir``, heap ``heap``
    or the script's default); yields its Bolt URI and stops it on the way out (``keep``: leaves it running).

    Raises:
        RuntimeError: The script could not start it (its last output quoted).
    """
    from graphrec.store.arcade_process import free_port

    env = {**os.environ, "NEO4J_RUN_DIR": str(run_dir), **({"NEO4J_HEAP": heap} if heap else {})}
    out = subprocess.run(["bash", str(NEO4J_SCRIPT), "start", str(free_port())], env=env, text=True,
                         capture_output=True, check=False, timeout=900)  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"neo4j_server.sh start in {run_dir}: {out.stderr[-2000:]}")
    try:
        yield out.stdout.strip().splitlines()[-1]
    finally:
        if not keep:
            subprocess.run(["bash", str(NEO4J_SCRIPT), "stop"], env=env, check=False, capture_output=True)
