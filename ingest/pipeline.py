"""Ingest a dataset spec into the graph: validate → write batches → rejects file → summary.

Idempotent (every write is a ``MERGE``) and resumable: after each committed batch the
number of committed rows per stage is checkpointed, so a rerun after a crash skips what
was committed and completes the rest, with no loss and no duplicates.

Nothing is reported loaded that is not in the graph:

* a checkpoint records the identity of the graph it describes (the random id of the
  graph's ``GraphrecStore`` marker node, :data:`graphrec.schema.STORE_MARKER_NAME`); a
  checkpoint of another graph, or of this graph before a ``clear``, is ignored with a
  warning and the ingest starts over;
* every batch returns how many of its rows the server wrote or matched (the interactions and
  scenario links ``MATCH`` their endpoints first), and a batch that matched fewer rows than it
  sent stops the ingest with :class:`~graphrec.errors.IngestIntegrityError`;
* after the last batch the graph is recounted (every item, scenario link, user and
  interaction of the spec looked up by key); a difference is the same error.

After either error the checkpoint is removed, so a plain rerun rewrites every stage.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from graphrec.errors import ConfigError, IngestIntegrityError
from graphrec.home import replace_private
from graphrec.results import run_metadata
from graphrec.schema import STORE_MARKER_NAME
from graphrec.stats import recount
from graphrec.store import cypher
from graphrec.store.bolt import DEFAULT_BATCH_SIZE, GraphStore
from ingest import mapping
from ingest.records import InteractionRecord, ItemRecord, Reject
from ingest.spec import DatasetSpec, ScenarioSpec

logger = logging.getLogger(__name__)

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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)


class _RejectWriter:
    """Writes rejects to a TSV file and counts them by kind."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
        self._csv = csv.writer(self._fh, delimiter="\t", lineterminator="\n")
        self._csv.writerow(["file", "line", "kind", "reason", "record"])
        self.by_kind: Counter[str] = Counter()

    def write(self, r: Reject) -> None:
        self._csv.writerow([r.path, r.line, r.kind, r.reason, r.record])
        self.by_kind[r.kind] += 1

    def close(self) -> None:
        self._fh.close()


@dataclass
class _Prepared:
    """Validated rows of one scenario, ready to write."""

    items: dict[str, ItemRecord] = field(default_factory=dict)
    interactions: list[InteractionRecord] = field(default_factory=list)


def _prepare_scenario(sc: ScenarioSpec, rejects: _RejectWriter, counts: ScenarioCounts) -> _Prepared:
    prepared = _Prepared()
    first_seen: dict[str, tuple[str, int]] = {}
    for src in sc.items:
        seen_here: set[str] = set()
        for out in mapping.items(src, sc.name, mapping.read_file(src.file, "items")):
            if isinstance(out, Reject):
                rejects.write(out)
                counts.items_rejected += 1
                continue
            rec, row = out
            if rec.id in seen_here:
                path, line = first_seen[rec.id]
                rejects.write(
                    Reject(
                        row.path,
                        row.line,
                        f"duplicate item id {rec.id!r} (first at {path}:{line}); keep one row per item",
                        mapping.record_text(row),
                        kind="duplicate",
                    )
                )
                counts.items_rejected += 1
                continue
            seen_here.add(rec.id)
            previous = prepared.items.get(rec.id)
            if previous is None and src.enrich:
                counts.enrich_skipped += 1
                continue
            if previous is None:
                first_seen[rec.id] = (row.path, row.line)
                prepared.items[rec.id] = rec
            else:  # a second item file adds what the first lacked
                prepared.items[rec.id] = ItemRecord(
                    sc.name,
                    rec.id,
                    previous.title or rec.title,
                    previous.text or rec.text,
                    tuple(dict.fromkeys((*previous.categories, *rec.categories))),
                )
    counts.items_loaded = len(prepared.items)
    has_item_files = bool(sc.items)
    seen_pairs: dict[tuple[str, str], tuple[str, int]] = {}
    created: dict[str, ItemRecord] = {}
    users: set[str] = set()
    used_items: set[str] = set()
    for isrc in sc.interactions:
        for iout in mapping.interactions(isrc, sc.name, mapping.read_file(isrc.file, "interactions")):
            if isinstance(iout, Reject):
                rejects.write(iout)
                counts.interactions_rejected += 1
                continue
            irec, row = iout
            key = (irec.user, irec.item)
            if key in seen_pairs:
                path, line = seen_pairs[key]
                rejects.write(
                    Reject(
                        row.path,
                        row.line,
                        f"duplicate interaction of user {irec.user!r} with item {irec.item!r} "
                        f"(first at {path}:{line}); the graph keeps one INTERACTED per user and item",
                        mapping.record_text(row),
                        kind="duplicate",
                    )
                )
                counts.interactions_rejected += 1
                continue
            if irec.item not in prepared.items and irec.item not in created:
                if has_item_files and sc.unknown_items == "reject":
                    rejects.write(
                        Reject(
                            row.path,
                            row.line,
                            f"item {irec.item!r} is in none of scenario {sc.name!r}'s item files; add it there, "
                            'or set unknown_items = "create" for this scenario in the spec',
                            mapping.record_text(row),
                            kind="unknown-item",
                        )
                    )
                    counts.interactions_rejected += 1
                    continue
                created[irec.item] = ItemRecord(sc.name, irec.item, None, None)
            seen_pairs[key] = (row.path, row.line)
            prepared.interactions.append(irec)
            users.add(irec.user)
            used_items.add(irec.item)
    counts.items_created = len(created)
    counts.items_without_interactions = sum(1 for i in prepared.items if i not in used_items)
    prepared.items.update(created)
    counts.interactions_loaded = len(prepared.interactions)
    counts.users = len(users)
    return prepared


