"""The core of ``graphrec serve``: a trained run held in memory for fast top-K, similar items and titles,
and the graph store behind explanations and learned topics.

A :class:`ServedRun` is built once from a :class:`~graphrec.train.record.RunRecord` (per-scenario item
matrices, the users' known items, titles) and never changes; ranking is NumPy only (a matrix-vector
product, known items masked, ``argpartition``), so it gives the same lists as
:func:`graphrec.serve.recommend.recommend` without touching torch. A :class:`Service` holds the current
``ServedRun`` and replaces it atomically on :meth:`Service.reload`: the new run is loaded completely
first, then one reference assignment swaps it in; a request that started on the old run finishes on it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from graphrec.errors import ConfigError, GraphRecError, InputDataError, StoreError
from graphrec.home import runs_dir
from graphrec.serve.coalesce import Coalescer
from graphrec.serve.explain import Explanation, explain
from graphrec.serve.recommend import item_titles, top_positions
from graphrec.store import cypher
from graphrec.train.rundir import latest_run, load_run

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.store.bolt import GraphStore
    from graphrec.train.record import RunRecord

logger = logging.getLogger(__name__)

#: Longest list a request may ask for (``k``).
MAX_K = 1000
#: Most users one batch request may name.
MAX_BATCH = 1000
#: Scores computed at once in a batch (users × scenario items): about 32 MB of float32.
SCORE_BLOCK = 8_000_000
#: Item ids per title query when a run is loaded.
TITLE_BATCH = 5_000
#: Smallest block of users scored with one matrix-matrix product; smaller blocks are scored one
#: matrix-vector product per user, which OpenBLAS does faster for one to three users (one thread, 100k
#: items of 64 floats: two users 1.1 ms one by one vs 2.2 ms in one product; eight users 4.8 vs 2.8 ms).
GEMM_MIN_ROWS = 4


class NotFoundError(InputDataError):
    """A user, item or scenario the served run (or the graph) does not hold."""


class NoStoreError(StoreError):
    """The service runs without a graph store, so what needs the graph cannot be answered."""


class NotReadyError(GraphRecError):
    """No run is loaded yet."""


@dataclass(frozen=True)
class ScoredItem:
    """One item of a ranked list: raw id, title (``None`` where the graph has none or is not
    configured), rank from 1 and score (dot product for recommendations, cosine for similar items)."""

    item: str
    title: str | None
    rank: int
    score: float


@dataclass(frozen=True)
class UserList:
    """A user's ranked items (``user`` is ``None`` for a user given by their history)."""

    user: str | None
    items: list[ScoredItem]


@dataclass(frozen=True)
class _Scenario:
    """The items of one scenario: their global rows, embeddings and unit vectors (cosine) as columns
    (``[dim, items]``, C-contiguous: ``users @ columns`` streams the matrix row by row, 2× faster for one
    user than ``users @ vectors.T`` over 100k items), ids and titles."""

    name: str
    code: int
    rows: np.ndarray
    columns: np.ndarray
    unit_columns: np.ndarray
    ids: list[str]
    titles: list[str | None]
    position: dict[str, int] = field(repr=False)


