"""The MovieLens-100K genre pair (bench/genre_pair.py) derives a valid two-scenario spec from the real
files in ../shared/data: every movie in exactly one scenario by the documented rule, nothing rejected,
and a second derivation changes no byte (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.genre_pair import ACTION_GENRES, prepare_genre_pair
from ingest.prepare import prepare_dataset
from ingest.spec import load_spec
from ingest.summary import IngestSummary


@pytest.mark.data("ml-100k")
def test_genre_pair_spec(shared_data: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    spec = prepare_genre_pair(work, source=shared_data / "movielens" / "ml-100k")
    files = {p.name: p.read_bytes() for p in work.iterdir()}
    summary = IngestSummary(spec=spec.name)
    prepared = prepare_dataset(load_spec(spec), tmp_path / "rejects.tsv", summary)
    a, d = summary.scenarios["action"], summary.scenarios["drama"]
    assert summary.rejected == 0
    assert (a.items_loaded, a.interactions_loaded, a.users) == (678, 54_576, 943)
    assert (d.items_loaded, d.interactions_loaded, d.users) == (1_004, 45_424, 938)
    action, drama = prepared["action"].items, prepared["drama"].items
    assert not set(action) & set(drama) and len(action) + len(drama) == 1_682
    assert all(ACTION_GENRES & set(i.categories) for i in action.values())
    assert not any(ACTION_GENRES & set(i.categories) for i in drama.values())
    golden_eye, toy_story = action["2"], drama["1"]  # Action Adventure Thriller / Animation Children's Comedy
    assert golden_eye.title == "GoldenEye" and golden_eye.text == "1995; Action Adventure Thriller"
    assert toy_story.categories == ("Animation", "Children's", "Comedy")
    assert prepare_genre_pair(work, source=shared_data / "movielens" / "ml-100k") == spec
    assert {p.name: p.read_bytes() for p in work.iterdir()} == files
