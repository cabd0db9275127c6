"""What the connected graph server can do, detected from its Bolt agent string."""

from __future__ import annotations

from dataclasses import dataclass

from graphrec.errors import CapabilityError


@dataclass(frozen=True)
class StoreCapabilities:
    """What the connected server can do; detected once from its Bolt agent string.

    Attributes:
        backend: ``"neo4j"`` or ``"arcadedb"``.
        agent: The server's Bolt agent string, e.g. ``"Neo4j/5.26.30"``.
        vector_index: Whether ``CREATE VECTOR INDEX`` is supported.
        read_access_enforced: Whether the server itself rejects writes in read-access sessions.
        fast_relationship_merge: Whether ``MERGE`` of a relationship between two matched nodes is as cheap as
            looking it up and creating it. ArcadeDB's (26.10) loads every relationship of the type at the start
            node to find one that ends at the other: the ingest's interactions, 2-3x slower there than the same
            write as ``OPTIONAL MATCH`` + ``CREATE``/``SET`` (measured, growing with the users' degrees), are sent
            as :data:`graphrec.store.cypher.UPSERT_INTERACTIONS` where this is false.
    """

    backend: str
    agent: str
    vector_index: bool
    read_access_enforced: bool
    fast_relationship_merge: bool

    @classmethod
    def from_agent(cls, agent: str) -> StoreCapabilities:
        """Derive capabilities from a Bolt server agent string."""
        if "arcadedb" in agent.lower():
            return cls(backend="arcadedb", agent=agent, vector_index=False, read_access_enforced=False,
                       fast_relationship_merge=False)  # fmt: skip
        return cls(backend="neo4j", agent=agent, vector_index=True, read_access_enforced=True,
                   fast_relationship_merge=True)  # fmt: skip

    def require_vector_index(self) -> None:
        """Raise :class:`CapabilityError` if the store has no Cypher vector indexes."""
        if not self.vector_index:
            raise CapabilityError(
                f"the connected store ({self.agent}) does not support Cypher vector indexes "
                "(CREATE VECTOR INDEX); embeddings are still stored as node properties. "
                "Use Neo4j 5.26+ (--uri bolt://...) for vector search."
            )
