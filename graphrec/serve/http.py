"""The HTTP JSON API of ``graphrec serve`` (FastAPI): recommendations, explanations, similar items, learned
topics, health, metrics and reload, over a :class:`~graphrec.serve.service.Service`.

Every error is ``{"detail": "<what failed, the value, the fix>"}``: unknown user, item or scenario 404,
invalid parameters 422, an oversized batch or body 413, a missing or wrong bearer token 401, no store or
no run 503. ``GET /recommend`` awaits the run's scoring thread (:mod:`graphrec.serve.coalesce`); the
other scoring and store endpoints run in the thread pool, off the event loop. ``app.state.service`` is
the service (for routers added beside these, such as the page).
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams

from graphrec.errors import ConfigError, GraphRecError, InputDataError, RunFolderError, StoreError
from graphrec.serve.foldin import recommend_history
from graphrec.serve.metrics import CONTENT_TYPE, Metrics
from graphrec.serve.page import router as page_router
from graphrec.serve.service import (
    MAX_BATCH,
    MAX_K,
    NoStoreError,
    NotFoundError,
    NotReadyError,
    ScoredItem,
    ServedRun,
    Service,
    UserList,
)

logger = logging.getLogger(__name__)

#: Largest request body accepted (bytes): 1,000 users or a long history fit many times over.
MAX_BODY = 1 << 20
#: Most history entries of one new user.
MAX_HISTORY = 10_000
#: Paths answered without the bearer token: liveness, and the page's own files (HTML, script, style: no
#: data; the page sends the token, typed into it, with every request for data).
OPEN_PATHS = frozenset({"/healthz", "/"})
OPEN_PREFIXES = ("/static/",)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# --- request and response bodies ------------------------------------------------------------------
class Item(BaseModel):
    """One ranked item."""

    item: str
    title: str | None
    rank: int
    score: float


class UserRecommendations(BaseModel):
    """A user's list in a batch (``user`` is null for a user given by their history)."""

    user: str | None
    items: list[Item]


class Recommendations(BaseModel):
    """``GET /recommend``: one user's top-k."""

    run: str
    scenario: str
    user: str
    items: list[Item]


class HistoryEntry(BaseModel):
    """One interaction of a new user: an item id and, where the id is ambiguous, its scenario."""

    model_config = ConfigDict(extra="forbid")
    scenario: str | None = None
    item: str = Field(min_length=1)


class BatchRequest(BaseModel):
    """``POST /recommend``: known users by id, or one new user by history."""

    model_config = ConfigDict(extra="forbid")
    scenario: str | None = None
    k: int = Field(20, ge=1, le=MAX_K)
    users: list[str] | None = None
    history: list[HistoryEntry] | None = None
    skip_unknown: bool = False


class BatchRecommendations(BaseModel):
    """``POST /recommend``'s answer; ``unknown_users`` lists users left out with ``skip_unknown``."""

    run: str
    scenario: str
    results: list[UserRecommendations]
    unknown_users: list[str] = []


class SimilarItems(BaseModel):
    """``GET /similar-items``: items closest to ``item`` by cosine of their embeddings."""

    run: str
    scenario: str
    item: str
    title: str | None
    items: list[Item]


class Topic(BaseModel):
    """A learned topic affinity (INTERESTED_IN) of a user."""

    topic: str
    label: str | None
    source: str | None
    score: float | None
    rank: int | None
    run: str | None


class Topics(BaseModel):
    """``GET /topics``."""

    user: str
    topics: list[Topic]


class ReloadRequest(BaseModel):
    """``POST /reload``: the run folder to serve next (default: the latest complete run of the home)."""

    model_config = ConfigDict(extra="forbid")
    run: str | None = None


class Reloaded(BaseModel):
    """``POST /reload``'s answer."""

    run: str
    previous: str | None
    path: str | None
    seconds: float


# --- errors ----------------------------------------------------------------------------------------
class BodyTooLargeError(GraphRecError):
    """A batch over :data:`~graphrec.serve.service.MAX_BATCH` users or :data:`MAX_HISTORY` history entries."""


def _status(e: GraphRecError) -> int:
    """The HTTP status of a graphrec error."""
    if isinstance(e, NotFoundError):
        return 404
    if isinstance(e, BodyTooLargeError):
        return 413
    if isinstance(e, (NoStoreError, NotReadyError, StoreError)):
        return 503
    if isinstance(e, (InputDataError, RunFolderError)):
        return 422
    if isinstance(e, ConfigError):
        return 409
    return 422


