"""``graphrec server``: start, stop and inspect the embedded ArcadeDB server of a home."""

from __future__ import annotations

from typing import Any

import click

from graphrec.cli.root import Context
from graphrec.home import arcadedb_dir


@click.group()
def server() -> None:
    """Manage the embedded ArcadeDB server (reused by later commands while it runs)."""


def _embedded(c: Context) -> Any:
    from graphrec.store.arcade import EmbeddedArcadeDB

    return EmbeddedArcadeDB(arcadedb_dir(c.home))


@server.command("start")
@click.pass_obj
def server_start(c: Context) -> None:
    """Start a detached embedded server that later commands reuse until `graphrec server stop`."""
    info, started = _embedded(c).ensure_running(detached=True)
    click.echo(f"{'started' if started else 'already running'}: pid {info.pid}, {info.uri}")


@server.command("stop")
@click.option("--force", is_flag=True, help="Stop it even while other graphrec commands use it (they fail).")
@click.pass_obj
def server_stop(c: Context, force: bool) -> None:
    """Stop the embedded server of this home (refused while other commands use it, unless --force)."""
    click.echo("stopped" if _embedded(c).stop(force=force) else "not running")


@server.command("status")
@click.pass_obj
def server_status(c: Context) -> None:
    """Show whether the embedded server of this home is running."""
    info = _embedded(c).status()
    if info is None:
        click.echo("not running")
    else:
        if info.detached:
            kind = "detached"
        elif _embedded(c).in_use():
            kind = f"started by pid {info.owner_pid}; stops when the last command using it exits"
        else:
            kind = (
                "no command uses it (left by a killed command): the next command reuses it, or `graphrec server stop`"
            )
        click.echo(f"running: pid {info.pid}, {info.uri} ({kind})")
