"""A minimal real OpenAI-compatible chat server for tests (http.server on 127.0.0.1).

It speaks ``POST /v1/chat/completions`` and answers batch topic prompts deterministically: an item
gets the synthetic-data theme whose words its text contains. ``fail`` queues failures to serve
first: an HTTP status (e.g. 503, or (429, retry_after)), ``"sleep"`` (answers after the client's
timeout), ``"garbage"`` (a non-JSON message content) or ``"partial"`` (an answer missing items).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ingest.sources.synthetic import THEMES


@dataclass
class ServerState:
    fail: list[Any] = field(default_factory=list)
    requests: int = 0
    auth: list[str | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def topics_for(text: str) -> list[str]:
    words = set(re.findall(r"[a-z]+", text.lower()))
    found = [theme for theme, vocab in THEMES.items() if words & set(vocab)]
    return found[:2] or ["miscellany"]


def _answer(body: dict[str, Any], mode: str | None) -> str:
    listing = body["messages"][-1]["content"].split("\n")[1:]
    items = []
    for line in listing:
        index, _, text = line.partition(". ")
        items.append({"index": int(index), "topics": topics_for(text)})
    if mode == "partial":
        items = items[:-1]
    return "this is not json" if mode == "garbage" else json.dumps({"items": items})


@contextmanager
def chat_server() -> Iterator[tuple[str, ServerState]]:
    """Run the server in a thread; yields ``(base_url, state)``."""
    state = ServerState()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.requests += 1
                state.auth.append(self.headers.get("Authorization"))
                action = state.fail.pop(0) if state.fail else None
            if action == "sleep":
                time.sleep(1.5)
            if isinstance(action, (int, tuple)):
                code, retry_after = (action, None) if isinstance(action, int) else action
                self.send_response(code)
                if retry_after is not None:
                    self.send_header("Retry-After", str(retry_after))
                self.end_headers()
                self.wfile.write(b'{"error": {"message": "scripted failure"}}')
                return
            if self.path != "/v1/chat/completions":
                self.send_response(404)
                self.end_headers()
                return
            content = _answer(body, action if isinstance(action, str) else None)
            payload = {
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
                "model": body["model"],
            }
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    finally:
        server.shutdown()
        server.server_close()
