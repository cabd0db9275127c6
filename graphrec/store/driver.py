"""Opening ``neo4j`` drivers, their sessions, and translating the driver's errors into graphrec errors that say
what failed and what to do (quoting the server's own reason from its log where its answer hides it).

Everything here talks to the server with SIGINT deferred to the end of the exchange
(:func:`~graphrec.store.interrupts.deferred_interrupt`); a session that a Ctrl-C interrupts all the same (a
second one, or a server that does not answer) is dropped, not closed (:func:`session`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import neo4j
from neo4j.exceptions import AuthError, DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from graphrec.errors import StoreError, StoreUnavailableError
from graphrec.store.interrupts import by_interrupt, deferred_interrupt

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.store.server_log import ServerLog

logger = logging.getLogger(__name__)


def open_driver(uri: str, *, user: str | None, password: str | None) -> neo4j.Driver:
    """A driver connected to the Bolt server at ``uri`` (connectivity verified).

    Args:
        uri: ``bolt://host:port`` or ``neo4j://host:port``.
        user: User name; ``None`` connects without authentication.
        password: Password (from env or config, never logged).

    Raises:
        StoreUnavailableError: The server cannot be reached or rejects the credentials.
    """
    auth = (user, password or "") if user else None
    driver = neo4j.GraphDatabase.driver(uri, auth=auth)
    try:
        with deferred_interrupt():
            driver.verify_connectivity()
    except AuthError as e:
        driver.close()
        raise StoreUnavailableError(
            f"authentication failed for user {user!r} at {uri}; set GRAPHREC_NEO4J_PASSWORD "
            "(and --user) to the server's credentials"
        ) from e
    except (ServiceUnavailable, OSError) as e:
        driver.close()
        raise StoreUnavailableError(
            f"cannot reach a Bolt server at {uri}: {e}. Is the server running? "
            "Start Neo4j (see docker/ or scripts/neo4j_server.sh) or omit --uri to use the embedded store."
        ) from e
    return driver


def open_reader(uri: str, user: str, password: str, *, attempts: int = 4, pause: float = 6.0) -> neo4j.Driver:
    """A driver connected as the server's read-only user.

    A server that was already running when its security files gained the read-only user reloads
    them every 5 seconds: authentication is tried ``attempts`` times, ``pause`` seconds apart
    (ArcadeDB locks a user out for 30 s after 5 failures within 30 s, so never more than 4).

    Raises:
        StoreUnavailableError: The server still rejects the user after ``attempts`` tries.
    """
    for attempt in range(1, attempts + 1):
        reader = neo4j.GraphDatabase.driver(uri, auth=(user, password))
        try:
            with deferred_interrupt():
                reader.verify_connectivity()
            return reader
        except AuthError as e:
            reader.close()
            if attempt == attempts:
                raise StoreUnavailableError(
                    f"the server at {uri} rejects graphrec's read-only user {user!r}; restart the embedded "
                    "server (`graphrec server stop --force`, then rerun) so that it loads its security files"
                ) from e
            logger.info("the server does not know the read-only user yet; retrying in %.0f s", pause)
            time.sleep(pause)
        except BaseException:
            reader.close()
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def drop_session(session: neo4j.Session) -> None:
    """End ``session`` without another word to the server: its connection is closed at once (the server rolls
    back a transaction left open), where a graceful close would first ROLLBACK and wait for the answer.

    This is the driver's own clean-up for a cancelled session (``Session._handle_cancellation``, what it does
    for an ``asyncio.CancelledError``; neo4j 5 and 6). A driver without it gets a graceful close.
    """
    cancel = getattr(session, "_handle_cancellation", None)
    if not callable(cancel):  # pragma: no cover - another driver version: the best it offers
        logger.warning("this neo4j driver cannot drop an interrupted session; closing it (this may wait)")
        session.close()
        return
    cancel(message="graphrec: interrupted (Ctrl-C)")
    session._closed = True  # as Session.__exit__ marks a cancelled session (no unclosed-session warning)


@contextlib.contextmanager
def session(driver: neo4j.Driver, **config: Any) -> Iterator[neo4j.Session]:
    """``driver.session(**config)`` for the block, closed after it (with SIGINT deferred); dropped
    (:func:`drop_session`) where a Ctrl-C ends the block (:func:`~graphrec.store.interrupts.by_interrupt`):
    the interrupt may have landed half way through a message, and a graceful close would then wait for an
    answer to its ROLLBACK on a stream it has lost its place in. The block itself is not deferred here (a
    caller streaming records yields inside it): callers defer their exchanges with the server.
    """
    s = driver.session(**config)
    try:
        yield s
    except BaseException as e:
        with deferred_interrupt():
            if by_interrupt(e):
                drop_session(s)
            else:
                s.close()
        raise
    with deferred_interrupt():
        s.close()


@contextlib.contextmanager
def translated_errors(action: str, *, where: Callable[[], str], log: ServerLog | None) -> Iterator[None]:
    """Translate driver errors raised in the block into graphrec errors.

    Args:
        action: What failed, e.g. ``"query"``; it starts the message.
        where: Names the server (its agent once known) at the time of the failure.
        log: The server's log, read where the server's answer only says "check the server log".

    Raises:
        StoreUnavailableError: The connection was lost (after the driver's retries).
        StoreError: The server refused the request (with its reason) or the driver failed.
    """
    log_offset = log.offset() if log is not None else None
    try:
        yield
    except (ServiceUnavailable, SessionExpired) as e:
        raise StoreUnavailableError(
            f"{action} failed: lost the connection to {where()} after retries ({e}). "
            "Work committed so far is kept; restart the server if needed and rerun the command to resume."
        ) from e
    except Neo4jError as e:
        message = str(e.message or e)
        reason = log.explain(message, log_offset) if log is not None else message
        raise StoreError(f"{action} failed on {where()}: {reason}") from e
    except DriverError as e:
        raise StoreError(f"{action} failed: {e}") from e
