"""The ready dataset specs validate the real files in ../shared/data with nothing rejected (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.prepare import prepare_dataset
from ingest.spec import load_spec
from ingest.summary import IngestSummary
from tests.helpers import REPO

SPECS = REPO / "ingest" / "specs"


def prepare(name: str, tmp_path: Path) -> tuple[IngestSummary, dict]:  # type: ignore[type-arg]
    summary = IngestSummary(spec=name)
    prepared = prepare_dataset(load_spec(SPECS / name), tmp_path / "rejects.tsv", summary)
    return summary, prepared


@pytest.mark.data("ml-100k")
def test_ml_100k_spec(shared_data: Path, tmp_path: Path) -> None:
    summary, prepared = prepare("ml-100k.toml", tmp_path)
    c = summary.scenarios["movies"]
    assert (c.interactions_loaded, c.items_loaded, c.users, summary.rejected) == (100_000, 1_682, 943, 0)
    toy = prepared["movies"].items["1"]
    assert toy.title == "Toy Story" and toy.text == "1995; Animation Children's Comedy"
    assert toy.categories == ("Animation", "Children's", "Comedy")
    first = prepared["movies"].interactions[0]
    assert (first.user, first.item, first.rating, first.ts) == ("196", "242", 3.0, 881250949)


@pytest.mark.data("ml-1m")
@pytest.mark.slow
def test_ml_1m_spec(shared_data: Path, tmp_path: Path) -> None:
    summary, prepared = prepare("ml-1m.toml", tmp_path)
    c = summary.scenarios["movies"]
    assert (c.interactions_loaded, c.items_loaded, c.users, summary.rejected) == (1_000_209, 3_883, 6_040, 0)
    assert c.items_loaded - c.items_without_interactions == 3_706
    assert prepared["movies"].items["Toy Story (1995)"].text == "1995; Animation Children's Comedy"


@pytest.mark.data("amazon-kg", "amazon-kg-metadata")
def test_amazon_kg_spec(shared_data: Path, tmp_path: Path) -> None:
    summary, prepared = prepare("amazon-kg.toml", tmp_path)
    m, b = summary.scenarios["movies"], summary.scenarios["books"]
    assert (m.interactions_loaded, m.items_loaded, m.items_without_interactions, m.users) == (67_066, 4_896, 117, 5_648)
    assert (b.interactions_loaded, b.items_loaded, b.items_without_interactions, b.users) == (
        115_572,
        8_696,
        378,
        10_485,
    )
    assert summary.rejected == 0
    assert (b.enrich_skipped, m.enrich_skipped) == (2_584, 0)  # metadata rows of books outside the .link catalogue
    prophet = prepared["books"].items["000100039X"]
    assert prophet.title == "The Prophet (book)"
    assert prophet.categories[:2] == ("Philosophical fiction", "Alfred A. Knopf books")
    # 6,337 catalogue books have a metadata row; 2 of those rows hold only res: entries, no categories
    assert sum(1 for i in prepared["books"].items.values() if i.categories) == 6_335
