"""Parquet files, read in record batches with pyarrow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from graphrec.errors import InputDataError
from ingest.records import RawRow, Reject
from ingest.sources.lines import check_readable


def read_parquet(path: Path, *, batch_size: int = 65_536) -> Iterator[RawRow | Reject]:
    """Yield each Parquet row as a :class:`RawRow` (``line`` is the 1-based row number).

    Values are kept as pyarrow gives them (binary columns as ``bytes``, integers as ``int``); ids are
    checked and decoded later, in :mod:`ingest.values`.

    Raises:
        InputDataError: Missing, unreadable or empty file, not a Parquet file, or corrupt data
            (the message names the row where reading stopped).
    """
    import pyarrow.parquet as pq  # lazy: ingest.api imports this module (spec -> formats); only .parquet needs it

    spath = str(path)
    check_readable(path)
    try:
        pf = pq.ParquetFile(path)
    except PermissionError as e:
        raise InputDataError(
            "permission denied; make the file readable (e.g. chmod a+r) or run as its owner", path=spath
        ) from e
    except Exception as e:  # pyarrow raises ArrowInvalid / OSError for non-Parquet input
        raise InputDataError(f"not a readable Parquet file ({e}); check the declared format", path=spath) from e
    if pf.metadata.num_rows == 0:
        raise InputDataError("Parquet file has no rows", path=spath)
    number = 0
    batches = pf.iter_batches(batch_size=batch_size)
    while True:
        try:
            batch = next(batches)
            values_list = batch.to_pylist()
        except StopIteration:
            return
        except Exception as e:  # corrupt pages, bad compression, values pyarrow cannot convert
            raise InputDataError(
                f"reading stopped at row {number + 1}: {e}; the file is damaged or was written incompletely, "
                "write it again",
                path=spath,
            ) from e
        for values in values_list:
            number += 1
            yield RawRow(spath, number, values)
