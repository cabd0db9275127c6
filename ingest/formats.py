"""Input formats: how to read a file and which columns a format names by default."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from graphrec.errors import ConfigError
from ingest.records import RawRow, Reject
from ingest.sources import movielens
from ingest.sources.amazon_kg import read_amazon_kg_metadata
from ingest.sources.delimited import read_delimited
from ingest.sources.jsonl import read_jsonl
from ingest.sources.parquet import read_parquet

Reader = Callable[..., Iterator[RawRow | Reject]]


@dataclass(frozen=True)
class Format:
    """A file format: its readers and default column names.

    Attributes:
        name: Name used in specs (``format = "..."``).
        interactions_reader: Reader for interaction files; called ``reader(path, encoding=...)``.
        items_reader: Reader for item files.
        interaction_columns: Defaults for ``user``, ``item``, ``rating``, ``timestamp``.
        item_columns: Defaults for ``id``, ``title``, ``text``.
        default_encoding: Encoding when the spec names none.
        delimited: Whether the reader takes ``delimiter``/``header`` options.
        items_only: The format describes item metadata and cannot hold interactions.
    """

    name: str
    interactions_reader: Reader
    items_reader: Reader
    interaction_columns: Mapping[str, Any] = field(default_factory=dict)
    item_columns: Mapping[str, Any] = field(default_factory=dict)
    default_encoding: str = "utf-8"
    items_encoding: str | None = None
    delimited: bool = False
    items_only: bool = False


def _delimited(delimiter: str, *, quoting: bool, strip_types: bool = False) -> Reader:
    def reader(
        path: Path, *, encoding: str = "utf-8", delimiter: str = delimiter, header: Any = True
    ) -> Iterator[RawRow | Reject]:
        return read_delimited(
            path, delimiter=delimiter, encoding=encoding, header=header, strip_types=strip_types, quoting=quoting
        )

    return reader


def _no_encoding(fn: Callable[[Path], Iterator[RawRow | Reject]]) -> Reader:
    def reader(path: Path, *, encoding: str = "utf-8") -> Iterator[RawRow | Reject]:
        return fn(path)

    return reader


def _items_only(name: str) -> Reader:
    def reader(path: Path, **_: Any) -> Iterator[RawRow | Reject]:
        raise ConfigError(f"{path}: format {name!r} describes item metadata; use it under 'items', not 'interactions'")

    return reader


_RECBOLE = _delimited("\t", quoting=False, strip_types=True)
_TSV = _delimited("\t", quoting=False)
_CSV = _delimited(",", quoting=True)

FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("csv", _CSV, _CSV, delimited=True),
        Format("tsv", _TSV, _TSV, delimited=True),
        Format(
            "recbole",
            _RECBOLE,
            _RECBOLE,
            interaction_columns={"user": "user_id", "item": "item_id", "rating": "rating?", "timestamp": "timestamp?"},
            item_columns={"id": "item_id"},
            delimited=True,
        ),
        Format("parquet", _no_encoding(read_parquet), _no_encoding(read_parquet)),
        Format("jsonl", read_jsonl, read_jsonl),
        Format(
            "amazon-2018",
            read_jsonl,
            read_jsonl,
            interaction_columns={
                "user": "reviewerID",
                "item": "asin",
                "rating": "overall?",
                "timestamp": "unixReviewTime?",
            },
            item_columns={"id": "asin", "title": "title", "text": ["category", "description"]},
        ),
        Format(
            "amazon-2023",
            read_jsonl,
            read_jsonl,
            interaction_columns={
                "user": "user_id",
                "item": "parent_asin",
                "rating": "rating?",
                "timestamp": "timestamp?",
            },
            item_columns={"id": "parent_asin", "title": "title", "text": ["categories", "features", "description"]},
        ),
        Format(
            "amazon-kg-metadata",
            _items_only("amazon-kg-metadata"),
            read_amazon_kg_metadata,
            item_columns={"id": "iid", "categories": "categories"},
            items_only=True,
        ),
        Format(
            "ml-100k",
            movielens.read_ml100k_ratings,
            movielens.read_ml100k_items,
            interaction_columns={"user": "user_id", "item": "item_id", "rating": "rating", "timestamp": "timestamp"},
            item_columns={"id": "item_id", "title": "title", "text": ["genres"], "categories": "genres"},
            items_encoding="latin-1",
        ),
        Format(
            "ml-1m",
            movielens.read_ml1m_ratings,
            movielens.read_ml1m_items,
            interaction_columns={"user": "user_id", "item": "item_id", "rating": "rating", "timestamp": "timestamp"},
            item_columns={"id": "item_id", "title": "title", "text": ["genres"], "categories": "genres"},
            items_encoding="latin-1",
        ),
    )
}


def format_reader(fmt: Format, kind: str, *, encoding: str, delimiter: str | None, header: Any) -> Reader:
    """Bind a format's reader for ``kind`` (``"interactions"`` or ``"items"``) to the spec's options."""
    base = fmt.interactions_reader if kind == "interactions" else fmt.items_reader
    kwargs: dict[str, Any] = {"encoding": encoding}
    if fmt.delimited:
        if delimiter is not None:
            kwargs["delimiter"] = delimiter
        if header is not True:
            kwargs["header"] = header
    return partial(base, **kwargs)
