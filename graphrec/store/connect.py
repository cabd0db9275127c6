"""Open a :class:`GraphStore` on the embedded ArcadeDB server or on an external Neo4j."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from graphrec.home import arcadedb_dir
from graphrec.store.bolt import GraphStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreConfig:
    """Where the graph lives.

    Attributes:
        home: graphrec home (embedded data lives in ``home/arcadedb``).
        uri: Bolt URI of an external Neo4j; ``None`` selects the embedded ArcadeDB store.
        user: User for the external server; ``None`` connects without auth.
        database: Database name on the external server; ``None`` = server default.
        heap: JVM max heap of the embedded server (default ``"2g"``).

    The password is not part of the config (it is never serialised); pass it to
    :func:`open_store` from the environment (``GRAPHREC_NEO4J_PASSWORD``).
    """

    home: Path
    uri: str | None = None
    user: str | None = None
    database: str | None = None
    heap: str = "2g"


def open_store(config: StoreConfig, *, password: str | None = None, ensure_schema: bool = True) -> GraphStore:
    """Connect to the configured store, starting the embedded server if needed.

    An embedded server started by this call is stopped when the store closes; one that was
    already running (e.g. ``graphrec server start``) is reused and left running.

    Args:
        config: Where the graph lives.
        password: Password for an external server.
        ensure_schema: Create constraints and indexes (idempotent; default true).
    """
    if config.uri is not None:
        store = GraphStore.connect(config.uri, user=config.user, password=password, database=config.database)
    else:
        from graphrec.store.arcade import ROOT_USER, EmbeddedArcadeDB

        server = EmbeddedArcadeDB(arcadedb_dir(config.home), heap=config.heap)
        info, started = server.ensure_running()
        on_close = server.stop if started else None
        try:
            store = GraphStore.connect(
                info.uri, user=ROOT_USER, password=server.password(), database=info.database, on_close=on_close
            )
        except BaseException:
            if on_close is not None:
                on_close()
            raise
    if ensure_schema:
        try:
            store.ensure_schema()
        except BaseException:
            store.close()
            raise
    return store
