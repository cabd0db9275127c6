"""The generated bad-input corpus ingested into real ArcadeDB and Neo4j, then recounted in the graph.

All loadable corpus files go into one spec (a scenario per file, one ingest per backend); per
scenario the graph must hold exactly the interactions and items the file's expected outcome says,
with the exact ids (e.g. Parquet binary ids as text, not ``"b'i1'"``). Unreadable files must end the
CLI with the project's one-line error, never click's bare ``Aborted!`` or a traceback.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from graphrec.cli import cli
from graphrec.stats import graph_stats
from graphrec.store import cypher
from graphrec.store.bolt import GraphStore
from graphrec.store.connect import StoreConfig
from ingest.pipeline import ingest_spec
from ingest.prepare import prepare_dataset
from ingest.spec import load_spec
from ingest.summary import IngestSummary
from tests.bad_input_corpus import CASES, LOADABLE, write_spec
from tests.helpers import cli_args


def test_corpus_ingest_recounted_in_the_graph(store: GraphStore, tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "corpus", LOADABLE)
    spec = load_spec(spec_path)
    expected = prepare_dataset(spec, tmp_path / "expected-rejects.tsv", IngestSummary(spec=str(spec_path)))
    summary = ingest_spec(store, spec, run_dir=tmp_path / "run", state_dir=tmp_path / "state", progress=False)
    per_scenario = {r["scenario"]: r for r in graph_stats(store).scenarios}
    assert set(per_scenario) == {c.name for c in LOADABLE}
    for case in LOADABLE:
        counts = summary.scenarios[case.name]
        assert counts.interactions_loaded == case.loaded, case.name
        assert counts.interactions_loaded + counts.interactions_rejected == case.rows, case.name
        got = per_scenario[case.name]
        assert (got["interactions"], got["items"]) == (case.loaded, len(expected[case.name].items)), case.name
    # the graph holds exactly the validated records: same ids, ratings and timestamps (int64 edges included)
    want = Counter((i.user, name, i.item, i.rating, i.ts) for name, p in expected.items() for i in p.interactions)
    got_rows = store.read(cypher.EXPORT_INTERACTIONS)
    assert Counter((r["user"], r["scenario"], r["item"], r["rating"], r["ts"]) for r in got_rows) == want
    want_items = sorted((name, item) for name, p in expected.items() for item in p.items)
    assert sorted((r["scenario"], r["id"]) for r in store.read(cypher.EXPORT_ITEMS)) == want_items
    users = sorted({i.user for p in expected.values() for i in p.interactions})
    assert sorted(r["id"] for r in store.read(cypher.EXPORT_USERS)) == users  # no "b'u1'", no " u1 "


def test_cli_reports_unreadable_files_in_one_line(store_config: StoreConfig, tmp_path: Path) -> None:
    for name in ("gz_truncated", "gz_not_gzip", "utf16_undeclared", "parquet_truncated"):
        case = next(c for c in CASES if c.name == name)
        spec_path = write_spec(tmp_path / name, [case])
        result = CliRunner().invoke(cli, [*cli_args(store_config), "ingest", str(spec_path)], catch_exceptions=False)
        assert result.exit_code == 1, (name, result.output)
        assert "Aborted!" not in result.output and "Traceback" not in result.output, result.output
        assert result.stderr.startswith(f"error: {case.path(tmp_path / name)}"), result.stderr
