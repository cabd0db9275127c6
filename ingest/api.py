"""The ingestion layer's Python API: ingest a dataset spec, extract topics, build and list the topic graph.

The ``graphrec`` CLI is a thin shell over these functions; a notebook calls them the same way::

    from graphrec import api
    from ingest import api as ingest_api

    with api.open_store(home) as store:
        summary = ingest_api.ingest(store, "movies_books.toml", home=home)
        report = ingest_api.extract_topics(store, method="discovered", home=home)  # embeds on demand
        graph = ingest_api.build_topic_graph(store, home=home)
        rows = ingest_api.list_topics(store, sort="bridge", limit=10)

Every function takes an open store (:class:`graphrec.store.bolt.GraphStore`) and keyword-only
options, returns a result object and prints nothing (status lines go to :mod:`logging` at INFO,
progress bars to stderr with ``progress=True``). Paths default to the graphrec home's
(:mod:`graphrec.home`: ``home`` or ``$GRAPHREC_HOME``); an explicit path wins.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphrec.errors import ConfigError
from graphrec.home import embedding_cache_file, features_file, llm_cache_file, resolve_home, runs_dir
from graphrec.home import state_dir as home_state_dir
from graphrec.store import cypher
from graphrec.store.results import DEFAULT_BATCH_SIZE
from ingest.checkpoint import remove_checkpoints
from ingest.spec import DatasetSpec, load_spec
from ingest.summary import IngestSummary

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.store.bolt import GraphStore

logger = logging.getLogger(__name__)

__all__ = [
    "METHODS",
    "TOPIC_SORTS",
    "IngestSummary",
    "TopicGraphReport",
    "TopicReport",
    "TopicTable",
    "build_topic_graph",
    "bulk_ingest",
    "extract_topics",
    "ingest",
    "ingest_run_dir",
    "list_topics",
    "remove_checkpoints",
]

#: Topic extraction methods (``extract_topics(method=...)``).
METHODS = ("discovered", "zero-shot", "metadata", "llm")
#: Orders of :func:`list_topics`.
TOPIC_SORTS = ("size", "balance", "bridge")


# --- ingest -------------------------------------------------------------------------------------


def ingest_run_dir(home: str | Path | None = None) -> Path:
    """A new run folder for one ingest's rejects and summary: ``<home>/runs/ingest-<time>-<pid>``."""
    return runs_dir(resolve_home(home)) / f"ingest-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"


def ingest(
    store: GraphStore,
    spec: str | Path | DatasetSpec,
    *,
    home: str | Path | None = None,
    state_dir: Path | None = None,
    run_dir: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
) -> IngestSummary:
    """Load every scenario of a dataset spec into the graph: validate, write checked batches, recount.

    Idempotent and resumable (see :mod:`ingest.pipeline`).

    Args:
        store: An open store (schema ensured).
        spec: A spec file (TOML; its declared files are checked before anything is written) or a loaded spec.
        home: graphrec home for the default folders.
        state_dir: Where the resume checkpoint lives (default ``<home>/state``).
        run_dir: Where ``rejects.tsv`` and ``summary.json`` go (default :func:`ingest_run_dir`).
        batch_size: Rows per write transaction (default 10,000).
        progress: Show progress bars.

    Returns:
        The :class:`~ingest.summary.IngestSummary` (also saved as ``run_dir/summary.json``).

    Raises:
        ConfigError: The spec is invalid, or ``batch_size`` is below 1.
        InputDataError: A declared file cannot be read.
        IngestIntegrityError: The graph does not hold what was written.
    """
    from ingest.pipeline import ingest_spec

    loaded = spec if isinstance(spec, DatasetSpec) else load_spec(spec)
    return ingest_spec(
        store,
        loaded,
        run_dir=run_dir or ingest_run_dir(home),
        state_dir=state_dir or home_state_dir(resolve_home(home)),
        batch_size=batch_size,
        progress=progress,
    )


