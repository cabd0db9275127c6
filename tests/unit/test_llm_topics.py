"""The LLM topic client against a real local HTTP server speaking the OpenAI chat protocol."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphrec.errors import ConfigError
from ingest.topics.llm import ChatClient, LLMConfig, LLMError, ResponseCache, llm_topics, parse_answer
from tests.llm_server import chat_server

TEXTS = ["A film about a starship and an alien.", "A novel about a detective and a murder.", "A book about a ghost."]


def client(url: str, tmp_path: Path | None = None, sleeps: list[float] | None = None, **kw: object) -> ChatClient:
    config = LLMConfig(base_url=url, model="test-model", backoff_seconds=1.0, timeout_seconds=0.5, **kw)  # type: ignore[arg-type]
    cache = ResponseCache(tmp_path / "llm.sqlite") if tmp_path else None
    return ChatClient(config, cache, sleep=(sleeps.append if sleeps is not None else lambda s: None))


def test_topics_from_a_real_endpoint_with_key_and_cache(tmp_path: Path) -> None:
    with chat_server() as (url, state):
        c = client(url, tmp_path, api_key="sk-secret", batch_size=2)
        ts = llm_topics(["m", "b", "b"], ["1", "2", "3"], TEXTS, c, min_items=1)
        assert {t.label for t in ts.topics} == {"space", "crime", "horror"}
        assert {(m.item, m.topic, m.weight) for m in ts.memberships} == {
            ("1", "llm:space", 1.0), ("2", "llm:crime", 1.0), ("3", "llm:horror", 1.0)
        }  # fmt: skip
        assert state.requests == 2 and state.auth == ["Bearer sk-secret"] * 2
        assert "sk-secret" not in repr(c.config)
        again = client(url, tmp_path, batch_size=2)
        llm_topics(["m", "b", "b"], ["1", "2", "3"], TEXTS, again, min_items=1)
        assert state.requests == 2 and again.cache_hits == 2  # answered from the cache


def test_transient_failures_are_retried_with_backoff() -> None:
    sleeps: list[float] = []
    with chat_server() as (url, state):
        state.fail = [503, "sleep", (429, 3)]
        c = client(url, sleeps=sleeps)
        ts = llm_topics(["m"], ["1"], TEXTS[:1], c, min_items=1)
        assert [t.label for t in ts.topics] == ["space"]
        assert state.requests == 4 and c.retries == 3
        assert 1.0 <= sleeps[0] <= 1.25 and 2.0 <= sleeps[1] <= 2.5 and sleeps[2] == 3.0  # doubling; Retry-After wins


def test_non_retryable_errors_and_exhausted_retries() -> None:
    with chat_server() as (url, state):
        state.fail = [401]
        with pytest.raises(LLMError, match="HTTP 401"):
            client(url).complete([{"role": "user", "content": "Items:\n1. x"}])
        assert state.requests == 1
        state.fail = [500] * 3
        with pytest.raises(LLMError, match="failed 3 times, last: HTTP 500"):
            client(url, max_retries=2).complete([{"role": "user", "content": "Items:\n1. y"}])
        assert state.requests == 4


def test_unusable_answers_follow_on_error() -> None:
    with chat_server() as (url, state):
        state.fail = ["garbage", "partial"]
        ts = llm_topics(
            ["m", "b", "b"], ["1", "2", "3"], TEXTS, client(url, batch_size=1, max_concurrency=1), min_items=1
        )
        assert ts.meta["failed_items"] == 2 and [m.item for m in ts.memberships] == ["3"]
        state.fail = ["garbage"]
        with pytest.raises(LLMError, match="not JSON"):
            llm_topics(["m"], ["1"], TEXTS[:1], client(url, on_error="raise"), min_items=1)
        state.fail = ["partial"]
        with pytest.raises(LLMError, match="no valid topics for items \\[2\\]"):
            llm_topics(["m", "b"], ["1", "2"], TEXTS[:2], client(url, on_error="raise", batch_size=2), min_items=1)


def test_answer_validation() -> None:
    answer = '{"items": [{"index": 1, "topics": ["Space Opera!", "x", 3, "a very long topic with many words"]}]}'
    assert parse_answer(answer, 1) == ({1: ["space opera"]}, [])
    assert parse_answer('{"items": [{"index": 1, "topics": ["war"]}, {"index": 2, "topics": [""]}]}', 3) == (
        {1: ["war"]},
        [2, 3],
    )
    # what small models answer that is not a topic: years, the prompt's placeholder echoed back
    answer = (
        '{"items": [{"index": 1, "topics": ["topic", "2019", "1990s"]}, {"index": 2, "topics": ["Topic 2", "topics"]}]}'
    )
    assert parse_answer(answer, 2) == ({1: ["1990s"]}, [2])
    with pytest.raises(LLMError, match="malformed item entry"):
        parse_answer('{"items": [1, "x"]}', 1)
    with pytest.raises(ConfigError):
        LLMConfig(base_url="x", model="m", on_error="ignore")
