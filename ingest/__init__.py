"""graphrec's ingestion layer: read sources, validate, tag scenarios, write the graph.

``ingest`` may import :mod:`graphrec`; :mod:`graphrec` never imports ``ingest`` (its CLI
does, lazily).
"""
