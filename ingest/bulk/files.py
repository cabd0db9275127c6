"""The CSV files of Neo4j's bulk importer, written from validated records (:mod:`ingest.prepare`).

One header file and one data file per group, so that every group's columns have one type:

* ``Scenario`` nodes (``name:ID(Scenario)``);
* per scenario, ``Item`` nodes in their own ID space (the same raw id in two scenarios is two items):
  ``id:ID(Item-<k>),scenario,title,text,categories:string[]``;
* ``User`` nodes (``id:ID(User)``);
* per scenario, ``IN_SCENARIO`` (item → scenario) and ``INTERACTED`` (user → item:
  ``scenario,rating:double,ts:long``); interactions whose timestamp is a non-integer number go to a
  second file whose ``ts`` is ``double``, so every value keeps the type the ``MERGE`` path gives it.

Every string is quoted (quotes doubled, RFC 4180); a missing value (``None``, an empty category list) is
an empty, unquoted field, which the importer leaves out, as a ``SET x.p = null`` does. Lists use an array
delimiter that no category contains; fields spanning lines switch the importer's multi-line parsing on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from graphrec.errors import ConfigError
from graphrec.schema import Label, Prop, Rel
from ingest.prepare import Prepared
from ingest.records import InteractionRecord

logger = logging.getLogger(__name__)

#: Array delimiters tried in order: the first that no category contains is used.
ARRAY_DELIMITERS = ("\x1f", "\x1e", "\x1d", "\x1c", "|", "\x1b")
#: The importer's default read buffer; raised where one value could be longer (it must hold the largest value).
DEFAULT_READ_BUFFER = 4 * 1024 * 1024
#: Rows per write call.
_CHUNK = 50_000

#: The importer's ID space of the users and of the scenarios.
USER_IDS = Label.USER
SCENARIO_IDS = Label.SCENARIO


def item_id_space(k: int) -> str:
    """The importer's ID space of the items of the ``k``-th scenario of the spec."""
    return f"{Label.ITEM}-{k}"


@dataclass(frozen=True)
class CsvGroup:
    """One ``--nodes`` or ``--relationships`` group of the importer: a header file and a data file.

    Attributes:
        kind: ``"nodes"`` or ``"relationships"``.
        name: The label of the nodes, or the type of the relationships.
        header: The header file's name (in the folder of :class:`ImportFiles`).
        data: The data file's name.
        rows: Rows in the data file.
    """

    kind: str
    name: str
    header: str
    data: str
    rows: int

    def argument(self) -> str:
        """The importer's option for this group, e.g. ``--nodes=Item=items-0.header.csv,items-0.csv``."""
        return f"--{self.kind}={self.name}={self.header},{self.data}"


@dataclass(frozen=True)
class ImportFiles:
    """What :func:`write_import_files` wrote.

    Attributes:
        folder: Where the files are (the importer runs there, so file names need no quoting).
        groups: The node groups, then the relationship groups.
        array_delimiter: The delimiter of list values (categories).
        multiline: Whether some field spans lines (the importer's slower multi-line parsing is then needed).
        read_buffer: Bytes of the importer's read buffer (holds the largest value).
        nodes: Nodes written (scenarios, items, users).
        relationships: Relationships written (``IN_SCENARIO`` and ``INTERACTED``).
        interactions: ``INTERACTED`` relationships written.
    """

    folder: Path
    groups: tuple[CsvGroup, ...]
    array_delimiter: str
    multiline: bool
    read_buffer: int
    nodes: int
    relationships: int
    interactions: int

    def options(self) -> list[str]:
        """The importer's options for these files (file names relative to :attr:`folder`)."""
        return [
            f"--array-delimiter=U+{ord(self.array_delimiter):04X}",
            f"--multiline-fields={'true' if self.multiline else 'false'}",
            f"--read-buffer-size={self.read_buffer}",
            *(g.argument() for g in self.groups),
        ]


def _q(text: str) -> str:
    """A quoted CSV string (RFC 4180: quotes doubled)."""
    return '"' + text.replace('"', '""') + '"' if '"' in text else '"' + text + '"'


def _opt(text: str | None) -> str:
    return "" if text is None else _q(text)


