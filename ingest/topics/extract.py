"""Run a topic method against the store: join item features with item texts, extract, write back."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphrec.errors import GraphRecError
from graphrec.features import ItemFeatures, embed_items_to_file, item_text
from graphrec.store import cypher
from graphrec.store.bolt import GraphStore
from graphrec.text.cache import encode_cached
from ingest.topics.base import TopicSet, write_topics
from ingest.topics.llm import llm_topics
from ingest.topics.metadata import metadata_topics
from ingest.topics.zeroshot import read_taxonomy, zero_shot_topics

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ItemCorpus:
    """Items with text: their scenario, id, vector and text, aligned row by row."""

    scenarios: list[str]
    ids: list[str]
    x: Any
    texts: list[str]
    without_text: int


def load_corpus(store: GraphStore, features: ItemFeatures) -> ItemCorpus:
    """Align the feature file with the store's items; items without text are left out (and counted).

    Raises:
        GraphRecError: Items in the store have no features (the feature file is stale).
    """
    logger.info("reading item texts from the store and joining them with %d feature rows", len(features.ids))
    row_of = features.row_of()
    scenarios, ids, rows, texts = [], [], [], []
    missing = 0
    without_text = 0
    for r in store.stream(cypher.ITEM_TEXTS, {"scenarios": None}):
        k = row_of.get((r["scenario"], r["id"]))
        if k is None:
            missing += 1
            continue
        text = item_text(r["title"], r["text"])
        if not text or not features.has_text[k]:
            without_text += 1
            continue
        scenarios.append(r["scenario"])
        ids.append(r["id"])
        rows.append(k)
        texts.append(text)
    if missing:
        raise GraphRecError(f"{missing} items in the store have no features; rerun `graphrec embed` first")
    return ItemCorpus(scenarios, ids, features.x[rows], texts, without_text)


def load_or_embed_features(
    store: GraphStore,
    path: Path,
    *,
    cache_path: Path,
    model_path: Path | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    progress: bool = False,
) -> tuple[ItemFeatures, bool]:
    """The item features at ``path``; when the file is missing, the items' text is embedded now (logged at
    INFO) through the embedding cache at ``cache_path``, and saved to ``path``.

    Returns:
        ``(features, embedded)``: ``embedded`` says whether they were made now.
    """
    if path.exists():
        return ItemFeatures.load(path), False

    logger.info("no item features at %s: embedding the items' text now (through the cache %s)", path, cache_path)
    features, result = embed_items_to_file(
        store,
        path,
        cache_path=cache_path,
        model_path=model_path,
        batch_size=batch_size,
        device=device,
        progress=progress,
    )
    logger.info(
        "embedded %d items (%d encoded, %d from cache) in %.1f s; features saved to %s",
        len(features.ids), result.encoded, result.cached, result.seconds, path,
    )  # fmt: skip
    return features, True


def extract_discovered(
    store: GraphStore, features: ItemFeatures, *, namer: Any = None, progress: bool = False, **options: Any
) -> tuple[TopicSet, dict[str, int]]:
    """Discover topics over all items with text and write them (replacing earlier discovered topics).

    Args:
        namer: Optional :class:`~ingest.topics.local_namer.LocalTopicNamer` that relabels the clusters.
        progress: Show progress bars while writing.
        options: Passed to :func:`~ingest.topics.discovered.discover_topics`.
    """
    from ingest.topics.discovered import discover_topics  # lazy: sklearn, for this method only

    corpus = load_corpus(store, features)
    topics = discover_topics(corpus.scenarios, corpus.ids, corpus.x, corpus.texts, **options)
    if namer is not None:
        from ingest.topics.local_namer import name_topics  # lazy: transformers, for local naming only

        logger.info("naming %d topics with the local model", len(topics.topics))
        examples: dict[str, list[str]] = {}
        for text, label in zip(corpus.texts, topics.meta["hard_labels"]):
            examples.setdefault(f"discovered:{label}", []).append(text)
        topics = name_topics(topics, examples, namer)
    topics.meta["items_without_text"] = corpus.without_text
    return topics, write_topics(store, topics, progress=progress)


def extract_metadata(
    store: GraphStore, *, min_items: int = 2, progress: bool = False
) -> tuple[TopicSet, dict[str, int]]:
    """Turn ``Item.categories`` into topics and write them (replacing earlier metadata topics)."""
    topics = metadata_topics(store.stream(cypher.ITEM_CATEGORIES), min_items=min_items)
    return topics, write_topics(store, topics, progress=progress)


def extract_llm(
    store: GraphStore, client: Any, *, min_items: int = 2, progress: bool = False
) -> tuple[TopicSet, dict[str, int]]:
    """Ask a chat model for each item's topics and write them (replacing earlier LLM topics)."""
    rows = list(store.stream(cypher.ITEM_TEXTS, {"scenarios": None}))
    texts = [item_text(r["title"], r["text"]) for r in rows]
    keep = [k for k, t in enumerate(texts) if t]
    topics = llm_topics(
        [rows[k]["scenario"] for k in keep], [rows[k]["id"] for k in keep], [texts[k] for k in keep], client,
        min_items=min_items, progress=progress,
    )  # fmt: skip
    topics.meta["items_without_text"] = len(rows) - len(keep)
    return topics, write_topics(store, topics, progress=progress)


def extract_zero_shot(
    store: GraphStore,
    features: ItemFeatures,
    taxonomy: Path,
    encoder: Any,
    cache: Any,
    *,
    progress: bool = False,
    **options: Any,
) -> tuple[TopicSet, dict[str, int]]:
    """Assign items to the taxonomy's labels by similarity and write them (replacing earlier zero-shot topics)."""
    if encoder.identity != features.meta.get("model_identity"):
        raise GraphRecError(
            "the item features were made with another encoder than the one given for the labels; "
            "rerun `graphrec embed` with the same --model"
        )
    entries = read_taxonomy(taxonomy)
    label_vectors = encode_cached(encoder, [text for _, text in entries], cache).vectors
    corpus = load_corpus(store, features)
    topics = zero_shot_topics(
        corpus.scenarios, corpus.ids, corpus.x, [lab for lab, _ in entries], label_vectors, **options
    )
    topics.meta["items_without_text"] = corpus.without_text
    return topics, write_topics(store, topics, progress=progress)
