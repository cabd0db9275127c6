"""What the service page offers to pick from: the run's scenarios with their item counts, and a sample of
the run's users with how much history each has in a scenario. Read from the run alone (torch-free)."""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from graphrec.errors import InputDataError

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.train.record import RunRecord

#: Most users one ``/users`` answer lists.
MAX_USERS = 1000


@dataclass(frozen=True)
class UserSample:
    """Users of a run to pick from, in id order.

    Attributes:
        scenario: The scenario ``in_scenario`` counts interactions of.
        total: Users of the run that match the request (before ``limit``).
        users: ``{user, in_scenario, items}`` each: interactions in the scenario and in all (train,
            validation and test: everything the run's graph held).
    """

    scenario: str
    total: int
    users: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        """The JSON object ``GET /users`` answers."""
        return asdict(self)


def scenarios(record: RunRecord) -> list[dict[str, Any]]:
    """``[{name, items}]``: the run's scenarios (sorted) with their item counts."""
    names, counts = np.unique(np.array([s for s, _ in record.item_keys], dtype=object), return_counts=True)
    return [{"name": str(n), "items": int(c)} for n, c in zip(names.tolist(), counts.tolist())]


def sample_users(record: RunRecord, scenario: str, *, limit: int = 100, cold: bool | None = None) -> UserSample:
    """The first ``limit`` users of the run by id, with their interactions in ``scenario`` and in all.

    Args:
        scenario: One of the run's scenarios.
        limit: Users listed, 1 to :data:`MAX_USERS`.
        cold: ``True``: only users with no interaction in ``scenario`` (whom the model places from their
            other scenarios); ``False``: only users with some; ``None``: both.

    Raises:
        InputDataError: ``limit`` out of range, or a scenario the run has no item of.
    """
    if not 1 <= limit <= MAX_USERS:
        raise InputDataError(f"limit must be between 1 and {MAX_USERS}, got {limit}")
    item_scenario = np.array([s for s, _ in record.item_keys], dtype=object)
    in_scenario_item = item_scenario == scenario
    if not in_scenario_item.any():
        raise InputDataError(
            f"scenario {scenario!r} has no items in run {record.name}; give one of "
            f"{[s['name'] for s in scenarios(record)]}"
        )
    pairs = np.concatenate([record.train, record.val, record.test], axis=1)
    n_users = len(record.user_ids)
    everything = np.bincount(pairs[0], minlength=n_users)
    here = np.bincount(pairs[0][in_scenario_item[pairs[1]]], minlength=n_users)
    rows = np.arange(n_users) if cold is None else np.flatnonzero((here == 0) == cold)
    first = heapq.nsmallest(limit, rows.tolist(), key=lambda r: record.user_ids[r])
    users = [{"user": record.user_ids[r], "in_scenario": int(here[r]), "items": int(everything[r])} for r in first]
    return UserSample(scenario=scenario, total=len(rows), users=users)
