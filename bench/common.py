"""What the benchmark scripts share: the repository root, as a path and on the import path.

A script run by path (``.venv/bin/python bench/train_bench.py``) has its own folder, ``bench/``, at the
front of ``sys.path``, so it imports this module as ``common``; importing it puts the repository root there
too, so that the ``bench.*`` imports that follow resolve (graphrec and ingest are installed, bench is not).
A module that is also imported as ``bench.<name>`` (by the tests, or by ``python -m bench.peers.…``) reads
it as ``bench.common`` there. The peer runners that run in a peer's own virtual environment share
``bench/peers/split_io.py`` instead (standard library and numpy only).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
