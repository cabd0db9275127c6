"""The CLI's bound on the wait after Ctrl-C: a command whose clean-up waits forever after the first SIGINT gets
every thread's stack dumped to stderr (naming what it waits on) and exits with status 130 and a message once
its grace period is over; a command that stops in time is not touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHILD = textwrap.dedent(
    """
    import signal, sys, threading
    from graphrec.cli import root

    root.INTERRUPT_GRACE_S = float(sys.argv[1])
    signal.signal(signal.SIGINT, root._on_sigint)  # what graphrec's main() installs

    def clean_up_that_waits_on_the_server():
        threading.Event().wait(float(sys.argv[2]))

    try:
        print("ready", flush=True)
        threading.Event().wait(60)
    except KeyboardInterrupt:
        clean_up_that_waits_on_the_server()
        print("stopped", flush=True)
        sys.exit(130)
    """
)


def interrupt(grace: float, clean_up: float) -> tuple[int, str, str, float]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(grace), str(clean_up)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err, time.monotonic() - t0


def test_a_clean_up_that_never_ends_is_dumped_and_ended_with_130() -> None:
    code, out, err, took = interrupt(grace=1.0, clean_up=300.0)
    assert code == 130 and took < 30, (code, took, err)
    assert "stopped" not in out
    assert "most recent call first" in err and "in clean_up_that_waits_on_the_server" in err, err
    assert err.rstrip().endswith(
        "error: interrupted (Ctrl-C), but graphrec did not stop within 1 s: its clean-up waits on something (the "
        "stack of every thread is above; please report it). Exiting without finishing the clean-up: what the "
        "command committed before is kept; rerun it to finish"
    ), err


def test_a_clean_up_within_the_grace_period_ends_as_the_command_says() -> None:
    code, out, err, _ = interrupt(grace=20.0, clean_up=0.5)
    assert (code, out, err) == (130, "stopped\n", "")
