"""The fast path of ``GET /recommend`` (graphrec.serve.http.RecommendFastPath) on a real run folder with random
embeddings, the FastAPI app in-process: a well-formed request is answered without FastAPI's stack, with the
same status, headers and JSON as the route answers the same request; anything the route must validate goes
on to it; both are counted under the route's path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from graphrec.serve.http import RecommendFastPath, _fast_query, create_app
from graphrec.serve.service import Service
from graphrec.train.rundir import CONFIG_FILE, METRICS_FILE, save_embeddings, save_split


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Service:
    """A service over a run of 50 users and 120 items in two scenarios, 8-d, 10 interactions per user."""
    folder = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(5)
    items = [("books" if k % 2 else "movies", f"i{k}") for k in range(120)]
    emb = {
        "user": rng.standard_normal((50, 8), dtype=np.float32),
        "item": rng.standard_normal((120, 8), dtype=np.float32),
        "topic": np.zeros((0, 8), dtype=np.float32),
    }
    pairs = np.unique(np.stack([np.repeat(np.arange(50), 10), rng.integers(0, 120, 500)]), axis=1)
    save_embeddings(folder, emb, user_ids=[f"u{k}" for k in range(50)], item_keys=items, topic_ids=[])
    save_split(folder, pairs, np.zeros((2, 0), dtype=np.int64), np.zeros((2, 0), dtype=np.int64), {})
    (folder / CONFIG_FILE).write_text(json.dumps({"target": "books", "model": {"name": "synthetic"}}))
    (folder / METRICS_FILE).write_text(json.dumps({}))
    s = Service(home=folder.parent)
    s.reload(folder)
    return s


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"user=u1", ("u1", None, 20)),
        (b"user=u1&k=7&scenario=movies", ("u1", "movies", 7)),
        (b"k=1000&user=a%20b%C3%A9", ("a bé", None, 1000)),  # percent-decoded as UTF-8, as FastAPI does
        (b"user=u1&k=1", ("u1", None, 1)),
    ],
)
def test_well_formed_queries_take_the_fast_path(query: bytes, expected: tuple[str, str | None, int]) -> None:
    assert _fast_query(query) == expected


@pytest.mark.parametrize(
    "query",
    [
        b"",  # no user: the route's 422
        b"user=",
        b"user=u1&k=0",
        b"user=u1&k=1001",
        b"user=u1&k=ten",
        b"user=u1&k=-3",
        b"user=u1&k=%2B5",  # "+5": whatever the route's validation makes of it
        b"user=u1&scenario=",
        b"user=u1&user=u2",  # repeated
        b"user=u1&via=route",  # unknown parameter (the route ignores it)
    ],
)
def test_everything_else_goes_on_to_the_route(query: bytes) -> None:
    assert _fast_query(query) is None


async def _call(app: Any, path: str, query: bytes) -> tuple[int, dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "query_string": query, "headers": []}
    await app(scope, receive, send)
    return sent[0]["status"], json.loads(sent[1]["body"])


def test_the_fast_path_answers_without_the_app_behind_it(service: Service) -> None:
    import asyncio

    behind: list[bytes] = []

    async def route(scope: Any, receive: Any, send: Any) -> None:  # stands in for FastAPI: records what reaches it
        behind.append(scope["query_string"])
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    fast = RecommendFastPath(route, service=service, route="the route")
    status, body = asyncio.run(_call(fast, "/recommend", b"user=u3&k=4"))
    assert status == 200 and body["user"] == "u3" and len(body["items"]) == 4 and behind == []
    status, body = asyncio.run(_call(fast, "/recommend", b"user=nobody"))  # an error of the run: answered here too
    assert status == 404 and "user 'nobody' is not in run" in body["detail"] and behind == []
    for path, query in (("/recommend", b"user=u3&k=0"), ("/similar-items", b"item=i1"), ("/recommend", b"")):
        assert asyncio.run(_call(fast, path, query))[0] == 299
    assert behind == [b"user=u3&k=0", b"item=i1", b""]


def test_the_fast_path_and_the_route_answer_alike(service: Service) -> None:
    client = TestClient(create_app(service))
    for query in ("user=u3&k=7", "user=u4&scenario=movies&k=3", "user=u5", "user=nobody", "user=u3&scenario=comics"):
        fast = client.get(f"/recommend?{query}")
        routed = client.get(f"/recommend?{query}&via=route")  # an unknown parameter: FastAPI's route answers
        assert fast.status_code == routed.status_code, query
        assert fast.content == routed.content, query
        assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
        assert fast.headers["content-length"] == routed.headers["content-length"]
    assert client.get("/recommend?user=u3").json()["items"] == [
        {"item": i.item, "title": i.title, "rank": i.rank, "score": i.score}
        for i in service.current.recommend(["u3"], k=20)[0][0].items
    ]
    metrics = client.get("/metrics").text
    # 5 queries × 2 paths, and the last call: all under the route's path
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith('graphrec_http_requests_total{route="/recommend",method="GET"')
    )
    assert counted == 11


def test_no_run_loaded_is_503_on_both_paths(tmp_path: Path) -> None:
    """No run loaded: the fast path answers 503 as the route does (not a 500)."""
    client = TestClient(create_app(Service(home=tmp_path)))
    fast, routed = client.get("/recommend?user=u1"), client.get("/recommend?user=u1&via=route")
    assert fast.status_code == routed.status_code == 503
    assert fast.json() == routed.json() and "no run loaded yet" in fast.json()["detail"]
