"""``graphrec serve``: the HTTP JSON service over a trained run (:mod:`graphrec.serve.http`, FastAPI on uvicorn)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import click

from graphrec.cli.learn import RUN_OPTION
from graphrec.cli.root import Context
from graphrec.errors import ConfigError

#: Environment variable holding the bearer token the service requires (unset: no auth).
TOKEN_ENV = "GRAPHREC_SERVE_TOKEN"
#: The service process's GIL switch interval (seconds; Python's default is 0.005). The event loop waits at
#: most this long for the GIL while the scoring thread ranks in Python; 0.5 ms measured 7% more requests/s
#: and a lower p99 at 8 clients than the default (bench/serve_bench.py, BENCHMARKS.md "Serving").
GIL_SWITCH_SECONDS = 0.0005

logger = logging.getLogger(__name__)


def check_port(host: str, port: int) -> None:
    """Raises ConfigError if ``host:port`` cannot be listened on (in use, or not an address of this machine)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            s.bind(address)
    except OSError as e:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({e.strerror or e}); pass another --port, stop what listens there, "
            "or give --host an address of this machine"
        ) from e


@click.command()
@RUN_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port.")
@click.option(
    "--no-store",
    is_flag=True,
    help="Serve from the run folder alone: no titles, and /explain and /topics answer 503.",
)
@click.option("--access-log", is_flag=True, help="Log one line per request (uvicorn's access log).")
@click.pass_obj
def serve(c: Context, run: Path | None, host: str, port: int, no_store: bool, access_log: bool) -> None:
    """Serve recommendations over HTTP (JSON, OpenAPI docs at /docs) from a trained run.

    Endpoints: GET /recommend, POST /recommend (a batch, or a new user's history), GET /explain,
    GET /similar-items, GET /topics, GET /healthz, GET /readyz, GET /metrics (Prometheus),
    POST /reload (swap in the latest or a given run without a restart). With $GRAPHREC_SERVE_TOKEN set,
    every endpoint but /healthz requires `Authorization: Bearer <token>`. Stop with Ctrl-C or SIGTERM:
    requests in flight finish, then the store connection closes."""
    import uvicorn

    from graphrec.serve.http import create_app
    from graphrec.serve.service import Service

    token = os.environ.get(TOKEN_ENV) or None
    check_port(host, port)  # before the run loads: a busy port fails in a second, not after the load
    folder = c.run_path(run)
    store = None if no_store else c.open_store(ensure_schema=False)
    try:
        service = Service(home=c.home, store=store)
        service.reload(folder)
        app = create_app(service, token=token)
        config = uvicorn.Config(
            app, host=host, port=port, access_log=access_log, log_level="info", timeout_graceful_shutdown=30,
            log_config=None,
        )  # fmt: skip
        if access_log:  # uvicorn's access lines are INFO records; the root logger shows WARNING unless -v
            logging.getLogger("uvicorn.access").setLevel(logging.INFO)
        server = uvicorn.Server(config)
        click.echo(
            f"serving run {service.current.name} on http://{host}:{port} (docs at /docs; "
            f"{'bearer token required' if token else 'no auth: set $' + TOKEN_ENV + ' to require a token'}; "
            f"{'no graph store' if store is None else 'graph store connected'})",
            err=True,
        )
        stopped: list[int] = []

        def stop(signum: int, frame: Any) -> None:  # uvicorn re-raises the signal it stopped on: it ends here
            stopped.append(signum)

        previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        try:
            server.run()
        finally:
            sys.setswitchinterval(interval)
            for s, handler in previous.items():
                signal.signal(s, handler)
        if not server.started:
            raise click.ClickException(f"the service could not start on {host}:{port} (see the log above)")
    finally:
        if store is not None:
            store.close()
    why = signal.Signals(stopped[0]).name if stopped else "shutdown"
    click.echo(f"stopped ({why}); {'no store' if store is None else 'store closed'}", err=True)
