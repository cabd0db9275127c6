"""Ingest end to end on real ArcadeDB and Neo4j: counts, idempotency, rejects (kills: test_kill_matrix.py)."""

from __future__ import annotations

import json
from pathlib import Path

from graphrec.store.bolt import GraphStore
from ingest.pipeline import ingest_spec
from ingest.sources.synthetic import generate
from ingest.spec import load_spec
from tests.helpers import expected_counts, graph_counts, write_amazon_kg_books


def test_synthetic_ingest_counts_and_idempotent_rerun(store: GraphStore, tmp_path: Path) -> None:
    files = generate(tmp_path / "data", seed=3, users=120, items_per_scenario=60)
    spec = load_spec(files.spec)
    want = expected_counts(files.spec, tmp_path)
    s1 = ingest_spec(store, spec, run_dir=tmp_path / "r1", state_dir=tmp_path / "state", progress=False)
    got1 = graph_counts(store)
    assert {k: got1[k] for k in want} == want
    assert got1["in_scenario"] == want["items"] and got1["scenarios"] == 2
    assert s1.rejected == 0 and s1.users == want["users"]
    assert s1.recounted["users"] == want["users"] and s1.recounted["scenarios"] == 2
    assert sum(v for k, v in s1.recounted.items() if k.startswith("interactions:")) == want["interactions"]
    assert sum(v for k, v in s1.recounted.items() if k.startswith("items:")) == want["items"]
    items = store.read(
        "MATCH (i:Item {scenario: $s, id: $id}) RETURN i.title AS t, i.text AS x", {"s": "books", "id": "b0001"}
    )
    assert len(items) == 1 and items[0]["t"] and "about" in items[0]["x"]
    s2 = ingest_spec(store, spec, run_dir=tmp_path / "r2", state_dir=tmp_path / "state", progress=False)
    assert graph_counts(store) == got1
    assert s2.resumed_rows == 0
    saved = json.loads((tmp_path / "r2" / "summary.json").read_text())
    assert saved["scenarios"]["movies"]["interactions_loaded"] == s2.scenarios["movies"].interactions_loaded > 0
    assert saved["metadata"]["store"] == store.capabilities.agent and "neo4j" in saved["metadata"]["versions"]


def test_rejected_rows_never_reach_the_graph(store: GraphStore, tmp_path: Path) -> None:
    (tmp_path / "i.tsv").write_text("user_id\titem_id\trating\nu1\tA\t5\nu2\tA\tbad\nu3\tZ\t1\nu1\tA\t4\nu4\tB\n")
    (tmp_path / "items.tsv").write_text("id\ttitle\nA\tAlpha\nB\tBeta\n")
    (tmp_path / "spec.toml").write_text(
        '[[scenario]]\nname = "s"\n'
        'interactions = { path = "i.tsv", format = "tsv", user = "user_id", item = "item_id", rating = "rating" }\n'
        'items = { path = "items.tsv", format = "tsv", id = "id", title = "title" }\n'
    )
    summary = ingest_spec(
        store, load_spec(tmp_path / "spec.toml"), run_dir=tmp_path / "r", state_dir=tmp_path / "st", progress=False
    )
    assert summary.rejects_by_kind == {"duplicate": 1, "field-count": 1, "rating": 1, "unknown-item": 1}
    rows = store.read("MATCH (u:User)-[r:INTERACTED]->(i:Item) RETURN u.id AS u, i.id AS i, r.rating AS rating")
    assert rows == [{"u": "u1", "i": "A", "rating": 5.0}]
    assert graph_counts(store)["items"] == 2  # B is catalogue without interactions
    lines = (tmp_path / "r" / "rejects.tsv").read_text().splitlines()
    assert len(lines) == 1 + 4 and lines[0].split("\t") == ["file", "line", "kind", "reason", "record"]


def test_enriched_items_rerun_is_idempotent(store: GraphStore, tmp_path: Path) -> None:
    """The Amazon-KG shape (a catalogue file and an enrichment file of categories) ingested twice: the same
    graph, the same item properties, and the enrichment row outside the catalogue skipped and counted."""
    spec = write_amazon_kg_books(tmp_path, interactions="u1\tB1\nu2\tB2\nu2\tB1\n")
    items = "MATCH (i:Item) RETURN i.id AS id, i.title AS title, i.categories AS categories ORDER BY id"
    graphs, summaries = [], []
    for run in ("r1", "r2"):
        summaries.append(
            ingest_spec(
                store,
                load_spec(spec),
                run_dir=tmp_path / run,
                state_dir=tmp_path / "st",
                progress=False,
            )
        )
        graphs.append((graph_counts(store), store.read(items)))
    assert graphs[0] == graphs[1]
    counts, rows = graphs[0]
    assert (counts["items"], counts["interactions"], counts["users"]) == (2, 3, 2)
    assert rows[0] == {"id": "B1", "title": "Deafening (novel)", "categories": ["Novels set in Ontario", "Fables"]}
    assert rows[1]["id"] == "B2" and rows[1]["title"] == "Dune" and not rows[1]["categories"]
    assert [s.scenarios["books"].enrich_skipped for s in summaries] == [1, 1]  # B9 is not in the catalogue
    assert [s.scenarios["books"].interactions_loaded for s in summaries] == [3, 3]
