"""The graphrec CLI against real stores: query formats and parameters, read-only refusal, quickstart, server."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphrec.cli import cli
from graphrec.store.connect import StoreConfig
from tests.helpers import HEAVY, cli_args, loaded_after


def run(cfg: StoreConfig, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*cli_args(cfg), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_help_is_instant_and_imports_nothing_heavy() -> None:
    # the whole check is tests/unit/test_architecture.py; here: the CLI loads no ingest either
    assert loaded_after(["graphrec.cli"], (*HEAVY, "ingest")) == []
    assert loaded_after(["-m", "graphrec", "--help"], (*HEAVY, "ingest")) == []
    help_out = subprocess.run(
        [sys.executable, "-m", "graphrec", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command in ("ingest", "query", "quickstart", "server", "stats", "train", "evaluate", "recommend", "explain"):
        assert command in help_out


def test_quickstart_then_query_in_every_format(store_config: StoreConfig) -> None:
    code, out, err = run(store_config, "quickstart", "--seed", "1", "--users", "80", "--items", "40")
    assert code == 0, err
    assert "SYNTHETIC" in out and "rejected 0 rows" in out
    # end to end: trained, evaluated per slice, written back, a cold user's books explained, learned topics queried
    for part in ("test metrics (coldstart split, books)", "write-back (quickstart-train-seed1)",
                 "use: books for cold user", "recommended at rank 1", "topic paths",
                 "INTERESTED_IN topics of"):  # fmt: skip
        assert part in out, part
    q = "MATCH (u:User)-[:INTERACTED]->(i:Item {scenario: $s}) RETURN count(DISTINCT u) AS users, count(*) AS n"
    code, out, err = run(store_config, "query", q, "--param", "s=books", "--format", "json")
    assert code == 0, err
    (row,) = json.loads(out)
    assert set(row) == {"users", "n"} and 0 < row["users"] <= 80 and row["n"] > row["users"]
    code, out, _ = run(store_config, "query", q, "--param", "s=books", "--format", "csv")
    assert list(csv.DictReader(io.StringIO(out))) == [{"users": str(row["users"]), "n": str(row["n"])}]
    code, out, _ = run(store_config, "query", q, "--param", "s=books")
    assert str(row["n"]) in out and "users" in out
    code, out, _ = run(
        store_config, "query", "MATCH (i:Item) WHERE i.id IN $ids RETURN i.id AS id ORDER BY id LIMIT $k",
        "--param", 'ids:json=["m0001", "b0002"]', "--param", "k:int=5", "--format", "json",
    )  # fmt: skip
    assert [r["id"] for r in json.loads(out)] == ["b0002", "m0001"]


@pytest.mark.arcadedb
def test_quickstart_starts_the_embedded_server_once(tmp_path: Path) -> None:
    """The quickstart holds one store for the whole command: its own embedded server starts once (not a second
    time after the ingest's store closed), and the command stops it when it ends."""
    cfg = StoreConfig(home=tmp_path / "home")
    code, _, err = run(cfg, "quickstart", "--users", "30", "--items", "20")
    assert code == 0, err
    server_dir = cfg.home / "arcadedb"
    assert (server_dir / "server.log").read_text().count("is starting up") == 1
    assert not (server_dir / "server.json").exists()  # stopped: no running server recorded


def test_query_refuses_writes_unless_asked(store_config: StoreConfig) -> None:
    code, out, err = run(store_config, "query", "CREATE (u:User {id: $id}) RETURN u.id AS id", "--param", "id=w1")
    assert code == 1 and "read-only" in err and "--write" in err
    code, out, _ = run(store_config, "query", "MATCH (u:User {id: 'w1'}) RETURN count(u) AS n", "--format", "json")
    assert json.loads(out) == [{"n": 0}]
    code, out, err = run(
        store_config,
        "query",
        "CREATE (u:User {id: $id}) RETURN u.id AS id",
        "--param",
        "id=w1",
        "--write",
        "--format",
        "json",
    )
    assert code == 0 and json.loads(out) == [{"id": "w1"}]


def test_bad_params_and_bad_cypher_are_clear_errors(store_config: StoreConfig) -> None:
    code, _, err = run(store_config, "query", "RETURN $n AS n", "--param", "n:int=abc")
    assert code == 1 and "'abc' is not a valid int" in err
    code, _, err = run(store_config, "query", "MATCH (n RETURN n")
    assert code == 1 and "query failed" in err


@pytest.mark.arcadedb
def test_server_start_status_stop_and_stale_state_recovery(tmp_path: Path) -> None:
    home = tmp_path / "h"
    base = [sys.executable, "-m", "graphrec", "--home", str(home)]
    out = subprocess.run([*base, "server", "start"], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0 and out.stdout.startswith("started"), out.stderr
    status = subprocess.run([*base, "server", "status"], capture_output=True, text=True).stdout
    assert "running" in status and "detached" in status
    pid = json.loads((home / "arcadedb" / "server.json").read_text())["pid"]
    password = json.loads((home / "arcadedb" / "credentials.json").read_text())["password"]
    assert password not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")  # not visible in ps
    assert (home / "arcadedb" / "credentials.json").stat().st_mode & 0o077 == 0
    # a command reuses the detached server and leaves it running
    q = subprocess.run(
        [*base, "query", "RETURN 1 AS one", "--format", "json"], capture_output=True, text=True, timeout=120
    )
    assert json.loads(q.stdout) == [{"one": 1}]
    assert json.loads((home / "arcadedb" / "server.json").read_text())["pid"] == pid
    # crash: the JVM dies without cleaning up; the next command recovers with a clear warning
    os.kill(pid, signal.SIGKILL)
    q = subprocess.run(
        [*base, "query", "RETURN 2 AS two", "--format", "json"], capture_output=True, text=True, timeout=180
    )
    assert q.returncode == 0, q.stderr
    assert json.loads(q.stdout) == [{"two": 2}]
    assert "stale embedded-server state file" in q.stderr and str(pid) in q.stderr
    assert subprocess.run([*base, "server", "status"], capture_output=True, text=True).stdout.strip() == "not running"
    assert subprocess.run([*base, "server", "stop"], capture_output=True, text=True).stdout.strip() == "not running"


@pytest.mark.arcadedb
def test_no_orphan_jvm_after_a_command(tmp_path: Path) -> None:
    home = tmp_path / "h2"
    out = subprocess.run(
        [sys.executable, "-m", "graphrec", "--home", str(home), "query", "RETURN 1 AS x"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    assert not (home / "arcadedb" / "server.json").exists()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(home / "arcadedb") not in ps


def test_unreachable_neo4j_is_a_clear_error(tmp_path: Path) -> None:
    from graphrec.store.arcade_process import free_port

    cfg = StoreConfig(home=tmp_path, uri=f"bolt://127.0.0.1:{free_port()}")
    code, _, err = run(cfg, "stats")
    assert code == 1 and "cannot reach a Bolt server" in err


@pytest.mark.parametrize("bad", ["x", "1x=2", "k:date=1"])
def test_param_syntax_errors(bad: str) -> None:
    from graphrec.errors import ConfigError
    from graphrec.params import parse_param

    with pytest.raises(ConfigError, match="--param"):
        parse_param(bad)


@pytest.mark.arcadedb
def test_embedded_server_logs_stay_under_the_home(tmp_path: Path) -> None:
    # ArcadeDB's JUL logging writes ./log relative to its working directory: it must not litter the caller's
    cwd, home = tmp_path / "cwd", tmp_path / "h"
    cwd.mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "graphrec", "--home", str(home), "stats"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    assert not (cwd / "log").exists() and list(cwd.iterdir()) == []
    assert any((home / "arcadedb" / "log").glob("arcadedb.log*"))
