"""The graph store: one code path over the official ``neo4j`` driver (Bolt) for ArcadeDB and Neo4j."""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import neo4j
from neo4j.exceptions import ClientError

from graphrec.errors import QueryRefusedError, StoreError
from graphrec.store import cypher, readonly
from graphrec.store.capabilities import StoreCapabilities
from graphrec.store.driver import open_driver, open_reader, session, translated_errors
from graphrec.store.interrupts import by_interrupt, deferred_interrupt
from graphrec.store.results import DEFAULT_BATCH_SIZE, QueryResult, WriteStats, batched, counters_dict
from graphrec.store.server_log import ServerLog

logger = logging.getLogger(__name__)


class GraphStore:
    """Batched, parameterised access to a graph database over Bolt.

    Args:
        driver: A connected ``neo4j.Driver``. The store takes ownership and closes it.
        database: Database name; ``None`` uses the server default.
        on_close: Optional callback run after the driver is closed (e.g. stopping an
            embedded server this store started).
        read_only: ``(uri, user, password)`` of a server user that may only read: read-only
            :meth:`run_query` calls connect as this user, so the server refuses their writes
            (the embedded ArcadeDB store). ``None``: they use ``driver`` in READ access mode,
            which Neo4j enforces.
        server_log: The server's log file, read after a failure whose message only says "check the
            server log" (ArcadeDB in production mode), so the error quotes the server's own reason.

    Writes run as managed transactions (``execute_write``), which the driver retries on
    transient errors only; reads stream records.
    """

    def __init__(
        self,
        driver: neo4j.Driver,
        *,
        database: str | None = None,
        on_close: Callable[[], None] | None = None,
        read_only: tuple[str, str, str] | None = None,
        server_log: Path | None = None,
    ) -> None:
        self._driver = driver
        self._database = database
        self._on_close = on_close
        self._read_only = read_only
        self._reader: neo4j.Driver | None = None
        self._server_log = ServerLog(server_log) if server_log is not None else None
        self._capabilities: StoreCapabilities | None = None
        self._closed = False

    # --- lifecycle ----------------------------------------------------------------------------
    @classmethod
    def connect(
        cls,
        uri: str,
        *,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        on_close: Callable[[], None] | None = None,
        read_only_auth: tuple[str, str] | None = None,
        server_log: Path | None = None,
    ) -> GraphStore:
        """Connect to a Bolt server and verify connectivity.

        Args:
            uri: ``bolt://host:port`` or ``neo4j://host:port``.
            user: User name; ``None`` connects without authentication.
            password: Password (from env or config, never logged).
            database: Database name; ``None`` uses the server default.
            on_close: Callback run after closing.
            read_only_auth: ``(user, password)`` of a read-only server user for read-only queries.
            server_log: The server's log file (see :class:`GraphStore`).

        Raises:
            StoreUnavailableError: The server cannot be reached or rejects the credentials.
        """
        driver = open_driver(uri, user=user, password=password)
        read_only = (uri, *read_only_auth) if read_only_auth is not None else None
        return cls(driver, database=database, on_close=on_close, read_only=read_only, server_log=server_log)

    def close(self) -> None:
        """Close the driver (idempotent) and run the ``on_close`` callback."""
        if self._closed:
            return
        self._closed = True
        try:
            with deferred_interrupt():
                if self._reader is not None:
                    self._reader.close()
                self._driver.close()
        finally:
            if self._on_close is not None:
                self._on_close()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def database(self) -> str | None:
        """The database name (``None``: server default)."""
        return self._database

    @property
    def capabilities(self) -> StoreCapabilities:
        """Capabilities of the connected server, detected from its Bolt agent."""
        if self._capabilities is None:
            with deferred_interrupt():
                info = self._driver.get_server_info()
            self._capabilities = StoreCapabilities.from_agent(info.agent)
        return self._capabilities

    def _where(self) -> str:
        return self._capabilities.agent if self._capabilities is not None else "the store"

    def _read_only_driver(self) -> neo4j.Driver:
        """The driver of read-only queries: the read-only user's (connected on first use, see
        :func:`graphrec.store.driver.open_reader`), or the store's."""
        if self._read_only is None:
            return self._driver
        if self._reader is None:
            with self._errors("connecting as the read-only user"):
                self._reader = open_reader(*self._read_only)  # (connects with SIGINT deferred)
        return self._reader

    def _session(
        self, driver: neo4j.Driver | None = None, **config: Any
    ) -> contextlib.AbstractContextManager[neo4j.Session]:
        """A session of ``driver`` (default the store's) on the store's database, dropped rather than closed
        where a Ctrl-C interrupts it (:func:`graphrec.store.driver.session`)."""
        return session(driver or self._driver, database=self._database, **config)

    def _errors(self, action: str) -> contextlib.AbstractContextManager[None]:
        """Translate driver errors into graphrec errors (:func:`graphrec.store.driver.translated_errors`)."""
        return translated_errors(action, where=self._where, log=self._server_log)

    # --- schema -------------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create graphrec's constraints and indexes if they do not exist (idempotent)."""
        for ddl in cypher.SCHEMA_DDL:
            self._run_autocommit(ddl, {})

    def _run_autocommit(self, query: str, params: Mapping[str, Any]) -> None:
        with self._errors(f"schema statement {query!r}"), deferred_interrupt(), self._session() as s:
            s.run(query, dict(params)).consume()

    # --- writes -------------------------------------------------------------------------------
    def write_batches(
        self,
        query: str,
        rows: Iterable[Mapping[str, Any]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_batch: Callable[[int], None] | None = None,
    ) -> WriteStats:
        """Run an ``UNWIND $rows`` write query over ``rows`` in batches, one transaction per batch.

        Args:
            query: Cypher that starts with ``UNWIND $rows AS row``.
            rows: Row dicts; consumed lazily.
            batch_size: Rows per transaction (default 10,000).
            on_batch: Called with the batch size after each committed batch.

        Returns:
            Accumulated :class:`WriteStats`.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        stats = WriteStats()
        for batch in batched(rows, batch_size):
            stats.add(self.write_batch(query, batch))
            if on_batch is not None:
                on_batch(len(batch))
        return stats

    def write_batch(self, query: str, rows: Sequence[Mapping[str, Any]]) -> WriteStats:
        """Run one ``UNWIND $rows`` write in a single managed transaction."""
        return self.execute_write(query, {"rows": list(rows)}, rows=len(rows))

    def execute_write(self, query: str, params: Mapping[str, Any], *, rows: int = 1) -> WriteStats:
        """Run one parameterised write query in a managed transaction (retried on transient errors).

        Raises:
            StoreError: The query failed for a non-transient reason.
        """

        def work(tx: neo4j.ManagedTransaction) -> Any:
            return tx.run(query, dict(params)).consume()

        t0 = time.perf_counter()
        with self._errors("write"), deferred_interrupt(), self._session() as s:
            summary = s.execute_write(work)
        c = summary.counters
        return WriteStats(
            rows=rows,
            batches=1,
            nodes_created=c.nodes_created,
            relationships_created=c.relationships_created,
            properties_set=c.properties_set,
            seconds=time.perf_counter() - t0,
        )

    def write_returning(self, query: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run one parameterised write in a managed transaction and return its records as dicts
        (e.g. an ``UNWIND $rows ... RETURN count(*) AS matched`` batch; retried on transient errors only).

        Raises:
            StoreError: The query failed for a non-transient reason.
        """

        def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
            return [record.data() for record in tx.run(query, dict(params))]

        with self._errors("write"), deferred_interrupt(), self._session() as s:
            return list(s.execute_write(work))

    # --- reads --------------------------------------------------------------------------------
    def stream(
        self, query: str, params: Mapping[str, Any] | None = None, *, fetch_size: int = 10_000
    ) -> Iterator[dict[str, Any]]:
        """Stream the records of a read query as dicts (records are fetched lazily).

        Args:
            query: Read-only Cypher.
            params: Query parameters.
            fetch_size: Records fetched per network round trip; also the records read from the driver with
                SIGINT deferred (:func:`~graphrec.store.interrupts.deferred_interrupt`) before they are yielded:
                the caller's code between records is interrupted at once.
        """
        with self._errors("read"), self._session(default_access_mode=neo4j.READ_ACCESS, fetch_size=fetch_size) as s:
            with deferred_interrupt():
                result = s.run(query, dict(params or {}))
            while True:
                with deferred_interrupt():
                    chunk = [record.data() for record in itertools.islice(result, fetch_size)]
                yield from chunk
                if len(chunk) < fetch_size:
                    return

    def stream_chunks(
        self, query: str, params: Mapping[str, Any] | None = None, *, fetch_size: int = 10_000
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Stream the records of a read query as chunks of value tuples in the query's column order: the
        bulk reader (no dict per record), for the export of millions of edges.

        Args:
            query: Read-only Cypher.
            params: Query parameters.
            fetch_size: Records per network round trip and per chunk (SIGINT deferred while one is read).
        """
        with self._errors("read"), self._session(default_access_mode=neo4j.READ_ACCESS, fetch_size=fetch_size) as s:
            with deferred_interrupt():
                result = s.run(query, dict(params or {}))
            while True:
                with deferred_interrupt():
                    chunk: list[tuple[Any, ...]] = list(itertools.islice(result, fetch_size))  # Record is a tuple
                if chunk:
                    yield chunk
                if len(chunk) < fetch_size:
                    return

    def read(self, query: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a read query and return all records as dicts."""
        return list(self.stream(query, params))

    def run_query(
        self,
        query: str,
        params: Mapping[str, Any] | None = None,
        *,
        write: bool = False,
        allow_load_csv: bool = False,
    ) -> QueryResult:
        """Run a user's Cypher query, read-only unless ``write`` is set.

        Read-only mode has three guards: :func:`graphrec.store.readonly.check_read_only` refuses
        updates, schema statements, ``IN TRANSACTIONS`` and ``LOAD CSV`` (unless ``allow_load_csv``)
        before anything is sent; the query runs as a server user that may only read (ArcadeDB; see
        :mod:`graphrec.store.arcade`) or in a READ access-mode session (Neo4j enforces it), so the
        server refuses what the check missed; and a transaction whose counters show updates is
        rolled back. Write mode runs the query in an auto-commit transaction (so ``CALL { ... } IN
        TRANSACTIONS`` works).

        Args:
            query: The user's Cypher.
            params: Query parameters.
            write: Allow the query to write.
            allow_load_csv: Allow ``LOAD CSV`` in read-only mode.

        Raises:
            QueryRefusedError: A query that writes (or uses ``LOAD CSV`` unasked) in read-only mode.
            StoreError: The query failed (syntax error, unknown procedure, ...).
        """
        if write:
            with self._errors("query"), deferred_interrupt(), self._session() as s:
                result = s.run(query, dict(params or {}))
                keys = list(result.keys())
                rows = [record.data() for record in result]
                counters = result.consume().counters
            return QueryResult(keys=keys, rows=rows, counters=counters_dict(counters))

        readonly.check_read_only(query, allow_load_csv=allow_load_csv)
        refusal = "graphrec query is read-only by default and this query writes to the graph"
        driver = self._read_only_driver()
        try:
            with (
                self._errors("query"),
                deferred_interrupt(),
                self._session(driver, default_access_mode=neo4j.READ_ACCESS) as s,
            ):
                tx = s.begin_transaction()
                try:
                    result = tx.run(query, dict(params or {}))
                    keys = list(result.keys())
                    rows = [record.data() for record in result]
                    counters = result.consume().counters
                    if counters.contains_updates or counters.contains_system_updates:
                        tx.rollback()
                        raise QueryRefusedError(
                            f"{refusal} (it would have made: {counters_dict(counters)}); rerun with --write to allow it"
                        )
                    tx.commit()
                except BaseException as e:
                    if not tx.closed() and not by_interrupt(e):  # interrupted: the session is dropped instead
                        tx.close()
                    raise
        except StoreError as e:
            cause = e.__cause__
            code = cause.code or "" if isinstance(cause, ClientError) else ""
            if "AccessMode" in code or code.endswith("Security.Forbidden"):
                reason = str(e).split(": ", 1)[-1]
                raise QueryRefusedError(
                    f"{refusal}, and the server refused it ({reason}); rerun with --write to allow it"
                ) from cause
            raise
        return QueryResult(keys=keys, rows=rows, counters=counters_dict(counters))

    # --- maintenance --------------------------------------------------------------------------
    def clear(self, *, batch_size: int = 10_000) -> int:
        """Delete every node and relationship, in batches. Returns the number of nodes deleted.

        The store's identity marker goes first, so even a clear interrupted half-way voids every
        ingest checkpoint of this graph (see :mod:`ingest.pipeline`).
        """
        marker = self.delete_in_batches(cypher.DELETE_STORE_MARKER_BATCH, batch_size, "clearing the graph")
        return marker + self.delete_in_batches(cypher.DELETE_ALL_BATCH, batch_size, "clearing the graph")

    def delete_interactions(self, *, batch_size: int = 10_000) -> int:
        """Delete every ``INTERACTED`` relationship, in batches (nodes stay). Returns the number deleted."""
        return self.delete_in_batches(cypher.DELETE_INTERACTIONS_BATCH, batch_size, "deleting interactions")

    def delete_topics(self, source: str, *, batch_size: int = 10_000) -> int:
        """Delete the ``Topic`` nodes of one source with their relationships. Returns the number deleted."""
        return self.delete_in_batches(
            cypher.DELETE_TOPICS_OF_SOURCE_BATCH, batch_size, f"deleting {source} topics", {"source": source}
        )

    def delete_related_topics(self, *, batch_size: int = 10_000) -> int:
        """Delete every ``RELATED_TO`` edge between topics. Returns the number deleted."""
        return self.delete_in_batches(cypher.DELETE_RELATED_TOPICS_BATCH, batch_size, "deleting the topic graph")

    def delete_in_batches(
        self, query: str, batch_size: int, action: str, params: Mapping[str, Any] | None = None
    ) -> int:
        """Run a ``... WITH x LIMIT $limit DELETE x RETURN count(*) AS deleted`` query until it deletes
        nothing, one transaction per batch. Returns the total deleted.

        Args:
            query: The batched delete (from :mod:`graphrec.store.cypher`).
            batch_size: ``$limit`` per transaction.
            action: What is being deleted, for error messages.
            params: Further parameters of the query.
        """
        total = 0
        args = {**(params or {}), "limit": batch_size}

        def work(tx: neo4j.ManagedTransaction) -> Any:
            record = tx.run(query, args).single()
            return 0 if record is None else record["deleted"]

        while True:
            with self._errors(action), deferred_interrupt(), self._session() as s:
                deleted = s.execute_write(work)
            total += int(deleted)
            if deleted == 0:
                return total
