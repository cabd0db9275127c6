"""Readers for every supported format, on generated fixtures and on the real files in ../shared/data."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from ingest.formats import FORMATS
from ingest.mapping import read_file
from ingest.records import RawRow, Reject
from ingest.sources.amazon_kg import parse_dbpedia_title
from ingest.spec import FileOptions
from tests.helpers import write_amazon_kg_books


def rows_of(opts: FileOptions, kind: str = "interactions") -> list[RawRow]:
    out = list(read_file(opts, kind))
    assert all(isinstance(r, RawRow) for r in out), [r for r in out if isinstance(r, Reject)]
    return out  # type: ignore[return-value]


def test_recbole_typed_header_is_stripped(tmp_path: Path) -> None:
    p = tmp_path / "x.inter"
    p.write_text("user_id:token\titem_id:token\trating:float\n1\t0811825558\t4\n", encoding="utf-8")
    (row,) = rows_of(FileOptions(p, "recbole"))
    assert row.values == {"user_id": "1", "item_id": "0811825558", "rating": "4"}
    assert row.line == 2


def test_csv_honours_quotes_and_tsv_does_not(tmp_path: Path) -> None:
    c = tmp_path / "a.csv"
    c.write_text('id,title\n1,"Crime, Punishment"\n', encoding="utf-8")
    assert rows_of(FileOptions(c, "csv"))[0].values["title"] == "Crime, Punishment"
    t = tmp_path / "a.tsv"
    t.write_text('id\ttitle\n1\t"quoted"\n', encoding="utf-8")
    assert rows_of(FileOptions(t, "tsv"))[0].values["title"] == '"quoted"'


def test_headerless_file_with_declared_columns(tmp_path: Path) -> None:
    p = tmp_path / "h.tsv"
    p.write_text("u1\ti1\nu2\ti2\n", encoding="utf-8")
    rows = rows_of(FileOptions(p, "tsv", columns=("user", "item")))
    assert [r.values for r in rows] == [{"user": "u1", "item": "i1"}, {"user": "u2", "item": "i2"}]
    assert [r.line for r in rows] == [1, 2]


def test_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    p = tmp_path / "x.parquet"
    pq.write_table(pa.table({"u": ["a", "b"], "i": ["1", "2"], "r": [1.5, 2.0]}), p)
    rows = rows_of(FileOptions(p, "parquet"))
    assert [r.values for r in rows] == [{"u": "a", "i": "1", "r": 1.5}, {"u": "b", "i": "2", "r": 2.0}]


def test_amazon_2018_and_2023_jsonl_gz(tmp_path: Path) -> None:
    p18 = tmp_path / "Books_5.json.gz"
    with gzip.open(p18, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"reviewerID": "A1", "asin": "000100039X", "overall": 5.0, "unixReviewTime": 1}) + "\n")
    (r18,) = rows_of(FileOptions(p18, "amazon-2018"))
    assert r18.values["asin"] == "000100039X"
    p23 = tmp_path / "meta.jsonl"
    p23.write_text(json.dumps({"parent_asin": "B1", "title": "T", "categories": ["Books", "SF"]}) + "\n")
    (r23,) = rows_of(FileOptions(p23, "amazon-2023"), "items")
    assert r23.values["categories"] == ["Books", "SF"]
    assert FORMATS["amazon-2023"].interaction_columns["item"] == "parent_asin"


def test_movielens_raw_formats(tmp_path: Path) -> None:
    udata = tmp_path / "u.data"
    udata.write_text("196\t242\t3\t881250949\n", encoding="utf-8")
    assert rows_of(FileOptions(udata, "ml-100k"))[0].values == {
        "user_id": "196", "item_id": "242", "rating": "3", "timestamp": "881250949"
    }  # fmt: skip
    uitem = tmp_path / "u.item"
    flags = ["0"] * 19
    flags[3] = flags[4] = "1"  # Animation, Children's
    uitem.write_bytes(("1|Toy Story (1995)|01-Jan-1995||http://x|" + "|".join(flags) + "\n").encode("latin-1"))
    item = rows_of(FileOptions(uitem, "ml-100k"), "items")[0].values
    assert item["title"] == "Toy Story (1995)" and item["genres"] == "Animation Children's"
    movies = tmp_path / "movies.dat"
    movies.write_bytes("1::Amélie (2001)::Comedy|Romance\n".encode("latin-1"))
    m = rows_of(FileOptions(movies, "ml-1m"), "items")[0].values
    assert m == {"item_id": "1", "title": "Amélie (2001)", "genres": "Comedy Romance"}
    ratings = tmp_path / "ratings.dat"
    ratings.write_text("1::1193::5::978300760\n", encoding="utf-8")
    assert rows_of(FileOptions(ratings, "ml-1m"))[0].values["item_id"] == "1193"


def test_dbpedia_titles() -> None:
    assert parse_dbpedia_title("res:No_Mercy_(1986_film)") == "No Mercy (1986 film)"
    assert parse_dbpedia_title("http://dbpedia.org/resource/Am%C3%A9lie") == "Amélie"
    assert parse_dbpedia_title("res:The_Prophet_(book)") == "The Prophet (book)"


@pytest.mark.data("ml-100k")
def test_real_movielens_100k_recbole_files(shared_data: Path) -> None:
    base = shared_data / "movielens" / "ml-100k"
    inter = list(read_file(FileOptions(base / "ml-100k.inter", "recbole"), "interactions"))
    assert len(inter) == 100_000 and all(isinstance(r, RawRow) for r in inter)
    items = list(read_file(FileOptions(base / "ml-100k.item", "recbole"), "items"))
    assert len(items) == 1_682
    first = items[0]
    assert isinstance(first, RawRow) and first.values["movie_title"] == "Toy Story"
    assert first.values["class"] == "Animation Children's Comedy"


def test_amazon_kg_metadata_reader_and_enrichment(tmp_path: Path) -> None:
    from graphrec.errors import ConfigError
    from ingest.prepare import prepare_dataset
    from ingest.spec import load_spec
    from ingest.summary import IngestSummary

    spec = write_amazon_kg_books(tmp_path)
    meta = tmp_path / "item_metadata_Books.csv"
    rows = rows_of(FileOptions(meta, "amazon-kg-metadata"), "items")
    assert rows[0].values == {
        "iid": "B1",
        "categories": ["Novels set in Ontario", "Fables"],
        "resources": ["Kahlil Gibran"],
    }
    summary = IngestSummary(spec="t")
    prepared = prepare_dataset(load_spec(spec), tmp_path / "rejects.tsv", summary)
    items = prepared["books"].items
    assert set(items) == {"B1", "B2"} and summary.scenarios["books"].enrich_skipped == 1  # B9 is not in the catalogue
    assert items["B1"].title == "Deafening (novel)" and items["B1"].categories == ("Novels set in Ontario", "Fables")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[scenario]]\nname = "b"\ninteractions = { path = "item_metadata_Books.csv", format = "amazon-kg-metadata" }\n'
    )
    with pytest.raises(ConfigError, match="use it under 'items'"):
        load_spec(bad)
