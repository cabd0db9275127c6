"""Write a run's results into the graph: embeddings as node properties, top-K
``(:User)-[:RECOMMENDED {score, rank, run}]->(:Item)``, learned
``(:User)-[:INTERESTED_IN {score, rank, run}]->(:Topic)`` affinities, and vector indexes where the store
has them (Neo4j; ArcadeDB's Cypher has none).

Users and items also get ``serving_embedding``, the maximum-inner-product transform of their embedding
(:mod:`graphrec.serve.mips`), indexed by cosine on Neo4j (``graphrec_item_serving``), so Neo4j's own
vector search ranks items as the model does (:data:`graphrec.store.cypher.RECOMMEND_BY_VECTOR_SEARCH`);
the plain ``embedding`` and its index stay for "similar items" (:data:`graphrec.store.cypher.SIMILAR_ITEMS`).

Rewriting replaces the previous run's edges (RECOMMENDED into the same scenario, all INTERESTED_IN),
so the graph holds one current result and re-running is idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from graphrec.schema import ITEM_EMBEDDING_INDEX, ITEM_SERVING_INDEX, TOPIC_EMBEDDING_INDEX, VECTOR_INDEXES, Prop
from graphrec.serve.mips import serving_vectors
from graphrec.serve.recommend import recommend
from graphrec.store import cypher

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.store.bolt import GraphStore
    from graphrec.train.record import RunRecord

logger = logging.getLogger(__name__)


@dataclass
class WriteBackReport:
    """What was written, and what could not be (with the reason)."""

    run: str
    embeddings: dict[str, int] = field(default_factory=dict)
    recommended: int = 0
    replaced_recommended: int = 0
    interested_in: int = 0
    replaced_interested_in: int = 0
    vector_indexes: list[str] = field(default_factory=list)
    #: ``M`` of the serving vectors (the largest item norm); ``None`` when none were written.
    serving_max_norm: float | None = None
    notes: list[str] = field(default_factory=list)


def topic_embeddings(store: GraphStore, run: RunRecord) -> tuple[list[str], np.ndarray]:
    """Topic ids and embeddings: the run's own topic nodes, or else (a model trained without topics)
    the membership-weighted mean of its item embeddings over the store's ``HAS_TOPIC`` edges."""
    if len(run.topic_ids):
        return run.topic_ids, run.topic
    item_row = {key: k for k, key in enumerate(run.item_keys)}
    sums: dict[str, np.ndarray] = {}
    weights: dict[str, float] = {}
    for r in store.stream(cypher.EXPORT_HAS_TOPIC, {"sources": None}):
        row = item_row.get((r["scenario"], r["item"]))
        if row is None:
            continue
        w = float(r["weight"] or 1.0)
        sums[r["topic"]] = sums.get(r["topic"], 0.0) + w * run.item[row]
        weights[r["topic"]] = weights.get(r["topic"], 0.0) + w
    ids = sorted(sums)
    if not ids:
        return [], np.zeros((0, run.item.shape[1]), dtype=np.float32)
    return ids, np.stack([sums[t] / weights[t] for t in ids]).astype(np.float32)


