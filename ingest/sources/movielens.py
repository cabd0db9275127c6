"""MovieLens raw files: ml-100k (``u.data``, ``u.item``) and ml-1m (``ratings.dat``, ``movies.dat``).

Fields are kept as written; ids lose surrounding whitespace in :mod:`ingest.values`, like every format's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ingest.records import RawRow, Reject
from ingest.sources.delimited import read_delimited, read_split

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
RATING_COLUMNS = ("user_id", "item_id", "rating", "timestamp")


def read_ml100k_ratings(path: Path, *, encoding: str = "utf-8") -> Iterator[RawRow | Reject]:
    """``u.data``: tab-separated ``user_id item_id rating timestamp``, no header."""
    return read_delimited(path, delimiter="\t", encoding=encoding, header=RATING_COLUMNS, quoting=False)


def read_ml100k_items(path: Path, *, encoding: str = "latin-1") -> Iterator[RawRow | Reject]:
    """``u.item``: ``|``-separated id, title, dates, URL and 19 genre flags (Latin-1).

    Yields rows with ``item_id``, ``title``, ``release_date``, ``imdb_url`` and ``genres``
    (the names of the flagged genres, space-separated).
    """
    columns = ("item_id", "title", "release_date", "video_release_date", "imdb_url", *ML100K_GENRES)
    for row in read_split(path, separator="|", columns=columns, encoding=encoding):
        if isinstance(row, Reject):
            yield row
            continue
        v = row.values
        genres = " ".join(g for g in ML100K_GENRES if v.get(g, "0").strip() == "1")
        yield RawRow(
            row.path,
            row.line,
            {"item_id": v["item_id"], "title": v["title"], "release_date": v["release_date"],
             "imdb_url": v["imdb_url"], "genres": genres},
        )  # fmt: skip


def read_ml1m_ratings(path: Path, *, encoding: str = "utf-8") -> Iterator[RawRow | Reject]:
    """``ratings.dat``: ``UserID::MovieID::Rating::Timestamp``."""
    return read_split(path, separator="::", columns=RATING_COLUMNS, encoding=encoding)


def read_ml1m_items(path: Path, *, encoding: str = "latin-1") -> Iterator[RawRow | Reject]:
    """``movies.dat``: ``MovieID::Title::Genres`` (genres ``|``-separated, Latin-1); genres become space-separated."""
    for row in read_split(path, separator="::", columns=("item_id", "title", "genres"), encoding=encoding):
        if isinstance(row, RawRow):
            row = RawRow(row.path, row.line, {**row.values, "genres": row.values["genres"].replace("|", " ")})
        yield row
