"""``graphrec evaluate / recommend / explain``: using a trained recommender.

Each command parses its options, calls :mod:`graphrec.api`, and prints the result (:mod:`graphrec.cli.display`).
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import click

from graphrec.cli import display
from graphrec.cli.learn import RUN_OPTION
from graphrec.cli.root import Context, device_option
from graphrec.device import resolve_device


@click.command()
@RUN_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def evaluate(c: Context, run: Path | None, fmt: str) -> None:
    """Recompute a run's full-ranking test metrics per slice from its saved embeddings and split."""
    from graphrec import api

    saved = api.load_run(c.run_path(run))
    metrics = saved.evaluate()
    if fmt == "json":
        click.echo(json.dumps({"run": saved.name, "metrics": metrics}, indent=2))
    else:
        display.print_metrics(metrics, title=f"{saved.name}: test metrics, target {saved.target}")


@click.command()
@click.option("--scenario", default=None, help="Scenario to recommend from (default: the run's target).")
@click.option("--user", "user_ids", multiple=True, help="Raw user id (repeatable).")
@click.option(
    "--users",
    "users_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="File with one user id per line (optional header 'user_id').",
)
@click.option(
    "--history",
    "history_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A new user's history instead of user ids: one 'scenario,item_id' (or 'item_id') per line, any "
    "scenario; the user is folded in with the trained weights, no retraining.",
)
@click.option("-k", "k", default=10, show_default=True, help="Items per user.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write CSV user_id,item_id,rank,score here instead of printing a table.",
)
@click.option("--skip-unknown", is_flag=True, help="Report users the run does not know instead of failing.")
@RUN_OPTION
@device_option("to score on")
@click.pass_obj
def recommend(
    c: Context, scenario: str | None, user_ids: tuple[str, ...], users_file: Path | None, history_file: Path | None,
    k: int, output: Path | None, skip_unknown: bool, run: Path | None, device: str,
) -> None:  # fmt: skip
    """Top-K items for users from a trained run; users with no history in the scenario get them too, and so
    does a user the run has never seen, from a history file (--history).

    The table shows each item's title (read from the graph); --output writes ids only."""
    from graphrec import api
    from graphrec.serve.foldin import read_history
    from graphrec.serve.recommend import Recommendations, read_user_ids

    ids = list(user_ids) + (read_user_ids(users_file) if users_file else [])
    if bool(ids) == (history_file is not None):
        raise click.UsageError("give --user ID (repeatable) or --users FILE, or --history FILE for a new user")
    resolve_device(device)  # a GPU asked for where there is none: the error before the run is read
    saved = api.load_run(c.run_path(run))
    scenario = scenario or saved.target
    if history_file is not None:
        rows = saved.recommend_history(read_history(history_file), scenario=scenario, k=k, user_id="(history)")
        recs, ids = Recommendations(rows=rows), ["(history)"]
    else:
        recs = saved.recommend(ids, scenario=scenario, k=k, skip_unknown=skip_unknown, device=device)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["user_id", "item_id", "rank", "score"])
            for r in recs.rows:
                w.writerow([r.user_id, r.item_id, r.rank, f"{r.score:.6g}"])
        click.echo(f"wrote {len(recs.rows)} recommendations for {len(ids) - len(recs.unknown_users)} users to {output}")
    else:
        from graphrec.serve.recommend import item_titles

        with c.open_store(ensure_schema=False) as store:
            titles = item_titles(store, scenario, sorted({r.item_id for r in recs.rows}))
        display.print_recommendations(recs, titles, run=saved.name)
    if recs.unknown_users:
        click.secho(
            f"skipped {len(recs.unknown_users)} user(s) not in the run (e.g. {recs.unknown_users[:3]}): "
            "no recommendations",
            fg="yellow", err=True,
        )  # fmt: skip


@click.command()
@click.option("--user", "user_id", required=True, help="Raw user id.")
@click.option("--item", "item_id", required=True, help="Raw item id.")
@click.option("--scenario", default=None, help="The item's scenario (default: the latest run's target).")
@click.option(
    "--from-scenario", default=None, help="Only paths from the user's items of this scenario (e.g. the source)."
)
@click.option("--limit", default=10, show_default=True, help="Paths of each kind shown.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def explain(
    c: Context, user_id: str, item_id: str, scenario: str | None, from_scenario: str | None, limit: int, fmt: str
) -> None:
    """Why ITEM is recommended to USER: topic paths and shared-user paths in the graph, with scores."""
    from graphrec.serve.explain import explain as collect

    if scenario is None:
        from graphrec import api

        scenario = api.load_run(c.run_path(None)).target
    with c.open_store(ensure_schema=False) as store:
        ex = collect(store, user=user_id, scenario=scenario, item=item_id, from_scenario=from_scenario, limit=limit)
    if fmt == "json":
        click.echo(json.dumps(dataclasses.asdict(ex), indent=2, default=str))
    else:
        display.print_explanation(ex)


@click.command()
@RUN_OPTION
@click.pass_obj
def refresh(c: Context, run: Path | None) -> None:
    """Make items ingested after training servable without retraining: each gets the vector the model gives an
    item nobody has interacted with (its text through the trained projection, its topics), appended to the run.

    Ingest the new items and run `graphrec embed` (and `graphrec topics` for topic edges) first; a running
    `graphrec serve` picks the refreshed run up on POST /reload."""
    from graphrec import api

    saved = api.load_run(c.run_path(run))
    with c.open_store(ensure_schema=False) as store:
        report = saved.refresh(store, home=c.home)
    click.echo(f"run {saved.name}: {len(report.added)} new item(s) added", nl=False)
    click.echo(f" ({report.without_topics} without topic edges: placed by their text)" if report.added else "")
    if report.without_features:
        click.secho(
            f"skipped {len(report.without_features)} new item(s) without text features (e.g. "
            f"{report.without_features[:3]}): run `graphrec embed`, then refresh again",
            fg="yellow", err=True,
        )  # fmt: skip
    if report.unknown_topic_edges:
        click.secho(
            f"{report.unknown_topic_edges} topic edge(s) of the new items lead to topics made after training: "
            "not used until the next training",
            fg="yellow", err=True,
        )  # fmt: skip