class _Writer:
    """Writes groups into one folder and remembers them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.groups: list[CsvGroup] = []

    def group(self, kind: str, name: str, stem: str, header: Sequence[str], lines: Iterable[str]) -> int:
        (self.folder / f"{stem}.header.csv").write_text(",".join(header) + "\n", encoding="utf-8")
        rows = 0
        with open(self.folder / f"{stem}.csv", "w", encoding="utf-8", newline="") as fh:
            rows = _write_lines(fh, lines)
        self.groups.append(CsvGroup(kind, name, f"{stem}.header.csv", f"{stem}.csv", rows))
        return rows


def _write_lines(fh: TextIO, lines: Iterable[str]) -> int:
    rows = 0
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == _CHUNK:
            fh.write("\n".join(chunk) + "\n")
            rows += len(chunk)
            chunk = []
    if chunk:
        fh.write("\n".join(chunk) + "\n")
        rows += len(chunk)
    return rows


def _array_delimiter(prepared: dict[str, Prepared]) -> str:
    used = {ch for prep in prepared.values() for item in prep.items.values() for c in item.categories for ch in c}
    for delimiter in ARRAY_DELIMITERS:
        if delimiter not in used:
            return delimiter
    tried = ", ".join(f"U+{ord(d):04X}" for d in ARRAY_DELIMITERS)
    raise ConfigError(
        f"every candidate array delimiter ({tried}) occurs in some item category, so the importer could not "
        "split the category lists back; ingest without --bulk (the MERGE path sends lists as they are)"
    )


def _spans_lines(texts: Iterable[str | None]) -> bool:
    return any(t is not None and ("\n" in t or "\r" in t) for t in texts)


def _interaction_lines(rows: Iterable[InteractionRecord], q_scenario: str, q_users: dict[str, str]) -> Iterator[str]:
    """``user,item,scenario,rating,ts`` per interaction; users' and items' quoted ids are made once each."""
    q_items: dict[str, str] = {}
    for r in rows:
        item = q_items.get(r.item)
        if item is None:
            item = q_items[r.item] = _q(r.item)
        # repr: the shortest text a float is parsed back from exactly (the importer reads it with Java's parser)
        rating = "" if r.rating is None else repr(r.rating)
        ts = "" if r.ts is None else repr(r.ts)
        yield f"{q_users[r.user]},{item},{q_scenario},{rating},{ts}"


def write_import_files(prepared: dict[str, Prepared], folder: Path) -> ImportFiles:
    """Write the importer's CSV files of ``prepared`` (validated records per scenario, in spec order).

    Args:
        prepared: :func:`ingest.prepare.prepare_dataset`'s records (the same the ``MERGE`` path writes).
        folder: Where to write (created; files of an earlier run there are replaced).

    Returns:
        The files, with the importer's options for them.

    Raises:
        ConfigError: No array delimiter is free (every candidate occurs in some category).
    """
    folder.mkdir(parents=True, exist_ok=True)
    delimiter = _array_delimiter(prepared)
    w = _Writer(folder)
    nodes = w.group(
        "nodes",
        Label.SCENARIO,
        "scenarios",
        [f"{Prop.NAME}:ID({SCENARIO_IDS})"],
        (_q(name) for name in prepared),
    )
    # Ids hold no control characters (ingest.values rejects them): only scenario names, titles, texts and
    # categories may span lines.
    multiline = _spans_lines(prepared)
    longest = max((len(name) for name in prepared), default=0)
    item_header = [
        f"{Prop.ID}:ID({{space}})",
        Prop.SCENARIO,
        Prop.TITLE,
        Prop.TEXT,
        f"{Prop.CATEGORIES}:string[]",
    ]
    for k, (name, prep) in enumerate(prepared.items()):
        items = prep.items.values()
        multiline = multiline or any(_spans_lines((i.title, i.text, *i.categories)) for i in items)
        lengths = (max(len(i.title or ""), len(i.text or ""), len(delimiter.join(i.categories))) for i in items)
        longest = max(longest, max(lengths, default=0), max(map(len, prep.items), default=0))
        header = [h.format(space=item_id_space(k)) for h in item_header]
        q_name = _q(name)
        nodes += w.group(
            "nodes",
            Label.ITEM,
            f"items-{k}",
            header,
            (
                f"{_q(i.id)},{q_name},{_opt(i.title)},{_opt(i.text)},"
                f"{_q(delimiter.join(i.categories)) if i.categories else ''}"
                for i in items
            ),
        )
    users = list(dict.fromkeys(i.user for prep in prepared.values() for i in prep.interactions))
    longest = max(longest, max(map(len, users), default=0))
    q_users = {u: _q(u) for u in users}
    nodes += w.group("nodes", Label.USER, "users", [f"{Prop.ID}:ID({USER_IDS})"], q_users.values())

    relationships = interactions = 0
    for k, (name, prep) in enumerate(prepared.items()):
        space = item_id_space(k)
        q_name = _q(name)
        relationships += w.group(
            "relationships",
            Rel.IN_SCENARIO,
            f"in-scenario-{k}",
            [f":START_ID({space})", f":END_ID({SCENARIO_IDS})"],
            (f"{_q(item_id)},{q_name}" for item_id in prep.items),
        )
        whole = [r for r in prep.interactions if not isinstance(r.ts, float)]
        fractional = [r for r in prep.interactions if isinstance(r.ts, float)]
        for ts_type, rows in (("long", whole), ("double", fractional)):
            if not rows:
                continue
            interactions += w.group(
                "relationships",
                Rel.INTERACTED,
                f"interactions-{k}" + ("" if ts_type == "long" else "-fractional-ts"),
                [
                    f":START_ID({USER_IDS})",
                    f":END_ID({space})",
                    Prop.SCENARIO,
                    f"{Prop.RATING}:double",
                    f"{Prop.TS}:{ts_type}",
                ],
                _interaction_lines(rows, q_name, q_users),
            )
    relationships += interactions
    # Characters are at most 4 bytes in UTF-8; quoting at most doubles a value.
    read_buffer = max(DEFAULT_READ_BUFFER, 8 * longest + 1024)
    logger.info(
        "wrote the importer's files in %s: %d nodes, %d relationships (%d interactions)%s",
        folder,
        nodes,
        relationships,
        interactions,
        "; some fields span lines" if multiline else "",
    )
    return ImportFiles(
        folder=folder,
        groups=tuple(w.groups),
        array_delimiter=delimiter,
        multiline=multiline,
        read_buffer=read_buffer,
        nodes=nodes,
        relationships=relationships,
        interactions=interactions,
    )
