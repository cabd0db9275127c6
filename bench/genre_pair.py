"""A second cross-scenario pair built from MovieLens-100K: genre families as scenarios.

    .venv/bin/python bench/genre_pair.py            # derive the files, prepare bench/.work/ml-100k-genres
    .venv/bin/python bench/genre_pair.py --splits   # ... and print the coldstart-transfer / -items split counts

MovieLens-100K (``../shared/data/movielens/ml-100k``, RecBole atomic files; research use only, never
copied into the repository) has one scenario. This script splits its movies into two scenarios by
genre family, each movie in exactly one:

* ``action`` — movies whose genre set (the ``class`` field) intersects :data:`ACTION_GENRES`
  (Action, Adventure, Crime, Horror, Sci-Fi, Thriller, War, Western: tension and spectacle);
* ``drama`` — every other movie (Drama, Comedy, Romance, Children's, Animation, Documentary, Musical,
  Mystery, Fantasy, Film-Noir and the 2 ``unknown`` ones).

Why this rule: the 18 genre names of ml-100k are multi-label, so "any genre of the family" is the
simplest rule that puts each movie in exactly one scenario. With these eight genres the two
scenarios are about balanced (678 action movies / 54,576 ratings against 1,004 / 45,424; adding
Fantasy or Mystery to the family barely changes that, dropping Crime and Horror swaps which side is
larger) and almost every user rates in both (938 of 943), so the cross-scenario protocols have many
shared users. The usual direction is ``drama`` (source) → ``action`` (target). Item ids are the
ml-100k ids: each id is in exactly one scenario's files, which the derivation checks.

:func:`prepare_genre_pair` reads the shared files in place and writes derived RecBole atomic files
(``action.inter``/``.item``, ``drama.inter``/``.item``: the source lines unchanged, filtered by
scenario), an ingest spec ``ml-100k-genres.toml`` (as ``ingest/specs/ml-100k.toml``: title, text =
release year + genres, categories = genres) and ``manifest.json`` (the rule, the source files'
sha256 and the counts) under ``bench/.work/data/ml-100k-genres`` — git-ignored, because derived data
is still MovieLens data and must never be committed. :func:`main` then prepares a graphrec home at
``bench/.work/ml-100k-genres`` with the CLI through :func:`bench.train_bench.prepare` (ingest, embed,
topics discovered + metadata). Both steps are idempotent: files are rewritten only when their bytes
change, and a prepared home is reused; a home prepared from different derived files is refused.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any

try:
    from common import REPO  # run by path: bench/common.py, beside it, puts the repository root on sys.path
except ModuleNotFoundError:  # imported as bench.genre_pair (tests, python -m): the root is on sys.path already
    from bench.common import REPO

from graphrec.errors import ConfigError, InputDataError

logger = logging.getLogger(__name__)

ML100K = REPO.parent / "shared" / "data" / "movielens" / "ml-100k"
WORK = REPO / "bench" / ".work" / "data" / "ml-100k-genres"
HOME = REPO / "bench" / ".work" / "ml-100k-genres"
SPEC_NAME = "ml-100k-genres.toml"
MANIFEST_NAME = "manifest.json"
ACTION_GENRES = frozenset({"Action", "Adventure", "Crime", "Horror", "Sci-Fi", "Thriller", "War", "Western"})
SCENARIOS = ("action", "drama")
SOURCE, TARGET = "drama", "action"
ITEM_HEADER = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"
INTER_HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float"

SPEC_TEMPLATE = """\
# MovieLens-100K split by genre family into two scenarios, derived by bench/genre_pair.py from
# ../shared/data/movielens/ml-100k (research-only data: derived files, never committed).
# action = movies with a genre in {genres}; drama = all other movies.
# Usage: .venv/bin/python bench/genre_pair.py (or graphrec ingest <this file>)
{tables}"""
SCENARIO_TABLE = (
    "\n"
    "[[scenario]]\n"
    'name = "{name}"\n'
    'interactions = {{ path = "{name}.inter", format = "recbole" }}\n'
    'items = {{ path = "{name}.item", format = "recbole", id = "item_id", title = "movie_title", '
    'text = ["release_year", "class"], categories = "class" }}\n'
)


def scenario_of(genres: str) -> str:
    """The scenario of a movie from its ``class`` field (space-separated genres): ``action`` or ``drama``."""
    return "action" if ACTION_GENRES.intersection(genres.split()) else "drama"


def _read_lines(path: Path, header: str) -> list[list[str]]:
    """The tab-separated data lines of a RecBole file whose header must be ``header``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise InputDataError(
            "MovieLens-100K file not found; the genre pair is derived from ../shared/data/movielens/ml-100k "
            "(see ../shared/data/README.md), or pass --source to the folder holding ml-100k.item/.inter",
            path=str(path),
        ) from e
    lines = text.splitlines()
    if not lines or lines[0] != header:
        got = lines[0] if lines else "<empty file>"
        raise InputDataError(f"header {got!r} is not the expected {header!r}", path=str(path), line=1)
    rows = [line.split("\t") for line in lines[1:] if line]
    for n, row in enumerate(rows, start=2):
        if len(row) != header.count("\t") + 1:
            raise InputDataError(
                f"{len(row)} tab-separated fields, expected {header.count(chr(9)) + 1}", path=str(path), line=n
            )
    return rows


