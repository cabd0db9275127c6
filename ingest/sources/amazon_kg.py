"""Amazon-KG ``item_metadata_*.csv``: an item id, then a variable number of DBpedia entries per line.

Lines look like ``000100039X<TAB>cat:Philosophical_fiction<TAB>cat:Fables<TAB>res:Kahlil_Gibran<TAB>``.
Rows carry ``iid``, ``categories`` (the ``cat:`` entries as readable names) and ``resources``
(the ``res:`` entries).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from graphrec.errors import InputDataError
from ingest.mapping import parse_dbpedia_title
from ingest.records import RawRow, Reject
from ingest.sources.lines import content_lines


def read_amazon_kg_metadata(path: Path, *, encoding: str = "utf-8") -> Iterator[RawRow | Reject]:
    """Yield one row per item with its DBpedia categories and resources."""
    header_seen = False
    for item in content_lines(path, encoding):
        if isinstance(item, Reject):
            yield item
            continue
        number, text = item
        fields = [f for f in text.split("\t") if f.strip()]
        if not header_seen:
            header_seen = True
            if fields[:1] != ["iid"]:
                raise InputDataError(f"expected the header 'iid<TAB>metadata', found {text[:80]!r}", path=str(path), line=number)
            continue
        categories = [parse_dbpedia_title(f[4:]) for f in fields[1:] if f.startswith("cat:")]
        resources = [parse_dbpedia_title(f) for f in fields[1:] if f.startswith("res:")]
        yield RawRow(str(path), number, {"iid": fields[0], "categories": categories, "resources": resources})
