"""LLM topics: ask a chat model for each item's topics through any OpenAI-compatible endpoint.

Works with vLLM, Ollama, llama.cpp's server, OpenAI, ... (``POST {base_url}/chat/completions``).
Items are sent in small batches; the answer must be JSON (validated); requests run with a
concurrency limit and are retried with exponential backoff on transient failures (connection
errors, timeouts, HTTP 408/409/429/5xx, honouring ``Retry-After``); every response is cached on
disk, keyed by endpoint, model and prompt, so a rerun sends nothing. ``on_error`` decides what a
batch that still fails does: ``"raise"`` stops, ``"skip"`` counts its items as failed and goes on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from graphrec.errors import ConfigError, GraphRecError
from ingest.topics.base import TopicSet, labelled_topics

logger = logging.getLogger(__name__)

SOURCE = "llm"
API_KEY_ENV = "GRAPHREC_LLM_API_KEY"
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
RESPONSE_FORMATS = ("json_object", "json_schema", "json_object_schema")
_TOPIC_RE = re.compile(r"^[\w][\w '&/-]{0,38}[\w]$", re.UNICODE)
_PLACEHOLDER_RE = re.compile(r"^topics?[ _-]?\d*$")

SYSTEM_PROMPT = (
    "You label catalogue items (movies, books, ...) with short topics that a reader or viewer would "
    "recognise across media: themes, settings, genres, subjects. Use 1 to 4 lowercase words per topic, "
    "no names of people or titles, 1 to 3 topics per item. Answer only with JSON of the form "
    '{"items": [{"index": 1, "topics": ["topic", ...]}, ...]} covering every item.'
)


@dataclass(frozen=True)
class LLMConfig:
    """How to reach the chat model.

    Attributes:
        base_url: Endpoint root, e.g. ``http://127.0.0.1:8000/v1``.
        model: Model name the endpoint expects.
        api_key: Bearer token, or ``None`` (read from ``$GRAPHREC_LLM_API_KEY`` by the CLI; never logged).
        max_concurrency: Requests in flight at once (default 4).
        max_retries: Retries of a failing request (default 4).
        backoff_seconds: First retry delay; doubles each time, with jitter (default 1.0).
        timeout_seconds: Per-request timeout (default 120).
        batch_size: Items per request (default 10).
        temperature: Sampling temperature (default 0).
        on_error: ``"raise"`` or ``"skip"`` (default).
        response_format: How to ask for JSON: ``"json_object"`` (default; any OpenAI-compatible server),
            ``"json_schema"`` (OpenAI / vLLM structured outputs with the answer's JSON schema), or
            ``"json_object_schema"`` (llama.cpp / llama-cpp-python: ``json_object`` plus a ``schema``,
            which constrains generation to the exact shape).
    """

    base_url: str
    model: str
    api_key: str | None = None
    max_concurrency: int = 4
    max_retries: int = 4
    backoff_seconds: float = 1.0
    timeout_seconds: float = 120.0
    batch_size: int = 10
    temperature: float = 0.0
    on_error: str = "skip"
    response_format: str = "json_object"

    def __post_init__(self) -> None:
        if self.response_format not in RESPONSE_FORMATS:
            raise ConfigError(f"response_format must be one of {list(RESPONSE_FORMATS)}, got {self.response_format!r}")
        if self.on_error not in ("raise", "skip"):
            raise ConfigError(f"on_error must be 'raise' or 'skip', got {self.on_error!r}")
        if self.max_concurrency < 1 or self.batch_size < 1 or self.max_retries < 0:
            raise ConfigError("max_concurrency and batch_size must be >= 1, max_retries >= 0")

    def __repr__(self) -> str:  # never show the key
        return f"LLMConfig(base_url={self.base_url!r}, model={self.model!r}, api_key={'***' if self.api_key else None})"


class LLMError(GraphRecError):
    """A chat request failed after its retries, or its answer was unusable."""


class ResponseCache:
    """Chat responses keyed by sha256 of (endpoint, model, request body), in SQLite (thread-safe)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS response (key TEXT PRIMARY KEY, content TEXT NOT NULL)")
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT content FROM response WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, content: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO response VALUES (?, ?)", [key, content])

    def close(self) -> None:
        self._db.close()


class ChatClient:
    """Minimal OpenAI-compatible chat client: retries with backoff, response cache, request counting."""

    def __init__(
        self, config: LLMConfig, cache: ResponseCache | None = None, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.config = config
        self.cache = cache
        self._sleep = sleep
        self.requests = 0
        self.retries = 0
        self.cache_hits = 0
        self._count_lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self._count_lock:
            setattr(self, name, getattr(self, name) + 1)

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any] | None = None) -> str:
        """Send one chat request (or answer from the cache) and return the message content.

        Args:
            messages: Chat messages.
            schema: JSON schema of the answer, used by the ``json_schema`` / ``json_object_schema`` formats.

        Raises:
            LLMError: Non-retryable HTTP error, or retries exhausted.
        """
        fmt = self.config.response_format
        response_format: dict[str, Any] = {"type": "json_object"}
        if schema is not None and fmt == "json_schema":
            response_format = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
        elif schema is not None and fmt == "json_object_schema":
            response_format = {"type": "json_object", "schema": schema}
        body = {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "response_format": response_format,
        }
        key = hashlib.sha256(json.dumps([self.config.base_url, body], sort_keys=True).encode()).hexdigest()
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            self._count("cache_hits")
            return hit
        content = self._post(body)
        if self.cache is not None:
            self.cache.put(key, content)
        return content

    def _post(self, body: dict[str, Any]) -> str:
        url = self.config.base_url.rstrip("/") + "/chat/completions"
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        data = json.dumps(body).encode()
        delay = self.config.backoff_seconds
        for attempt in range(self.config.max_retries + 1):
            self._count("requests")
            retry_after: float | None = None
            try:
                req = urllib.request.Request(url, data=data, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.config.timeout_seconds) as resp:
                    payload = json.loads(resp.read().decode("utf-8"))
                return str(payload["choices"][0]["message"]["content"])
            except urllib.error.HTTPError as e:
                detail = e.read().decode("utf-8", "replace")[:300]
                if e.code not in _RETRY_STATUS:
                    raise LLMError(
                        f"{url} answered HTTP {e.code}: {detail}; check --llm-model, the key and the URL"
                    ) from e
                problem = f"HTTP {e.code}"
                if e.headers.get("Retry-After", "").replace(".", "", 1).isdigit():
                    retry_after = float(e.headers["Retry-After"])
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                problem = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
            except (ValueError, KeyError, IndexError, TypeError) as e:
                raise LLMError(f"{url} did not answer in the OpenAI chat format: {e}") from e
            if attempt == self.config.max_retries:
                raise LLMError(f"{url} failed {attempt + 1} times, last: {problem}")
            self._count("retries")
            wait = retry_after if retry_after is not None else delay * (1 + random.random() * 0.25)
            logger.warning(
                "LLM request failed (%s); retry %d/%d in %.1f s", problem, attempt + 1, self.config.max_retries, wait
            )
            self._sleep(wait)
            delay *= 2
        raise AssertionError("unreachable")


