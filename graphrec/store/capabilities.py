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
    """

    backend: str
    agent: str
    vector_index: bool
    read_access_enforced: bool

    @classmethod
    def from_agent(cls, agent: str) -> StoreCapabilities:
        """Derive capabilities from a Bolt server agent string."""
        if "arcadedb" in agent.lower():
            return cls(backend="arcadedb", agent=agent, vector_index=False, read_access_enforced=False)
        return cls(backend="neo4j", agent=agent, vector_index=True, read_access_enforced=True)

    def require_vector_index(self) -> None:
        """Raise :class:`CapabilityError` if the store has no Cypher vector indexes."""
        if not self.vector_index:
            raise CapabilityError(
                f"the connected store ({self.agent}) does not support Cypher vector indexes "
                "(CREATE VECTOR INDEX); embeddings are still stored as node properties. "
                "Use Neo4j 5.26+ (--uri bolt://...) for vector search."
            )