def bulk_ingest(
    spec: str | Path | DatasetSpec,
    *,
    neo4j_run_dir: str | Path | None = None,
    uri: str | None = None,
    home: str | Path | None = None,
    state_dir: Path | None = None,
    run_dir: Path | None = None,
    keep_files: bool = False,
    importer_heap: str | None = None,
    max_off_heap: str | None = None,
) -> IngestSummary:
    """A first load of a big spec into an empty Neo4j database with Neo4j's importer (``neo4j-admin database
    import full``), instead of ``MERGE`` batches: the same validation and rejects, the same graph, schema,
    recount and checkpoint as :func:`ingest` (see :mod:`ingest.bulk.load`).

    The target is the Neo4j that ``scripts/neo4j_server.sh`` runs from ``neo4j_run_dir``: graphrec stops it,
    imports, and starts it again as it was started. It opens its own connections (the server restarts), so it
    takes no store.

    Args:
        spec: A spec file (TOML) or a loaded spec.
        neo4j_run_dir: The script's run folder (default ``$NEO4J_RUN_DIR``, else ``scripts/neo4j/run``).
        uri: The Bolt URI the caller means; refused unless it reaches that server.
        home: graphrec home for the default folders and connections.
        state_dir: Where the resume checkpoint lives (default ``<home>/state``).
        run_dir: Where ``rejects.tsv``, ``summary.json`` and the importer's files go (default :func:`ingest_run_dir`).
        keep_files: Keep the importer's CSV files (``<run_dir>/bulk-import``) after a successful load.
        importer_heap: The importer JVM's ``-Xmx`` (default the JVM's).
        max_off_heap: The importer's ``--max-off-heap-memory`` (default its own: 90% of free memory).

    Returns:
        The :class:`~ingest.summary.IngestSummary` (``method == "bulk"``).

    Raises:
        ConfigError: No such server runs, ``uri`` is another server, or its database is not empty.
        CapabilityError: The server is not Neo4j.
        InputDataError: A declared file cannot be read.
        StoreError: The importer failed (an empty database is put back), or the server did not restart.
        IngestIntegrityError: The graph does not hold what was imported.
    """
    from ingest.bulk.load import bulk_ingest as load
    from ingest.bulk.server import ScriptServer

    loaded = spec if isinstance(spec, DatasetSpec) else load_spec(spec)
    server = ScriptServer.find(neo4j_run_dir)
    if uri is not None:
        server.check_serves(uri)
    home_dir = resolve_home(home)
    return load(
        loaded, server, home=home_dir, run_dir=run_dir or ingest_run_dir(home_dir),
        state_dir=state_dir or home_state_dir(home_dir), keep_files=keep_files, importer_heap=importer_heap,
        max_off_heap=max_off_heap,
    )  # fmt: skip


# --- topics -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicReport:
    """What :func:`extract_topics` wrote.

    Attributes:
        method: The extraction method.
        topics: Topic nodes written.
        memberships: ``HAS_TOPIC`` edges written.
        replaced: Earlier topic nodes of this method deleted first.
        meta: The method's figures: ``items_without_text``; ``unassigned`` (zero-shot);
            ``dropped_topics``, ``items_without_kept_topic`` (metadata, llm); ``requests``, ``retries``,
            ``cache_hits``, ``failed_items`` (llm); ``n_topics``, ``seed`` (discovered).
        features_path: The feature file read (``None`` for metadata and llm).
        embedded: Whether the feature file was missing and was made on demand.
    """

    method: str
    topics: int
    memberships: int
    replaced: int
    meta: dict[str, Any] = field(default_factory=dict)
    features_path: Path | None = None
    embedded: bool = False


