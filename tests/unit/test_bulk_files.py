"""The bulk importer's CSV files (:mod:`ingest.bulk.files`), without a database: groups, typed headers,
quoting, the array delimiter, multi-line parsing and the read buffer. Their import into a real Neo4j, and the
graph compared with the MERGE path's, is tests/integration/test_bulk_load.py."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from graphrec.errors import ConfigError
from ingest.bulk.files import ARRAY_DELIMITERS, DEFAULT_READ_BUFFER, write_import_files
from ingest.prepare import Prepared
from ingest.records import InteractionRecord, ItemRecord


def _prepared() -> dict[str, Prepared]:
    movies = Prepared(
        items={
            "m,1": ItemRecord("movies", "m,1", 'Say "hi"', "two\nlines", ("a;b", "c\x1fd")),
            "m2": ItemRecord("movies", "m2", None, None),
        },
        interactions=[
            InteractionRecord("movies", "u1", "m,1", 4.5, 1_700_000_000),
            InteractionRecord("movies", "u2", "m2", None, None),
            InteractionRecord("movies", 'q"u', "m2", 0.1, 12.5),
        ],
    )
    books = Prepared(
        items={"m,1": ItemRecord("books", "m,1", "same id, other scenario", None)},
        interactions=[InteractionRecord("books", "u1", "m,1", 3.0, -5)],
    )
    return {"movies": movies, "books": books}


def _rows(folder: Path, name: str) -> list[list[str]]:
    with open(folder / name, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_groups_headers_and_values(tmp_path: Path) -> None:
    files = write_import_files(_prepared(), tmp_path)
    groups = {(g.kind, g.name, g.data): (g.header, g.rows) for g in files.groups}
    assert groups == {
        ("nodes", "Scenario", "scenarios.csv"): ("scenarios.header.csv", 2),
        ("nodes", "Item", "items-0.csv"): ("items-0.header.csv", 2),
        ("nodes", "Item", "items-1.csv"): ("items-1.header.csv", 1),
        ("nodes", "User", "users.csv"): ("users.header.csv", 3),
        ("relationships", "IN_SCENARIO", "in-scenario-0.csv"): ("in-scenario-0.header.csv", 2),
        ("relationships", "INTERACTED", "interactions-0.csv"): ("interactions-0.header.csv", 2),
        # the fractional timestamp keeps its type in a file whose ts column is a double
        ("relationships", "INTERACTED", "interactions-0-fractional-ts.csv"): (
            "interactions-0-fractional-ts.header.csv", 1),
        ("relationships", "IN_SCENARIO", "in-scenario-1.csv"): ("in-scenario-1.header.csv", 1),
        ("relationships", "INTERACTED", "interactions-1.csv"): ("interactions-1.header.csv", 1),
    }  # fmt: skip
    assert (files.nodes, files.relationships, files.interactions) == (8, 7, 4)
    assert (tmp_path / "items-1.header.csv").read_text() == "id:ID(Item-1),scenario,title,text,categories:string[]\n"
    header = ":START_ID(User),:END_ID(Item-0),scenario,rating:double,ts:{}\n"
    assert (tmp_path / "interactions-0.header.csv").read_text() == header.format("long")
    assert (tmp_path / "interactions-0-fractional-ts.header.csv").read_text() == header.format("double")
    # the first delimiter occurs in a category, so the next one is used
    assert files.array_delimiter == ARRAY_DELIMITERS[1]
    assert _rows(tmp_path, "items-0.csv") == [
        ["m,1", "movies", 'Say "hi"', "two\nlines", f"a;b{ARRAY_DELIMITERS[1]}c\x1fd"],
        ["m2", "movies", "", "", ""],
    ]
    assert (tmp_path / "items-0.csv").read_text().splitlines()[-1] == '"m2","movies",,,'  # missing: unquoted, empty
    assert _rows(tmp_path, "interactions-0.csv") == [["u1", "m,1", "movies", "4.5", "1700000000"],
                                                     ["u2", "m2", "movies", "", ""]]  # fmt: skip
    assert _rows(tmp_path, "interactions-0-fractional-ts.csv") == [['q"u', "m2", "movies", "0.1", "12.5"]]
    assert _rows(tmp_path, "users.csv") == [["u1"], ["u2"], ['q"u']]
    opts = files.options()
    assert opts[:3] == [
        "--array-delimiter=U+001E",
        "--multiline-fields=true",
        f"--read-buffer-size={DEFAULT_READ_BUFFER}",
    ]
    assert "--nodes=Item=items-0.header.csv,items-0.csv" in opts


def test_single_line_values_and_a_long_value(tmp_path: Path) -> None:
    long_text = "x" * 1_000_000
    prepared = {"s": Prepared(items={"i": ItemRecord("s", "i", "t", long_text)})}
    files = write_import_files(prepared, tmp_path)
    assert not files.multiline and files.read_buffer >= 8 * len(long_text)
    assert [g.name for g in files.groups] == ["Scenario", "Item", "User", "IN_SCENARIO"]  # no interactions: no file


def test_no_free_array_delimiter_is_an_error(tmp_path: Path) -> None:
    item = ItemRecord("s", "i", None, None, ("".join(ARRAY_DELIMITERS),))
    with pytest.raises(ConfigError, match=r"array delimiter .* ingest without --bulk"):
        write_import_files({"s": Prepared(items={"i": item})}, tmp_path)
