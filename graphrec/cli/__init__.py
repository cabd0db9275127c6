"""The ``graphrec`` command line: a thin shell over :mod:`graphrec.api` (and, lazily, :mod:`ingest.api`).

One module per command group — :mod:`~graphrec.cli.graph` (ingest, query, stats, clear, repair),
:mod:`~graphrec.cli.knowledge` (embed, topics), :mod:`~graphrec.cli.learn` (train, write-back),
:mod:`~graphrec.cli.use` (evaluate, recommend, explain, refresh), :mod:`~graphrec.cli.serve` (the HTTP service),
:mod:`~graphrec.cli.server`,
:mod:`~graphrec.cli.quickstart` — with the root group and what they share in :mod:`~graphrec.cli.root` and the
printing in :mod:`~graphrec.cli.display`.
Only this package reads argv; heavy packages are imported when a command runs.
"""

from graphrec.cli import graph, knowledge, learn, quickstart, serve, server, use
from graphrec.cli.root import cli, interrupted, main

for command in (graph.ingest, graph.query, graph.stats, graph.clear, graph.repair):
    cli.add_command(command)
for command in (knowledge.embed, knowledge.topics, quickstart.quickstart):
    cli.add_command(command)
for command in (learn.train, learn.write_back_cmd, use.evaluate, use.recommend, use.explain, use.refresh):
    cli.add_command(command)
cli.add_command(server.server)
cli.add_command(serve.serve)

__all__ = ["cli", "interrupted", "main"]
