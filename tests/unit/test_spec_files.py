"""A spec's files are checked when the spec is loaded (before any database starts), and the
duplicate rule of item files holds in enrichment files too."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphrec.errors import InputDataError
from ingest.prepare import prepare_dataset
from ingest.spec import load_spec
from ingest.summary import IngestSummary, iter_rejects


def _spec(tmp_path: Path, items: str) -> Path:
    (tmp_path / "b.inter").write_text("user_id:token\titem_id:token\nu1\tB1\n")
    p = tmp_path / "spec.toml"
    p.write_text(
        f'[[scenario]]\nname = "books"\ninteractions = {{ path = "b.inter", format = "recbole" }}\nitems = [{items}]\n'
    )
    return p


@pytest.mark.parametrize(
    ("setup", "problem"),
    [("missing", "file not found"), ("empty", "file is empty"), ("directory", "not a regular file")],
)
def test_load_spec_names_the_file_the_entry_and_the_fix(tmp_path: Path, setup: str, problem: str) -> None:
    target = tmp_path / "data" / "b.item"
    target.parent.mkdir()
    if setup == "empty":
        target.write_bytes(b"")
    elif setup == "directory":
        target.mkdir()
    spec = _spec(tmp_path, '{ path = "data/b.item", format = "recbole", id = "item_id" }')
    with pytest.raises(InputDataError) as info:
        load_spec(spec)
    message = str(info.value)
    assert message.startswith(f"{target}: {problem}"), message
    assert f"declared by {spec}: scenario[0] 'books' items[0], path = 'data/b.item'" in message
    assert info.value.path == str(target)
    assert load_spec(spec, check_files=False).scenarios[0].items[0].file.path == target


def test_a_repeated_row_of_an_item_not_in_the_catalogue_is_a_duplicate_in_an_enrichment_file(tmp_path: Path) -> None:
    """It was a KeyError: the first row had been skipped (not in the catalogue) and its place never recorded."""
    (tmp_path / "b.item").write_text("item_id:token\ttitle:token\nB1\tOne\n")
    (tmp_path / "meta.csv").write_text("iid\tmetadata\nB9\tcat:A\t\nB9\tcat:B\t\nB1\tcat:C\t\nB1\tcat:D\t\n")
    spec = _spec(
        tmp_path,
        '{ path = "b.item", format = "recbole", id = "item_id", title = "title" }, '
        '{ path = "meta.csv", format = "amazon-kg-metadata", enrich = true }',
    )
    summary = IngestSummary(spec=str(spec))
    prepared = prepare_dataset(load_spec(spec), tmp_path / "rejects.tsv", summary)
    counts = summary.scenarios["books"]
    assert (counts.items_loaded, counts.enrich_skipped, counts.items_rejected) == (1, 1, 2)
    assert prepared["books"].items["B1"].categories == ("C",)
    rejects = list(iter_rejects(tmp_path / "rejects.tsv"))
    assert [(r["line"], r["kind"]) for r in rejects] == [("3", "duplicate"), ("5", "duplicate")]
    assert f"first at {tmp_path / 'meta.csv'}:2" in rejects[0]["reason"]
