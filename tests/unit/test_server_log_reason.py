"""Reading the server's own reason from its log when it answers only "check the server log"."""

from __future__ import annotations

from pathlib import Path

from graphrec.store.server_log import ServerLog, disk_full_reason, server_log_reason

CONCEALED = (
    "2026-12-01 15:36:15.803 INFO  [BoltNetworkExecutor] BOLT: UndefinedVariable: Variable 'BY' not defined "
    "(concealed from the client in production mode)\n"
)
STACK = """2026-12-01 15:36:16.029 WARNI [BoltNetworkExecutor] BOLT query error
com.arcadedb.exception.CommandExecutionException: Error executing Cypher command: CREATE (:Blob)
\tat com.arcadedb.query.opencypher.Foo.bar(Foo.java:1)
Caused by: com.arcadedb.exception.DatabaseOperationException: Error on writing page
\tat com.arcadedb.Foo.baz(Foo.java:2)
Caused by: java.io.IOException: No space left on device
\tat java.base/sun.nio.ch.FileDispatcherImpl.write0(Native Method)
"""


def test_concealed_reason(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("old line\n" + CONCEALED)
    assert server_log_reason(log, len("old line\n")) == "UndefinedVariable: Variable 'BY' not defined"


def test_root_cause_of_a_stack_trace(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(STACK)
    assert server_log_reason(log, 0) == "IOException: No space left on device"


def test_only_lines_after_the_offset_count_and_the_latest_failure_wins(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(STACK + CONCEALED)
    assert server_log_reason(log, 0) == "UndefinedVariable: Variable 'BY' not defined"
    assert server_log_reason(log, len(STACK) + len(CONCEALED)) is None
    log.write_text(CONCEALED + "java.lang.SecurityException: User 'graphrec_reader' is not allowed to update schema\n")
    assert server_log_reason(log, 0) == "SecurityException: User 'graphrec_reader' is not allowed to update schema"


def test_missing_log(tmp_path: Path) -> None:
    assert server_log_reason(tmp_path / "nope.log", 0) is None


def test_a_full_disk_is_named_from_the_filesystem_when_the_log_cannot_say(tmp_path: Path) -> None:
    import shutil

    free = shutil.disk_usage(tmp_path).free
    assert disk_full_reason(tmp_path, min_free=0) is None  # any free space is enough
    reason = disk_full_reason(tmp_path, min_free=free + (1 << 40))  # less free than asked: "full"
    assert reason is not None and reason.startswith("No space left on device:") and str(tmp_path) in reason
    assert disk_full_reason(tmp_path / "missing" / "dir") is None  # cannot measure: no claim


def test_a_concealed_reason_followed_by_other_output_on_its_line(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(CONCEALED.rstrip("\n") + "Received shutdown signal. The server will be halted\n")
    assert server_log_reason(log, 0) == "UndefinedVariable: Variable 'BY' not defined"


def test_the_error_quotes_the_reason_and_names_the_log(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("old line\n")
    server_log = ServerLog(log, wait=0.0)
    offset = server_log.offset()
    hidden = "The request failed. Check the server log for the details"
    assert server_log.explain("Variable `x` not defined", offset) == "Variable `x` not defined"  # not hidden
    assert server_log.explain(hidden, offset) == f"{hidden} (the server logged no reason; its log: {log})"
    with open(log, "a") as fh:
        fh.write(CONCEALED)
    assert server_log.explain(hidden, offset) == (
        f"UndefinedVariable: Variable 'BY' not defined (the server's reason, from its log {log})"
    )
    assert ServerLog(tmp_path / "missing.log").offset() is None
