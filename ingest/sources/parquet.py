"""Parquet files, read in record batches with pyarrow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from graphrec.errors import InputDataError
from ingest.records import RawRow, Reject


def read_parquet(path: Path, *, batch_size: int = 65_536) -> Iterator[RawRow | Reject]:
    """Yield each Parquet row as a :class:`RawRow` (``line`` is the 1-based row number).

    Raises:
        InputDataError: Missing file or not a Parquet file.
    """
    import pyarrow.parquet as pq

    if not path.exists():
        raise InputDataError(
            "file not found; check the path in the dataset spec (relative paths resolve against the spec file)",
            path=str(path),
        )
    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises ArrowInvalid / OSError for non-Parquet input
        raise InputDataError(f"not a readable Parquet file ({e}); check the declared format", path=str(path)) from e
    if pf.metadata.num_rows == 0:
        raise InputDataError("Parquet file has no rows", path=str(path))
    number = 0
    for batch in pf.iter_batches(batch_size=batch_size):
        for values in batch.to_pylist():
            number += 1
            yield RawRow(str(path), number, values)
