"""Discovered topics: cluster item embeddings of all scenarios together, label clusters with c-TF-IDF.

This is BERTopic's recipe with precomputed embeddings, in scikit-learn (BERTopic itself would add
UMAP, HDBSCAN and numba for what k-means on normalised MiniLM vectors does here): k-means on the
L2-normalised item vectors; soft membership from the softmax of cosine similarity to the centroids;
labels from class-based TF-IDF, ``W(t, c) = tf(t, c) · log(1 + A / f(t))`` with ``A`` the average
number of words per cluster and ``f(t)`` the frequency of ``t`` over all clusters.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import CountVectorizer

from graphrec.errors import ConfigError
from ingest.topics.base import Membership, Topic, TopicSet

logger = logging.getLogger(__name__)

SOURCE = "discovered"


def default_n_topics(n_items: int) -> int:
    """``round(sqrt(n / 2))`` clamped to [2, 200]: 29 for 1,682 items, 82 for 13,592."""
    return max(2, min(200, round(math.sqrt(n_items / 2))))


def cluster(x: np.ndarray, n_topics: int, *, seed: int = 0) -> np.ndarray:
    """Unit-norm centroids ``[n_topics, dim]`` of k-means on the rows of ``x`` (deterministic under ``seed``)."""
    km = KMeans(n_clusters=n_topics, n_init=4, random_state=seed).fit(x)
    c = km.cluster_centers_.astype(np.float32)
    return c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12)


def soft_memberships(
    x: np.ndarray, centroids: np.ndarray, *, temperature: float = 0.05, max_topics: int = 3, min_weight: float = 0.1
) -> tuple[np.ndarray, list[list[tuple[int, float]]]]:
    """Hard labels (most similar centroid) and, per row, up to ``max_topics`` ``(topic, weight)`` pairs.

    Weights are the softmax of cosine similarity / ``temperature``; the hard topic is always kept,
    others only with weight ≥ ``min_weight``.
    """
    sims = x @ centroids.T
    z = sims / temperature
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    hard = sims.argmax(axis=1)
    top = np.argsort(-p, axis=1)[:, :max_topics]
    out = []
    for row in range(x.shape[0]):
        chosen = [(int(t), float(p[row, t])) for t in top[row] if t == hard[row] or p[row, t] >= min_weight]
        out.append(chosen)
    return hard, out


def ctfidf_keywords(
    texts: Sequence[str], labels: Sequence[int], n_topics: int, *, n_keywords: int = 8
) -> list[list[str]]:
    """Top class-based TF-IDF keywords of each cluster (English stop words removed)."""
    docs = [" ".join(t for t, lab in zip(texts, labels) if lab == c) for c in range(n_topics)]
    vec = CountVectorizer(stop_words="english", token_pattern=r"(?u)\b[^\W\d_][^\W\d_]+\b", lowercase=True)
    tf = vec.fit_transform(docs).toarray().astype(np.float64)
    words = vec.get_feature_names_out()
    if tf.size == 0:
        return [[] for _ in range(n_topics)]
    tf_norm = tf / np.maximum(tf.sum(axis=1, keepdims=True), 1)
    avg_words = tf.sum() / n_topics
    idf = np.log(1 + avg_words / np.maximum(tf.sum(axis=0), 1))
    w = tf_norm * idf
    return [[str(words[j]) for j in np.argsort(-w[c])[:n_keywords] if w[c, j] > 0] for c in range(n_topics)]


def discover_topics(
    scenarios: Sequence[str],
    ids: Sequence[str],
    x: np.ndarray,
    texts: Sequence[str],
    *,
    n_topics: int | None = None,
    seed: int = 0,
    temperature: float = 0.05,
    max_topics_per_item: int = 3,
    min_weight: float = 0.1,
    n_keywords: int = 8,
) -> TopicSet:
    """Discover topics over items of all scenarios together.

    Args:
        scenarios: Scenario of each item.
        ids: Raw id of each item.
        x: L2-normalised item vectors ``[n, dim]`` (items without text must be left out by the caller).
        texts: Item texts (for keywords).
        n_topics: Number of clusters; ``None`` = :func:`default_n_topics`.
        seed: k-means seed (default 0).
        temperature: Softmax temperature of soft membership (default 0.05).
        max_topics_per_item: At most this many topics per item (default 3).
        min_weight: Minimum weight of a non-primary topic (default 0.1).
        n_keywords: Keywords kept per topic (default 8); the label joins the first three.

    Raises:
        ConfigError: Fewer items than topics.
    """
    n = x.shape[0]
    k = n_topics or default_n_topics(n)
    if n < k or k < 1:
        raise ConfigError(f"cannot discover {k} topics from {n} items with text; lower --n-topics")
    logger.info("clustering %d items into %d topics (k-means, 4 restarts)", n, k)
    centroids = cluster(x, k, seed=seed)
    logger.info("assigning items to topics and labelling the topics with c-TF-IDF keywords")
    hard, soft = soft_memberships(
        x, centroids, temperature=temperature, max_topics=max_topics_per_item, min_weight=min_weight
    )
    keywords = ctfidf_keywords(texts, hard.tolist(), k, n_keywords=n_keywords)
    sizes = [int((hard == c).sum()) for c in range(k)]
    topics = [
        Topic(f"{SOURCE}:{c}", " / ".join(keywords[c][:3]) or f"topic {c}", SOURCE, tuple(keywords[c]), sizes[c])
        for c in range(k)
    ]
    memberships = [
        Membership(scenarios[row], ids[row], f"{SOURCE}:{c}", round(w, 4), SOURCE)
        for row in range(n)
        for c, w in soft[row]
    ]
    logger.info("discovered %d topics over %d items (%d memberships)", k, n, len(memberships))
    return TopicSet(
        SOURCE,
        topics,
        memberships,
        meta={"n_topics": k, "seed": seed, "temperature": temperature, "hard_labels": hard.tolist()},
    )
