"""Bulk loading of a first, big ingest into an empty Neo4j database with Neo4j's own importer
(``neo4j-admin database import full``), from CSV files written from the same validated records as the
``MERGE`` path (:mod:`ingest.prepare`).

* :mod:`ingest.bulk.files`: the importer's CSV files (one per label, relationship type and scenario,
  typed headers);
* :mod:`ingest.bulk.server`: the local Neo4j that graphrec may stop, import into and start again
  (the server of ``scripts/neo4j_server.sh``) and its ``neo4j-admin`` (Maven Central jars);
* :mod:`ingest.bulk.load`: the whole load: checks, files, stop, import, start, schema, recount, checkpoint.
"""
