"""File readers. Each yields :class:`~ingest.records.RawRow` or :class:`~ingest.records.Reject`
and knows nothing of the store."""