def _prompt(texts: Sequence[str]) -> list[dict[str, str]]:
    listing = "\n".join(f"{k}. {t[:400]}" for k, t in enumerate(texts, start=1))
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": f"Items:\n{listing}"}]


def normalise_topic(value: Any) -> str | None:
    """A cleaned topic label, or ``None`` if it is not a short phrase.

    Also ``None`` for what is not a topic however well formed: a label without a letter (``"2019"``:
    small models answer with years) and the prompt's own placeholder echoed back (``"topic"``,
    ``"topic 2"``, ``"topics"``).
    """
    if not isinstance(value, str):
        return None
    label = re.sub(r"\s+", " ", value.strip().lower().strip(".,;:!\"'"))
    if not _TOPIC_RE.match(label) or len(label.split()) > 4:
        return None
    if not re.search(r"[^\W\d_]", label) or _PLACEHOLDER_RE.match(label):
        return None
    return label


def answer_schema(n_items: int) -> dict[str, Any]:
    """JSON schema of a batch answer with exactly ``n_items`` entries."""
    topic = {"type": "string", "maxLength": 40}
    entry = {
        "type": "object",
        "properties": {"index": {"type": "integer", "minimum": 1, "maximum": n_items},
                       "topics": {"type": "array", "items": topic, "minItems": 1, "maxItems": 3}},
        "required": ["index", "topics"],
    }  # fmt: skip
    return {
        "type": "object",
        "properties": {"items": {"type": "array", "items": entry, "minItems": n_items, "maxItems": n_items}},
        "required": ["items"],
    }