def _write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` atomically unless it already holds exactly that; returns whether it wrote."""
    data = text.encode("utf-8")
    if path.exists() and path.read_bytes() == data:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def prepare_genre_pair(work: Path = WORK, *, source: Path = ML100K) -> Path:
    """Derive the two-scenario genre pair from MovieLens-100K into ``work``; returns the ingest spec's path.

    Args:
        work: Folder for the derived files (created; keep it under ``bench/.work``, which git ignores).
        source: Folder holding ``ml-100k.item`` and ``ml-100k.inter`` (RecBole atomic files).

    Returns:
        The path of ``ml-100k-genres.toml`` in ``work``, ready for ``graphrec ingest``.

    Raises:
        InputDataError: A source file is missing or not the expected RecBole layout.
        ConfigError: An item id repeats, or a rating names an item the item file lacks.
    """
    items = _read_lines(source / "ml-100k.item", ITEM_HEADER)
    inters = _read_lines(source / "ml-100k.inter", INTER_HEADER)
    item_scenario: dict[str, str] = {}
    item_lines: dict[str, list[str]] = {s: [ITEM_HEADER] for s in SCENARIOS}
    for row in items:
        if row[0] in item_scenario:
            raise ConfigError(f"{source / 'ml-100k.item'}: item id {row[0]!r} repeats; each movie must be one row")
        sc = item_scenario[row[0]] = scenario_of(row[3])
        item_lines[sc].append("\t".join(row))
    inter_lines: dict[str, list[str]] = {s: [INTER_HEADER] for s in SCENARIOS}
    users: dict[str, set[str]] = {s: set() for s in SCENARIOS}
    for row in inters:
        scenario = item_scenario.get(row[1])
        if scenario is None:
            raise ConfigError(
                f"{source / 'ml-100k.inter'}: item {row[1]!r} is rated but not in ml-100k.item; "
                "use an unmodified ml-100k"
            )
        inter_lines[scenario].append("\t".join(row))
        users[scenario].add(row[0])
    work.mkdir(parents=True, exist_ok=True)
    wrote = []
    for sc in SCENARIOS:
        for ext, lines in ((".item", item_lines[sc]), (".inter", inter_lines[sc])):
            if _write_if_changed(work / f"{sc}{ext}", "\n".join(lines) + "\n"):
                wrote.append(f"{sc}{ext}")
    genres = ", ".join(sorted(ACTION_GENRES))
    spec = work / SPEC_NAME
    tables = "".join(SCENARIO_TABLE.format(name=sc) for sc in SCENARIOS)
    if _write_if_changed(spec, SPEC_TEMPLATE.format(genres=genres, tables=tables)):
        wrote.append(SPEC_NAME)
    manifest: dict[str, Any] = {
        "rule": {"action": sorted(ACTION_GENRES), "drama": "every other movie", "source": SOURCE, "target": TARGET},
        "source_sha256": {n: _sha256(source / n) for n in ("ml-100k.item", "ml-100k.inter")},
        "derived_sha256": {
            f"{sc}{ext}": _sha256(work / f"{sc}{ext}") for sc in SCENARIOS for ext in (".item", ".inter")
        },
        "counts": {
            sc: {"items": len(item_lines[sc]) - 1, "interactions": len(inter_lines[sc]) - 1, "users": len(users[sc])}
            for sc in SCENARIOS
        },
        "shared_users": len(users["action"] & users["drama"]),
        "all_users": len(users["action"] | users["drama"]),
        "genres": {
            sc: dict(Counter(g for r in items if item_scenario[r[0]] == sc for g in r[3].split()).most_common())
            for sc in SCENARIOS
        },
    }
    if _write_if_changed(work / MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=True) + "\n"):
        wrote.append(MANIFEST_NAME)
    logger.info("genre pair in %s: %s", work, f"wrote {wrote}" if wrote else "unchanged")
    return spec


def prepare_home(home: Path = HOME, work: Path = WORK, *, source: Path = ML100K, n_topics: int | None = None) -> Path:
    """Derive the pair (:func:`prepare_genre_pair`) and prepare a graphrec home from it with the CLI,
    exactly as :func:`bench.train_bench.prepare` does for the other datasets; returns ``home``.

    Raises:
        ConfigError: ``home`` was prepared from other derived files (the manifests differ): remove it.
    """
    from bench.train_bench import prepare

    spec = prepare_genre_pair(work, source=source)
    manifest = (work / MANIFEST_NAME).read_text(encoding="utf-8")
    recorded = home / "genre_pair.json"
    if (home / "prepared.json").exists() and (
        not recorded.exists() or recorded.read_text(encoding="utf-8") != manifest
    ):
        raise ConfigError(
            f"{home} was prepared from other genre-pair files than {work / MANIFEST_NAME}; "
            f"remove the home ({home}) and rerun to prepare it again"
        )
    prepare(home, str(spec), n_topics=n_topics)
    _write_if_changed(recorded, manifest)
    return home


def split_counts(home: Path = HOME, *, seed: int = 0) -> dict[str, dict[str, object]]:
    """Export ``home``'s graph and return the meta (counts) of the coldstart-transfer (drama → action)
    and coldstart-items (action) splits for ``seed``."""
    from bench.train_bench import prepared_graph
    from graphrec.data.splits import coldstart_items, coldstart_transfer

    export = prepared_graph(home, features=False).export
    transfer = coldstart_transfer(export, source=SOURCE, target=TARGET, seed=seed)
    cold_items = coldstart_items(export, target=TARGET, seed=seed)
    out: dict[str, dict[str, object]] = {}
    for name, split in (("coldstart-transfer", transfer), ("coldstart-items", cold_items)):
        out[name] = {
            **split.meta,
            "train": split.train.shape[1],
            "val": split.val.shape[1],
            "test": split.test.shape[1],
        }
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=WORK, help="folder for the derived files (default %(default)s)")
    p.add_argument("--home", type=Path, default=HOME, help="graphrec home to prepare (default %(default)s)")
    p.add_argument("--source", type=Path, default=ML100K, help="MovieLens-100K RecBole folder (default %(default)s)")
    p.add_argument("--n-topics", type=int, default=None, help="topics for --method discovered (default: graphrec's)")
    p.add_argument("--splits", action="store_true", help="also print the seed-0 split counts of the prepared graph")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    home = prepare_home(args.home, args.work, source=args.source, n_topics=args.n_topics)
    manifest = json.loads((args.work / MANIFEST_NAME).read_text(encoding="utf-8"))
    print(json.dumps({"spec": str(args.work / SPEC_NAME), "home": str(home), "counts": manifest["counts"],
                      "shared_users": manifest["shared_users"]}, indent=1))  # fmt: skip
    if args.splits:
        print(json.dumps(split_counts(home), indent=1))


if __name__ == "__main__":
    main()
