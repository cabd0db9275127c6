"""Amazon-KG ``item_metadata_*.csv``: an item id, then a variable number of DBpedia entries per line.

Lines look like ``000100039X<TAB>cat:Philosophical_fiction<TAB>cat:Fables<TAB>res:Kahlil_Gibran<TAB>``.
Rows carry ``iid``, ``categories`` (the ``cat:`` entries as readable names) and ``resources``
(the ``res:`` entries).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from graphrec.errors import InputDataError
from ingest.records import RawRow, Reject
from ingest.sources.lines import parse_lines

_DBPEDIA_PREFIXES = ("http://dbpedia.org/resource/", "https://dbpedia.org/resource/", "dbr:", "res:")


def parse_dbpedia_title(value: str) -> str:
    """Title from a DBpedia resource name: ``res:No_Mercy_(1986_film)`` → ``No Mercy (1986 film)``."""
    for prefix in _DBPEDIA_PREFIXES:
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    return unquote(value).replace("_", " ").strip()


def read_amazon_kg_metadata(path: Path, *, encoding: str = "utf-8") -> Iterator[RawRow | Reject]:
    """Yield one row per item with its DBpedia categories and resources."""
    header_seen = False

    def parse(number: int, text: str) -> RawRow | None:
        nonlocal header_seen
        fields = [f for f in text.split("\t") if f.strip()]
        if not header_seen:
            header_seen = True
            if fields[:1] != ["iid"]:
                raise InputDataError(
                    f"expected the header 'iid<TAB>metadata', found {text[:80]!r}", path=str(path), line=number
                )
            return None
        categories = [parse_dbpedia_title(f[4:]) for f in fields[1:] if f.startswith("cat:")]
        resources = [parse_dbpedia_title(f) for f in fields[1:] if f.startswith("res:")]
        return RawRow(str(path), number, {"iid": fields[0], "categories": categories, "resources": resources})

    return parse_lines(path, encoding, parse)
