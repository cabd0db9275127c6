"""Graph store: one code path (the official ``neo4j`` driver over Bolt) for ArcadeDB and Neo4j.

Import the submodules directly; this package does not import the driver eagerly.
"""