def write_back(
    store: GraphStore,
    run: RunRecord,
    *,
    scenario: str,
    k: int = 20,
    topics_per_user: int = 5,
    vector_index: bool | None = None,
    batch_size: int = 5_000,
) -> WriteBackReport:
    """Write embeddings, top-``k`` RECOMMENDED edges into ``scenario`` for every user of the run, the
    ``topics_per_user`` highest INTERESTED_IN affinities per user, and vector indexes.

    Args:
        store: An open store.
        run: The saved run.
        scenario: Scenario whose items are recommended.
        k: Recommendations per user (default 20).
        topics_per_user: Learned topic affinities kept per user (default 5; 0 writes none).
        vector_index: ``True`` requires vector indexes (CapabilityError where unsupported), ``False``
            skips them, ``None`` (default) creates them where supported and notes why not elsewhere.
        batch_size: Rows per write transaction.

    Raises:
        CapabilityError: ``vector_index=True`` on a store without vector indexes.
    """
    caps = store.capabilities
    if vector_index and not caps.vector_index:
        caps.require_vector_index()
    report = WriteBackReport(run=run.name)
    name = run.name
    logger.info("write-back of %s: embeddings", name)
    if not run.has_embeddings:
        report.notes.append(f"a {run.config['model']['name']} run ranks without embeddings: none to write")
    else:
        serving = serving_vectors(run.user, run.item)
        report.serving_max_norm = serving.max_norm
        report.embeddings["user"] = store.write_batches(
            cypher.SET_USER_EMBEDDINGS,
            (
                {"id": u, "embedding": run.user[k_].tolist(), "serving": serving.user[k_].tolist(), "run": name}
                for k_, u in enumerate(run.user_ids)
            ),
            batch_size=batch_size,
        ).rows
        report.embeddings["item"] = store.write_batches(
            cypher.SET_ITEM_EMBEDDINGS,
            (
                {
                    "scenario": s,
                    "id": i,
                    "embedding": run.item[k_].tolist(),
                    "serving": serving.item[k_].tolist(),
                    "run": name,
                }
                for k_, (s, i) in enumerate(run.item_keys)
            ),
            batch_size=batch_size,
        ).rows
    topic_ids, topic_x = topic_embeddings(store, run)
    if len(run.topic_ids):
        report.embeddings["topic"] = store.write_batches(
            cypher.SET_TOPIC_EMBEDDINGS,
            ({"id": t, "embedding": topic_x[k_].tolist(), "run": name} for k_, t in enumerate(topic_ids)),
            batch_size=batch_size,
        ).rows

    recs = recommend(run, run.user_ids, scenario=scenario, k=k)
    logger.info("write-back of %s: RECOMMENDED into %s (%d edges)", name, scenario, len(recs.rows))
    report.replaced_recommended = store.delete_in_batches(
        cypher.DELETE_RECOMMENDED_BATCH, batch_size, f"deleting RECOMMENDED into {scenario}", {"scenario": scenario}
    )
    report.recommended = store.write_batches(
        cypher.CREATE_RECOMMENDED,
        (
            {"user": r.user_id, "scenario": scenario, "item": r.item_id, "score": r.score, "rank": r.rank, "run": name}
            for r in recs.rows
        ),
        batch_size=batch_size,
    ).relationships_created

    logger.info("write-back of %s: INTERESTED_IN", name)
    report.replaced_interested_in = store.delete_in_batches(
        cypher.DELETE_INTERESTED_IN_BATCH, batch_size, "deleting INTERESTED_IN"
    )
    if topics_per_user > 0 and len(topic_ids):
        n = min(topics_per_user, len(topic_ids))

        def affinities() -> Any:
            for start in range(0, len(run.user_ids), 2048):
                block = run.user[start : start + 2048] @ topic_x.T
                top = np.argpartition(-block, n - 1, axis=1)[:, :n]
                for r, row in enumerate(top):
                    order = row[np.argsort(-block[r, row], kind="stable")]
                    for rank, t in enumerate(order.tolist(), start=1):
                        yield {
                            "user": run.user_ids[start + r],
                            "topic": topic_ids[t],
                            "score": float(block[r, t]),
                            "rank": rank,
                            "run": name,
                        }

        report.interested_in = store.write_batches(
            cypher.CREATE_INTERESTED_IN, affinities(), batch_size=batch_size
        ).relationships_created
    elif topics_per_user > 0:
        report.notes.append("no topics in the graph: no INTERESTED_IN edges written (run `graphrec topics extract`)")

    if vector_index is False:
        report.notes.append("vector indexes skipped (--no-vector-index)")
    elif not caps.vector_index:
        report.notes.append(
            f"vector indexes not created: {caps.agent} has no Cypher vector index; embeddings are stored as "
            "properties. Use Neo4j 5.26+ for vector search."
        )
        if run.has_embeddings:
            report.notes.append(
                f"serving vectors ({Prop.SERVING_EMBEDDING}) written for maximum-inner-product search, but "
                f"{caps.agent} cannot index them through Cypher: rank by the model's dot product with the "
                "brute-force query graphrec.store.cypher.RECOMMEND_BY_DOT_PRODUCT (a scan of the scenario's items; "
                "README, 'Vector search in Cypher'), or use Neo4j for an indexed search"
            )
    else:
        # topic embeddings are stored (and indexed) only for the run's own topic nodes; no serving vectors
        # (or any embedding) for a ranking-only run
        item_dim = run.item.shape[1] if run.has_embeddings else 0
        dims = {
            ITEM_EMBEDDING_INDEX.name: item_dim,
            TOPIC_EMBEDDING_INDEX.name: run.topic.shape[1] if len(run.topic_ids) else 0,
            ITEM_SERVING_INDEX.name: item_dim + 1 if item_dim else 0,
        }
        for ix in VECTOR_INDEXES:
            dim = dims.get(ix.name, 0)
            if dim < 1:
                continue
            existing = store.read(cypher.VECTOR_INDEX_DIMENSIONS, {"name": ix.name})
            if existing and (
                existing[0]["dimensions"] != dim or existing[0]["quantization"] not in (None, ix.quantized)
            ):  # another run's width, or quantized as before graphrec turned it off: rebuilt as defined
                store.execute_write(cypher.drop_index(ix.name), {})
            store.execute_write(cypher.create_vector_index(ix), {"dimensions": dim})
            report.vector_indexes.append(ix.name)
    logger.info("write-back of %s: %s", name, report)
    return report
