"""The page ``graphrec serve`` shows at ``/``: one HTML file, one script and one style sheet from the
package (``graphrec/serve/static/``; no build step, nothing fetched from elsewhere), and the JSON it needs
besides the service's own endpoints: ``/scenarios``, ``/users`` and ``/topic-map``.

:data:`router` is included by :func:`graphrec.serve.http.create_app`; its endpoints read the app's
:class:`~graphrec.serve.service.Service` (``app.state.service``). Graphrec errors raised here are answered
by the app's error handlers (4xx with the message). FastAPI is imported here, so only the service imports
this module.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from graphrec.serve.catalogue import MAX_USERS, sample_users, scenarios
from graphrec.serve.service import NoStoreError, NotFoundError, Service
from graphrec.serve.topic_map import DEFAULT_LIMIT, topic_map

logger = logging.getLogger(__name__)

#: The page's files, shipped as package data.
STATIC = Path(__file__).resolve().parent / "static"
#: The files ``/static/{name}`` serves, with their media types (nothing else is served from the folder).
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "page.js": "text/javascript; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
}
#: Most topics one ``/topic-map`` answer draws.
MAX_TOPICS = 5000

router = APIRouter()


def _service(request: Request) -> Service:
    """The app's service (set by ``create_app``)."""
    service: Service = request.app.state.service
    return service


def _file(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name], headers={"Cache-Control": "no-cache"})


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    """The page."""
    return _file("index.html")


@router.get("/static/{name}", include_in_schema=False)
def static(name: str) -> FileResponse:
    """One of the page's files (:data:`STATIC_FILES`).

    Raises:
        NotFoundError: Any other name.
    """
    if name not in STATIC_FILES:
        raise NotFoundError(f"no static file {name!r}; the page's files are {sorted(STATIC_FILES)}")
    return _file(name)


@router.get("/scenarios", tags=["page"])
def get_scenarios(request: Request) -> dict[str, Any]:
    """The served run's scenarios with their item counts, and its target scenario."""
    run = _service(request).current
    return {"run": run.name, "target": run.target, "scenarios": scenarios(run.record)}


@router.get("/users", tags=["page"])
def get_users(
    request: Request,
    scenario: str | None = Query(None, description="scenario whose interactions are counted (default: the target)"),
    limit: int = Query(100, ge=1, le=MAX_USERS, description="users listed"),
    cold: bool | None = Query(None, description="true: only users without history in the scenario; false: with"),
) -> dict[str, Any]:
    """The first ``limit`` users of the served run by id, with their interactions in the scenario and in all."""
    run = _service(request).current
    return sample_users(run.record, scenario or run.target, limit=limit, cold=cold).as_json()


@router.get("/topic-map", tags=["page"])
def get_topic_map(
    request: Request,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_TOPICS, description="topics drawn (the largest)"),
) -> dict[str, Any]:
    """The served run's topics in 2-D (PCA of their embeddings), with size and scenario balance from the graph."""
    service = _service(request)
    run = service.current
    if service.store is None:
        raise NoStoreError(
            "no graph store configured: the topic map's sizes and scenario balance come from the graph; restart "
            "graphrec serve without --no-store"
        )
    record = run.record
    return topic_map(service.store, run.name, record.topic_ids, record.topic, limit=limit).as_json()
