"""Ctrl-C while the Bolt driver talks to the server: deferred to the end of the exchange.

A KeyboardInterrupt raised inside the ``neo4j`` driver can land half way through a Bolt message (after a
chunk's header, before its body). The driver's own clean-up then talks to the server over a stream it has
lost its place in and waits forever for an answer that never comes; two such waits were caught under gdb
in a loop of SIGINTs during ``graphrec write-back``: ``Session.close`` → ``Transaction._rollback`` →
``fetch_all``, and ``Transaction._commit``'s ``finally`` → ``Session._disconnect`` → ``Pool.release`` →
``Bolt.reset`` → ``fetch_all``, each blocked in ``recv``.

:func:`deferred_interrupt` keeps SIGINT out of the driver: while its block runs (in the main thread, the
only one Python runs signal handlers in) a SIGINT is recorded, and the interrupt is raised, by the handler
that was installed, when the block ends, with the connection between messages. A second SIGINT, or a block
still running :data:`INTERRUPT_DEFER_S` seconds after the first (a server that does not answer), interrupts
at once; a session it interrupts is dropped, not closed (:func:`graphrec.store.driver.session`).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

logger = logging.getLogger(__name__)

INTERRUPT_DEFER_S = 10.0
"""Seconds a Ctrl-C waits for the server's answer to the request in flight before it interrupts anyway."""


def by_interrupt(error: BaseException) -> bool:
    """Whether ``error`` comes from a Ctrl-C: a KeyboardInterrupt, or one in its chain (the driver may turn an
    interrupted socket operation into another error, e.g. a ``BufferError`` or a connection error)."""
    seen: set[int] = set()
    x: BaseException | None = error
    while x is not None and id(x) not in seen:
        if isinstance(x, KeyboardInterrupt):
            return True
        seen.add(id(x))
        x = x.__cause__ or x.__context__
    return False


class _Deferred:
    """The SIGINT handler of a :func:`deferred_interrupt` block: the first SIGINT is recorded (and a timer
    sends another to the main thread after ``limit`` seconds); the next one calls ``previous`` at once."""

    def __init__(self, previous: Callable[[int, FrameType | None], Any], limit: float) -> None:
        self.previous = previous
        self.limit = limit
        self.frame: FrameType | None = None
        self.received = False
        self.raised = False
        self._timer: threading.Timer | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if not self.received:
            self.received, self.frame = True, frame
            self._timer = threading.Timer(self.limit, signal.pthread_kill, (threading.main_thread().ident, signum))
            self._timer.daemon = True
            self._timer.start()
            logger.info("Ctrl-C: stopping once the server answers the request in flight (at most %.0f s)", self.limit)
            return
        self.cancel()
        self.raised = True
        self.previous(signum, frame)  # interrupt now (a second Ctrl-C, or no answer in time)

    def cancel(self) -> None:
        """Stop the timer of the first SIGINT (if it has not fired)."""
        if self._timer is not None:
            self._timer.cancel()


@contextlib.contextmanager
def deferred_interrupt(limit: float = INTERRUPT_DEFER_S) -> Iterator[None]:
    """Run the block with SIGINT deferred to its end (see the module docstring). Nested blocks, blocks outside
    the main thread and a SIGINT that is ignored or left to the OS run as they are."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if isinstance(previous, _Deferred) or not callable(previous):
        yield
        return
    handler = _Deferred(previous, limit)
    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        handler.cancel()
        signal.signal(signal.SIGINT, previous)
        if handler.received and not handler.raised:
            previous(signal.SIGINT, handler.frame)  # the deferred Ctrl-C, between two messages