def _validation_message(e: RequestValidationError) -> str:
    """Pydantic's findings as one sentence per problem: where, what, the value given."""
    parts = []
    for err in e.errors():
        loc = [str(x) for x in err.get("loc", ())]
        if loc and loc[0] in ("query", "path"):
            where = f"{loc[0]} parameter {'.'.join(loc[1:])}"
        elif loc[:1] == ["body"]:
            where = "body" if len(loc) == 1 else f"body field {'.'.join(loc[1:])}"
        else:
            where = ".".join(loc)
        msg = str(err.get("msg", "invalid"))
        if err.get("type") == "json_invalid":
            where = "body"
            msg = f"not valid JSON ({err.get('ctx', {}).get('error', 'decode error')} at character {loc[-1]})"
        elif loc == ["body"] and isinstance(err.get("input"), (bytes, str)):
            msg = "not a JSON object; send a JSON object with the header 'Content-Type: application/json'"
        given = ""
        if "input" in err and not isinstance(err["input"], (dict, list, bytes)):
            shown = repr(err["input"])
            given = f" (got {shown[:80]}{'...' if len(shown) > 80 else ''})"
        parts.append(f"{where}: {msg}{given}")
    return "; ".join(parts) + "; see /docs for the parameters"


# --- middleware --------------------------------------------------------------------------------------
class Guard:
    """Pure ASGI middleware: bearer-token check, request body limit, and the request metrics.

    Args:
        app: The wrapped application.
        token: The bearer token every path but :data:`OPEN_PATHS` and :data:`OPEN_PREFIXES` requires
            (``None``: no auth).
        metrics: Where finished requests are counted.
    """

    def __init__(self, app: ASGIApp, *, token: str | None, metrics: Metrics) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            headers = dict(scope["headers"])
            path = scope["path"]
            if self.expected is not None and path not in OPEN_PATHS and not path.startswith(OPEN_PREFIXES):
                given = headers.get(b"authorization", b"")
                if not hmac.compare_digest(given, self.expected):
                    what = "no bearer token" if not given else "a wrong token"
                    await _json(sending, 401, f"{what}: send the header 'Authorization: Bearer <token>' with the "
                                "token of $GRAPHREC_SERVE_TOKEN", {b"www-authenticate": b"Bearer"})  # fmt: skip
                    return
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > MAX_BODY:
                await _json(sending, 413, _too_large(int(length)))
                return
            await self.app(scope, _limited(receive), sending)
        finally:
            route = scope.get("route")
            self.metrics.observe(getattr(route, "path", "unmatched"), scope["method"], status,
                                 time.perf_counter() - start)  # fmt: skip


class RecommendFastPath:
    """Pure ASGI middleware: answers a well-formed ``GET /recommend`` without FastAPI's request machinery.

    ``GET /recommend`` is the request an application sends for every page view, and under concurrent load
    the event loop's share of it is mostly routing, parameter validation and response rendering, not the
    ranking (which runs on the scoring thread). A request whose query holds only ``user`` (non-empty),
    ``scenario`` (non-empty) and ``k`` (digits, 1 to :data:`MAX_K`), each once, is answered here with the
    same JSON and the same errors as the FastAPI route; anything else (a bad or missing parameter, an
    unknown one) goes on to the route, whose validation answers it. The route stays in the OpenAPI
    document, and the request is counted under its path.

    Args:
        app: The wrapped application (FastAPI's stack).
        service: What the route answers from.
        route: The ``GET /recommend`` route (``scope["route"]`` for the metrics).
    """

    def __init__(self, app: ASGIApp, *, service: Service, route: Any) -> None:
        self.app = app
        self.service = service
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/recommend" and scope["method"] == "GET":
            query = _fast_query(scope["query_string"])
            if query is not None:
                scope["route"] = self.route
                try:
                    response = await _recommend_one(self.service, *query)
                except GraphRecError as e:  # as the route's exception handler answers it
                    response = _error_response(e, "GET", "/recommend")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


#: The ``k`` a fast ``GET /recommend`` takes: plain digits (anything else is the route's to validate).
_DIGITS = re.compile(r"[0-9]{1,6}")
_FAST_PARAMS = frozenset({"user", "scenario", "k"})


def _fast_query(query_string: bytes) -> tuple[str, str | None, int] | None:
    """``(user, scenario, k)`` of a ``GET /recommend`` query the fast path may answer, else ``None``."""
    params = QueryParams(query_string)  # parsed as FastAPI parses it
    items = params.multi_items()
    if len(items) != len(params) or not params.keys() <= _FAST_PARAMS:
        return None  # a repeated or unknown parameter
    user, scenario, k = params.get("user"), params.get("scenario"), params.get("k", "20")
    if not user or scenario == "" or not _DIGITS.fullmatch(k) or not 1 <= int(k) <= MAX_K:
        return None
    return user, scenario, int(k)