def extract_topics(
    store: GraphStore,
    *,
    method: str = "discovered",
    home: str | Path | None = None,
    features_path: Path | None = None,
    embedding_cache_path: Path | None = None,
    llm_cache_path: Path | None = None,
    min_items: int = 2,
    n_topics: int | None = None,
    seed: int = 0,
    namer: str = "keywords",
    taxonomy: Path | None = None,
    threshold: float = 0.3,
    model_path: Path | None = None,
    embed_batch_size: int = 64,
    device: str = "cpu",
    llm_base_url: str | None = None,
    llm_model: str | None = None,
    llm_api_key: str | None = None,
    llm_concurrency: int = 4,
    llm_batch_size: int = 10,
    llm_response_format: str = "json_object",
    on_error: str = "skip",
    progress: bool = False,
) -> TopicReport:
    """Extract topics shared across scenarios and write them (replacing earlier topics of ``method``).

    ``discovered`` and ``zero-shot`` read item features; when the feature file is missing they embed
    the items' text first, through the embedding cache, and save the file (logged at INFO).

    Args:
        store: An open store (schema ensured).
        method: ``discovered`` (clusters of item embeddings), ``zero-shot`` (a label list matched by
            similarity), ``metadata`` (item categories) or ``llm`` (a chat model names each item's topics).
        home: graphrec home for the default paths.
        features_path: Item feature file (default ``<home>/features/item_features.npz``).
        embedding_cache_path: Embedding cache (default ``<home>/cache/embeddings.sqlite``).
        llm_cache_path: Cache of LLM answers (default ``<home>/cache/llm_responses.sqlite``).
        min_items: metadata/llm: keep topics of at least this many items.
        n_topics: discovered: number of clusters (default ``sqrt(items / 2)``).
        seed: discovered: k-means seed.
        namer: discovered: ``keywords`` (c-TF-IDF labels) or ``local`` (named offline by SmolLM2).
        taxonomy: zero-shot: file with one label per line (``label`` or ``label: description``).
        threshold: zero-shot: minimum cosine similarity.
        model_path: Text encoder (zero-shot labels, and embedding on demand); default all-MiniLM-L6-v2.
        embed_batch_size: Texts per forward pass when embedding on demand.
        device: Torch device when embedding on demand.
        llm_base_url: llm: OpenAI-compatible endpoint, e.g. ``http://127.0.0.1:8000/v1``.
        llm_model: llm: model name.
        llm_api_key: llm: bearer token (default ``$GRAPHREC_LLM_API_KEY``).
        llm_concurrency: llm: requests in flight.
        llm_batch_size: llm: items per request.
        llm_response_format: llm: ``json_object``, ``json_schema`` or ``json_object_schema``.
        on_error: llm: ``skip`` (count) or ``raise`` on a batch that fails after retries.
        progress: Show progress bars.

    Raises:
        ConfigError: An unknown method, or an option the method needs is missing.
    """
    from ingest.topics import extract

    if method not in METHODS:
        raise ConfigError(f"unknown topic method {method!r}; use one of {list(METHODS)}")
    home_dir = resolve_home(home)
    if method == "llm":
        from ingest.topics.llm import API_KEY_ENV, ChatClient, LLMConfig, ResponseCache

        if not llm_base_url or not llm_model:
            raise ConfigError("topic method 'llm' needs llm_base_url and llm_model (--llm-base-url, --llm-model)")
        config = LLMConfig(
            base_url=llm_base_url, model=llm_model, api_key=llm_api_key or os.environ.get(API_KEY_ENV),
            max_concurrency=llm_concurrency, batch_size=llm_batch_size, on_error=on_error,
            response_format=llm_response_format,
        )  # fmt: skip
        llm_cache = ResponseCache(llm_cache_path or llm_cache_file(home_dir))
        try:
            result, written = extract.extract_llm(
                store, ChatClient(config, llm_cache), min_items=min_items, progress=progress
            )
        finally:
            llm_cache.close()
        return _report(method, result.meta, written)
    if method == "metadata":
        result, written = extract.extract_metadata(store, min_items=min_items, progress=progress)
        return _report(method, result.meta, written)
    if method == "zero-shot" and taxonomy is None:
        raise ConfigError("topic method 'zero-shot' needs a taxonomy file (--taxonomy FILE)")
    path = features_path or features_file(home_dir)
    cache_path = embedding_cache_path or embedding_cache_file(home_dir)
    features, embedded = extract.load_or_embed_features(
        store, path, cache_path=cache_path, model_path=model_path, batch_size=embed_batch_size, device=device,
        progress=progress,
    )  # fmt: skip
    if method == "discovered":
        local = None
        if namer == "local":
            from ingest.topics.local_namer import LocalTopicNamer

            local = LocalTopicNamer()
        elif namer != "keywords":
            raise ConfigError(f"unknown namer {namer!r}; use 'keywords' or 'local'")
        result, written = extract.extract_discovered(
            store, features, n_topics=n_topics, seed=seed, namer=local, progress=progress
        )
    else:
        from graphrec.text.cache import EmbeddingCache
        from graphrec.text.encoder import TextEncoder

        assert taxonomy is not None  # zero-shot without a taxonomy was refused above
        encoder = TextEncoder(model_path, progress=progress)
        with EmbeddingCache(cache_path) as cache:
            result, written = extract.extract_zero_shot(
                store,
                features,
                taxonomy,
                encoder,
                cache,
                threshold=threshold,
                progress=progress,
            )
    meta = {k: v for k, v in result.meta.items() if k != "hard_labels"}
    return _report(method, meta, written, features_path=path, embedded=embedded)


def _report(method: str, meta: dict[str, Any], written: dict[str, int], **extra: Any) -> TopicReport:
    return TopicReport(
        method=method, topics=written["topics"], memberships=written["memberships"], replaced=written["deleted"],
        meta=dict(meta), **extra,
    )  # fmt: skip


