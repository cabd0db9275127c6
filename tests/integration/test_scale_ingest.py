"""A generated scale dataset (ingest.sources.scale) ingests cleanly with `graphrec ingest` on ArcadeDB and Neo4j,
and the graph then holds exactly the manifest's counts, per scenario too."""

from __future__ import annotations

import json
import re
from pathlib import Path

from graphrec.stats import graph_stats
from graphrec.store.bolt import GraphStore
from graphrec.store.connect import StoreConfig
from ingest.sources.scale import ScaleConfig, generate_scale
from tests.helpers import graph_counts, invoke


def test_generated_set_ingests_with_the_manifests_counts(
    store: GraphStore, store_config: StoreConfig, tmp_path: Path
) -> None:
    files = generate_scale(tmp_path / "scale", ScaleConfig(interactions=5_000, scenarios=3, overlap=0.4, seed=2))
    out = invoke(store_config, "ingest", str(files.spec))
    c = json.loads(files.manifest.read_text())["counts"]
    assert graph_counts(store) == {
        "items": c["items"],
        "interactions": 5_000,
        "users": c["users"],
        "in_scenario": c["items"],
        "scenarios": 3,
    }
    per = {row["scenario"]: row for row in graph_stats(store).scenarios}
    assert set(per) == {"movies", "books", "games"}
    for name, want in c["scenarios"].items():
        got = per[name]
        assert (got["items"], got["items_with_interactions"], got["users"], got["interactions"]) == (
            want["items"],
            want["items_with_interactions"],
            want["users"],
            want["interactions"],
        ), name
    found = re.search(r"summary: (\S+summary\.json)", out)
    assert found is not None, out
    summary = json.loads(Path(found.group(1)).read_text())
    assert summary["rejected"] == 0 and summary["users"] == c["users"] and "rejected 0 rows" in out
    # the latent topic is the items' categories; titles and texts arrive
    rows = store.read(
        "MATCH (i:Item {scenario: $s, id: $id}) RETURN i.title AS title, i.text AS text, i.categories AS cats",
        {"s": "books", "id": "b0"},
    )
    books = (files.directory / "books_items.tsv").read_text().splitlines()[1].split("\t")
    assert rows == [{"title": books[1], "text": books[3], "cats": [books[2]]}]
