"""Read and validate every file of a spec, with no database: valid records per scenario, rejects counted.

Rules beyond one row's values (those are :mod:`ingest.mapping`'s): an item id repeated within one item
file and a user–item pair repeated over a scenario's interaction files are ``duplicate`` rejects that
name the first occurrence; a later item file adds what the earlier ones lacked (title, text,
categories); an ``enrich`` file only adds to items of earlier files; an interaction whose item is in
none of the scenario's item files is an ``unknown-item`` reject unless the spec says
``unknown_items = "create"``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from ingest import mapping
from ingest.records import InteractionRecord, ItemRecord, RawRow, Reject
from ingest.spec import DatasetSpec, ItemSource, ScenarioSpec
from ingest.summary import IngestSummary, RejectWriter, ScenarioCounts

logger = logging.getLogger(__name__)

R = TypeVar("R")


@dataclass
class Prepared:
    """Validated rows of one scenario, ready to write."""

    items: dict[str, ItemRecord] = field(default_factory=dict)
    interactions: list[InteractionRecord] = field(default_factory=list)


class _FirstSeen(Generic[R]):
    """Where each key was first seen: passes on valid rows whose key is new, and turns a repeated key's row
    into a ``duplicate`` reject that names the first occurrence.

    Args:
        key: The key of a record.
        what: Names a key in the reject's reason (``"item id 'B1'"``).
        rule: The rule a repeat breaks, ending the reason (``"keep one row per item"``).
    """

    def __init__(self, key: Callable[[R], Hashable], what: Callable[[Any], str], rule: str) -> None:
        self._key = key
        self._what = what
        self._rule = rule
        self._at: dict[Hashable, tuple[str, int]] = {}

    def kept(
        self, outputs: Iterable[tuple[R, RawRow] | Reject], reject: Callable[[Reject], None]
    ) -> Iterator[tuple[R, RawRow]]:
        """The valid records of ``outputs`` whose key was not seen; rejects and repeats go to ``reject``."""
        for out in outputs:
            if isinstance(out, Reject):
                reject(out)
                continue
            rec, row = out
            key = self._key(rec)
            if key in self._at:
                path, line = self._at[key]
                reason = f"duplicate {self._what(key)} (first at {path}:{line}); {self._rule}"
                reject(mapping.row_reject(row, reason, "duplicate"))
                continue
            yield rec, row

    def add(self, rec: R, row: RawRow) -> None:
        """Record ``row`` as the first occurrence of ``rec``'s key."""
        self._at.setdefault(self._key(rec), (row.path, row.line))


def _merge(previous: ItemRecord, rec: ItemRecord) -> ItemRecord:
    """A second item file adds what the first lacked."""
    return ItemRecord(
        previous.scenario,
        rec.id,
        previous.title or rec.title,
        previous.text or rec.text,
        tuple(dict.fromkeys((*previous.categories, *rec.categories))),
    )


def _read_items(
    src: ItemSource, sc: ScenarioSpec, prepared: Prepared, rejects: RejectWriter, counts: ScenarioCounts
) -> None:
    """Validate one item file into ``prepared.items``."""

    def reject(r: Reject) -> None:
        rejects.write(r)
        counts.items_rejected += 1

    seen: _FirstSeen[ItemRecord] = _FirstSeen(
        lambda rec: rec.id, lambda key: f"item id {key!r}", "keep one row per item"
    )
    for rec, row in seen.kept(mapping.items(src, sc.name, mapping.read_file(src.file, "items")), reject):
        seen.add(rec, row)
        previous = prepared.items.get(rec.id)
        if previous is None and src.enrich:
            counts.enrich_skipped += 1
        elif previous is None:
            prepared.items[rec.id] = rec
        else:
            prepared.items[rec.id] = _merge(previous, rec)


def _prepare_scenario(sc: ScenarioSpec, rejects: RejectWriter, counts: ScenarioCounts) -> Prepared:
    prepared = Prepared()
    for src in sc.items:
        _read_items(src, sc, prepared, rejects, counts)
    counts.items_loaded = len(prepared.items)

    def reject(r: Reject) -> None:
        rejects.write(r)
        counts.interactions_rejected += 1

    seen: _FirstSeen[InteractionRecord] = _FirstSeen(
        lambda rec: (rec.user, rec.item),
        lambda key: f"interaction of user {key[0]!r} with item {key[1]!r}",
        "the graph keeps one INTERACTED per user and item",
    )
    check_items = bool(sc.items) and sc.unknown_items == "reject"
    created: dict[str, ItemRecord] = {}
    users: set[str] = set()
    used_items: set[str] = set()
    for isrc in sc.interactions:
        rows = mapping.interactions(isrc, sc.name, mapping.read_file(isrc.file, "interactions"))
        for irec, row in seen.kept(rows, reject):
            if irec.item not in prepared.items and irec.item not in created:
                if check_items:
                    reason = (
                        f"item {irec.item!r} is in none of scenario {sc.name!r}'s item files; add it there, "
                        'or set unknown_items = "create" for this scenario in the spec'
                    )
                    reject(mapping.row_reject(row, reason, "unknown-item"))
                    continue
                created[irec.item] = ItemRecord(sc.name, irec.item, None, None)
            seen.add(irec, row)
            prepared.interactions.append(irec)
            users.add(irec.user)
            used_items.add(irec.item)
    counts.items_created = len(created)
    counts.items_without_interactions = sum(1 for i in prepared.items if i not in used_items)
    prepared.items.update(created)
    counts.interactions_loaded = len(prepared.interactions)
    counts.users = len(users)
    return prepared


def prepare_dataset(spec: DatasetSpec, rejects_path: Path, summary: IngestSummary) -> dict[str, Prepared]:
    """Read and validate every file of ``spec`` (no database needed).

    Rejected rows go to ``rejects_path``; counts go into ``summary`` (per scenario, per reject kind).

    Returns:
        Validated items and interactions per scenario name.

    Raises:
        InputDataError: A file cannot be read as declared.
    """
    rejects = RejectWriter(rejects_path)
    summary.rejects_path = str(rejects.path)
    prepared: dict[str, Prepared] = {}
    try:
        for sc in spec.scenarios:
            counts = ScenarioCounts()
            prepared[sc.name] = _prepare_scenario(sc, rejects, counts)
            summary.scenarios[sc.name] = counts
            logger.info(
                "scenario %s: %d items, %d interactions valid; %d + %d rows rejected",
                sc.name,
                len(prepared[sc.name].items),
                counts.interactions_loaded,
                counts.items_rejected,
                counts.interactions_rejected,
            )
    finally:
        rejects.close()
    summary.rejected = sum(rejects.by_kind.values())
    summary.rejects_by_kind = dict(sorted(rejects.by_kind.items()))
    return prepared
