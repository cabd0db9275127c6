"""``graphrec quickstart``: the whole pipeline on a synthetic two-scenario dataset, through the Python API."""

from __future__ import annotations

from typing import Any

import click

from graphrec.cli import display
from graphrec.cli.graph import run_ingest
from graphrec.cli.root import Context, writes
from graphrec.home import arcadedb_dir, quickstart_dir, runs_dir
from graphrec.output import print_table
from graphrec.train.config import TrainConfig


@click.command()
@click.option("--seed", default=0, show_default=True, help="Seed of the synthetic dataset.")
@click.option("--users", default=200, show_default=True, help="Synthetic users.")
@click.option("--items", "items_per_scenario", default=150, show_default=True, help="Synthetic items per scenario.")
@click.pass_obj
@writes()
def quickstart(c: Context, seed: int, users: int, items_per_scenario: int) -> None:
    """Offline first run on a SYNTHETIC two-scenario dataset: ingest, topics, train, evaluate, recommend,
    explain, and a Cypher query on the learned topics."""
    from graphrec import api
    from graphrec.serve.recommend import item_titles
    from graphrec.store.cypher import QUICKSTART_BRIDGING, QUICKSTART_LEARNED_TOPICS
    from ingest import api as ingest_api
    from ingest.sources.synthetic import generate

    files = generate(quickstart_dir(c.home, seed), seed=seed, users=users, items_per_scenario=items_per_scenario)
    click.secho(
        f"quickstart: generated a SYNTHETIC two-scenario dataset (movies, books; seed {seed}) in {files.directory}",
        bold=True,
    )
    click.echo(f"ingesting into {c.uri or f'embedded ArcadeDB in {arcadedb_dir(c.home)}'} ...")
    # one store open for the whole command: the embedded server starts once (the ingest's own store shares it)
    # and the later stages run on its warmed-up JVM, not on a second one started after the ingest stopped it
    with c.open_store() as store:
        run_ingest(c, files.spec, batch_size=10_000, out=None)

        click.secho("\nknowledge: encoding item texts and discovering topics shared by both scenarios ...", bold=True)
        r = api.embed(store, home=c.home, progress=c.progress)
        click.echo(f"embedded {r.items} items ({r.encoded} encoded, {r.cached} from cache); features: {r.path}")
        topic_runs: list[tuple[str, dict[str, Any]]] = [("discovered", {"n_topics": 8}), ("metadata", {})]
        for method, options in topic_runs:
            report = ingest_api.extract_topics(store, method=method, home=c.home, progress=c.progress, **options)
            click.echo(display.describe_topics(report))
        g = ingest_api.build_topic_graph(store, home=c.home, progress=c.progress)
        click.echo(f"topic graph: {g.topics} topics, {g.edges} RELATED_TO edges")
        click.echo(f"\ntop bridging topics (Cypher):\n  {QUICKSTART_BRIDGING}")
        result = store.run_query(QUICKSTART_BRIDGING, {"a": "movies", "b": "books"})
        print_table(result.keys, result.rows, title="Topics linking movies and books")

        click.secho("\nlearn: graphrec on movies → books, half of the shared users cold in books ...", bold=True)
        run = api.train(store, target="books", source="movies", seed=seed, config=TrainConfig(epochs=20), home=c.home,
                        progress=c.progress)  # fmt: skip
        run_dir = run.save(runs_dir(c.home) / f"quickstart-train-seed{seed}")
        click.echo(f"run: {run_dir}")
        display.print_metrics(run.metrics, title="test metrics (coldstart split, books)")
        display.print_write_back(run.write_back(store))

        cold_user = run.record.user_ids[int(run.record.slices["cold"][0])]
        click.secho(f"\nuse: books for cold user {cold_user} (no book history; from movies only)", bold=True)
        recs = run.recommend([cold_user], k=5)
        display.print_recommendations(recs, item_titles(store, "books", [x.item_id for x in recs.rows]), run=run.name)
        top_item = recs.rows[0].item_id
        display.print_explanation(run.explain(store, cold_user, top_item, from_scenario="movies", limit=3))

        click.echo(
            "\nlearned topics of the user and the bridging topics behind its top book (Cypher):\n"
            f"  {QUICKSTART_LEARNED_TOPICS}"
        )
        result = store.run_query(QUICKSTART_LEARNED_TOPICS, {"user": cold_user, "item": top_item, "scenario": "books"})
    for row in result.rows:
        row["affinity"] = f"{row['affinity']:.3f}"
    print_table(result.keys, result.rows, title=f"INTERESTED_IN topics of {cold_user} shared with book {top_item}")
