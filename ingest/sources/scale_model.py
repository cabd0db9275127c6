"""The random model of the SYNTHETIC scale dataset (:mod:`ingest.sources.scale` writes its files).

* Users' activity and items' popularity are heavy-tailed (Pareto weights: a few users and items hold a
  large share of the interactions, most have few).
* Each user has a taste, a sparse mixture over latent topics (Dirichlet), shared by every scenario the
  user is active in; a share ``overlap`` of the users is active in two or more scenarios.
* An interaction picks a topic from the user's taste, then an item of that topic in proportion to its
  popularity (with probability ``noise``: any item of the scenario, by popularity); a user's items in a
  scenario are distinct (repeats are drawn again).

Every part draws from its own stream of the seed (:func:`stream`), and users are drawn in fixed blocks of
:data:`USER_BLOCK` (:func:`block_interactions`), so the same configuration gives the same data, and memory
grows with the number of users and items, not with the interactions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from graphrec.errors import ConfigError
from ingest.sources.scale_text import SCENARIOS, TOPICS

USER_BLOCK = 32_768  # users drawn together (part of the output's definition: changing it changes the data)
BY_POPULARITY = 3  # rounds of draws by taste and popularity; then by taste, uniformly within the topic
BY_TOPIC = 6  # rounds before the last missing items are drawn uniformly over the scenario
MAX_ROUNDS = 500
MIN_CAP = 4  # a scenario holds enough items for a user of MIN_CAP times the mean degree (small datasets)
TIME_START, TIME_SPAN = 1_500_000_000, 150_000_000  # timestamps: 2017-07 to about 2022-02
# Streams of the seed: the same stream always feeds the same part of the data.
DEGREES, SCENARIO_SETS, ITEMS, TEXTS, BLOCKS = range(5)


@dataclass(frozen=True)
class ScaleConfig:
    """What to generate.

    Attributes:
        interactions: Total interactions over all scenarios (exactly this many rows are written).
        scenarios: Number of scenarios (1 to 4: movies, books, games, podcasts, the first the largest).
        overlap: Share of users active in more than one scenario (0 to 1; 0 with one scenario).
        seed: Random seed; the same configuration writes byte-identical files.
        topics: Latent topics (2 to 24).
        user_degree: Mean interactions per user (sets the number of users).
        item_degree: Mean interactions per item (sets the number of items).
        min_degree: Fewest interactions of a user (at least ``scenarios`` when ``overlap`` > 0).
        user_exponent: Pareto tail index of users' activity (smaller: heavier tail; > 1).
        item_exponent: Pareto tail index of items' popularity (> 0).
        taste_concentration: Dirichlet concentration of a user's taste over topics (small: few topics).
        noise: Share of draws that ignore taste (any item of the scenario, by popularity).
        max_user_share: Most interactions of one user, as a share of the smallest scenario's items.
    """

    interactions: int
    scenarios: int = 2
    overlap: float = 0.3
    seed: int = 0
    topics: int = 20
    user_degree: float = 20.0
    item_degree: float = 40.0
    min_degree: int = 5
    user_exponent: float = 1.5
    item_exponent: float = 1.2
    taste_concentration: float = 0.1
    noise: float = 0.15
    max_user_share: float = 0.25


@dataclass(frozen=True)
class Sizes:
    """What a :class:`ScaleConfig` comes to (:func:`sizes_of`)."""

    users: int
    items: tuple[int, ...]  # per scenario
    cap: int  # most interactions of one user
    weights: np.ndarray  # scenario weights (sizes, choice of single-scenario users, split of a user)


def sizes_of(cfg: ScaleConfig) -> Sizes:
    """The derived sizes of ``cfg``, checked.

    Raises:
        ConfigError: A parameter out of range, or sizes that cannot hold the interactions; says which and the fix.
    """
    checks = [
        (
            cfg.interactions >= max(1, cfg.min_degree),
            f"interactions = {cfg.interactions}; ask for at least min_degree = {cfg.min_degree}",
        ),
        (1 <= cfg.scenarios <= len(SCENARIOS), f"scenarios = {cfg.scenarios}; use 1 to {len(SCENARIOS)}"),
        (0.0 <= cfg.overlap <= 1.0, f"overlap = {cfg.overlap}; use a share from 0 to 1"),
        (cfg.scenarios > 1 or cfg.overlap == 0, "overlap > 0 needs at least 2 scenarios; pass overlap = 0"),
        (2 <= cfg.topics <= len(TOPICS), f"topics = {cfg.topics}; use 2 to {len(TOPICS)}"),
        (cfg.min_degree >= 1, f"min_degree = {cfg.min_degree}; use at least 1"),
        (
            cfg.overlap == 0 or cfg.min_degree >= cfg.scenarios,
            f"min_degree = {cfg.min_degree} is below scenarios = {cfg.scenarios}: users active in every scenario "
            "need an interaction in each; raise min_degree",
        ),
        (cfg.user_degree >= cfg.min_degree, f"user_degree = {cfg.user_degree} is below min_degree; raise it"),
        (cfg.item_degree > 0, f"item_degree = {cfg.item_degree}; use a positive mean"),
        (cfg.user_exponent > 1, f"user_exponent = {cfg.user_exponent}; use a tail index above 1 (e.g. 1.5)"),
        (cfg.item_exponent > 0, f"item_exponent = {cfg.item_exponent}; use a positive tail index (e.g. 1.2)"),
        (cfg.taste_concentration > 0, f"taste_concentration = {cfg.taste_concentration}; use a positive value"),
        (0.0 <= cfg.noise <= 1.0, f"noise = {cfg.noise}; use a share from 0 to 1"),
        (0.0 < cfg.max_user_share <= 0.5, f"max_user_share = {cfg.max_user_share}; use a share in (0, 0.5]"),
    ]
    for ok, problem in checks:
        if not ok:
            raise ConfigError(f"scale dataset: {problem}")
    weights = 1.0 / np.sqrt(np.arange(1, cfg.scenarios + 1))
    total_items = math.ceil(cfg.interactions / cfg.item_degree)
    fewest = max(2 * cfg.topics, math.ceil(MIN_CAP * cfg.user_degree / cfg.max_user_share))
    items = tuple(max(fewest, round(total_items * w / weights.sum())) for w in weights)
    users = max(1, int(cfg.interactions / cfg.user_degree))
    cap = max(cfg.min_degree, int(cfg.max_user_share * min(items)))
    if users * cap < cfg.interactions:
        raise ConfigError(
            f"scale dataset: {users} users can hold at most {users * cap} interactions (a user at most {cap}, "
            f"{cfg.max_user_share} of {min(items)} items); lower item_degree (more items) or user_degree (more users)"
        )
    return Sizes(users=users, items=items, cap=cap, weights=weights)


def stream(cfg: ScaleConfig, part: int, *more: int) -> np.random.Generator:
    """The random stream of one part of the data (``part``: :data:`DEGREES`, ... ; ``more``: e.g. a block)."""
    return np.random.default_rng([cfg.seed, part, *more])


def pareto(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """``n`` Pareto weights (minimum 1, tail index ``exponent``)."""
    return np.asarray((1.0 - rng.random(n)) ** (-1.0 / exponent))


def user_degrees(cfg: ScaleConfig, sizes: Sizes) -> np.ndarray:
    """Heavy-tailed interactions per user, in ``[min_degree, sizes.cap]``, summing to exactly ``interactions``."""
    rng = stream(cfg, DEGREES)
    n, total, low, high = sizes.users, cfg.interactions, cfg.min_degree, sizes.cap
    w = pareto(rng, n, cfg.user_exponent)
    deg = np.clip(np.floor(w * (total / w.sum())), low, high).astype(np.int64)
    while (diff := total - int(deg.sum())) != 0:
        if diff > 0:  # add in proportion to the weights, where there is room below the cap
            p = np.where(deg < high, w, 0.0)
            deg = np.minimum(deg + rng.multinomial(diff, p / p.sum()), high)
        else:  # take from what lies above the floor
            p = (deg - low).astype(np.float64)
            deg = np.maximum(deg - rng.multinomial(-diff, p / p.sum()), low)
    return deg


def scenario_counts(cfg: ScaleConfig, sizes: Sizes, degrees: np.ndarray) -> np.ndarray:
    """Interactions per (user, scenario): ``overlap`` of the users in 2+ scenarios, each active one >= 1."""
    rng = stream(cfg, SCENARIO_SETS)
    n, s = sizes.users, cfg.scenarios
    p = sizes.weights / sizes.weights.sum()
    active = np.zeros((n, s), dtype=bool)
    active[np.arange(n), rng.choice(s, size=n, p=p)] = True
    multi = rng.permutation(n)[: round(cfg.overlap * n)]
    if len(multi):
        how_many = rng.integers(2, s + 1, size=len(multi))  # 2..s scenarios, drawn by weight without repeats
        ranked = np.argsort(-(np.log(p) + rng.gumbel(size=(len(multi), s))), axis=1)
        chosen = np.arange(s)[None, :] < how_many[:, None]
        active[multi] = False
        active[np.repeat(multi, how_many), ranked[chosen]] = True
    counts = active.astype(np.int64)
    rest = degrees - counts.sum(axis=1)
    w = active * sizes.weights
    for k in range(s):
        tail = w[:, k:].sum(axis=1)
        share = np.divide(w[:, k], tail, out=np.zeros(n), where=tail > 0)
        drawn = rng.binomial(rest, np.minimum(share, 1.0))
        counts[:, k] += drawn
        rest -= drawn
    return counts


@dataclass(frozen=True)
class Catalogue:
    """One scenario's items: topic and popularity, and the tables that draw from them."""

    topics: np.ndarray
    by_topic: np.ndarray  # item indices sorted by topic
    topic_cum: np.ndarray  # topic + cumulative popularity within the topic, in (t, t + 1]
    topic_end: np.ndarray  # end of each topic's run in by_topic
    all_cum: np.ndarray  # cumulative popularity over the scenario, in (0, 1]

    def by_taste(self, topic: np.ndarray, u: np.ndarray) -> np.ndarray:
        """An item of each ``topic`` by popularity (``u``: uniform draws in [0, 1))."""
        pos = np.minimum(np.searchsorted(self.topic_cum, topic + u, side="right"), self.topic_end[topic] - 1)
        return np.asarray(self.by_topic[pos])

    def in_topic(self, topic: np.ndarray, u: np.ndarray) -> np.ndarray:
        """An item of each ``topic``, uniformly (``u``: uniform draws in [0, 1))."""
        start = np.concatenate([[0], self.topic_end[:-1]])[topic]
        end = self.topic_end[topic]
        return np.asarray(self.by_topic[np.minimum(start + (u * (end - start)).astype(np.int64), end - 1)])

    def by_popularity(self, u: np.ndarray) -> np.ndarray:
        """An item of the scenario by popularity per uniform draw ``u``."""
        return np.minimum(np.searchsorted(self.all_cum, u, side="right"), len(self.all_cum) - 1)


