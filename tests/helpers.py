"""What several test modules share: the repository's paths, skip-or-fail for missing resources, the
``graphrec`` command line against a test store, and small generated graphs and exports.

Test modules import these from here (never from one another, nor from ``conftest.py``); the fixtures
that use them live in ``tests/conftest.py``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from graphrec.data.export import GraphExport
    from graphrec.store.bolt import GraphStore
    from graphrec.store.connect import StoreConfig

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
DATA_README = "../shared/data/README.md"
NEO4J_SCRIPT = REPO / "scripts" / "neo4j_server.sh"

# The real datasets the tests read: name -> (what they are, their files relative to SHARED_DATA). A test
# marked ``@pytest.mark.data(NAME, ...)`` is skipped (failed under GRAPHREC_REQUIRE_DATA) while one of
# NAME's files is missing, with a reason naming the files and the README that describes them.
DATASETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ml-100k": (
        "MovieLens 100K as RecBole atomic files",
        ("movielens/ml-100k/ml-100k.inter", "movielens/ml-100k/ml-100k.item"),
    ),
    "ml-1m": ("MovieLens 1M as RecBole atomic files", ("movielens/ml-1m/ml-1m.inter", "movielens/ml-1m/ml-1m.item")),
    "amazon-kg": (
        "Amazon-KG 5-core Movies_and_TV + Books as RecBole atomic files",
        (
            "amazon-kg-books-movies/v2_5core/Amazon-KG-5core-Movies_and_TV.inter",
            "amazon-kg-books-movies/v2_5core/Amazon-KG-5core-Movies_and_TV.link",
            "amazon-kg-books-movies/v2_5core/Amazon-KG-5core-Books.inter",
            "amazon-kg-books-movies/v2_5core/Amazon-KG-5core-Books.link",
        ),
    ),
    "amazon-kg-metadata": (
        "Amazon-KG v1 book metadata (DBpedia categories), TSV",
        ("amazon-kg-books-movies/v1_items/item_metadata_Books.csv",),
    ),
}


#: Packages that take a second or more to import between them: importing the CLI, the Python APIs
#: and the torch-free modules loads none of them (tests/unit/test_architecture.py).
HEAVY = ("torch", "transformers", "neo4j", "pyarrow", "torch_geometric", "matplotlib", "sklearn")


def loaded_after(argv: list[str], names: tuple[str, ...] = HEAVY) -> list[str]:
    """Which of ``names`` are in ``sys.modules`` when a fresh ``python ARGV`` ends.

    ``argv`` is ``["MODULE"]`` (imported) or ``["-m", "MODULE", ARG...]`` (run as ``python -m``; its
    ``SystemExit(0)`` is a normal end). The repository comes first on the path.
    """
    if argv[0] == "-m":
        run = f"sys.argv = {argv[1:]!r}; runpy.run_module({argv[1]!r}, run_name='__main__', alter_sys=True)"
    else:
        (module,) = argv
        run = f"import {module}"
    report = f"atexit.register(lambda: print(sorted(m for m in {names!r} if m in sys.modules), file=sys.stderr))"
    code = f"import atexit, runpy, sys; {report}; {run}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env)
    assert done.returncode == 0, done.stderr
    return list(ast.literal_eval(done.stderr.strip().splitlines()[-1]))


def required(env: str) -> bool:
    """Whether the environment variable ``env`` demands a resource (set, and not 0/false)."""
    return os.environ.get(env, "") not in ("", "0", "false")


def skip_or_fail(reason: str, env: str) -> None:
    """Skip with ``reason``, or fail when ``env`` requires the resource (CI)."""
    if required(env):
        pytest.fail(f"{reason} (required because {env} is set)")
    pytest.skip(reason)


def missing_data_reason(names: tuple[str, ...] = ()) -> str | None:
    """Why the real datasets ``names`` (keys of DATASETS; none: the folder itself) cannot be read, naming
    the expected paths and the README to read; None when everything is there."""
    if not (SHARED_DATA / "README.md").is_file():
        return (
            f"real datasets not found: needs the folder {SHARED_DATA} (`shared/data` beside the repository: "
            "the datasets and the README.md describing them; `-m 'not data'` deselects these tests)"
        )
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        raise ValueError(f"unknown dataset(s) {unknown} in @pytest.mark.data; known: {sorted(DATASETS)}")
    reasons = []
    for name in names:
        what, files = DATASETS[name]
        missing = [str(SHARED_DATA / f) for f in files if not (SHARED_DATA / f).is_file()]
        if missing:
            reasons.append(f"needs {', '.join(missing)} ({what}; see {DATA_README})")
    return "; ".join(reasons) or None


def cli_args(cfg: StoreConfig) -> list[str]:
    """Global ``graphrec`` options that select the store of ``cfg``."""
    args = ["--home", str(cfg.home), "--no-progress"]
    if cfg.uri:
        args += ["--uri", cfg.uri]
    return args


def invoke(cfg: StoreConfig, *args: str, ok: bool = True) -> str:
    """Run ``graphrec *args`` on the store of ``cfg`` in-process; stdout on success (``ok``), else stderr
    of the expected exit status 1."""
    from click.testing import CliRunner

    from graphrec.cli import cli

    result = CliRunner().invoke(cli, [*cli_args(cfg), *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.stdout + result.stderr
        return result.stdout
    assert result.exit_code == 1, result.stdout
    return result.stderr


def expected_counts(spec_path: Path, tmp: Path) -> dict[str, int]:
    """Counts computed from the files alone (no database), to compare the graph against."""
    from ingest.prepare import prepare_dataset
    from ingest.spec import load_spec
    from ingest.summary import IngestSummary

    summary = IngestSummary(spec=str(spec_path))
    prepared = prepare_dataset(load_spec(spec_path), tmp / "expected-rejects.tsv", summary)
    return {
        "items": sum(len(p.items) for p in prepared.values()),
        "interactions": sum(len(p.interactions) for p in prepared.values()),
        "users": len({i.user for p in prepared.values() for i in p.interactions}),
    }


def graph_counts(store: GraphStore) -> dict[str, int]:
    """Node and relationship counts of the graph in ``store``, keyed like :func:`expected_counts`."""
    from graphrec.stats import graph_stats

    s = graph_stats(store)
    return {
        "items": s.nodes.get("Item", 0),
        "interactions": s.relationships.get("INTERACTED", 0),
        "users": s.nodes.get("User", 0),
        "in_scenario": s.relationships.get("IN_SCENARIO", 0),
        "scenarios": s.nodes.get("Scenario", 0),
    }


def write_amazon_kg_books(directory: Path, interactions: str = "u1\tB1\nu2\tB2\n") -> Path:
    """A one-scenario spec of the Amazon-KG shape in ``directory``: ``books`` with a RecBole ``.inter`` file
    (``interactions``: user, tab, item per line), a ``.link`` catalogue of B1 and B2 (DBpedia titles), and an
    enrichment file of categories for B1 and for B9, which is not in the catalogue. Returns the spec's path."""
    (directory / "item_metadata_Books.csv").write_text(
        "iid\tmetadata\nB1\tcat:Novels_set_in_Ontario\tcat:Fables\tres:Kahlil_Gibran\t\nB9\tcat:Fables\t\n"
    )
    (directory / "b.inter").write_text("user_id:token\titem_id:token\n" + interactions)
    (directory / "b.link").write_text("item_id:token\tentity_id:token\nB1\tres:Deafening_(novel)\nB2\tres:Dune\n")
    spec = directory / "spec.toml"
    spec.write_text(
        '[[scenario]]\nname = "books"\ninteractions = { path = "b.inter", format = "recbole" }\n'
        'items = [{ path = "b.link", format = "recbole", id = "item_id", title = "entity_id", '
        'title_parser = "dbpedia" },\n'
        '         { path = "item_metadata_Books.csv", format = "amazon-kg-metadata", enrich = true }]\n'
    )
    return spec


