"""The scale generator (ingest.sources.scale, bench/scale_data.py): deterministic files, exact counts, distinct
pairs, heavy-tailed degrees, the configured overlap, and texts and tastes that carry the latent topics.

Every property is read back from the written files, not from the generator's own bookkeeping."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from graphrec.errors import ConfigError
from ingest.sources import scale, scale_model
from ingest.sources.scale import (
    MANIFEST_FILE,
    VERSION,
    ScaleConfig,
    ScaleFiles,
    generate_scale,
    parse_count,
    size_label,
)
from ingest.sources.scale_text import SCENARIOS, TOPICS
from ingest.spec import load_spec

Rows = dict[str, list[tuple[str, str, int, int]]]


def read_tsv(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines[1:]]


def read_back(files: ScaleFiles) -> tuple[Rows, dict[str, dict[str, tuple[str, str, str]]]]:
    """``(interactions, items)`` per scenario as written: rows ``(user, item, rating, ts)``, items by id."""
    manifest = json.loads(files.manifest.read_text())
    inter: Rows = {}
    items: dict[str, dict[str, tuple[str, str, str]]] = {}
    for name, (inter_file, items_file) in manifest["files"].items():
        inter[name] = [(u, i, int(r), int(t)) for u, i, r, t in read_tsv(files.directory / inter_file)]
        rows = read_tsv(files.directory / items_file)
        items[name] = {r[0]: (r[1], r[2], r[3]) for r in rows}
        assert len(items[name]) == len(rows), "item ids repeat"
    return inter, items


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    config = ScaleConfig(interactions=20_000, scenarios=3, overlap=0.4, seed=7)
    a = generate_scale(tmp_path / "a", config)
    b = generate_scale(tmp_path / "b", config)
    c = generate_scale(tmp_path / "c", ScaleConfig(interactions=20_000, scenarios=3, overlap=0.4, seed=8))
    names = sorted(p.name for p in a.directory.iterdir())
    assert names == sorted(p.name for p in b.directory.iterdir()) == sorted(p.name for p in c.directory.iterdir())
    assert len(names) == 2 * 3 + 2 and not [n for n in names if n.endswith(".part")]
    for name in names:
        assert (a.directory / name).read_bytes() == (b.directory / name).read_bytes(), name
    for name in names:
        if name.endswith(".tsv"):
            assert (a.directory / name).read_bytes() != (c.directory / name).read_bytes(), name
    # generating again into the same folder replaces the files with the same bytes
    again = generate_scale(a.directory, config)
    assert all((again.directory / n).read_bytes() == (b.directory / n).read_bytes() for n in names)


def check_counts(files: ScaleFiles, interactions: int, scenarios: int) -> None:
    """The files hold exactly ``interactions`` rows, distinct pairs, known items, and the manifest's counts."""
    inter, items = read_back(files)
    c = files.counts
    assert list(inter) == [name for name, _, _ in SCENARIOS[:scenarios]]
    assert sum(len(rows) for rows in inter.values()) == interactions == c["interactions"]
    users: set[str] = set()
    for name, rows in inter.items():
        pairs = [(u, i) for u, i, _, _ in rows]
        assert len(set(pairs)) == len(pairs), f"repeated (user, item) pairs in {name}"
        assert {i for _, i in pairs} <= set(items[name]), f"{name}: an interaction names an item of no item file"
        want = c["scenarios"][name]
        assert len(rows) == want["interactions"] and len(items[name]) == want["items"]
        assert len({u for u, _ in pairs}) == want["users"]
        assert len({i for _, i in pairs}) == want["items_with_interactions"]
        assert all(1 <= r <= 5 and 1_500_000_000 <= t < 1_650_000_000 for _, _, r, t in rows)
        prefix = SCENARIOS[list(inter).index(name)][1]
        assert list(items[name]) == [f"{prefix}{k}" for k in range(want["items"])]
        users |= {u for u, _ in pairs}
    assert users == {f"u{k}" for k in range(c["users"])} and sum(len(v) for v in items.values()) == c["items"]
    spec = load_spec(files.spec)  # the spec ingest reads, its files checked
    assert [s.name for s in spec.scenarios] == list(inter)
    assert all(s.items[0].categories == "topic" and s.items[0].text == ("description",) for s in spec.scenarios)
    manifest = json.loads(files.manifest.read_text())
    assert manifest["counts"] == c and manifest["config"]["interactions"] == interactions and manifest["synthetic"]
    assert manifest["version"] == VERSION


