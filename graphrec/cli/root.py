"""The root ``graphrec`` group, its global options, and what every command shares: the store it opens,
the home's write lock, and one rule for errors and Ctrl-C."""

from __future__ import annotations

import faulthandler
import functools
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from graphrec.device import check_device_name
from graphrec.errors import CommandInterrupted, GraphRecError
from graphrec.home import HOME_ENV, PASSWORD_ENV, PRIVATE_UMASK, resolve_home, runs_dir
from graphrec.lock import write_lock

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.store.bolt import GraphStore

logger = logging.getLogger("graphrec.cli")


@dataclass(frozen=True)
class Context:
    """Global options shared by all commands."""

    home: Path
    uri: str | None
    user: str | None
    database: str | None
    progress: bool

    def open_store(self, *, ensure_schema: bool = True) -> GraphStore:
        """The store of these options (the password of ``--uri`` from ``$GRAPHREC_NEO4J_PASSWORD``)."""
        from graphrec.api import open_store

        return open_store(
            self.home, uri=self.uri, user=self.user, database=self.database, password=os.environ.get(PASSWORD_ENV),
            ensure_schema=ensure_schema,
        )  # fmt: skip

    def run_path(self, run: Path | None) -> Path:
        """``run``, or the latest complete run folder of the home."""
        from graphrec.train.rundir import latest_run

        return run if run is not None else latest_run(runs_dir(self.home))


def _check_device(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``--device``: a usage error (before any work) unless a device name graphrec takes; whether the GPU
    exists is checked when the command resolves it (that imports torch)."""
    try:
        return check_device_name(value)
    except GraphRecError as e:
        raise click.BadParameter(str(e), ctx=ctx, param=param) from e


def device_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The ``--device auto|cpu|cuda|cuda:N`` option (default ``cpu``) of a command that runs ``what`` on torch."""
    return click.option(
        "--device", default="cpu", show_default=True, metavar="auto|cpu|cuda|cuda:N", callback=_check_device,
        help=f"Torch device {what}: auto = a GPU where torch sees one, else the CPU; cuda[:N] fails without a GPU.",
    )  # fmt: skip


def writes(when: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run a command under its home's write lock (:mod:`graphrec.lock`); with ``when``, only if
    that option is true. Goes right above ``def``, below ``@click.pass_obj``."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def wrapper(c: Context, *args: Any, **kwargs: Any) -> Any:
            if when is not None and not kwargs.get(when):
                return f(c, *args, **kwargs)

            with write_lock(c.home):
                return f(c, *args, **kwargs)

        return wrapper

    return decorate


_SIGINT = {"received": False}  # set by main()'s SIGINT handler: the user pressed Ctrl-C

INTERRUPT_GRACE_S = 90.0
"""Seconds a command has to stop after its first Ctrl-C (clean-up included: a last client stopping the embedded
server waits up to 60 s for it) before :func:`_watch_stop` dumps every thread's stack and ends the process."""


def _on_sigint(signum: int, frame: Any) -> None:
    if not _SIGINT["received"]:
        _SIGINT["received"] = True
        _watch_stop(INTERRUPT_GRACE_S)
    raise KeyboardInterrupt


def _watch_stop(grace: float) -> None:
    """Bound the wait after a Ctrl-C: a command still running ``grace`` seconds later (its clean-up waits on
    something: a server's answer, a lock, a child process) gets the stack of every thread dumped to stderr
    (faulthandler's own thread: it works even while the main thread holds the GIL), which names what it waits
    on, then a message and exit status 130 a second later (:func:`_give_up`)."""
    faulthandler.dump_traceback_later(grace, exit=False)
    threading.Thread(target=_give_up, args=(grace,), name="graphrec-interrupt-watchdog", daemon=True).start()


def _give_up(grace: float) -> None:
    threading.Event().wait(grace + 1.0)
    sys.stderr.write(
        f"error: interrupted (Ctrl-C), but graphrec did not stop within {grace:.0f} s: its clean-up waits on "
        "something (the stack of every thread is above; please report it). Exiting without finishing the "
        "clean-up: what the command committed before is kept; rerun it to finish\n"
    )
    sys.stderr.flush()
    os._exit(130)


def interrupted(e: BaseException) -> bool:
    """Whether ``e`` comes from a Ctrl-C: a SIGINT arrived, or a KeyboardInterrupt is in its chain
    (the Bolt driver may surface an interrupted socket read as another error)."""
    seen: set[int] = set()
    x: BaseException | None = e
    while x is not None and id(x) not in seen:
        if isinstance(x, (KeyboardInterrupt, CommandInterrupted)):
            return True
        seen.add(id(x))
        x = x.__cause__ or x.__context__
    return _SIGINT["received"]


class GraphRecGroup(click.Group):
    """Turns :class:`GraphRecError` into a one-line message and exit code 1 (no traceback); a Ctrl-C
    into a one-line message and exit code 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (KeyboardInterrupt, Exception) as e:  # GraphRecError, or anything a Ctrl-C turned into
            if interrupted(e):
                what = str(e) if isinstance(e, CommandInterrupted) else (
                    f"interrupted (Ctrl-C): `graphrec {ctx.invoked_subcommand}` stopped; what it committed before "
                    "is kept. Rerun the command to finish"
                )  # fmt: skip
                click.secho(f"error: {what}", fg="red", err=True)
                ctx.exit(130)
            if not isinstance(e, GraphRecError):
                raise
            click.secho(f"error: {e}", fg="red", err=True)
            ctx.exit(1)


@click.group(cls=GraphRecGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"graphrec home (embedded database, caches, runs). Default: ${HOME_ENV} or ~/.graphrec.",
)
@click.option("--uri", default=None, help="Bolt URI of an external Neo4j (default: the embedded ArcadeDB store).")
@click.option("--user", default=None, help=f"User for --uri; the password comes from ${PASSWORD_ENV}.")
@click.option("--database", default=None, help="Database name on the --uri server (default: server default).")
@click.option("--no-progress", is_flag=True, help="Hide progress bars.")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="graphrec")
@click.pass_context
def cli(
    ctx: click.Context,
    home: Path | None,
    uri: str | None,
    user: str | None,
    database: str | None,
    no_progress: bool,
    verbose: int,
) -> None:
    """graphrec: cross-scenario recommendations through a graph database and a GNN."""
    os.umask(PRIVATE_UMASK)  # the home's files (runs, rejects, state, features) are the user's only
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # the driver logs each retry and connection failure with a traceback; graphrec reports the
    # final error itself, so the driver's own log shows only with -v (warnings) or -vv (debug)
    driver_level = logging.CRITICAL if verbose == 0 else logging.WARNING if verbose == 1 else logging.DEBUG
    logging.getLogger("neo4j").setLevel(driver_level)
    ctx.obj = Context(home=resolve_home(home), uri=uri, user=user, database=database, progress=not no_progress)


def main() -> None:
    """Console-script entry point (a Ctrl-C ends any command with a clear message and exit code 130)."""
    signal.signal(signal.SIGINT, _on_sigint)
    cli(prog_name="graphrec")
