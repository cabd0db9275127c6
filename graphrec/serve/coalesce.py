"""Single-user rankings that arrive together, scored together by one scoring thread.

Ranking one user reads a scenario's whole item matrix (25 MB for 100k items of 64 floats), so under
concurrent load it is the matrix, not the users, that costs: a block of users scored with one
``users × items`` product reads it once for all of them. A :class:`Coalescer` queues each request's
job; its one scoring thread takes every queued job of the first job's scenario (at most
``max_batch``), scores them in one call and hands each its line of scores, whose top-k the waiting side
picks (so the selection runs on the other core, beside the next block's product). Alone, a request is
scored at once: nothing waits for a block to fill.

A waiting request costs nothing while it waits: a thread calling :meth:`Coalescer.rank` sleeps on
its own event, and a coroutine awaiting :meth:`Coalescer.rank_async` on its own future (resolved on
its event loop, one wake-up per block), so the HTTP service needs no thread per request in flight.
The scoring thread starts with the first job and ends after ``idle_seconds`` without one, so a run
that a reload replaced leaves no thread behind.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)

#: Most single-user requests scored in one matrix product.
COALESCE = 64
#: Seconds the scoring thread waits for a job before it ends (the next job starts a new one).
IDLE_SECONDS = 5.0

R = TypeVar("R")  # one job's result (a ranked list)

#: Scores a block of one scenario: ``(scenario, user rows, list lengths) -> one result per row``.
ScoreBlock = Callable[[Any, list[int], list[int]], list[Any]]
#: Finishes one row's result on the waiting side: ``(scenario, result of the block, list length) -> R``.
Finish = Callable[[Any, Any, int], Any]


@dataclass(eq=False)
class _Job:
    """One user's ranking, waiting for the scoring thread; finished through exactly one of ``event``
    (a waiting thread) or ``future`` (a waiting coroutine, resolved on the future's own event loop)."""

    row: int
    scenario: Any
    k: int
    event: threading.Event | None = None
    future: asyncio.Future[Any] | None = None
    result: Any = None  # what the block's scoring gave this job (R, unless the coalescer has a finish)
    error: BaseException | None = field(default=None, repr=False)


class Coalescer(Generic[R]):
    """Scores the single-user requests that arrive together in one matrix product, on one thread.

    Args:
        score: Scores a block of jobs of one scenario on the scoring thread (:meth:`ServedRun.rank_rows`,
            or :meth:`ServedRun.score_rows` with ``finish``); what it raises is raised by every request
            of the block.
        finish: Turns a job's result of ``score`` into what :meth:`rank` returns, on the waiting side
            (the caller's thread, or the event loop of :meth:`rank_async`), so that work after the
            block's shared product runs beside the scoring thread, not on it (default: none, the
            result of ``score`` is returned).
        max_batch: Most jobs in one block (default :data:`COALESCE`).
        idle_seconds: Seconds without a job before the scoring thread ends (default
            :data:`IDLE_SECONDS`).
    """

    def __init__(
        self, score: ScoreBlock, *, finish: Finish | None = None, max_batch: int = COALESCE,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:  # fmt: skip
        self._score = score
        self._finish = finish
        self._max = max_batch
        self._idle = idle_seconds
        self._cond = threading.Condition()
        self._pending: list[_Job] = []
        self._thread: threading.Thread | None = None
        self.blocks = 0  # blocks scored so far (the tests read it)

    @property
    def pending(self) -> int:
        """Jobs queued and not yet taken by the scoring thread."""
        with self._cond:
            return len(self._pending)

    def rank(self, row: int, scenario: Any, k: int) -> R:
        """The top-``k`` of the user of ``row`` in ``scenario``, waiting in this thread (raises what
        scoring raised)."""
        job = _Job(row, scenario, k, event=threading.Event())
        self._submit(job)
        assert job.event is not None
        job.event.wait()
        if job.error is not None:
            raise job.error
        return self._finished(job.scenario, job.result, k)

    async def rank_async(self, row: int, scenario: Any, k: int) -> R:
        """:meth:`rank` for a coroutine: it awaits a future of its event loop, no thread waits."""
        loop = asyncio.get_running_loop()
        job = _Job(row, scenario, k, future=loop.create_future())
        self._submit(job)
        assert job.future is not None
        return self._finished(scenario, await job.future, k)

    def _finished(self, scenario: Any, result: Any, k: int) -> R:
        return result if self._finish is None else self._finish(scenario, result, k)

    def _submit(self, job: _Job) -> None:
        with self._cond:
            self._pending.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="graphrec-scoring", daemon=True)
                self._thread.start()
            else:
                self._cond.notify()

    def _work(self) -> None:
        while True:
            with self._cond:
                if not self._pending:
                    self._cond.wait(self._idle)
                    if not self._pending:  # idle: end; the next job starts a new thread
                        self._thread = None
                        return
                first = self._pending[0].scenario
                block = [j for j in self._pending if j.scenario is first][: self._max]
                taken = {id(j) for j in block}
                self._pending = [j for j in self._pending if id(j) not in taken]
            self._run(block)

    def _run(self, block: list[_Job]) -> None:
        try:
            results = self._score(block[0].scenario, [j.row for j in block], [j.k for j in block])
        except BaseException as e:  # handed to every request of the block, raised there
            for j in block:
                j.error = e
        else:
            for j, result in zip(block, results):
                j.result = result
        self.blocks += 1
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for j in block:
            if j.event is not None:
                j.event.set()
            elif j.future is not None:
                by_loop.setdefault(j.future.get_loop(), []).append(j)
        for loop, jobs in by_loop.items():  # one wake-up of each event loop per block
            try:
                loop.call_soon_threadsafe(_resolve, jobs)
            except RuntimeError:  # the loop has closed (shutdown): nobody waits for these any more
                logger.debug("event loop closed; %d scored request(s) dropped", len(jobs))


def _resolve(jobs: list[_Job]) -> None:
    """Finish the futures of ``jobs`` (on their event loop); a request that went away is skipped."""
    for j in jobs:
        if j.future is None or j.future.done():
            continue
        if j.error is not None:
            j.future.set_exception(j.error)
        else:
            j.future.set_result(j.result)
