"""What an ingest reports: per-scenario counts, the run summary (``summary.json``) and the rejects file."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from graphrec.store.results import DEFAULT_BATCH_SIZE
from ingest.records import Reject

REJECTS_FILE = "rejects.tsv"
SUMMARY_FILE = "summary.json"


@dataclass
class ScenarioCounts:
    """What was read and loaded for one scenario.

    Attributes:
        items_loaded: Item records loaded from item files.
        items_created: Items created from interactions (no item file entry; ``unknown_items = "create"``).
        items_without_interactions: Loaded items that no interaction refers to (kept: they are catalogue).
        items_rejected: Item rows rejected.
        enrich_skipped: Rows of ``enrich`` item files whose item is in no earlier item file (not loaded).
        interactions_loaded: Interactions loaded.
        interactions_rejected: Interaction rows rejected.
        users: Distinct users with interactions in this scenario.
    """

    items_loaded: int = 0
    items_created: int = 0
    items_without_interactions: int = 0
    items_rejected: int = 0
    enrich_skipped: int = 0
    interactions_loaded: int = 0
    interactions_rejected: int = 0
    users: int = 0


@dataclass
class IngestSummary:
    """Result of one ingest run; also written to ``summary.json`` in the run directory.

    Attributes:
        spec: Where the spec came from.
        scenarios: Per-scenario counts.
        users: Distinct users over all scenarios.
        rejected: Total rejected rows.
        rejects_by_kind: Rejected rows per cause.
        rejects_path: The rejects file (TSV: file, line, kind, reason, record).
        resumed_rows: Rows skipped because an interrupted earlier run had committed them.
        seconds: Wall time of the whole run.
        write_seconds: Time spent writing interactions.
        stage_seconds: Wall time of each write stage (validation is ``validate``).
        metadata: Versions, git hash, store agent and time (:func:`graphrec.results.run_metadata`).
        relationships_per_second: ``INTERACTED`` rows written per second of ``write_seconds``.
        batch_size: Rows per transaction.
        store_id: Identity of the graph written (its ``GraphrecStore`` marker's id).
        recounted: What the graph held of the spec after the ingest, by key: ``scenarios``, ``users``,
            and per scenario ``items:<name>``, ``in_scenario:<name>``, ``interactions:<name>``
            (equal to what was loaded, or the ingest fails).
        method: ``"merge"`` (checked ``UNWIND ... MERGE`` batches) or ``"bulk"`` (Neo4j's importer into an
            empty database, :mod:`ingest.bulk`; ``batch_size`` then means nothing and ``write_seconds`` is the
            time from writing the importer's files to the restarted server's indexes online).
    """

    spec: str
    scenarios: dict[str, ScenarioCounts] = field(default_factory=dict)
    users: int = 0
    rejected: int = 0
    rejects_by_kind: dict[str, int] = field(default_factory=dict)
    rejects_path: str = ""
    resumed_rows: int = 0
    seconds: float = 0.0
    write_seconds: float = 0.0
    relationships_per_second: float = 0.0
    batch_size: int = DEFAULT_BATCH_SIZE
    stage_seconds: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    store_id: str = ""
    recounted: dict[str, int] = field(default_factory=dict)
    method: str = "merge"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)


class RejectWriter:
    """Writes rejects to a TSV file (``file``, ``line``, ``kind``, ``reason``, ``record``) and counts them by kind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
        self._csv = csv.writer(self._fh, delimiter="\t", lineterminator="\n")
        self._csv.writerow(["file", "line", "kind", "reason", "record"])
        self.by_kind: Counter[str] = Counter()

    def write(self, r: Reject) -> None:
        """Append one reject."""
        self._csv.writerow([r.path, r.line, r.kind, r.reason, r.record])
        self.by_kind[r.kind] += 1

    def close(self) -> None:
        """Close the file."""
        self._fh.close()


def iter_rejects(path: Path) -> Iterator[dict[str, str]]:
    """Read a rejects file back as dicts (``file``, ``line``, ``kind``, ``reason``, ``record``)."""
    with open(path, encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh, delimiter="\t")
