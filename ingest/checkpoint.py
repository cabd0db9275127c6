"""The resume checkpoint of an ingest: committed rows per write stage, for one spec in one graph.

A checkpoint is keyed by the spec's fingerprint (the spec and every input file's path, size and
mtime) and records the identity of the graph it describes (the random id of the graph's
``GraphrecStore`` marker node, :data:`graphrec.schema.STORE_MARKER_NAME`); a checkpoint of another
graph, or of this graph before a ``clear``, is ignored with a warning and the ingest starts over.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphrec.home import replace_private
from graphrec.schema import STORE_MARKER_NAME
from graphrec.store import cypher
from ingest.spec import DatasetSpec

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.store.bolt import GraphStore

logger = logging.getLogger(__name__)


def spec_fingerprint(spec: DatasetSpec) -> str:
    """A key for the checkpoint: the spec plus every input file's path, size and mtime."""
    h = hashlib.sha256(repr(spec).encode())
    for sc in spec.scenarios:
        files = [src.file for src in sc.items] + [src.file for src in sc.interactions]
        for f in files:
            st = f.path.stat()
            h.update(f"{f.path}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


CHECKPOINT_GLOB = "ingest-*.json"


def checkpoint_path(state_dir: Path, spec: DatasetSpec) -> Path:
    """The resume checkpoint of ``spec`` in ``state_dir``."""
    return state_dir / f"ingest-{spec_fingerprint(spec)}.json"


def remove_checkpoints(state_dir: Path) -> int:
    """Delete every ingest checkpoint in ``state_dir`` (``graphrec clear`` does). Returns how many."""
    removed = 0
    for path in (*state_dir.glob(CHECKPOINT_GLOB), *state_dir.glob(f".{CHECKPOINT_GLOB}.tmp")):
        path.unlink(missing_ok=True)
        removed += path.suffix == ".json"
    return removed


def store_identity(store: GraphStore) -> str:
    """The graph's identity: the id of its ``GraphrecStore`` marker, created (random) if the graph has none."""
    rows = store.write_returning(
        cypher.MERGE_STORE_MARKER,
        {
            "name": STORE_MARKER_NAME,
            "id": uuid.uuid4().hex,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )
    return str(rows[0]["id"])


class Checkpoint:
    """Committed rows per write stage, for one spec in one graph, saved atomically after every batch.

    Args:
        path: The checkpoint file.
        store_id: Identity of the graph being written (:func:`store_identity`).
        store: Where that graph is (server agent and database), for messages.

    A checkpoint of an unfinished ingest is resumed only if it was written for the same graph
    (same marker id); an unreadable one, or one of another graph, is ignored with a warning.
    """

    def __init__(self, path: Path, store_id: str, store: str) -> None:
        self.path = path
        self.store_id = store_id
        self.store = store
        self.committed: dict[str, int] = {}
        self.resumed = False
        data = self._load()
        if not data or data.get("complete") or not data.get("committed"):
            return
        if data.get("store_id") != store_id:
            logger.warning(
                "ignoring the resume checkpoint %s: it was written for another graph (id %s, %s) than this one "
                "(id %s, %s), which was cleared or is another database; the ingest starts over "
                "(every write is a MERGE, so nothing is duplicated)",
                path,
                data.get("store_id") or "not recorded",
                data.get("store") or "unknown store",
                store_id,
                store,
            )
            return
        self.committed = dict(data["committed"])
        self.resumed = True

    def _load(self) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            committed = data.get("committed", {})
            if not isinstance(committed, dict):
                raise ValueError("'committed' is not an object")
            data["committed"] = {str(k): int(v) for k, v in committed.items()}
            if any(v < 0 for v in data["committed"].values()):
                raise ValueError("negative row count")
        except (OSError, ValueError, TypeError, AttributeError) as e:
            logger.warning("ignoring the unreadable resume checkpoint %s (%s); the ingest starts over", self.path, e)
            return None
        return dict(data)

    def save(self, *, complete: bool = False) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        state = {"store_id": self.store_id, "store": self.store, "committed": self.committed, "complete": complete}
        replace_private(self.path, json.dumps(state))

    def discard(self) -> None:
        """Delete the checkpoint, so the next run rewrites every stage."""
        self.path.unlink(missing_ok=True)
