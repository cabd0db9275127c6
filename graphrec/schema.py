"""Graph schema: the single source of truth for labels, relationship types and property names.

Nodes::

    (:User {id})
    (:Item {id, scenario, title, text, categories})   -- unique on (scenario, id)
    (:Scenario {name})
    (:Topic {id, label, source, keywords, size}) -- filled by the knowledge layer
    (:GraphrecStore {name, id, created})         -- one node: the graph's identity (ingest checkpoints)

Relationships::

    (:User)-[:INTERACTED {scenario, rating, ts}]->(:Item)
    (:Item)-[:IN_SCENARIO]->(:Scenario)
    (:Item)-[:HAS_TOPIC {weight, source}]->(:Topic)
    (:User)-[:RECOMMENDED {score, rank, run}]->(:Item)
    (:User)-[:INTERESTED_IN {score, rank, run}]->(:Topic)
    (:Topic)-[:RELATED_TO {weight, cooccurrence, similarity}]->(:Topic)

Write-back adds ``embedding`` and ``embedding_run`` to users, items and topics, and ``serving_embedding``
to users and items (maximum-inner-product search through a cosine vector index).

Topic nodes also carry the topic graph's figures: ``balance``, ``bridge_score``,
``spread_scenarios`` and ``spread_items`` (parallel lists: items per scenario).

Ids are strings exactly as in the source files. The same raw item id in two scenarios
is two distinct items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


class Label:
    """Node labels."""

    USER: Final = "User"
    ITEM: Final = "Item"
    SCENARIO: Final = "Scenario"
    TOPIC: Final = "Topic"
    #: The store's identity marker (one node; see :data:`STORE_MARKER_NAME`).
    STORE: Final = "GraphrecStore"


class Rel:
    """Relationship types."""

    INTERACTED: Final = "INTERACTED"
    IN_SCENARIO: Final = "IN_SCENARIO"
    HAS_TOPIC: Final = "HAS_TOPIC"
    RECOMMENDED: Final = "RECOMMENDED"
    INTERESTED_IN: Final = "INTERESTED_IN"
    RELATED_TO: Final = "RELATED_TO"


class Prop:
    """Property names used on nodes and relationships."""

    ID: Final = "id"
    NAME: Final = "name"
    SCENARIO: Final = "scenario"
    TITLE: Final = "title"
    TEXT: Final = "text"
    LABEL: Final = "label"
    CATEGORIES: Final = "categories"
    SOURCE: Final = "source"
    KEYWORDS: Final = "keywords"
    SIZE: Final = "size"
    RATING: Final = "rating"
    TS: Final = "ts"
    WEIGHT: Final = "weight"
    SCORE: Final = "score"
    RANK: Final = "rank"
    RUN: Final = "run"
    COOCCURRENCE: Final = "cooccurrence"
    SIMILARITY: Final = "similarity"
    BALANCE: Final = "balance"
    BRIDGE_SCORE: Final = "bridge_score"
    SPREAD_SCENARIOS: Final = "spread_scenarios"
    SPREAD_ITEMS: Final = "spread_items"
    EMBEDDING: Final = "embedding"
    #: Users' and items' vectors for maximum-inner-product search through a cosine index
    #: (:mod:`graphrec.serve.mips`): cosine order over them is the model's dot-product order.
    SERVING_EMBEDDING: Final = "serving_embedding"
    EMBEDDING_RUN: Final = "embedding_run"
    CREATED: Final = "created"


class NodeType:
    """PyG node types of the exported ``HeteroData``."""

    USER: Final = "user"
    ITEM: Final = "item"
    TOPIC: Final = "topic"


class EdgeType:
    """PyG edge types ``(src, rel, dst)``; each has a ``rev_`` reverse in the exported graph."""

    INTERACTS: Final = ("user", "interacts", "item")
    REV_INTERACTS: Final = ("item", "rev_interacts", "user")
    HAS_TOPIC: Final = ("item", "has_topic", "topic")
    REV_HAS_TOPIC: Final = ("topic", "rev_has_topic", "item")


@dataclass(frozen=True)
class UniqueConstraint:
    """A node uniqueness constraint, created idempotently by :meth:`GraphStore.ensure_schema`.

    Attributes:
        name: Constraint name in the database.
        label: Node label it applies to.
        properties: Property names that are unique together.
    """

    name: str
    label: str
    properties: tuple[str, ...]


@dataclass(frozen=True)
class PropertyIndex:
    """A plain (range) property index.

    Attributes:
        name: Index name in the database.
        label: Node label it applies to.
        properties: Indexed property names.
    """

    name: str
    label: str
    properties: tuple[str, ...]


CONSTRAINTS: Final[tuple[UniqueConstraint, ...]] = (
    UniqueConstraint("graphrec_user_id", Label.USER, (Prop.ID,)),
    UniqueConstraint("graphrec_item_key", Label.ITEM, (Prop.SCENARIO, Prop.ID)),
    UniqueConstraint("graphrec_scenario_name", Label.SCENARIO, (Prop.NAME,)),
    UniqueConstraint("graphrec_topic_id", Label.TOPIC, (Prop.ID,)),
    UniqueConstraint("graphrec_store_marker", Label.STORE, (Prop.NAME,)),
)

#: ``name`` of the store's one identity marker node ``(:GraphrecStore {name, id, created})``. Its
#: random ``id`` is created by the first ingest write into an empty graph and deleted with the graph by
#: ``clear``; ingest checkpoints record it, so a checkpoint never resumes into another (or a cleared) graph.
STORE_MARKER_NAME: Final = "graphrec"

INDEXES: Final[tuple[PropertyIndex, ...]] = (PropertyIndex("graphrec_item_scenario", Label.ITEM, (Prop.SCENARIO,)),)


@dataclass(frozen=True)
class VectorIndex:
    """A vector index over an embedding property (Neo4j 5.26+ only; ArcadeDB's Cypher has none).

    Attributes:
        name: Index name in the database.
        label: Node label it applies to.
        property: The list-of-floats property indexed.
        similarity: ``cosine`` or ``euclidean``.
        quantized: Whether Neo4j may quantize the indexed vectors (its default in 5.26: a quarter of the
            memory, approximate scores). Off for graphrec's indexes: quantization moves the scores of
            maximum-inner-product serving vectors, whose cosines lie close together, enough to reorder the
            model's ranking.
    """

    name: str
    label: str
    property: str
    similarity: str = "cosine"
    quantized: bool = False


#: Cosine over items' learned embeddings: "similar items".
ITEM_EMBEDDING_INDEX: Final = VectorIndex("graphrec_item_embedding", Label.ITEM, Prop.EMBEDDING)
#: Cosine over topics' learned embeddings.
TOPIC_EMBEDDING_INDEX: Final = VectorIndex("graphrec_topic_embedding", Label.TOPIC, Prop.EMBEDDING)
#: Cosine over items' serving vectors, queried with a user's serving vector: the model's ranking.
ITEM_SERVING_INDEX: Final = VectorIndex("graphrec_item_serving", Label.ITEM, Prop.SERVING_EMBEDDING)

VECTOR_INDEXES: Final[tuple[VectorIndex, ...]] = (ITEM_EMBEDDING_INDEX, TOPIC_EMBEDDING_INDEX, ITEM_SERVING_INDEX)