async def _recommend_one(service: Service, user: str, scenario: str | None, k: int) -> JSONResponse:
    """``GET /recommend``'s answer (the route's and the fast path's): scored on the run's scoring thread,
    with the requests of the moment."""
    run = service.current
    found = await run.recommend_async(user, scenario=scenario, k=k)
    return JSONResponse({"run": run.name, "scenario": run.scenario(scenario).name, "user": user,
                         "items": _items(found.items)})  # fmt: skip


def _error_response(e: GraphRecError, method: str, path: str) -> JSONResponse:
    """The answer to a graphrec error: its status (:func:`_status`), its message; logged from 500 up."""
    status = _status(e)
    if status >= 500:
        logger.warning("%s %s: %s", method, path, e)
    return JSONResponse({"detail": str(e)}, status_code=status)


def _too_large(size: int) -> str:
    return f"request body of {size} bytes is over the limit of {MAX_BODY}; send at most {MAX_BATCH} users per request"


def _limited(receive: Receive) -> Receive:
    """``receive`` that raises a 413 ``HTTPException`` once the body passes :data:`MAX_BODY` (a chunked
    body announces no length; FastAPI re-raises an ``HTTPException`` from reading the body as it is)."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY:
                raise HTTPException(status_code=413, detail=_too_large(seen))
        return message

    return wrapped


async def _json(send: Send, status: int, detail: str, headers: dict[bytes, bytes] | None = None) -> None:
    body = JSONResponse({"detail": detail}).body
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": raw + list((headers or {}).items())})
    await send({"type": "http.response.body", "body": body})


# --- the application -----------------------------------------------------------------------------------
def _items(items: list[ScoredItem]) -> list[dict[str, Any]]:
    """The JSON of a ranked list (the :class:`Item` schema; built directly: no validation on the hot path)."""
    return [{"item": i.item, "title": i.title, "rank": i.rank, "score": i.score} for i in items]


def create_app(service: Service, *, token: str | None = None) -> FastAPI:
    """The FastAPI application over ``service``.

    Args:
        service: The run (and store) to answer from; ``app.state.service``.
        token: Bearer token required on every path except ``/healthz`` and the page's files (``None``: open).
    """
    metrics = Metrics()
    app = FastAPI(
        title="graphrec",
        summary="Recommendations, explanations, similar items and learned topics from a trained graphrec run.",
        version="1",
    )
    app.state.service = service
    app.state.metrics = metrics

    @app.exception_handler(GraphRecError)
    async def graphrec_error(request: Request, e: GraphRecError) -> JSONResponse:
        return _error_response(e, request.method, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(e)}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, e: Exception) -> JSONResponse:
        logger.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse(
            {"detail": f"internal error ({type(e).__name__}); the service log has the traceback"}, status_code=500
        )

    @app.get("/recommend", response_model=Recommendations, tags=["recommend"])
    async def recommend_one(
        user: str = Query(min_length=1, description="Raw user id, as ingested."),
        scenario: str | None = Query(None, description="Scenario to recommend from (default: the run's target)."),
        k: int = Query(20, ge=1, le=MAX_K, description="List length."),
    ) -> JSONResponse:
        """Top-k items for one user the run knows (items they interacted with are never recommended)."""
        return await _recommend_one(service, user, scenario, k)

    @app.post("/recommend", response_model=BatchRecommendations, tags=["recommend"])
    async def recommend_batch(body: BatchRequest) -> JSONResponse:
        """Top-k for a batch of known users (``users``, at most 1,000), or for one user the model has never
        seen, given by their interactions in any scenario (``history``: fold-in, no retraining)."""
        if (body.users is None) == (body.history is None):
            raise InputDataError('give either "users" (known user ids) or "history" (a new user\'s items), not both')
        if body.users is not None and not body.users:
            raise InputDataError('"users" is empty; give at least one user id')
        if body.users is not None and len(body.users) > MAX_BATCH:
            raise BodyTooLargeError(f"{len(body.users)} users in one request; send at most {MAX_BATCH} per request")
        if body.history is not None and not body.history:
            raise InputDataError('"history" is empty; give at least one {"item": id} the new user interacted with')
        if body.history is not None and len(body.history) > MAX_HISTORY:
            raise BodyTooLargeError(f"{len(body.history)} history entries; send at most {MAX_HISTORY}")

        def work() -> dict[str, Any]:
            run = service.current
            scenario = run.scenario(body.scenario).name
            if body.users is not None:
                lists, unknown = run.recommend(body.users, scenario=scenario, k=body.k, skip_unknown=body.skip_unknown)
            else:
                lists, unknown = _fold_in(run, [(h.scenario, h.item) for h in body.history or []], scenario, body.k), []
            results = [{"user": u.user, "items": _items(u.items)} for u in lists]
            return {"run": run.name, "scenario": scenario, "results": results, "unknown_users": unknown}

        return JSONResponse(await run_in_threadpool(work))

    @app.get("/explain", tags=["explain"])
    async def explain(
        user: str = Query(min_length=1, description="Raw user id."),
        item: str = Query(min_length=1, description="Raw item id."),
        scenario: str | None = Query(None, description="The item's scenario (default: the run's target)."),
        from_scenario: str | None = Query(None, description="Only paths from the user's items of this scenario."),
        limit: int = Query(10, ge=1, le=100, description="Paths of each kind."),
    ) -> JSONResponse:
        """Why ``item`` is recommended to ``user``: topic paths and shared-user paths in the graph, with the
        RECOMMENDED edge's score and rank where write-back stored them."""

        def work() -> dict[str, Any]:
            found = service.explain(user=user, item=item, scenario=scenario, from_scenario=from_scenario, limit=limit)
            return dataclasses.asdict(found)

        return JSONResponse(jsonable_encoder(await run_in_threadpool(work)))

    @app.get("/similar-items", response_model=SimilarItems, tags=["recommend"])
    async def similar_items(
        item: str = Query(min_length=1, description="Raw item id."),
        scenario: str | None = Query(None, description="The item's scenario (default: the run's target)."),
        k: int = Query(20, ge=1, le=MAX_K, description="List length."),
    ) -> JSONResponse:
        """Items of the same scenario closest to ``item`` (cosine of the run's item embeddings)."""

        def work() -> dict[str, Any]:
            run = service.current
            name, items = run.similar_items(item, scenario=scenario, k=k)
            return {"run": run.name, "scenario": name, "item": item, "title": run.title(name, item),
                    "items": _items(items)}  # fmt: skip

        return JSONResponse(await run_in_threadpool(work))

    @app.get("/topics", response_model=Topics, tags=["explain"])
    async def topics(
        user: str = Query(min_length=1, description="Raw user id."),
        k: int = Query(10, ge=1, le=100, description="Topics at most."),
    ) -> JSONResponse:
        """The user's learned topics (INTERESTED_IN, written back by training), best first."""
        rows = await run_in_threadpool(service.topics, user, k=k)
        return JSONResponse(jsonable_encoder({"user": user, "topics": [Topic(**row) for row in rows]}))

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is alive (no auth needed)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        """Ready when a run is loaded and the graph store (if configured) answers; 503 otherwise."""
        try:
            run = service.current
            await run_in_threadpool(service.ping)
        except GraphRecError as e:
            return JSONResponse({"detail": f"not ready: {e}"}, status_code=503)
        store = "reachable" if service.store is not None else "not configured"
        return JSONResponse({"status": "ready", "run": run.name, "store": store})

    @app.get("/metrics", response_class=PlainTextResponse, tags=["operations"])
    async def prometheus() -> PlainTextResponse:
        """Request counts, latency histograms and the served run, in the Prometheus text format."""
        run = service._current
        text = metrics.render(
            run=run.name if run else None, target=run.target if run else None,
            loaded_at=run.loaded_at if run else None, reloads=service.reloads,
        )  # fmt: skip
        return PlainTextResponse(text, media_type=CONTENT_TYPE)

    @app.post("/reload", response_model=Reloaded, tags=["operations"])
    def reload(body: ReloadRequest | None = None) -> Reloaded:
        """Load a run (``{"run": folder}``, default the latest of the home) and swap it in atomically:
        requests in flight finish on the old run, later ones get the new one; a run that fails to load
        leaves the old one serving."""
        t0 = time.perf_counter()
        new, old = service.reload(Path(body.run) if body and body.run else None)
        return Reloaded(
            run=new.name, previous=old.name if old else None, path=str(new.path) if new.path else None,
            seconds=round(time.perf_counter() - t0, 3),
        )  # fmt: skip

    app.include_router(page_router)  # the HTML page and what it reads (graphrec/serve/page.py)

    route = next(r for r in app.routes if getattr(r, "path", None) == "/recommend" and "GET" in r.methods)  # type: ignore[attr-defined]
    app.add_middleware(RecommendFastPath, service=service, route=route)
    app.add_middleware(Guard, token=token, metrics=metrics)  # added last: outside, so auth and metrics cover both
    return app


def _fold_in(run: ServedRun, history: list[tuple[str | None, str]], scenario: str, k: int) -> list[UserList]:
    """The top-k of a new user from their history (:func:`graphrec.serve.foldin.recommend_history`)."""
    recs = recommend_history(run.record, history, scenario=scenario, k=k)
    return [UserList(None, [ScoredItem(r.item_id, run.title(scenario, r.item_id), r.rank, r.score) for r in recs])]
