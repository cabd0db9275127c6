"""Ctrl-C in the CLI (issue 11 item 11): whatever a KeyboardInterrupt turns into on its way out (the Bolt
driver may surface an interrupted socket read as a connection error or a BufferError), the command ends
with one line and exit code 130, never a traceback or "lost the connection… restart the server"."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from graphrec.cli import cli, interrupted
from graphrec.errors import ConfigError, StoreUnavailableError
from graphrec.train import rundir


def _chained(outer: BaseException) -> BaseException:
    """``outer`` raised while a KeyboardInterrupt was being handled (as the driver does)."""
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise outer  # noqa: B904 - the implicit __context__ is the point
    except BaseException as e:
        return e


CASES = {
    "KeyboardInterrupt": KeyboardInterrupt(),
    "connection error from Ctrl-C": _chained(
        StoreUnavailableError("read failed: lost the connection; restart the server")
    ),
    "BufferError from Ctrl-C": _chained(BufferError("Existing exports of data: object cannot be re-sized")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_interrupt_is_one_line_and_exit_130(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    error = CASES[case]
    assert interrupted(error)

    def latest_run(runs: Path) -> Path:
        raise error

    monkeypatch.setattr(rundir, "latest_run", latest_run)
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "evaluate"])
    assert result.exit_code == 130, result.output
    assert result.stderr == (
        "error: interrupted (Ctrl-C): `graphrec evaluate` stopped; what it committed before is kept. "
        "Rerun the command to finish\n"
    )


def test_other_errors_are_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chained = ConfigError("x")
    chained.__context__ = ValueError("y")
    assert not interrupted(ConfigError("x")) and not interrupted(chained)

    def latest_run(runs: Path) -> Path:
        raise ConfigError("no complete training run under X")

    monkeypatch.setattr(rundir, "latest_run", latest_run)
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "evaluate"])
    assert result.exit_code == 1 and result.stderr == "error: no complete training run under X\n"

    def crash(runs: Path) -> Path:
        raise ValueError("a bug")

    monkeypatch.setattr(rundir, "latest_run", crash)
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "evaluate"])
    assert result.exit_code == 1 and isinstance(result.exception, ValueError)  # a bug still shows as one