@dataclass(frozen=True)
class TopicGraphReport:
    """What :func:`build_topic_graph` wrote.

    Attributes:
        topics: Topics in the graph.
        edges: ``RELATED_TO`` edges written.
        cooccurrence_edges: Edges from shared items.
        similarity_edges: Edges from centroid similarity (0 without item features).
        with_features: Whether item features were found (similarity edges need them).
        scenarios: The store's scenarios, in the order of each topic's ``items``.
        top_bridging: The ten topics of highest bridge score (``id``, ``label``, ``bridge_score``, ``items``).
    """

    topics: int
    edges: int
    cooccurrence_edges: int
    similarity_edges: int
    with_features: bool
    scenarios: list[str]
    top_bridging: list[dict[str, Any]]


def build_topic_graph(
    store: GraphStore,
    *,
    min_shared: int = 2,
    min_similarity: float = 0.5,
    top_k: int = 5,
    home: str | Path | None = None,
    features_path: Path | None = None,
    progress: bool = False,
) -> TopicGraphReport:
    """Build the topic graph over topics of all methods: ``RELATED_TO`` edges, scenario spread, bridge score.

    Args:
        store: An open store (schema ensured).
        min_shared: Co-occurrence edges need this many shared items.
        min_similarity: Similarity edges need this cosine similarity.
        top_k: Similarity edges per topic, at most.
        home: graphrec home for the default feature file.
        features_path: Item features for topic centroids (default ``<home>/features/item_features.npz``;
            without the file no similarity edges are made).
        progress: Show progress bars while writing.
    """
    from graphrec.features import ItemFeatures
    from graphrec.stats import scenario_names
    from ingest.topics import graph

    path = features_path or features_file(resolve_home(home))
    vectors = None
    if path.exists():
        f = ItemFeatures.load(path)
        vectors = {key: f.x[k] for key, k in f.row_of(with_text_only=True).items()}
    else:
        logger.info("no item features at %s: the topic graph gets no similarity edges", path)
    scenarios = scenario_names(store)
    g = graph.build_topic_graph(
        store.stream(cypher.TOPIC_MEMBERSHIPS), scenarios, item_vectors=vectors,
        min_shared=min_shared, min_similarity=min_similarity, top_k=top_k,
    )  # fmt: skip
    summary = graph.write_topic_graph(store, g, scenarios, progress=progress)
    top = store.read(cypher.TOP_BRIDGING_TOPICS, {"limit": 10})
    return TopicGraphReport(
        topics=summary.topics, edges=summary.edges, cooccurrence_edges=summary.cooccurrence_edges,
        similarity_edges=summary.similarity_edges, with_features=bool(vectors), scenarios=scenarios, top_bridging=top,
    )  # fmt: skip


class TopicTable(list[dict[str, Any]]):
    """Rows of :func:`list_topics` (a list of dicts), with ``columns`` (their keys in order: ``id``,
    ``label``, ``items``, one per scenario, ``balance``, ``bridge_score``) and ``total`` (topics before the limit)."""

    def __init__(self, rows: list[dict[str, Any]], *, columns: list[str], total: int) -> None:
        super().__init__(rows)
        self.columns = columns
        self.total = total


def list_topics(store: GraphStore, *, source: str | None = None, limit: int = 30, sort: str = "size") -> TopicTable:
    """Topics with their size, items per scenario, balance and bridge score.

    Args:
        store: An open store.
        source: Only topics of this method (``discovered``, ``zero-shot``, ``metadata``, ``llm``).
        limit: At most this many rows.
        sort: ``size`` (largest first), ``balance`` (most evenly spread over scenarios, weighted by
            size up to 50 items) or ``bridge`` (highest bridge score first, after :func:`build_topic_graph`);
            ties by topic id.

    Returns:
        A :class:`TopicTable`: one dict per topic (``bridge_score`` is ``"-"`` before the topic graph is built).

    Raises:
        ConfigError: An unknown ``sort``.
    """
    from graphrec.stats import scenario_names
    from ingest.topics.base import topic_spreads

    if sort not in TOPIC_SORTS:
        raise ConfigError(f"unknown topic order {sort!r}; use one of {list(TOPIC_SORTS)}")
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
    return TopicTable(rows, columns=["id", "label", "items", *scenarios, "balance", "bridge_score"], total=len(spreads))