def catalogues(cfg: ScaleConfig, sizes: Sizes) -> list[Catalogue]:
    """Each scenario's items: every topic in every scenario, topics' shares alike across scenarios."""
    topic_weights = stream(cfg, ITEMS).dirichlet(np.full(cfg.topics, 2.0))
    return [_catalogue(cfg, s, n, topic_weights) for s, n in enumerate(sizes.items)]


def _catalogue(cfg: ScaleConfig, scenario: int, n_items: int, topic_weights: np.ndarray) -> Catalogue:
    rng = stream(cfg, ITEMS, scenario)
    k = cfg.topics
    topics = np.concatenate([np.arange(k), rng.choice(k, size=n_items - k, p=topic_weights)])
    topics = topics[rng.permutation(n_items)]
    popularity = pareto(rng, n_items, cfg.item_exponent)
    by_topic = np.argsort(topics, kind="stable")
    sorted_topics = topics[by_topic]
    end = np.searchsorted(sorted_topics, np.arange(k), side="right")
    cum = np.cumsum(popularity[by_topic])
    start_total = np.concatenate([[0.0], cum[end[:-1] - 1]])
    within = (cum - start_total[sorted_topics]) / (cum[end - 1] - start_total)[sorted_topics]
    within[end - 1] = 1.0
    all_cum = np.cumsum(popularity) / popularity.sum()
    all_cum[-1] = 1.0
    return Catalogue(topics, by_topic, sorted_topics + within, end, all_cum)


