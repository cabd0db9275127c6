"""Open a :class:`GraphStore` on the embedded ArcadeDB server or on an external Neo4j."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from graphrec.home import arcadedb_dir, ensure_home
from graphrec.store.arcade import EmbeddedArcadeDB
from graphrec.store.arcade_users import READER_USER, ROOT_USER
from graphrec.store.bolt import GraphStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoreConfig:
    """Where the graph lives.

    Attributes:
        home: graphrec home (embedded data lives in ``home/arcadedb``); made absolute (the embedded server
            runs in its own working directory).
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home).expanduser().resolve())


def open_store(config: StoreConfig, *, password: str | None = None, ensure_schema: bool = True) -> GraphStore:
    """Connect to the configured store, starting the embedded server if needed.

    The home is created private (0700) if missing (:func:`graphrec.home.ensure_home`). The
    embedded server is shared by every process using the home: this store uses it until it
    closes, and the last store to close stops it unless it was started detached (``graphrec
    server start``); see :mod:`graphrec.store.arcade`. Opening a store takes no write lock:
    writers hold :func:`graphrec.lock.write_lock` around their writes.

    Args:
        config: Where the graph lives.
        password: Password for an external server.
        ensure_schema: Create constraints and indexes (idempotent; default true).
    """
    ensure_home(config.home)
    if config.uri is not None:
        store = GraphStore.connect(config.uri, user=config.user, password=password, database=config.database)
    else:
        server = EmbeddedArcadeDB(arcadedb_dir(config.home), heap=config.heap)
        client = server.attach()
        try:
            info = client.info
            if not client.started:
                server.ensure_reader()  # a server started by an older graphrec: it reloads its users
            store = GraphStore.connect(
                info.uri,
                user=ROOT_USER,
                password=server.password(),
                database=info.database,
                on_close=client.close,
                read_only_auth=(READER_USER, server.reader_password()),
                server_log=server.log_path,
            )
        except BaseException:
            client.close()
            raise
    if ensure_schema:
        try:
            store.ensure_schema()
        except BaseException:
            store.close()
            raise
    return store