@pytest.mark.parametrize(("interactions", "scenarios"), [(5_000, 2), (12_345, 3), (7_777, 4), (3_001, 1)])
def test_exact_counts_distinct_pairs_known_items(tmp_path: Path, interactions: int, scenarios: int) -> None:
    overlap = 0.0 if scenarios == 1 else 0.3
    files = generate_scale(tmp_path, ScaleConfig(interactions=interactions, scenarios=scenarios, overlap=overlap))
    check_counts(files, interactions, scenarios)


def test_blocks_join_seamlessly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large sets are drawn in blocks of users (and of item texts); small blocks here give a dozen of each."""
    monkeypatch.setattr(scale_model, "USER_BLOCK", 128)
    monkeypatch.setattr(scale, "ITEM_BLOCK", 100)
    config = ScaleConfig(interactions=30_000, scenarios=3, overlap=0.5)
    files = generate_scale(tmp_path / "a", config)
    assert files.counts["users"] > 10 * 128 and min(s["items"] for s in files.counts["scenarios"].values()) > 300
    check_counts(files, 30_000, 3)
    generate_scale(tmp_path / "b", config)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert all((tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes() for n in names)


def test_degrees_are_heavy_tailed(tmp_path: Path) -> None:
    files = generate_scale(tmp_path, ScaleConfig(interactions=100_000))
    inter, _ = read_back(files)
    user_deg = Counter(u for rows in inter.values() for u, _, _, _ in rows)
    item_deg = Counter((name, i) for name, rows in inter.items() for _, i, _, _ in rows)
    for deg in (np.array(list(user_deg.values())), np.array(list(item_deg.values()))):
        assert deg.max() >= 20 * np.median(deg)
        top = np.sort(deg)[::-1][: max(1, len(deg) // 100)]
        assert top.sum() >= 0.1 * deg.sum()  # the top 1% hold at least 10% of the interactions
    assert min(user_deg.values()) >= 5
    assert files.counts["user_degree"]["max"] == max(user_deg.values())


@pytest.mark.parametrize(("scenarios", "overlap"), [(2, 0.0), (2, 0.3), (2, 1.0), (3, 0.5)])
def test_overlap_share_as_configured(tmp_path: Path, scenarios: int, overlap: float) -> None:
    files = generate_scale(tmp_path, ScaleConfig(interactions=30_000, scenarios=scenarios, overlap=overlap))
    inter, _ = read_back(files)
    where: dict[str, set[str]] = defaultdict(set)
    for name, rows in inter.items():
        for u, _, _, _ in rows:
            where[u].add(name)
    multi = sum(len(s) >= 2 for s in where.values())
    assert multi == round(overlap * len(where)) == files.counts["overlap_users"]
    if scenarios == 3 and overlap:
        assert any(len(s) == 3 for s in where.values()) and any(len(s) == 2 for s in where.values())


def test_texts_share_their_topics_vocabulary(tmp_path: Path) -> None:
    files = generate_scale(tmp_path, ScaleConfig(interactions=20_000))
    _, items = read_back(files)
    texts = [
        (topic, set(f"{title} {text}".lower().replace(":", " ").replace(".", " ").split()))
        for scenario in items.values()
        for title, topic, text in scenario.values()
    ]
    frequency = Counter(w for _, words in texts for w in words)
    template = {w for w, n in frequency.items() if n > len(texts) / 2}  # "the", "and", "of": in every text
    assert template == {"the", "and", "a", "of"}
    rows = [(topic, words - template) for topic, words in texts]
    rng = np.random.default_rng(0)
    pick = rng.choice(len(rows), size=400, replace=False)
    same, other = [], []
    for a, b in combinations(pick.tolist(), 2):
        (ta, wa), (tb, wb) = rows[a], rows[b]
        (same if ta == tb else other).append(len(wa & wb) / len(wa | wb))
    assert len(same) > 100 and np.mean(same) > 4 * np.mean(other)  # measured 5.0x
    # most of an item's topic-bearing words belong to its own topic; every topic has items in both scenarios
    own = [len(w & set(TOPICS[t])) for t, w in rows]
    assert min(own) >= 6
    for scenario in items.values():
        assert {topic for _, topic, _ in scenario.values()} == set(list(TOPICS)[:20])


def taste_figures(inter: Rows, topic_of: dict[str, dict[str, str]]) -> tuple[float, float]:
    """Mean share of a user's favourite topic in a scenario (10+ interactions there), and how often a user of
    both scenarios (5+ interactions in each) has the same favourite topic in both."""
    topics: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for name, rows in inter.items():
        for u, i, _, _ in rows:
            topics[u][name][topic_of[name][i]] += 1
    share = [c.most_common(1)[0][1] / c.total() for per in topics.values() for c in per.values() if c.total() >= 10]
    both = [(per["movies"], per["books"]) for per in topics.values() if len(per) == 2]
    agree = [m.most_common(1)[0][0] == b.most_common(1)[0][0] for m, b in both if m.total() >= 5 and b.total() >= 5]
    assert len(share) > 1000 and len(agree) > 500
    return float(np.mean(share)), float(np.mean(agree))


def test_taste_links_a_users_scenarios(tmp_path: Path) -> None:
    """A user's interactions follow a few topics, the same in every scenario (the signal that transfers): far
    more than with the items' topics shuffled, which keeps every degree and breaks only the link."""
    files = generate_scale(tmp_path, ScaleConfig(interactions=50_000, overlap=0.5))
    inter, items = read_back(files)
    topic_of = {name: {i: row[1] for i, row in scenario.items()} for name, scenario in items.items()}
    rng = np.random.default_rng(0)
    shuffled = {name: dict(zip(t, rng.permutation(list(t.values())))) for name, t in topic_of.items()}
    share, agree = taste_figures(inter, topic_of)
    share0, agree0 = taste_figures(inter, shuffled)
    assert share > 1.5 * share0 and agree > 3 * agree0  # measured 0.39 vs 0.21, 0.57 vs 0.13


