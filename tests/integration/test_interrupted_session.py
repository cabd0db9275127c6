"""A Ctrl-C half way through a Bolt message never leaves a command waiting forever (the flaky
``test_sigint_during_write_back_then_write_back_completes[arcadedb]``), on both stores.

The hang, caught under gdb in a loop of SIGINTs at random moments of a real write-back: the interrupt
landed after the driver had read a chunk's 2-byte header and before its body; the session's graceful close
then sent ROLLBACK and read the old body as the next header (``b"\\xb1p"``: 45,424 bytes), waiting in
``recv`` for bytes the server would never send (``Session.close`` → ``_rollback`` → ``fetch_all``).

Here the interrupt comes exactly at that moment: the driver's chunk reader is wrapped so that, right after
the first chunk header read inside a write, either a SIGINT arrives (as from the terminal: deferred until
the server has answered, :mod:`graphrec.store.interrupts`), or a KeyboardInterrupt is raised there (as a
Ctrl-C that does interrupt the exchange: a second one, or a server that does not answer; the session is then
dropped, :func:`graphrec.store.driver.session`). Each runs in a child process on a real store, bounded by a
timeout and a faulthandler dump.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from graphrec.store.connect import StoreConfig, open_store

REPO = Path(__file__).resolve().parents[2]
CHILD = textwrap.dedent(
    """
    import faulthandler, os, signal, sys, time
    from pathlib import Path

    import neo4j._sync.io._bolt._common as bolt_common

    from graphrec.store import cypher
    from graphrec.store.connect import StoreConfig, open_store

    faulthandler.dump_traceback_later(60, exit=True)  # a hang shows where it waits, then ends
    # Ctrl-C as under a terminal, whoever started the tests (a background job inherits SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    home, uri, mode, ids = Path(sys.argv[1]), sys.argv[2] or None, sys.argv[3], sys.argv[4].split(",")
    real = bolt_common.receive_into_buffer
    armed = [False]

    def header_then_interrupt(sock, buffer, n_bytes):
        real(sock, buffer, n_bytes)
        if armed[0] and n_bytes == 2:  # a chunk's header is read, its body is not
            armed[0] = False
            if mode == "raise":
                raise KeyboardInterrupt
            os.kill(os.getpid(), signal.SIGINT)  # the terminal's Ctrl-C, at this moment
            time.sleep(0.2)  # (its handler runs here, inside the driver)

    bolt_common.receive_into_buffer = header_then_interrupt
    with open_store(StoreConfig(home=home, uri=uri), ensure_schema=False) as store:
        store.read("RETURN 1 AS n")  # a connection in the pool, so the write's first read is a response's
        armed[0] = True
        try:
            store.write_batch(cypher.MERGE_USERS, [{"id": i} for i in ids])
            print("not interrupted", flush=True)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
        assert not armed[0]
        assert store.read("RETURN 1 AS n") == [{"n": 1}]  # the store still works
    print("closed", flush=True)
    """
)


def users_with(store_config: StoreConfig, ids: list[str]) -> int:
    with open_store(store_config, ensure_schema=False) as store:
        found = store.read("MATCH (u:User) WHERE u.id IN $ids RETURN count(u) AS n", {"ids": ids})
    return int(found[0]["n"])


@pytest.mark.parametrize(
    ("mode", "committed"),
    [
        ("signal", 5),  # deferred: the transaction ends (committed), then the interrupt
        ("raise", 0),  # interrupted mid-message: the session is dropped, the server rolls the transaction back
    ],
)
def test_an_interrupt_mid_message_never_hangs(
    store_config: StoreConfig, tmp_path: Path, mode: str, committed: int
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    ids = [f"interrupted-{mode}-{k}" for k in range(5)]
    proc = subprocess.run(
        [sys.executable, str(script), str(store_config.home), store_config.uri or "", mode, ",".join(ids)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr[-6000:]
    assert proc.stdout.split() == ["interrupted", "closed"], proc.stdout + proc.stderr[-6000:]
    assert users_with(store_config, ids) == committed
