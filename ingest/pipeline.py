"""Ingest a dataset spec into the graph: validate → write batches → rejects file → summary.

Validation is :mod:`ingest.prepare`, the checkpoint :mod:`ingest.checkpoint`, the summary and the
rejects file :mod:`ingest.summary`; this module writes the stages and checks them.

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

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from graphrec.errors import ConfigError, IngestIntegrityError
from graphrec.results import run_metadata
from graphrec.stats import recount
from graphrec.store import cypher
from graphrec.store.bolt import GraphStore
from graphrec.store.results import DEFAULT_BATCH_SIZE
from ingest.checkpoint import Checkpoint, checkpoint_path, remove_checkpoints, store_identity
from ingest.prepare import Prepared, prepare_dataset
from ingest.spec import DatasetSpec
from ingest.summary import REJECTS_FILE, SUMMARY_FILE, IngestSummary

# remove_checkpoints: graphrec/cli.py imports it from here
__all__ = ["ingest_spec", "interactions_write", "recount_loaded", "remove_checkpoints"]

logger = logging.getLogger(__name__)

#: Users per read of the interactions recount (each row carries the user's item ids).
_RECOUNT_USERS_PER_READ = 2_000

#: What each write stage's rows must find in the graph (stage name prefix → message words).
_ENDPOINTS = {"in_scenario": "item and scenario", "interactions": "user and item"}


def _progress(total: int, desc: str, enabled: bool) -> Any:
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
    checkpoint = Checkpoint(checkpoint_path(state_dir, spec), summary.store_id, where)
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

    def run_stage(stage: str, query: str, rows: Sequence[Mapping[str, Any]]) -> tuple[float, int]:
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
        run_stage(
            f"in_scenario:{name}", cypher.MERGE_ITEM_SCENARIO, [{"scenario": name, "id": r["id"]} for r in item_rows]
        )
    all_users = list(dict.fromkeys(i.user for prep in prepared.values() for i in prep.interactions))
    summary.users = len(all_users)
    user_rows = [{"id": u} for u in all_users]
    run_stage("users", cypher.MERGE_USERS, user_rows)
    n_rels = 0
    interactions_query = interactions_write(store)
    for name, prep in prepared.items():
        rows = [asdict(i) for i in prep.interactions]
        seconds, written = run_stage(f"interactions:{name}", interactions_query, rows)
        summary.write_seconds += seconds
        n_rels += written

    t = time.perf_counter()
    expected, summary.recounted = recount_loaded(store, prepared, scenario_rows, user_rows)
    summary.stage_seconds["recount"] = round(time.perf_counter() - t, 3)
    wrong = [
        f"{key}: {want} loaded, {summary.recounted.get(key, 0)} in the graph"
        for key, want in expected.items()
        if summary.recounted.get(key, 0) != want
    ]
    if wrong:
        raise integrity_error(
            f"the recount after the ingest differs from what was loaded ({where}): " + "; ".join(wrong)
        )
    checkpoint.save(complete=True)
    summary.seconds = time.perf_counter() - t0
    summary.relationships_per_second = n_rels / summary.write_seconds if summary.write_seconds > 0 else 0.0
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / SUMMARY_FILE).write_text(json.dumps(summary.to_dict(), indent=2))
    return summary


def interactions_write(store: GraphStore) -> str:
    """The Cypher that writes interaction batches into ``store``: :data:`~graphrec.store.cypher.MERGE_INTERACTIONS`,
    or its equivalent :data:`~graphrec.store.cypher.UPSERT_INTERACTIONS` where the store's relationship ``MERGE`` is
    slow (:attr:`~graphrec.store.capabilities.StoreCapabilities.fast_relationship_merge`: ArcadeDB)."""
    caps = store.capabilities
    if caps.fast_relationship_merge:
        return cypher.MERGE_INTERACTIONS
    logger.info("%s: interactions written as OPTIONAL MATCH + CREATE (its relationship MERGE scans)", caps.agent)
    return cypher.UPSERT_INTERACTIONS


def recount_loaded(
    store: GraphStore,
    prepared: dict[str, Prepared],
    scenario_rows: Sequence[Mapping[str, Any]],
    user_rows: Sequence[Mapping[str, Any]],
) -> tuple[dict[str, int], dict[str, int]]:
    """Look every key the spec loaded up in the graph. Returns (expected, found), keyed like
    :attr:`IngestSummary.recounted` (the bulk load, :mod:`ingest.bulk.load`, checks its import with it too)."""
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
