"""``graphrec ingest / query / stats / clear / repair``: loading and inspecting the graph."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

import click

from graphrec.cli import display
from graphrec.cli.root import Context, writes
from graphrec.errors import StoreError
from graphrec.home import runs_dir, state_dir
from graphrec.output import print_table, to_csv, to_json
from graphrec.params import parse_params

logger = logging.getLogger("graphrec.cli")


def run_ingest(
    c: Context,
    spec_path: Path,
    *,
    batch_size: int,
    out: Path | None,
    bulk: bool = False,
    run_folder: Path | None = None,
) -> None:
    """Check the spec (its files too) before the store starts, ingest it, and print the summary. ``bulk``: load an
    empty Neo4j with its importer (the Neo4j of scripts/neo4j_server.sh in ``run_folder``), see ingest.bulk."""
    from graphrec.stats import graph_stats
    from ingest.pipeline import ingest_spec
    from ingest.spec import load_spec

    if bulk and c.uri is None:
        from graphrec.errors import CapabilityError
        from ingest.bulk.load import EMBEDDED_REFUSAL

        raise CapabilityError(EMBEDDED_REFUSAL)
    spec = load_spec(spec_path)
    run_dir = out or runs_dir(c.home) / f"ingest-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    if bulk:
        from ingest.api import bulk_ingest

        summary = bulk_ingest(spec, neo4j_run_dir=run_folder, uri=c.uri, home=c.home, run_dir=run_dir)
        with c.open_store() as store:
            stats = graph_stats(store)
        print_ingest_summary(summary, run_dir)
        display.print_stats(stats)
        return
    with c.open_store() as store:
        summary = ingest_spec(
            store, spec, state_dir=state_dir(c.home), run_dir=run_dir, batch_size=batch_size, progress=c.progress
        )
        stats = graph_stats(store)
    print_ingest_summary(summary, run_dir)
    display.print_stats(stats)


def print_ingest_summary(summary: Any, run_dir: Path) -> None:
    """Loaded, rejected and resumed rows per scenario, the recount in the graph, and the write rate."""
    for name, counts in summary.scenarios.items():
        click.echo(
            f"{name}: loaded {counts.interactions_loaded} interactions, {counts.items_loaded} items "
            f"({counts.items_without_interactions} without interactions, {counts.items_created} created from "
            f"interactions), {counts.users} users; rejected {counts.interactions_rejected} interaction rows and "
            f"{counts.items_rejected} item rows"
            + (
                f"; skipped {counts.enrich_skipped} enrichment rows of items not in the catalogue"
                if counts.enrich_skipped
                else ""
            )
        )
    click.echo(f"users: {summary.users} distinct")
    found = summary.recounted
    click.echo(
        f"recounted in the graph: {sum(v for k, v in found.items() if k.startswith('interactions:'))} interactions, "
        f"{sum(v for k, v in found.items() if k.startswith('items:'))} items, {found.get('users', 0)} users "
        "(every loaded row is there)"
    )
    if summary.rejected:
        kinds = ", ".join(f"{k}: {v}" for k, v in summary.rejects_by_kind.items())
        click.secho(f"rejected {summary.rejected} rows ({kinds}); see {summary.rejects_path}", fg="yellow")
    else:
        click.echo("rejected 0 rows")
    if summary.resumed_rows:
        click.echo(f"resumed: {summary.resumed_rows} rows were already committed by an interrupted run")
    how = (
        "bulk-imported interactions (files, server stop, import, restart, indexes)"
        if summary.method == "bulk"
        else "wrote interactions"
    )
    click.echo(
        f"{how} at {summary.relationships_per_second:,.0f} relationships/s; "
        f"total {summary.seconds:.1f} s; summary: {run_dir / 'summary.json'}"
    )


@click.command()
@click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=10_000, show_default=True, help="Rows per write transaction."
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Run folder for rejects and summary."
)
@click.option(
    "--bulk",
    is_flag=True,
    help="First load into an empty Neo4j with its importer (neo4j-admin database import full) instead of MERGE "
    "batches: stops and restarts the Neo4j of scripts/neo4j_server.sh, a fixed cost that pays off on large loads. "
    "Not for the embedded ArcadeDB.",
)
@click.option(
    "--neo4j-run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="With --bulk: the run folder of scripts/neo4j_server.sh (default $NEO4J_RUN_DIR, else scripts/neo4j/run).",
)
@click.pass_obj
@writes()
def ingest(c: Context, spec: Path, batch_size: int, out: Path | None, bulk: bool, neo4j_run_dir: Path | None) -> None:
    """Load every scenario of a dataset SPEC (TOML) into the graph. Idempotent; resumes after a crash.

    With --bulk, a first load into an empty Neo4j database goes through Neo4j's importer instead (same validation,
    rejects, graph, schema, recount and checkpoint)."""
    if neo4j_run_dir is not None and not bulk:
        raise click.UsageError("--neo4j-run-dir is an option of --bulk; add --bulk, or leave it out")
    run_ingest(c, spec, batch_size=batch_size, out=out, bulk=bulk, run_folder=neo4j_run_dir)


@click.command()
@click.argument("cypher")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY[:TYPE]=VALUE",
    help="Query parameter (repeatable); TYPE: str (default), int, float, bool, json.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option(
    "--write", is_flag=True, help="Allow the query to write, change the schema and use LOAD CSV (read-only by default)."
)
@click.option(
    "--allow-load-csv",
    is_flag=True,
    help="Allow LOAD CSV in a read-only query (it reads files or URLs the server can reach).",
)
@click.pass_obj
@writes(when="write")
def query(c: Context, cypher: str, params: tuple[str, ...], fmt: str, write: bool, allow_load_csv: bool) -> None:
    """Run a CYPHER query (read-only unless --write) with parameters.

    Read-only queries may not create, merge, set, remove or delete, use CALL { ... } IN TRANSACTIONS,
    change the schema, or use LOAD CSV (unless --allow-load-csv); on the embedded store they run as a
    database user that may only read.
    """
    values = parse_params(params)
    with c.open_store(ensure_schema=False) as store:
        if write:
            try:
                store.ensure_schema()
            except StoreError as e:  # still run the query: it may be the user's repair
                logger.warning("%s; `graphrec repair` restores graphrec's constraints and indexes", e)
        result = store.run_query(cypher, values, write=write, allow_load_csv=allow_load_csv)
    if fmt == "json":
        click.echo(to_json(result.keys, result.rows))
    elif fmt == "csv":
        click.echo(to_csv(result.keys, result.rows), nl=False)
    else:
        print_table(result.keys, result.rows)
        if result.counters:
            click.echo(f"updates: {result.counters}")


@click.command()
@click.pass_obj
def stats(c: Context) -> None:
    """Print node, relationship and per-scenario counts."""
    from graphrec.stats import graph_stats

    with c.open_store(ensure_schema=False) as store:
        display.print_stats(graph_stats(store))


@click.command()
@click.option("--yes", is_flag=True, help="Confirm deleting every node and relationship.")
@click.pass_obj
@writes()
def clear(c: Context, yes: bool) -> None:
    """Delete the whole graph (asks for --yes) and the home's ingest resume checkpoints."""
    if not yes:
        raise click.UsageError("this deletes every node and relationship; rerun with --yes")
    from ingest.pipeline import remove_checkpoints

    with c.open_store(ensure_schema=False) as store:
        n = store.clear()
    removed = remove_checkpoints(state_dir(c.home))
    note = f"; removed {removed} ingest resume checkpoint{'' if removed == 1 else 's'}" if removed else ""
    click.echo(f"deleted {n} nodes{note}")


@click.command()
@click.option("--drop-extra", is_flag=True, help="Also drop constraints and indexes that are not graphrec's.")
@click.pass_obj
@writes()
def repair(c: Context, drop_extra: bool) -> None:
    """Restore graphrec's constraints and indexes after they were dropped or changed (idempotent).

    Drops what conflicts with them (a redefined constraint, an index on the same properties) and
    creates what is missing; other constraints and indexes are listed and kept unless --drop-extra.
    Nodes that share a key (written while a unique constraint was missing) are reported, never deleted.
    """
    from graphrec.store.repair import repair_schema

    with c.open_store(ensure_schema=False) as store:
        report = repair_schema(store, drop_extra=drop_extra)
    for line in report.dropped:
        click.echo(f"dropped {line}")
    for name in report.created:
        click.echo(f"created {name}")
    for line in report.extra:
        click.echo(f"kept {line} (not graphrec's; --drop-extra drops it)")
    click.echo("schema repaired" if report.dropped or report.created else "schema OK: nothing to repair")