def prepare_dataset(spec: DatasetSpec, rejects_path: Path, summary: IngestSummary) -> dict[str, _Prepared]:
    """Read and validate every file of ``spec`` (no database needed).

    Rejected rows go to ``rejects_path``; counts go into ``summary`` (per scenario, per reject kind).

    Returns:
        Validated items and interactions per scenario name.

    Raises:
        InputDataError: A file cannot be read as declared.
    """
    rejects = _RejectWriter(rejects_path)
    summary.rejects_path = str(rejects.path)
    prepared: dict[str, _Prepared] = {}
    try:
        for sc in spec.scenarios:
            counts = ScenarioCounts()
            prepared[sc.name] = _prepare_scenario(sc, rejects, counts)
            summary.scenarios[sc.name] = counts
            logger.info(
                "scenario %s: %d items, %d interactions valid; %d + %d rows rejected",
                sc.name,
                len(prepared[sc.name].items),
                counts.interactions_loaded,
                counts.items_rejected,
                counts.interactions_rejected,
            )
    finally:
        rejects.close()
    summary.rejected = sum(rejects.by_kind.values())
    summary.rejects_by_kind = dict(sorted(rejects.by_kind.items()))
    return prepared


def spec_fingerprint(spec: DatasetSpec) -> str:
    """A key for the checkpoint: the spec plus every input file's path, size and mtime."""
    h = hashlib.sha256(repr(spec).encode())
    for sc in spec.scenarios:
        for src in (*sc.items, *sc.interactions):
            st = src.file.path.stat()
            h.update(f"{src.file.path}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


CHECKPOINT_GLOB = "ingest-*.json"


def checkpoint_path(state_dir: Path, spec: DatasetSpec) -> Path:
    """The resume checkpoint of ``spec`` in ``state_dir``."""
    return state_dir / f"ingest-{spec_fingerprint(spec)}.json"


def remove_checkpoints(state_dir: Path) -> int:
    """Delete every ingest checkpoint in ``state_dir`` (``graphrec clear`` does). Returns how many."""
    removed = 0
    for path in (*state_dir.glob(CHECKPOINT_GLOB), *state_dir.glob(f".{CHECKPOINT_GLOB}.tmp")):
        path.unlink(missing_ok=True)
        removed += path.suffix == ".json"
    return removed


def store_identity(store: GraphStore) -> str:
    """The graph's identity: the id of its ``GraphrecStore`` marker, created (random) if the graph has none."""
    rows = store.write_returning(
        cypher.MERGE_STORE_MARKER,
        {
            "name": STORE_MARKER_NAME,
            "id": uuid.uuid4().hex,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    )
    return str(rows[0]["id"])


class _Checkpoint:
    """Committed rows per write stage, for one spec in one graph, saved atomically after every batch.

    Args:
        path: The checkpoint file.
        store_id: Identity of the graph being written (:func:`store_identity`).
        store: Where that graph is (server agent and database), for messages.

    A checkpoint of an unfinished ingest is resumed only if it was written for the same graph
    (same marker id); an unreadable one, or one of another graph, is ignored with a warning.
    """

    def __init__(self, path: Path, store_id: str, store: str) -> None:
        self.path = path
        self.store_id = store_id
        self.store = store
        self.committed: dict[str, int] = {}
        self.resumed = False
        data = self._load()
        if not data or data.get("complete") or not data.get("committed"):
            return
        if data.get("store_id") != store_id:
            logger.warning(
                "ignoring the resume checkpoint %s: it was written for another graph (id %s, %s) than this one "
                "(id %s, %s), which was cleared or is another database; the ingest starts over "
                "(every write is a MERGE, so nothing is duplicated)",
                path,
                data.get("store_id") or "not recorded",
                data.get("store") or "unknown store",
                store_id,
                store,
            )
            return
        self.committed = dict(data["committed"])
        self.resumed = True

    def _load(self) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            committed = data.get("committed", {})
            if not isinstance(committed, dict):
                raise ValueError("'committed' is not an object")
            data["committed"] = {str(k): int(v) for k, v in committed.items()}
            if any(v < 0 for v in data["committed"].values()):
                raise ValueError("negative row count")
        except (OSError, ValueError, TypeError, AttributeError) as e:
            logger.warning("ignoring the unreadable resume checkpoint %s (%s); the ingest starts over", self.path, e)
            return None
        return dict(data)

    def save(self, *, complete: bool = False) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        state = {"store_id": self.store_id, "store": self.store, "committed": self.committed, "complete": complete}
        replace_private(self.path, json.dumps(state))

    def discard(self) -> None:
        """Delete the checkpoint, so the next run rewrites every stage."""
        self.path.unlink(missing_ok=True)


#: Users per read of the interactions recount (each row carries the user's item ids).
_RECOUNT_USERS_PER_READ = 2_000

#: What each write stage's rows must find in the graph (stage name prefix → message words).
_ENDPOINTS = {"in_scenario": "item and scenario", "interactions": "user and item"}


def _progress(total: int, desc: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="row", disable=not enabled, leave=False)


def ingest_spec(
    store: GraphStore,
    spec: DatasetSpec,
    *,
    run_dir: Path,
    state_dir: Path,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    on_batch: Callable[[str, int], None] | None = None,
) -> IngestSummary:
    """Validate every file of ``spec``, write the graph in checked batches, and recount it.

    Resumes an interrupted ingest of the same spec into the same graph from its checkpoint;
    see the module docstring for the checks that stop an ingest.

    Args:
        store: An open store (schema ensured).
        spec: The dataset spec.
        run_dir: Where ``rejects.tsv`` and ``summary.json`` are written.
        state_dir: Where the resume checkpoint lives (kept across runs).
        batch_size: Rows per write transaction (default 10,000).
        progress: Show progress bars.
        on_batch: Called ``(stage, rows)`` after each committed batch (tests use it to
            interrupt a run at a known point).

    Returns:
        The :class:`IngestSummary` (also saved as ``run_dir/summary.json``).

    Raises:
        ConfigError: ``batch_size`` is below 1.
        InputDataError: A file cannot be read as declared.
        IngestIntegrityError: A batch matched another number of rows than it sent, or the graph's recount
            after the last batch differs from what was loaded (the message names the stage and the numbers).
        StoreError: A write failed for a non-transient reason.
    """
    if batch_size < 1:
        raise ConfigError(f"the ingest batch size must be at least 1 row, got {batch_size}; pass --batch-size 10000")
    t0 = time.perf_counter()
    summary = IngestSummary(spec=spec.source, batch_size=batch_size)
    summary.metadata = run_metadata(store=store.capabilities.agent)
    prepared = prepare_dataset(spec, run_dir / REJECTS_FILE, summary)
    summary.stage_seconds["validate"] = round(time.perf_counter() - t0, 3)

    summary.store_id = store_identity(store)
    where = store.capabilities.agent + (f", database {store.database}" if store.database else "")
    checkpoint = _Checkpoint(checkpoint_path(state_dir, spec), summary.store_id, where)
    if checkpoint.resumed:
        logger.warning(
            "resuming an interrupted ingest of %s: %d rows were already committed and are skipped",
            spec.source,
            sum(checkpoint.committed.values()),
        )

    def integrity_error(message: str) -> IngestIntegrityError:
        checkpoint.discard()
        return IngestIntegrityError(
            f"{message}. Nothing is reported loaded that is not in the graph, so the ingest stops here; its "
            f"resume checkpoint was removed: rerun `graphrec ingest {spec.source}` to rewrite every stage "
            "(or `graphrec clear --yes` first to start from an empty graph). If it happens again, another "
            "command is changing the graph during the ingest, or the server is losing writes (see its log)."
        )

    def run_stage(stage: str, query: str, rows: list[Mapping[str, Any]]) -> tuple[float, int]:
        """Write one stage's rows past its checkpoint, checking each batch; returns (seconds, rows written)."""
        done = checkpoint.committed.get(stage, 0)
        if done > len(rows):  # inputs changed under the same fingerprint: start the stage over
            done = 0
        summary.resumed_rows += done
        bar = _progress(len(rows), stage, progress)
        bar.update(done)
        t = time.perf_counter()
        checkpoint.committed[stage] = done
        for number, start in enumerate(range(done, len(rows), batch_size), 1):
            batch = rows[start : start + batch_size]
            result = store.write_returning(query, {"rows": batch})
            matched = int(result[0]["matched"]) if result else 0
            if matched != len(batch):
                needs = _ENDPOINTS.get(stage.split(":")[0], "nodes")
                why = (
                    f"the other {len(batch) - matched} did not find their {needs} in the graph"
                    if matched < len(batch)
                    else "so the graph holds more than one node or relationship for some of these keys "
                    "(written outside graphrec ingest?)"
                )
                raise integrity_error(
                    f"ingest stage {stage!r}, batch {number} (rows {start + 1}-{start + len(batch)} of {len(rows)}): "
                    f"sent {len(batch)} rows but the server wrote or matched {matched}; {why} ({where})"
                )
            checkpoint.committed[stage] += len(batch)
            checkpoint.save()
            bar.update(len(batch))
            if on_batch is not None:
                on_batch(stage, len(batch))
        bar.close()
        seconds = time.perf_counter() - t
        summary.stage_seconds[stage] = round(seconds, 3)
        return seconds, len(rows) - done

    scenario_rows = [{"name": sc.name} for sc in spec.scenarios]
    run_stage("scenarios", cypher.MERGE_SCENARIOS, scenario_rows)
    for name, prep in prepared.items():
        item_rows = [{**asdict(i), "categories": list(i.categories) or None} for i in prep.items.values()]
        run_stage(f"items:{name}", cypher.MERGE_ITEMS, item_rows)
        run_stage(f"in_scenario:{name}", cypher.MERGE_ITEM_SCENARIO, [{"scenario": name, "id": r["id"]} for r in item_rows])
    all_users = list(dict.fromkeys(i.user for prep in prepared.values() for i in prep.interactions))
    summary.users = len(all_users)
    user_rows = [{"id": u} for u in all_users]
    run_stage("users", cypher.MERGE_USERS, user_rows)
    n_rels = 0
    for name, prep in prepared.items():
        rows = [asdict(i) for i in prep.interactions]
        seconds, written = run_stage(f"interactions:{name}", cypher.MERGE_INTERACTIONS, rows)
        summary.write_seconds += seconds
        n_rels += written

    t = time.perf_counter()
    expected, summary.recounted = _recount(store, prepared, scenario_rows, user_rows)
    summary.stage_seconds["recount"] = round(time.perf_counter() - t, 3)
    wrong = [
        f"{key}: {want} loaded, {summary.recounted.get(key, 0)} in the graph"
        for key, want in expected.items()
        if summary.recounted.get(key, 0) != want
    ]
    if wrong:
        raise integrity_error(f"the recount after the ingest differs from what was loaded ({where}): " + "; ".join(wrong))
    checkpoint.save(complete=True)
    summary.seconds = time.perf_counter() - t0
    summary.relationships_per_second = n_rels / summary.write_seconds if summary.write_seconds > 0 else 0.0
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / SUMMARY_FILE).write_text(json.dumps(summary.to_dict(), indent=2))
    return summary


def _recount(
    store: GraphStore,
    prepared: dict[str, _Prepared],
    scenario_rows: list[Mapping[str, Any]],
    user_rows: list[Mapping[str, Any]],
) -> tuple[dict[str, int], dict[str, int]]:
    """Look every key the spec loaded up in the graph. Returns (expected, found), keyed like
    :attr:`IngestSummary.recounted`."""
    expected = {"scenarios": len(scenario_rows), "users": len(user_rows)}
    found = {
        "scenarios": recount(store, cypher.RECOUNT_SCENARIOS, scenario_rows).get("scenarios", 0),
        "users": recount(store, cypher.RECOUNT_USERS, user_rows).get("users", 0),
    }
    for name, prep in prepared.items():
        items = recount(store, cypher.RECOUNT_ITEMS, [{"scenario": name, "id": i} for i in prep.items])
        by_user: dict[str, list[str]] = {}
        for i in prep.interactions:
            by_user.setdefault(i.user, []).append(i.item)
        keys = [{"user": u, "scenario": name, "items": item_ids} for u, item_ids in by_user.items()]
        interactions = recount(store, cypher.RECOUNT_INTERACTIONS, keys, batch_size=_RECOUNT_USERS_PER_READ)
        expected |= {f"items:{name}": len(prep.items), f"in_scenario:{name}": len(prep.items)}
        expected[f"interactions:{name}"] = len(prep.interactions)
        found[f"items:{name}"] = items.get("items", 0)
        found[f"in_scenario:{name}"] = items.get("in_scenario", 0)
        found[f"interactions:{name}"] = interactions.get("interactions", 0)
    return expected, found


def iter_rejects(path: Path) -> Iterator[dict[str, str]]:
    """Read a rejects file back as dicts (``file``, ``line``, ``kind``, ``reason``, ``record``)."""
    with open(path, encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh, delimiter="\t")
