"""A first, big ingest into an empty Neo4j database with Neo4j's importer, checked as the ``MERGE`` path is.

1. The target is checked over Bolt: a Neo4j (not ArcadeDB), its database holds no node, and no constraint or
   index other than graphrec's would be lost (the import replaces the database's files);
2. the spec is validated by :func:`ingest.prepare.prepare_dataset` — the same records, rejects file and
   counts as ``graphrec ingest`` — and written as the importer's CSV files (:mod:`ingest.bulk.files`);
3. the server is stopped, ``neo4j-admin database import full --overwrite-destination`` imports the files
   (``--bad-tolerance=0``: any bad entry fails the import), and the server is started again as it was;
4. graphrec's constraints and indexes are created on the imported graph and awaited online, the store's
   identity marker is written, every key of the spec is recounted in the graph
   (:func:`ingest.pipeline.recount_loaded`), and the resume checkpoint is saved complete, as after a
   ``MERGE`` ingest: a later ``graphrec ingest`` of the same spec rewrites nothing new (every row ``MERGE``s
   onto the imported one).

If the import fails, an empty database is imported in its place (the importer leaves a failed store
unusable; the database was empty before), the server is started again, and the error quotes the importer.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from graphrec.errors import CapabilityError, ConfigError, IngestIntegrityError, StoreError
from graphrec.results import run_metadata
from graphrec.schema import CONSTRAINTS, INDEXES, VECTOR_INDEXES, Label, Prop
from graphrec.store import cypher
from graphrec.store.bolt import GraphStore
from graphrec.store.connect import StoreConfig, open_store
from ingest.bulk.files import SCENARIO_IDS, ImportFiles, write_import_files
from ingest.bulk.server import Launch, ScriptServer
from ingest.checkpoint import Checkpoint, checkpoint_path, store_identity
from ingest.pipeline import recount_loaded
from ingest.prepare import Prepared, prepare_dataset
from ingest.spec import DatasetSpec
from ingest.summary import REJECTS_FILE, SUMMARY_FILE, IngestSummary

logger = logging.getLogger(__name__)

#: The run folder's subfolder of the importer's files, configuration copy, report and output.
IMPORT_FOLDER = "bulk-import"
#: Seconds to wait for the imported graph's indexes to come online.
INDEX_WAIT_SECONDS = 3_600
#: Seconds the importer may run (10M interactions import in minutes).
IMPORT_TIMEOUT = 6 * 3_600
#: graphrec's schema objects, which the import may replace (they are created again after it).
_OURS = {c.name for c in CONSTRAINTS} | {ix.name for ix in INDEXES} | {ix.name for ix in VECTOR_INDEXES}
_IMPORTED = re.compile(r"Imported:\s+(\d+) nodes\s+(\d+) relationships")


#: Why the embedded store is never bulk-loaded (``graphrec ingest --bulk`` without ``--uri``).
EMBEDDED_REFUSAL = (
    "--bulk loads with Neo4j's importer (neo4j-admin database import full), which writes Neo4j's own store files "
    "while the server is stopped; the embedded ArcadeDB (no --uri) has no such importer and keeps its data in its "
    "own format, so it is loaded by checked MERGE batches only. Ingest without --bulk, or bulk-load into a local "
    "Neo4j: scripts/neo4j_server.sh start PORT, then graphrec --uri bolt://127.0.0.1:PORT ingest SPEC --bulk"
)


def _check_target(store: GraphStore) -> str:
    """The name of the database a bulk import may replace; refuses one that is not an empty Neo4j database."""
    agent = store.capabilities.agent
    if store.capabilities.backend != "neo4j":
        raise CapabilityError(
            f"--bulk loads with Neo4j's importer (neo4j-admin database import full), which writes Neo4j's own store "
            f"files; the connected store is {agent}, which has no such importer. Ingest without --bulk (checked "
            "MERGE batches), or bulk-load into a local Neo4j"
        )
    name = str(store.read(cypher.DATABASE_NAME)[0]["name"])
    if name == "system":
        raise ConfigError(
            "--bulk cannot import into Neo4j's system database; pick the default database (no --database)"
        )
    if int(store.read(cypher.ANY_NODE)[0]["nodes"]):
        raise ConfigError(
            f"--bulk replaces the whole database {name!r} ({agent}), which is not empty; bulk loading is for a first "
            "load into an empty database. Ingest without --bulk (MERGE adds to the graph), or empty it first "
            "(`graphrec clear --yes`) if its graph may go"
        )
    foreign = [
        f"{row['name']} ({row['type']})"
        for query in (cypher.SHOW_CONSTRAINTS, cypher.SHOW_INDEXES)
        for row in store.read(query)
        if row["name"] not in _OURS and row["type"] != "LOOKUP" and not row.get("owningConstraint")
    ]
    if foreign:
        raise ConfigError(
            f"--bulk replaces the database {name!r}, whose schema holds {', '.join(sorted(foreign))}, not graphrec's: "
            "the import would drop them. Drop them first (`graphrec repair --drop-extra`) or ingest without --bulk"
        )
    return name


def _run_importer(
    server: ScriptServer,
    launch: Launch,
    database: str,
    folder: Path,
    options: list[str],
    *,
    heap: str | None,
    max_off_heap: str | None,
) -> str:
    """Run ``neo4j-admin database import full`` in ``folder``; returns its output (also in ``import.log``).

    Raises:
        StoreError: The importer failed (the message quotes its last lines).
    """
    command, env = server.admin_command(launch, folder / "conf", heap=heap)
    args = [
        *command,
        "database",
        "import",
        "full",
        database,  # before the file lists: picocli would read it as one more file
        "--overwrite-destination=true",
        "--bad-tolerance=0",
        "--skip-bad-relationships=false",
        "--skip-duplicate-nodes=false",
        "--report-file=import.report",
        *([f"--max-off-heap-memory={max_off_heap}"] if max_off_heap else []),
        *options,
    ]
    log = folder / "import.log"
    logger.info("importing: %s (in %s)", " ".join(args[len(command) :]), folder)
    try:
        done = subprocess.run(
            args, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=IMPORT_TIMEOUT,
        )  # fmt: skip
    except subprocess.TimeoutExpired as e:
        raise StoreError(f"neo4j-admin database import full ran over {IMPORT_TIMEOUT} s; see {log}") from e
    log.write_text(done.stdout, encoding="utf-8")
    if done.returncode != 0:
        lines = [
            line for line in done.stdout.splitlines() if line.strip() and not line.lstrip().startswith(("at ", "..."))
        ]
        raise StoreError(
            f"neo4j-admin database import full failed (exit {done.returncode}): " + " | ".join(lines[-8:])
            + f"; its whole output is in {log}, its report in {folder / 'import.report'}"
        )  # fmt: skip
    return done.stdout


def _restore_empty(server: ScriptServer, launch: Launch, database: str, folder: Path) -> None:
    """Import an empty graph over a failed import's store files, so the server starts on an empty database."""
    empty = folder / "empty"
    empty.mkdir(parents=True, exist_ok=True)
    (empty / "scenarios.header.csv").write_text(f"{Prop.NAME}:ID({SCENARIO_IDS})\n", encoding="utf-8")
    (empty / "scenarios.csv").write_text("", encoding="utf-8")
    try:
        _run_importer(
            server, launch, database, empty, [f"--nodes={Label.SCENARIO}=scenarios.header.csv,scenarios.csv"],
            heap=None, max_off_heap=None,
        )  # fmt: skip
    except StoreError as e:
        logger.error("could not import an empty database over the failed import either: %s", e)


