"""Reusing an embedded server that another command is still starting.

ArcadeDB opens its Bolt port before it creates its default database (its log: "Listening for
incoming BOLT connections" comes before "Creating default database"), so a command that finds a
server recorded by another command must wait for the server's own "started" line, not only for
the port: CI once queried such a server between the two and got ``DatabaseNotFoundException``.
Here the "server" is this test's own process with a listening socket, so the moment between the
port and the database is held open for as long as the test wants.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphrec.errors import StoreUnavailableError
from graphrec.store.arcade import EmbeddedArcadeDB
from graphrec.store.arcade_state import ArcadeServerInfo, read_state, write_state

BOLT_UP = b"INFO  [BoltNetworkListener] Listening for incoming BOLT connections on /127.0.0.1\n"
STARTED = b"INFO  [ArcadeDBServer] ArcadeDB Server started in 'production' mode\n"


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def _record(server: EmbeddedArcadeDB, port: int, log_offset: int | None) -> None:
    server.root.mkdir(parents=True, exist_ok=True)
    write_state(
        server.state_path,
        ArcadeServerInfo(pid=os.getpid(), bolt_port=port, http_port=port, database="graphrec",
                         detached=False, owner_pid=os.getpid(), log_offset=log_offset),
    )  # fmt: skip


def test_a_server_still_starting_is_not_used_before_it_says_it_started(tmp_path: Path, listener: socket.socket) -> None:
    server = EmbeddedArcadeDB(tmp_path / "arcadedb", startup_timeout=1.0)
    server.root.mkdir(parents=True)
    server.log_path.write_bytes(b"an earlier server's lines\n" + STARTED)  # a previous start: not this one's
    _record(server, listener.getsockname()[1], log_offset=server.log_path.stat().st_size)
    with server.log_path.open("ab") as log:
        log.write(BOLT_UP)  # the port answers; the database does not exist yet
    with pytest.raises(StoreUnavailableError, match="did not answer"):
        server.ensure_running(detached=True)
    with server.log_path.open("ab") as log:
        log.write(STARTED)
    info, started = server.ensure_running(detached=True)
    assert not started and info.pid == os.getpid() and info.detached
    assert read_state(server.state_path) == info  # still recorded, now detached


def test_a_state_file_without_a_log_offset_is_reused_once_its_port_answers(
    tmp_path: Path, listener: socket.socket
) -> None:
    """State files written before the offset was recorded: the port alone, as before."""
    server = EmbeddedArcadeDB(tmp_path / "arcadedb", startup_timeout=1.0)
    _record(server, listener.getsockname()[1], log_offset=None)
    info, started = server.ensure_running(detached=True)
    assert not started and info.log_offset is None
