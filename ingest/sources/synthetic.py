"""A small, deterministic, clearly SYNTHETIC two-scenario dataset for the offline quickstart.

Users have latent taste for a few themes; items of both scenarios ("movies" and "books")
are written about those themes, so item texts carry signal that links the scenarios.
Nothing here is real data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

THEMES: dict[str, tuple[str, ...]] = {
    "space": ("starship", "galaxy", "astronaut", "alien", "orbit", "planet"),
    "crime": ("detective", "murder", "heist", "police", "mystery", "gangster"),
    "romance": ("love", "wedding", "heartbreak", "affair", "passion", "letters"),
    "war": ("soldier", "battle", "resistance", "trenches", "general", "siege"),
    "magic": ("wizard", "dragon", "spell", "kingdom", "quest", "sorcery"),
    "sports": ("coach", "championship", "team", "underdog", "marathon", "boxing"),
    "horror": ("haunted", "ghost", "curse", "vampire", "nightmare", "asylum"),
    "family": ("childhood", "siblings", "summer", "grandmother", "home", "secrets"),
}
SCENARIOS = {"movies": ("film", "movie", "drama"), "books": ("novel", "book", "story")}


@dataclass(frozen=True)
class SyntheticFiles:
    """Paths of the generated dataset.

    Attributes:
        spec: The dataset spec TOML that ingests the files below.
        directory: Folder holding everything.
    """

    spec: Path
    directory: Path


def generate(
    directory: Path,
    *,
    seed: int = 0,
    users: int = 200,
    items_per_scenario: int = 150,
    interactions_per_user: int = 12,
) -> SyntheticFiles:
    """Write a synthetic two-scenario dataset (TSV files + spec) into ``directory``.

    Args:
        directory: Output folder (created).
        seed: Random seed; the same seed writes byte-identical files (default 0).
        users: Number of users; about 60% interact in both scenarios (default 200).
        items_per_scenario: Items per scenario (default 150).
        interactions_per_user: Interactions per user and scenario they are active in (default 12).
    """
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    themes = sorted(THEMES)
    items: dict[str, list[tuple[str, str, str, str]]] = {}
    for scenario, kind_words in SCENARIOS.items():
        rows = []
        for k in range(items_per_scenario):
            theme = themes[k % len(themes)]
            words = rng.sample(THEMES[theme], 3)
            title = f"The {words[0].title()} {rng.choice(['Chronicles', 'Affair', 'Road', 'Years', 'Code', 'Night'])}"
            kind = rng.choice(kind_words)
            text = f"A {kind} about {words[0]}, {words[1]} and {words[2]}."
            rows.append((f"{scenario[0]}{k:04d}", title, theme, text))
        items[scenario] = rows
    inter: dict[str, list[tuple[str, str, int, int]]] = {s: [] for s in SCENARIOS}
    for u in range(users):
        liked = rng.sample(themes, 2)
        active = ["movies", "books"] if rng.random() < 0.6 else [rng.choice(["movies", "books"])]
        for scenario in active:
            pool = [r for r in items[scenario] if r[2] in liked]
            others = [r for r in items[scenario] if r[2] not in liked]
            n_liked = max(1, int(interactions_per_user * 0.8))
            chosen = rng.sample(pool, min(n_liked, len(pool))) + rng.sample(others, interactions_per_user - n_liked)
            for r in chosen:
                inter[scenario].append(
                    (
                        f"u{u:04d}",
                        r[0],
                        rng.randint(3 if r[2] in liked else 1, 5),
                        1_600_000_000 + rng.randint(0, 10**7),
                    )
                )
    for scenario in SCENARIOS:
        with open(directory / f"synthetic_{scenario}_items.tsv", "w", encoding="utf-8") as fh:
            fh.write("item_id\ttitle\ttheme\tdescription\n")
            for r in items[scenario]:
                fh.write("\t".join(r) + "\n")
        with open(directory / f"synthetic_{scenario}_interactions.tsv", "w", encoding="utf-8") as fh:
            fh.write("user_id\titem_id\trating\ttimestamp\n")
            for row in inter[scenario]:
                fh.write("\t".join(map(str, row)) + "\n")
    spec = directory / "synthetic.toml"
    lines = ["# SYNTHETIC quickstart dataset written by graphrec (not real data)\n"]
    for scenario in SCENARIOS:
        lines.append(
            f'[[scenario]]\nname = "{scenario}"\n'
            f'interactions = {{ path = "synthetic_{scenario}_interactions.tsv", format = "tsv", user = "user_id", '
            f'item = "item_id", rating = "rating", timestamp = "timestamp" }}\n'
            f'items = {{ path = "synthetic_{scenario}_items.tsv", format = "tsv", id = "item_id", title = "title", '
            f'text = ["description"], categories = "theme" }}\n\n'
        )
    spec.write_text("".join(lines), encoding="utf-8")
    return SyntheticFiles(spec=spec, directory=directory)