def _check_imported(output: str, files: ImportFiles) -> None:
    """The importer's own counts must equal the files' rows."""
    found = _IMPORTED.search(output)
    if found is None:
        raise IngestIntegrityError(
            f"neo4j-admin's output has no 'Imported: N nodes M relationships' line; see {files.folder / 'import.log'}"
        )
    nodes, rels = int(found.group(1)), int(found.group(2))
    if (nodes, rels) != (files.nodes, files.relationships):
        raise IngestIntegrityError(
            f"neo4j-admin imported {nodes} nodes and {rels} relationships, but the files hold {files.nodes} and "
            f"{files.relationships}; see import.log in {files.folder}"
        )


def bulk_ingest(
    spec: DatasetSpec,
    server: ScriptServer,
    *,
    home: Path,
    run_dir: Path,
    state_dir: Path,
    keep_files: bool = False,
    importer_heap: str | None = None,
    max_off_heap: str | None = None,
) -> IngestSummary:
    """Load ``spec`` into the empty database of the local Neo4j ``server`` with Neo4j's importer.

    See the module docstring for the steps and their checks. The server is stopped during the import.

    Args:
        spec: The dataset spec.
        server: The running Neo4j of ``scripts/neo4j_server.sh`` (:meth:`ScriptServer.find`).
        home: graphrec home (connections).
        run_dir: Where ``rejects.tsv``, ``summary.json`` and the importer's folder go.
        state_dir: Where the resume checkpoint lives.
        keep_files: Keep the importer's CSV files after a successful load (they are kept after a failure).
        importer_heap: The importer JVM's ``-Xmx`` (default the JVM's).
        max_off_heap: The importer's ``--max-off-heap-memory`` (default its own, 90% of free memory).

    Returns:
        The :class:`IngestSummary` (``method="bulk"``; also saved as ``run_dir/summary.json``).

    Raises:
        CapabilityError: The server is not Neo4j.
        ConfigError: Its database is not empty, or holds schema objects that are not graphrec's.
        InputDataError: A file of the spec cannot be read as declared.
        StoreError: The importer failed, or the server did not stop or start again.
        IngestIntegrityError: The graph does not hold what the files held.
    """
    t0 = time.perf_counter()
    summary = IngestSummary(spec=spec.source, method="bulk")
    launch = server.launch()
    config = StoreConfig(home=home, uri=server.uri)
    with open_store(config, ensure_schema=False) as store:
        database = _check_target(store)
        summary.metadata = run_metadata(store=store.capabilities.agent)
    prepared = prepare_dataset(spec, run_dir / REJECTS_FILE, summary)
    summary.stage_seconds["validate"] = round(time.perf_counter() - t0, 3)

    folder = run_dir / IMPORT_FOLDER
    t_write = time.perf_counter()
    files = write_import_files(prepared, folder)
    _stage(summary, "files", t_write)

    t = time.perf_counter()
    server.stop()
    _stage(summary, "stop", t)
    t = time.perf_counter()
    try:
        output = _run_importer(
            server, launch, database, folder, files.options(), heap=importer_heap, max_off_heap=max_off_heap
        )
    except BaseException:
        _restore_empty(server, launch, database, folder)
        server.start(launch)
        raise
    _stage(summary, "import", t)
    t = time.perf_counter()
    server.start(launch)
    _stage(summary, "start", t)
    _check_imported(output, files)

    with open_store(config, ensure_schema=False) as store:
        t = time.perf_counter()
        store.ensure_schema()  # graphrec's constraints and indexes, built over the imported graph
        store.read(cypher.AWAIT_INDEXES, {"seconds": INDEX_WAIT_SECONDS})
        _stage(summary, "schema", t)
        summary.write_seconds = time.perf_counter() - t_write
        _finish(store, spec, prepared, summary, state_dir)
    summary.seconds = time.perf_counter() - t0
    summary.relationships_per_second = files.interactions / summary.write_seconds if summary.write_seconds else 0.0
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / SUMMARY_FILE).write_text(json.dumps(summary.to_dict(), indent=2))
    if not keep_files:
        shutil.rmtree(folder, ignore_errors=True)
    return summary


