"""The page's topic map (graphrec/serve/topic_map.py) on a real small run: the toy export's two tastes with
topics of each taste across both scenarios and within one, graphrec-single trained on it; members counted
from the export's own memberships (what the graph holds after ingest)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from graphrec.data.splits import coldstart_transfer
from graphrec.errors import ConfigError
from graphrec.models.presets import model_spec
from graphrec.serve.topic_map import build_topic_map, project
from graphrec.train.config import TrainConfig
from graphrec.train.fit import fit
from graphrec.train.record import RunRecord, record_run
from tests.helpers import loaded_after, toy_export

# Topics over the toy's 60 items (books 0-29, movies 30-59; taste a = the first 15 of each scenario):
TOPICS = {
    "taste-a": [i for i in range(60) if (i % 30) < 15],  # both scenarios, even
    "taste-b": [i for i in range(60) if (i % 30) >= 15],
    "books-a": list(range(0, 15)),  # one scenario
    "movies-b": list(range(45, 60)),
    "mixed-a": [*range(0, 5), *range(30, 45)],  # 5 books, 15 movies of taste a
}


@pytest.fixture(scope="module")
def run() -> RunRecord:
    export, x = toy_export()
    pairs = [(i, t) for t, (_, items) in enumerate(TOPICS.items()) for i in items]
    export = dataclasses.replace(
        export,
        topic_ids=list(TOPICS),
        has_topic=np.array(pairs, dtype=np.int64).T.copy(),
        has_topic_weight=np.ones(len(pairs), dtype=np.float32),
    )
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    cfg = TrainConfig(epochs=20, batch_size=256, lr=0.02)
    fitted = fit(export, split, model_spec("graphrec-single", dim=16), cfg, target="books", item_x=x)
    return record_run(fitted, export, split, cfg, name="toy-run", target="books", source="movies")


def members_of(run: RunRecord) -> dict[str, tuple[str | None, dict[str, int]]]:
    """What the graph would answer: per topic its label and member items per scenario."""
    out: dict[str, tuple[str | None, dict[str, int]]] = {}
    for topic, items in TOPICS.items():
        counts: dict[str, int] = {}
        for i in items:
            scenario = run.item_keys[i][0]
            counts[scenario] = counts.get(scenario, 0) + 1
        out[topic] = (topic.replace("-", " "), counts)
    return out


def test_the_map_places_sizes_and_colours_every_topic_of_the_run(run: RunRecord) -> None:
    assert run.topic_ids == list(TOPICS) and run.topic.shape[0] == 5
    m = build_topic_map(run.name, run.topic_ids, run.topic, members_of(run))
    assert m.run == "toy-run" and m.total == 5 and m.scenarios == ["books", "movies"]
    by_id = {t.id: t for t in m.topics}
    assert [t.id for t in m.topics] == ["taste-a", "taste-b", "mixed-a", "books-a", "movies-b"]  # largest first
    assert by_id["taste-a"].items == 30 and by_id["taste-a"].balance == {"books": 0.5, "movies": 0.5}
    assert by_id["books-a"].balance == {"books": 1.0} and by_id["movies-b"].balance == {"movies": 1.0}
    assert by_id["mixed-a"].balance == pytest.approx({"books": 0.25, "movies": 0.75})
    assert by_id["mixed-a"].label == "mixed a"
    xy = np.array([[t.x, t.y] for t in m.topics])
    assert np.abs(xy).max() == pytest.approx(1.0) and len({(t.x, t.y) for t in m.topics}) == 5
    # the learned embeddings keep the tastes apart: each taste's topics are nearer one another than the other taste's
    d = {(a, b): np.hypot(by_id[a].x - by_id[b].x, by_id[a].y - by_id[b].y) for a in TOPICS for b in TOPICS}
    assert d["taste-a", "books-a"] < d["taste-a", "taste-b"]
    assert d["taste-b", "movies-b"] < d["taste-b", "taste-a"]
    again = build_topic_map(run.name, run.topic_ids, run.topic, members_of(run))
    assert again == m  # seeded, deterministic


def test_limit_keeps_the_largest_and_reports_the_total(run: RunRecord) -> None:
    full = build_topic_map(run.name, run.topic_ids, run.topic, members_of(run))
    top2 = build_topic_map(run.name, run.topic_ids, run.topic, members_of(run), limit=2)
    assert top2.total == 5 and top2.topics == full.topics[:2]  # places do not depend on the limit
    with pytest.raises(ConfigError, match="limit must be at least 1, got 0"):
        build_topic_map(run.name, run.topic_ids, run.topic, members_of(run), limit=0)


def test_a_topic_the_graph_no_longer_holds_is_drawn_without_label_or_items(
    run: RunRecord, caplog: pytest.LogCaptureFixture
) -> None:
    members = members_of(run)
    del members["books-a"]
    m = build_topic_map(run.name, run.topic_ids, run.topic, members)
    gone = next(t for t in m.topics if t.id == "books-a")
    assert (gone.label, gone.items, gone.balance) == (None, 0, {})
    assert "1 of run toy-run's 5 topics are no longer in the graph" in caplog.text


def test_projection_edge_cases_and_damaged_input() -> None:
    assert project(np.zeros((0, 4))).shape == (0, 2)
    assert project(np.ones((1, 4))).tolist() == [[0.0, 0.0]]
    assert project(np.ones((3, 4))).tolist() == [[0.0, 0.0]] * 3  # identical topics: all at the centre
    line = project(np.array([[0.0, 0.0], [1.0, 1.0], [3.0, 3.0]]))
    assert np.allclose(line[:, 1], 0) and np.abs(line).max() == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="NaN or inf"):
        project(np.array([[np.nan, 1.0], [0.0, 1.0]]))
    with pytest.raises(ConfigError, match="2-D array"):
        project(np.zeros(3))
    with pytest.raises(ConfigError, match="2 topic ids but 3 topic embeddings"):
        build_topic_map("r", ["a", "b"], np.zeros((3, 2)), {})


def test_the_topic_map_loads_no_torch() -> None:
    assert loaded_after(["graphrec.serve.topic_map"], ("torch", "neo4j", "fastapi")) == []
