"""SIGINT deferred while the driver talks to the server (:mod:`graphrec.store.interrupts`), with real signals: a
Ctrl-C waits for the end of the block and is then raised by the handler that was installed; a second one,
or a block still running after the limit, interrupts at once; nested blocks and other threads are left as
they are; the handler is always restored."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from graphrec.store.interrupts import by_interrupt, deferred_interrupt


class Interrupted(KeyboardInterrupt):
    """What the test's own SIGINT handler raises (so the test knows whose handler ran)."""


@pytest.fixture
def handler() -> Iterator[list[float]]:
    """A SIGINT handler that notes the time and raises :class:`Interrupted`; the previous one is restored."""
    calls: list[float] = []

    def on_sigint(signum: int, frame: object) -> None:
        calls.append(time.monotonic())
        raise Interrupted

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield calls
    finally:
        signal.signal(signal.SIGINT, previous)


def ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)  # the handler runs here


def test_a_ctrl_c_waits_for_the_end_of_the_block(handler: list[float]) -> None:
    installed = signal.getsignal(signal.SIGINT)
    done = []
    with pytest.raises(Interrupted), deferred_interrupt(limit=30):
        ctrl_c()
        time.sleep(0.3)  # the server's answer
        done.append(time.monotonic())
    assert done and len(handler) == 1 and handler[0] >= done[0]  # raised once, after the block
    assert signal.getsignal(signal.SIGINT) is installed
    with deferred_interrupt(limit=30):  # a block without a Ctrl-C ends as usual
        pass
    assert signal.getsignal(signal.SIGINT) is installed


def test_a_second_ctrl_c_interrupts_at_once(handler: list[float]) -> None:
    reached = []
    with pytest.raises(Interrupted), deferred_interrupt(limit=30):
        ctrl_c()
        reached.append("first")
        ctrl_c()
        reached.append("second")
    assert reached == ["first"] and len(handler) == 1


def test_a_block_still_running_after_the_limit_is_interrupted(handler: list[float]) -> None:
    t0 = time.monotonic()
    with pytest.raises(Interrupted), deferred_interrupt(limit=0.5):
        ctrl_c()
        time.sleep(20)  # a server that never answers
    assert 0.5 <= time.monotonic() - t0 < 10 and len(handler) == 1


def test_nested_blocks_and_other_threads_are_left_as_they_are(handler: list[float]) -> None:
    installed = signal.getsignal(signal.SIGINT)
    with pytest.raises(Interrupted), deferred_interrupt(limit=30):
        outer = signal.getsignal(signal.SIGINT)
        with deferred_interrupt(limit=30):
            assert signal.getsignal(signal.SIGINT) is outer
        ctrl_c()
    assert len(handler) == 1
    seen = []
    thread = threading.Thread(target=lambda: seen.append(_in_thread()))
    thread.start()
    thread.join()
    assert seen == [installed] and signal.getsignal(signal.SIGINT) is installed


def _in_thread() -> object:
    with deferred_interrupt(limit=30):
        return signal.getsignal(signal.SIGINT)


def test_by_interrupt_follows_the_chain() -> None:
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise BufferError("Existing exports of data: object cannot be re-sized")  # noqa: B904
    except BufferError as e:
        assert by_interrupt(e)
    assert by_interrupt(Interrupted()) and not by_interrupt(ValueError("x"))