def _stage(summary: IngestSummary, name: str, since: float) -> None:
    summary.stage_seconds[name] = round(time.perf_counter() - since, 3)


def _finish(
    store: GraphStore, spec: DatasetSpec, prepared: dict[str, Prepared], summary: IngestSummary, state_dir: Path
) -> None:
    """The marker, the recount of every key, and the complete checkpoint: what a ``MERGE`` ingest leaves."""
    summary.store_id = store_identity(store)
    scenario_rows = [{"name": sc.name} for sc in spec.scenarios]
    users = list(dict.fromkeys(i.user for prep in prepared.values() for i in prep.interactions))
    summary.users = len(users)
    t = time.perf_counter()
    expected, summary.recounted = recount_loaded(store, prepared, scenario_rows, [{"id": u} for u in users])
    _stage(summary, "recount", t)
    where = store.capabilities.agent + (f", database {store.database}" if store.database else "")
    wrong = [f"{k}: {v} loaded, {summary.recounted.get(k, 0)} in the graph" for k, v in expected.items()
             if summary.recounted.get(k, 0) != v]  # fmt: skip
    if wrong:
        raise IngestIntegrityError(
            f"the recount after the bulk import differs from what was loaded ({where}): " + "; ".join(wrong)
            + f". The database is not what {spec.source} holds: `graphrec clear --yes` and ingest again"
        )  # fmt: skip
    checkpoint = Checkpoint(checkpoint_path(state_dir, spec), summary.store_id, where)
    committed: dict[str, Any] = {"scenarios": len(scenario_rows), "users": len(users)}
    for name, prep in prepared.items():
        committed |= {f"items:{name}": len(prep.items), f"in_scenario:{name}": len(prep.items)}
        committed[f"interactions:{name}"] = len(prep.interactions)
    checkpoint.committed = committed
    checkpoint.save(complete=True)