def test_bad_configurations_say_what_to_change(tmp_path: Path) -> None:
    cases = [
        (ScaleConfig(interactions=1000, scenarios=5), "scenarios = 5; use 1 to 4"),
        (ScaleConfig(interactions=1000, overlap=1.5), "overlap = 1.5"),
        (ScaleConfig(interactions=1000, scenarios=1, overlap=0.3), "needs at least 2 scenarios"),
        (ScaleConfig(interactions=1000, topics=40), "topics = 40; use 2 to 24"),
        (ScaleConfig(interactions=3), "ask for at least min_degree"),
        (ScaleConfig(interactions=1000, scenarios=3, min_degree=2), "raise min_degree"),
        (ScaleConfig(interactions=1000, user_exponent=1.0), "tail index above 1"),
        (ScaleConfig(interactions=1000, noise=-0.1), "noise = -0.1"),
        (ScaleConfig(interactions=1000, max_user_share=0.9), "max_user_share = 0.9"),
    ]
    for config, message in cases:
        with pytest.raises(ConfigError, match=message):
            generate_scale(tmp_path / "bad", config)
    assert not (tmp_path / "bad").exists()


def test_counts_and_folder_names() -> None:
    assert [parse_count(t) for t in ("100000", "100k", "1M", "10M", "2.5M", "1_000_000", " 5K ")] == [
        100_000,
        100_000,
        1_000_000,
        10_000_000,
        2_500_000,
        1_000_000,
        5_000,
    ]
    for bad in ("", "M", "1.5", "0", "-3k", "ten", "1e400", "nan"):
        with pytest.raises(ConfigError):
            parse_count(bad)
    assert [size_label(n) for n in (100_000, 1_000_000, 10_000_000, 5_000, 2_500, 1_500_000)] == [
        "100k",
        "1M",
        "10M",
        "5k",
        "2500",
        "1500k",
    ]


def test_command_line_writes_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.scale_data import main

    assert main(["--interactions", "5k", "--scenarios", "3", "--overlap", "0.5", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == str(tmp_path / "scale.toml")
    manifest = json.loads((tmp_path / MANIFEST_FILE).read_text())
    assert manifest["config"]["scenarios"] == 3 and manifest["config"]["overlap"] == 0.5
    assert "5,000 interactions" in out[1] and f"({manifest['counts']['overlap_users']:,} in 2+ scenarios)" in out[1]
    assert main(["--interactions", "3", "--out", str(tmp_path / "x")]) == 2
    assert "ask for at least min_degree" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--interactions", "lots"])