class ServedRun:
    """A loaded run, ready to rank: immutable once built (safe to share between threads).

    Args:
        record: The run (``load_run``).
        titles: ``{(scenario, item id): title}``; items absent get ``None``.
    """

    def __init__(self, record: RunRecord, titles: Mapping[tuple[str, str], str | None] | None = None) -> None:
        self.record = record
        self.name = record.name
        self.path = record.path
        self.target = str(record.config["target"])
        self.has_embeddings = record.has_embeddings
        self.loaded_at = time.time()
        titles = titles or {}
        item = np.ascontiguousarray(record.item, dtype=np.float32)
        self._user = np.ascontiguousarray(record.user, dtype=np.float32)
        names = sorted({s for s, _ in record.item_keys})
        code_of = {name: c for c, name in enumerate(names)}
        self._scenario_code = np.array([code_of[s] for s, _ in record.item_keys], dtype=np.int64)
        self._local = np.full(len(record.item_keys), -1, dtype=np.int64)  # global item row -> row in its scenario
        scenarios: dict[str, _Scenario] = {}
        for code, name in enumerate(names):
            rows = np.flatnonzero(self._scenario_code == code)
            self._local[rows] = np.arange(len(rows))
            contiguous = rows[-1] - rows[0] + 1 == len(rows)
            vectors = item[rows[0] : rows[-1] + 1] if contiguous else item[rows]
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            ids = [record.item_keys[r][1] for r in rows.tolist()]
            scenarios[name] = _Scenario(
                name=name,
                code=code,
                rows=rows,
                columns=np.ascontiguousarray(vectors.T),
                unit_columns=np.ascontiguousarray((vectors / np.where(norms > 0, norms, 1.0)).T),
                ids=ids,
                titles=[titles.get((name, i)) for i in ids],
                position={i: p for p, i in enumerate(ids)},
            )
        self.scenarios = scenarios
        self.user_row: dict[str, int] = {u: k for k, u in enumerate(record.user_ids)}
        pairs = np.concatenate([record.train, record.val, record.test], axis=1)  # every interaction is "known"
        order = np.argsort(pairs[0], kind="stable")
        self._known = pairs[1, order]
        self._known_start = np.searchsorted(pairs[0, order], np.arange(len(record.user_ids) + 1))
        # the scoring thread makes each user's line of scores; the waiting side (the event loop of a GET
        # /recommend, or the calling thread) picks its top-k, so the two cores share a request's work
        self._coalescer: Coalescer[list[ScoredItem]] = Coalescer(self._score_block, finish=self.top_of)

    # --- lookups ---------------------------------------------------------------------------------
    def scenario(self, name: str | None) -> _Scenario:
        """The items of scenario ``name`` (``None``: the run's target).

        Raises:
            NotFoundError: The run has no item of that scenario.
        """
        name = self.target if name is None else name
        found = self.scenarios.get(name)
        if found is None:
            raise NotFoundError(
                f"scenario {name!r} has no items in run {self.name}; give one of {sorted(self.scenarios)}"
            )
        return found

    def row_of(self, user: str) -> int:
        """The run's row of ``user``.

        Raises:
            NotFoundError: The run does not know the user.
        """
        row = self.user_row.get(user)
        if row is None:
            raise NotFoundError(
                f"user {user!r} is not in run {self.name} (no interaction in the graph it was trained on); "
                'check the id (raw ids as ingested), or POST /recommend with the user\'s "history"'
            )
        return row

    def known_positions(self, row: int, scenario: _Scenario) -> np.ndarray:
        """The positions, in ``scenario``, of the items the user of ``row`` interacted with."""
        items = self._known[self._known_start[row] : self._known_start[row + 1]]
        return self._local[items[self._scenario_code[items] == scenario.code]]

    def title(self, scenario: str, item: str) -> str | None:
        """The title of ``item`` of ``scenario`` (``None``: unknown or untitled)."""
        s = self.scenarios.get(scenario)
        p = s.position.get(item) if s is not None else None
        return s.titles[p] if s is not None and p is not None else None

    # --- ranking ---------------------------------------------------------------------------------
    def _ranked(self, s: _Scenario, positions: np.ndarray, scores: np.ndarray) -> list[ScoredItem]:
        ids, titles = s.ids, s.titles
        return [
            ScoredItem(ids[p], titles[p], r, x)
            for r, (p, x) in enumerate(zip(positions.tolist(), scores[positions].tolist()), start=1)
        ]

    def recommend(
        self, users: Sequence[str], *, scenario: str | None = None, k: int = 20, skip_unknown: bool = False
    ) -> tuple[list[UserList], list[str]]:
        """Top-``k`` items of ``scenario`` per user, the items each user interacted with excluded
        (the same lists as :func:`graphrec.serve.recommend.recommend`).

        Args:
            users: Raw user ids (at most :data:`MAX_BATCH`).
            scenario: Scenario to recommend from (default: the run's target).
            k: List length, 1 to :data:`MAX_K` (shorter where the scenario has fewer unseen items).
            skip_unknown: Leave out users the run does not know (returned second) instead of raising.

        Returns:
            One :class:`UserList` per known user (in the order given), and the unknown users.

        Raises:
            NotFoundError: Unknown scenario, or an unknown user without ``skip_unknown``.
            InputDataError: ``k`` or the number of users out of range.
        """
        check_k(k)
        if len(users) > MAX_BATCH:
            raise InputDataError(f"{len(users)} users in one request; send at most {MAX_BATCH} per request")
        s = self.scenario(scenario)
        unknown = [u for u in users if u not in self.user_row]
        if unknown and not skip_unknown:
            if len(unknown) == 1:
                self.row_of(unknown[0])
            raise NotFoundError(
                f"{len(unknown)} user(s) are not in run {self.name} (e.g. {unknown[:3]}); check the ids, or pass "
                '"skip_unknown": true to leave them out'
            )
        known = [u for u in users if u in self.user_row]
        if len(known) == 1:  # one user: scored together with the other requests of the moment
            return [UserList(known[0], self._coalescer.rank(self.user_row[known[0]], s, k))], unknown
        out: list[UserList] = []
        chunk = max(1, SCORE_BLOCK // max(len(s.ids), 1))
        for start in range(0, len(known), chunk):
            block = known[start : start + chunk]
            lists = self.rank_rows(s, [self.user_row[u] for u in block], [k] * len(block))
            out += [UserList(u, items) for u, items in zip(block, lists)]
        return out, unknown

    async def recommend_async(self, user: str, *, scenario: str | None = None, k: int = 20) -> UserList:
        """:meth:`recommend` of one known user, for a coroutine: scored together with the other requests
        of the moment on the scoring thread while the event loop goes on (no thread waits).

        Raises:
            NotFoundError: Unknown scenario or user.
            InputDataError: ``k`` out of range.
        """
        check_k(k)
        s = self.scenario(scenario)
        return UserList(user, await self._coalescer.rank_async(self.row_of(user), s, k))

    def rank_rows(self, s: _Scenario, rows: list[int], ks: list[int]) -> list[list[ScoredItem]]:
        """The top-``ks[j]`` of ``s`` for the user of ``rows[j]``, known items excluded: one matrix product
        (one per user below :data:`GEMM_MIN_ROWS` users)."""
        return [self.top_of(s, line, k) for line, k in zip(self.score_rows(s, rows), ks)]

    def score_rows(self, s: _Scenario, rows: list[int]) -> list[np.ndarray]:
        """The scores of every item of ``s`` for the user of each of ``rows``, ``-inf`` at the user's known
        items: one matrix product (one per user below :data:`GEMM_MIN_ROWS` users)."""
        if len(rows) >= GEMM_MIN_ROWS:
            lines = list(self._user[rows] @ s.columns)  # the rows of one product
        else:
            lines = [self._user[row] @ s.columns for row in rows]
        for line, row in zip(lines, rows):
            line[self.known_positions(row, s)] = -np.inf
        return lines

    def _score_block(self, s: _Scenario, rows: list[int], ks: list[int]) -> list[np.ndarray]:
        return self.score_rows(s, rows)

    def top_of(self, s: _Scenario, line: np.ndarray, k: int) -> list[ScoredItem]:
        """The top-``k`` of a line of :meth:`score_rows` (``-inf`` never listed)."""
        return self._ranked(s, top_positions(line, k), line)

    def similar_items(self, item: str, *, scenario: str | None = None, k: int = 20) -> tuple[str, list[ScoredItem]]:
        """The ``k`` items of ``scenario`` whose embeddings are closest to ``item``'s by cosine (the item
        itself left out). Returns the scenario's name and the list.

        Raises:
            NotFoundError: Unknown scenario, or no such item in it.
            ConfigError: The run ranks without embeddings (popularity).
        """
        check_k(k)
        s = self.scenario(scenario)
        p = s.position.get(item)
        if p is None:
            raise NotFoundError(
                f"item {item!r} of scenario {s.name!r} is not in run {self.name}; check the id and the scenario"
            )
        if not self.has_embeddings:
            raise ConfigError(
                f"run {self.name} ({self.record.config.get('model', {}).get('name')}) ranks without embeddings, so "
                "it has no item similarity; serve a GNN run (--run)"
            )
        scores = s.unit_columns[:, p] @ s.unit_columns
        scores[p] = -np.inf
        return s.name, self._ranked(s, top_positions(scores, k), scores)


def check_k(k: int) -> None:
    """Raises InputDataError unless 1 ≤ ``k`` ≤ :data:`MAX_K`."""
    if not 1 <= k <= MAX_K:
        raise InputDataError(f"k must be between 1 and {MAX_K}, got {k}")


def load_titles(store: GraphStore, record: RunRecord) -> dict[tuple[str, str], str | None]:
    """``{(scenario, item id): title}`` of the run's items, read from the graph in batches."""
    by_scenario: dict[str, list[str]] = {}
    for s, i in record.item_keys:
        by_scenario.setdefault(s, []).append(i)
    titles: dict[tuple[str, str], str | None] = {}
    for s, ids in by_scenario.items():
        for start in range(0, len(ids), TITLE_BATCH):
            titles.update({(s, i): t for i, t in item_titles(store, s, ids[start : start + TITLE_BATCH]).items()})
    return titles


class Service:
    """What ``graphrec serve`` answers from: the current :class:`ServedRun`, the graph store (optional)
    and the home whose latest run :meth:`reload` picks by default.

    Args:
        home: The graphrec home (its ``runs/`` folder).
        store: An open store for titles, explanations and topics; ``None`` serves without a graph
            (titles ``None``; explanations and topics raise :class:`NoStoreError`).
    """

    def __init__(self, *, home: Path, store: GraphStore | None = None) -> None:
        self.home = home
        self.store = store
        self._current: ServedRun | None = None
        self._reloading = threading.Lock()
        self.reloads = 0

    @property
    def current(self) -> ServedRun:
        """The run being served (read once per request: a reload does not change it mid-request).

        Raises:
            NotReadyError: No run is loaded.
        """
        run = self._current
        if run is None:
            raise NotReadyError("no run loaded yet; wait for /readyz, or POST /reload")
        return run

    def reload(self, path: Path | None = None) -> tuple[ServedRun, ServedRun | None]:
        """Load the run of ``path`` (default: the latest complete run of the home) and, once it is
        loaded completely, swap it in. Reloads are serialised; requests go on meanwhile on the old run.

        Returns:
            The new run and the one it replaced (``None`` at the first load).

        Raises:
            ConfigError: No complete run in the home.
            RunFolderError: The folder is not a usable run.
        """
        with self._reloading:
            folder = path if path is not None else latest_run(runs_dir(self.home))
            t0 = time.perf_counter()
            record = load_run(folder)
            titles = load_titles(self.store, record) if self.store is not None else None
            new = ServedRun(record, titles)
            old, self._current = self._current, new  # the swap: one reference assignment
            self.reloads += old is not None
            logger.info(
                "serving run %s from %s (loaded in %.2f s; %d users, %d items)",
                new.name, folder, time.perf_counter() - t0, len(record.user_ids), len(record.item_keys),
            )  # fmt: skip
            return new, old

    def _graph(self) -> GraphStore:
        if self.store is None:
            raise NoStoreError(
                "no graph store configured: this service was started with --no-store; restart it without "
                "--no-store (and with the store options of the run's graph) for explanations and topics"
            )
        return self.store

    def ping(self) -> None:
        """Check the store answers (nothing to check without one).

        Raises:
            StoreError: The store does not answer.
        """
        if self.store is not None:
            self.store.read(cypher.PING)

    def explain(
        self, *, user: str, item: str, scenario: str | None, from_scenario: str | None = None, limit: int = 10
    ) -> Explanation:
        """:func:`graphrec.serve.explain.explain` on the store (scenario default: the run's target).

        Raises:
            NotFoundError: Unknown user or item in the graph.
            NoStoreError: No store configured.
        """
        store = self._graph()
        scenario = self.current.target if scenario is None else scenario
        try:
            return explain(store, user=user, scenario=scenario, item=item, from_scenario=from_scenario, limit=limit)
        except StoreError:
            raise
        except InputDataError as e:
            raise NotFoundError(str(e)) from e

    def topics(self, user: str, *, k: int = 10) -> list[dict[str, Any]]:
        """The user's learned topics: ``INTERESTED_IN`` edges of the latest write-back, best first
        (``{topic, label, score, rank, run}``).

        Raises:
            NotFoundError: The user is not in the graph.
            NoStoreError: No store configured.
        """
        store = self._graph()
        if not store.read(cypher.USER_EXISTS, {"user": user})[0]["n"]:
            raise NotFoundError(f"user {user!r} is not in the graph; check the id (raw ids as ingested)")
        return store.read(cypher.USER_TOPICS, {"user": user, "limit": k})