def distinct_items(
    rng: np.random.Generator, users: np.ndarray, need: np.ndarray, taste: np.ndarray, cat: Catalogue, noise: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct items of one scenario for ``users`` (global indices, ascending), ``need`` each.

    Args:
        taste: ``(len(users), topics)``: each user's cumulative taste (last entry 1).

    Returns:
        ``(user, item, by_taste)`` rows sorted by user then item; ``by_taste`` marks draws from the taste.
    """
    n_items, k = len(cat.topics), taste.shape[1]
    flat = (taste + np.arange(len(users))[:, None]).ravel()  # row j in (j, j + 1]: one search for all rows
    want = need.copy()
    keys = np.empty(0, dtype=np.int64)
    flags = np.empty(0, dtype=bool)
    for round_ in range(MAX_ROUNDS):
        row = np.repeat(np.arange(len(users)), want)
        if round_ < BY_TOPIC:
            tasteful = rng.random(len(row)) >= noise
            u = rng.random(len(row))
            topic = np.clip(np.searchsorted(flat, row + u, side="right") - row * k, 0, k - 1)
            pick = cat.by_taste if round_ < BY_POPULARITY else cat.in_topic  # a topic's popular items run out
            item = np.where(tasteful, pick(topic, rng.random(len(row))), cat.by_popularity(u))
        else:  # the few still missing: any item, uniformly (a user needs at most max_user_share of them)
            tasteful = np.zeros(len(row), dtype=bool)
            item = rng.integers(0, n_items, size=len(row))
        keys, first = np.unique(np.concatenate([keys, users[row] * n_items + item]), return_index=True)
        flags = np.concatenate([flags, tasteful])[first]
        want = need - np.bincount(np.searchsorted(users, keys // n_items), minlength=len(users))
        if not want.any():
            return keys // n_items, keys % n_items, flags
    raise RuntimeError(f"no distinct items after {MAX_ROUNDS} rounds; a user needs at most half of a scenario's items")


def block_interactions(
    cfg: ScaleConfig, sizes: Sizes, counts: np.ndarray, cats: list[Catalogue]
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """The interactions, one block of :data:`USER_BLOCK` users and one scenario at a time.

    Args:
        cfg: The configuration.
        sizes: Its sizes (:func:`sizes_of`).
        counts: Interactions per (user, scenario) (:func:`scenario_counts`).
        cats: Each scenario's :class:`Catalogue`.

    Yields:
        ``(scenario, user, item, rating, timestamp)`` arrays (indices; rows sorted by user then item): every
        block's scenarios in order, then the next block.
    """
    for block, start in enumerate(range(0, sizes.users, USER_BLOCK)):
        rng = stream(cfg, BLOCKS, block)
        stop = min(start + USER_BLOCK, sizes.users)
        taste = np.cumsum(rng.dirichlet(np.full(cfg.topics, cfg.taste_concentration), size=stop - start), axis=1)
        taste[:, -1] = 1.0
        for s in range(cfg.scenarios):
            need = counts[start:stop, s]
            active = np.flatnonzero(need)
            user, item, tasteful = distinct_items(rng, start + active, need[active], taste[active], cats[s], cfg.noise)
            rating = np.where(tasteful, rng.integers(3, 6, len(user)), rng.integers(1, 6, len(user)))
            stamp = TIME_START + rng.integers(0, TIME_SPAN, len(user))
            yield s, user, item, rating, stamp