def toy_export(seed: int = 0) -> tuple[GraphExport, np.ndarray]:
    """80 users in two taste groups; 30 movies + 30 books; 2 topics (one per taste); text tells tastes apart."""
    from graphrec.data.export import GraphExport

    rng = np.random.default_rng(seed)
    pairs = set()
    for u in range(80):
        g = u % 2
        for base in (0, 30):
            for i in rng.choice(15, 6, replace=False):
                pairs.add((u, base + 15 * g + int(i)))
    inter = np.array(sorted(pairs), dtype=np.int64).T.copy()
    items = [("books", f"b{i:02d}") for i in range(30)] + [("movies", f"m{i:02d}") for i in range(30)]
    # export rows: books first (sorted by scenario); remap the generated item index (movies 0-29, books 30-59)
    remap = np.array([30 + i for i in range(30)] + list(range(30)))
    inter[1] = remap[inter[1]]
    item_taste = np.array([(i % 30) // 15 for i in range(60)])
    has_topic = np.array([np.arange(60), item_taste], dtype=np.int64)
    export = GraphExport(
        user_ids=[f"u{u:02d}" for u in range(80)],
        item_keys=items,
        topic_ids=["taste-a", "taste-b"],
        scenarios=["books", "movies"],
        item_scenario=np.array([0] * 30 + [1] * 30, dtype=np.int64),
        interactions=inter,
        has_topic=has_topic,
        has_topic_weight=np.ones(60, dtype=np.float32),
    )
    x = np.zeros((60, 4), dtype=np.float32)
    x[np.arange(60), item_taste] = 1.0
    x[:, 2:] = rng.normal(size=(60, 2)) * 0.1
    return export, x


def noisy_sparse_books_split():  # type: ignore[no-untyped-def]
    """The toy graph with popularity noise (5 more books per user, drawn from a 1/rank distribution over
    both tastes, so no model ranks perfectly and popularity carries signal) and its cold-user split with
    10% of each user's book training pairs kept: some validation users are left without any book
    training pair (served as cold), the simulated-cold ones keep theirs."""
    import dataclasses

    from graphrec.data.splits import coldstart_transfer, sparse_target

    export, x = toy_export()
    rng = np.random.default_rng(1)
    p = 1.0 / np.arange(1, 31)
    noise = {(u, int(i)) for u in range(80) for i in rng.choice(30, 5, replace=False, p=p / p.sum())}  # books
    pairs = sorted(set(map(tuple, export.interactions.T.tolist())) | noise)
    export = dataclasses.replace(export, interactions=np.array(pairs, dtype=np.int64).T.copy())
    base = coldstart_transfer(export, source="movies", target="books", seed=0)
    return export, x, sparse_target(base, export, target="books", fraction=0.1, seed=0)


def make_export(pairs: list[tuple[str, str, str]]) -> GraphExport:
    """A topic-less export of ``(user, scenario, item)`` interactions, rows in sorted order."""
    from graphrec.data.export import GraphExport

    users = sorted({u for u, _, _ in pairs})
    items = sorted({(s, i) for _, s, i in pairs})
    scenarios = sorted({s for s, _ in items})
    u_row, i_row = {u: k for k, u in enumerate(users)}, {k: n for n, k in enumerate(items)}
    inter = np.array(sorted((u_row[u], i_row[(s, i)]) for u, s, i in pairs), dtype=np.int64).T.copy()
    return GraphExport(
        user_ids=users, item_keys=items, topic_ids=[], scenarios=scenarios,
        item_scenario=np.array([scenarios.index(s) for s, _ in items], dtype=np.int64),
        interactions=inter, has_topic=np.zeros((2, 0), dtype=np.int64), has_topic_weight=np.zeros(0, dtype=np.float32),
    )  # fmt: skip


def pairs_of(a: np.ndarray) -> set[tuple[int, int]]:
    """The ``(user, item)`` columns of a ``(2, n)`` index array, as a set."""
    return {tuple(p) for p in a.T.tolist()}


def toy_training_data(
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, torch.Tensor, np.ndarray]:
    """60 users in two taste groups; items 0-29 scenario A, 30-59 scenario B; text features tell the groups apart.

    Returns (train pairs, validation pairs, cold users' test pairs, item scenario, item features, cold users).
    """
    import torch

    rng = np.random.default_rng(seed)
    pairs = []
    for u in range(60):
        g = 0 if u < 30 else 1
        for base in (0, 30):
            pairs += [(u, base + 15 * g + i) for i in rng.choice(15, 5, replace=False)]
    pairs = np.array(sorted(pairs)).T
    item_scenario = (np.arange(60) >= 30).astype(np.int64)
    is_b = item_scenario[pairs[1]] == 1
    cold = np.arange(0, 60, 6)  # every 6th user is cold in scenario B
    cold_mask = np.isin(pairs[0], cold) & is_b
    warm_b = np.flatnonzero(is_b & ~cold_mask)
    val_idx = warm_b[::5]
    train = pairs[:, ~cold_mask & ~np.isin(np.arange(pairs.shape[1]), val_idx)]
    item_x = torch.tensor([[1.0, 0.0] if (i % 30) < 15 else [0.0, 1.0] for i in range(60)])
    return train, pairs[:, val_idx], pairs[:, cold_mask], item_scenario, item_x, cold


def write_topk(path: Path, export: GraphExport, users: list[int], top: np.ndarray) -> None:
    """A peer's ``topk.tsv`` of the export rows ``top`` (one row per user of ``users``), raw tokens."""
    from bench.peers.split_files import item_token

    lines = ["user_id\titem_id\trank"]
    for row, u in enumerate(users):
        lines += [
            f"{export.user_ids[u]}\t{item_token(*export.item_keys[i])}\t{r}" for r, i in enumerate(top[row].tolist(), 1)
        ]
    path.write_text("\n".join(lines) + "\n")