def parse_answer(content: str, n_items: int) -> tuple[dict[int, list[str]], list[int]]:
    """Validate a batch answer: JSON ``{"items": [{"index": k, "topics": [...]}, ...]}``.

    Returns:
        ``(topics by 1-based index, indices with no valid topic)``.

    Raises:
        LLMError: Not JSON, or not of that shape.
    """
    try:
        data = json.loads(content)
    except json.JSONDecodeError as e:
        raise LLMError(f"answer is not JSON ({e.msg}): {content[:200]!r}") from e
    entries = data.get("items") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise LLMError(f"answer has no 'items' list: {content[:200]!r}")
    out: dict[int, list[str]] = {}
    for entry in entries:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("index"), int)
            or not isinstance(entry.get("topics"), list)
        ):
            raise LLMError(f"malformed item entry {entry!r}")
        topics = [t for t in (normalise_topic(v) for v in entry["topics"]) if t]
        if 1 <= entry["index"] <= n_items and topics:
            out[entry["index"]] = list(dict.fromkeys(topics))[:3]
    return out, [k for k in range(1, n_items + 1) if k not in out]


def llm_topics(
    scenarios: Sequence[str],
    ids: Sequence[str],
    texts: Sequence[str],
    client: ChatClient,
    *,
    min_items: int = 2,
    progress: bool = False,
) -> TopicSet:
    """Ask the model for every item's topics; keep topics named for at least ``min_items`` items.

    Raises:
        LLMError: A batch failed and ``on_error = "raise"``.
    """
    cfg = client.config
    batches = [list(range(s, min(s + cfg.batch_size, len(texts)))) for s in range(0, len(texts), cfg.batch_size)]
    answers: dict[int, list[str]] = {}
    failed: list[str] = []

    def run(batch: list[int]) -> tuple[dict[int, list[str]], list[int], LLMError | None]:
        """``(topics by row, rows without a valid topic, error of the whole batch)``."""
        try:
            content = client.complete(_prompt([texts[k] for k in batch]), answer_schema(len(batch)))
            parsed, invalid = parse_answer(content, len(batch))
        except LLMError as e:
            return {}, batch, e
        bad_rows = [batch[k - 1] for k in invalid]
        if invalid and cfg.on_error == "raise":
            return {}, bad_rows, LLMError(f"answer gives no valid topics for items {invalid}: {content[:200]!r}")
        if invalid:
            logger.warning("no valid topics for %d of %d items in a batch", len(invalid), len(batch))
        return {batch[k - 1]: topics for k, topics in parsed.items()}, bad_rows, None

    with (
        ThreadPoolExecutor(cfg.max_concurrency) as pool,
        tqdm(total=len(texts), desc="llm topics", disable=not progress) as bar,
    ):
        for batch, (topics_by_row, bad_rows, error) in zip(batches, pool.map(run, batches)):
            bar.update(len(batch))
            if error is not None and cfg.on_error == "raise":
                raise LLMError(f"LLM topics for items {[ids[k] for k in bad_rows[:3]]}...: {error}") from error
            if error is not None:
                logger.warning("skipping %d items: %s", len(bad_rows), error)
            answers.update(topics_by_row)
            failed += [ids[k] for k in bad_rows]
    topics = labelled_topics(
        SOURCE, ((scenarios[row], ids[row], labels) for row, labels in sorted(answers.items())), min_items=min_items
    )
    topics.meta |= {
        "model": cfg.model,
        "failed_items": len(failed),
        "requests": client.requests,
        "retries": client.retries,
        "cache_hits": client.cache_hits,
    }
    return topics
