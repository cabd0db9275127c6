"""``graphrec serve`` as a real process on a free loopback port, over runs trained on a small synthetic graph
in each store: every endpoint over real HTTP, its answers checked against the library on the same run,
bad requests answered 4xx with a message, the bearer token, the metrics, a reload under traffic with no
failed request, and a clean exit on SIGTERM.

One service process per store (module-scoped, with the token set); the tests run in file order and the
last one stops it with SIGTERM.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphrec.serve.explain import explain
from graphrec.serve.foldin import recommend_history
from graphrec.serve.recommend import item_titles, recommend
from graphrec.store.arcade_process import free_port
from graphrec.store.connect import StoreConfig, open_store
from graphrec.train.record import RunRecord
from graphrec.train.rundir import load_run
from tests.helpers import cli_args, invoke

TOKEN = "s3cret-test-token"


@dataclass
class Served:
    """A running service and what it serves."""

    cfg: StoreConfig
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    run_a: RunRecord
    run_b: RunRecord
    conns: list[http.client.HTTPConnection] = field(default_factory=list)

    def call(
        self, method: str, path: str, body: Any = None, *, token: str | None = TOKEN, raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:  # fmt: skip
        """One request on a fresh connection: ``(status, JSON body or text)``."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            h = dict(headers or {})
            if token is not None:
                h["Authorization"] = f"Bearer {token}"
            data = raw if raw is not None else None if body is None else json.dumps(body).encode()
            if body is not None:
                h.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            text = resp.read().decode()
            kind = resp.getheader("content-type", "")
            return resp.status, json.loads(text) if kind.startswith("application/json") else text
        finally:
            conn.close()


def _wait_ready(served: Served, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.proc.poll() is not None:
            raise AssertionError(f"graphrec serve exited with {served.proc.returncode}: {served.log.read_text()}")
        try:
            status, _ = served.call("GET", "/readyz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"graphrec serve not ready after {timeout} s: {served.log.read_text()}")


@pytest.fixture(scope="module", params=["arcadedb", "neo4j"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Run A (quickstart: written back, with topics) and run B (3 epochs, not written back) on a fresh
    graph of the store, and ``graphrec serve --run A`` with a bearer token."""
    if request.param == "arcadedb":
        cfg = StoreConfig(home=request.getfixturevalue("arcadedb_home"))
    else:
        cfg = StoreConfig(home=tmp_path_factory.mktemp("serve-home"), uri=request.getfixturevalue("neo4j_uri"))
    with open_store(cfg) as store:
        store.clear()
    invoke(cfg, "quickstart", "--users", "60", "--items", "30")
    run_a = cfg.home / "runs" / "quickstart-train-seed0"
    run_b = cfg.home / "runs" / f"serve-test-b-{request.param}"
    invoke(cfg, "train", "--target", "books", "--source", "movies", "--epochs", "3", "--seed", "1",
           "--no-write-back", "--out", str(run_b))  # fmt: skip
    os.utime(run_b / "config.json")  # the home's latest run (other tests of the session may have saved runs)
    port = free_port()
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    env = {**os.environ, "GRAPHREC_SERVE_TOKEN": TOKEN, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "graphrec", *cli_args(cfg), "serve", "--run", str(run_a), "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    served = Served(cfg=cfg, proc=proc, port=port, log=log, run_a=load_run(run_a), run_b=load_run(run_b))
    try:
        _wait_ready(served)
        yield served
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _expected(run: RunRecord, user: str, scenario: str, k: int) -> list[tuple[str, float]]:
    return [(r.item_id, r.score) for r in recommend(run, [user], scenario=scenario, k=k).rows]


def _same_ranking(got: list[dict[str, Any]], want: list[tuple[str, float]]) -> None:
    """The service's list equals the library's: same items in the same order (a swap only between
    scores equal to float32 precision), same scores, ranks 1..k."""
    assert [g["rank"] for g in got] == list(range(1, len(want) + 1))
    assert [g["score"] for g in got] == pytest.approx([s for _, s in want], rel=1e-5, abs=1e-5)
    for g, (item, score) in zip(got, want):
        if g["item"] != item:  # a near-tie resolved the other way round
            assert g["score"] == pytest.approx(score, rel=1e-6, abs=1e-6), (got, want)


def test_recommend_equals_the_library(served: Served) -> None:
    run = served.run_a
    users = [run.user_ids[int(run.slices["cold"][0])], run.user_ids[int(run.slices["warm"][0])], *run.user_ids[:3]]
    with open_store(served.cfg, ensure_schema=False) as store:
        for scenario in ("books", "movies"):
            titles = item_titles(store, scenario, [i for s, i in run.item_keys if s == scenario])
            for user in users:
                status, body = served.call("GET", f"/recommend?user={user}&scenario={scenario}&k=7")
                assert status == 200, body
                assert (body["run"], body["scenario"], body["user"]) == (run.name, scenario, user)
                _same_ranking(body["items"], _expected(run, user, scenario, 7))
                assert [i["title"] for i in body["items"]] == [titles.get(i["item"]) for i in body["items"]]
                assert all(i["title"] for i in body["items"])  # the synthetic items all have titles
    status, body = served.call("GET", f"/recommend?user={users[0]}")  # defaults: the run's target, k=20
    known = run.known_items([run.user_row()[users[0]]])[run.user_row()[users[0]]]
    unseen = [i for r, (s, i) in enumerate(run.item_keys) if s == "books" and r not in known]
    assert status == 200 and body["scenario"] == "books" and len(body["items"]) == min(20, len(unseen))
    assert {i["item"] for i in body["items"]} <= set(unseen)  # never an item the user has (30 books only)
    status, body = served.call("POST", "/recommend", {"users": users, "k": 5})
    assert status == 200, body
    assert body["run"] == run.name and body["scenario"] == "books" and body["unknown_users"] == []
    assert [r["user"] for r in body["results"]] == users
    for result in body["results"]:
        _same_ranking(result["items"], _expected(run, result["user"], "books", 5))
    status, body = served.call("POST", "/recommend", {"users": [users[0], "nobody"], "k": 3, "skip_unknown": True})
    assert status == 200 and body["unknown_users"] == ["nobody"] and len(body["results"]) == 1


def test_a_new_user_by_history_is_folded_in(served: Served) -> None:
    """POST /recommend with a history answers as graphrec.serve.foldin does for the same run."""
    run = served.run_a
    assert run.fold_in is not None
    cold = int(run.slices["cold"][0])
    pairs = np.concatenate([run.train, run.val, run.test], axis=1)
    movies = sorted(run.item_keys[i][1] for u, i in pairs.T.tolist() if u == cold and run.item_keys[i][0] == "movies")
    history = [("movies", m) for m in movies[:-1]] + [(None, movies[-1])]  # the last one by its id alone
    want = recommend_history(run, history, scenario="books", k=6)
    status, body = served.call("POST", "/recommend", {"history": [{"scenario": s, "item": i} for s, i in history],
                                                      "k": 6})  # fmt: skip
    assert status == 200, body
    assert body["run"] == run.name and body["scenario"] == "books" and len(body["results"]) == 1
    result = body["results"][0]
    assert result["user"] is None
    _same_ranking(result["items"], [(r.item_id, r.score) for r in want])
    assert all(i["title"] for i in result["items"])
    status, body = served.call("POST", "/recommend", {"history": [{"scenario": "movies", "item": "m9999"}]})
    assert status == 422 and "not in run" in body["detail"] and "movies:m9999" in body["detail"]
    status, body = served.call("POST", "/recommend", {"history": []})
    assert status == 422 and '"history" is empty' in body["detail"]


def test_explain_similar_items_and_topics(served: Served) -> None:
    run = served.run_a
    cold = run.user_ids[int(run.slices["cold"][0])]
    status, recs = served.call("GET", f"/recommend?user={cold}&k=1")
    top = recs["items"][0]["item"]
    status, body = served.call("GET", f"/explain?user={cold}&item={top}&from_scenario=movies&limit=3")
    assert status == 200, body
    with open_store(served.cfg, ensure_schema=False) as store:
        expected = explain(store, user=cold, scenario="books", item=top, from_scenario="movies", limit=3)
        learned = store.read(
            "MATCH (:User {id: $u})-[a:INTERESTED_IN]->(t:Topic) RETURN t.id AS topic, a.rank AS rank ORDER BY a.rank",
            {"u": cold},
        )
    assert body == json.loads(json.dumps(expected.__dict__, default=str))
    assert body["recommendation"]["rank"] == 1 and body["recommendation"]["run"] == run.name  # written back by A

    status, body = served.call("GET", f"/similar-items?item={top}&k=5")
    assert status == 200, body
    books = np.flatnonzero(np.array([s == "books" for s, _ in run.item_keys]))
    x = run.item[books] / np.linalg.norm(run.item[books], axis=1, keepdims=True)
    me = [run.item_keys[r][1] for r in books].index(top)
    cos = x @ x[me]
    cos[me] = -np.inf
    order = np.argsort(-cos, kind="stable")[:5]
    assert body["item"] == top and body["scenario"] == "books" and body["title"]
    assert [i["item"] for i in body["items"]] == [run.item_keys[books[o]][1] for o in order]
    assert [i["score"] for i in body["items"]] == pytest.approx(cos[order].tolist(), abs=1e-5)

    status, body = served.call("GET", f"/topics?user={cold}&k=3")
    assert status == 200, body
    assert len(learned) == 5  # write-back keeps 5 per user
    assert [(t["topic"], t["rank"]) for t in body["topics"]] == [(r["topic"], r["rank"]) for r in learned[:3]]
    assert all(t["run"] == run.name and t["label"] for t in body["topics"])


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("GET", "/recommend?user=nobody", None, 404, "user 'nobody' is not in run"),
        ("GET", "/recommend?user=u0000&scenario=comics", None, 404, "scenario 'comics' has no items"),
        ("GET", "/recommend?user=u0000&k=0", None, 422, "query parameter k"),
        ("GET", "/recommend?user=u0000&k=1001", None, 422, "less than or equal to 1000"),
        ("GET", "/recommend?user=u0000&k=ten", None, 422, "valid integer"),
        ("GET", "/recommend", None, 422, "query parameter user: Field required"),
        ("POST", "/recommend", {"users": [f"u{n}" for n in range(1001)]}, 413, "at most 1000"),
        ("POST", "/recommend", {"users": []}, 422, '"users" is empty'),
        ("POST", "/recommend", {}, 422, 'give either "users"'),
        ("POST", "/recommend", {"users": ["u0000"], "history": [{"item": "b0000"}]}, 422, 'give either "users"'),
        ("POST", "/recommend", {"users": ["u0000"], "color": "red"}, 422, "body field color"),
        ("POST", "/recommend", {"users": ["nobody", "nobody2"]}, 404, '"skip_unknown": true'),
        ("POST", "/recommend", b"{not json", 422, "not valid JSON"),
        ("GET", "/similar-items?item=nothing", None, 404, "item 'nothing' of scenario 'books' is not in run"),
        ("GET", "/similar-items?item=b0000&scenario=comics", None, 404, "scenario 'comics'"),
        ("GET", "/explain?user=nobody&item=b0000", None, 404, "user 'nobody' is not in the graph"),
        ("GET", "/explain?user=u0000&item=nothing", None, 404, "item 'nothing' of scenario 'books'"),
        ("GET", "/topics?user=nobody", None, 404, "user 'nobody' is not in the graph"),
        ("GET", "/topics?user=u0000&k=0", None, 422, "query parameter k"),
        ("POST", "/reload", {"run": "/nonexistent/run"}, 422, "does not exist"),
        ("GET", "/no-such-endpoint", None, 404, "Not Found"),
    ],
)
def test_bad_requests_get_4xx_with_a_message(
    served: Served, method: str, path: str, body: Any, status: int, says: str
) -> None:
    raw = body if isinstance(body, bytes) else None
    got, answer = served.call(method, path, None if raw else body, raw=raw,
                              headers={"Content-Type": "application/json"} if raw else None)  # fmt: skip
    assert got == status, answer
    assert isinstance(answer["detail"], str) and says in answer["detail"], answer


def test_bearer_token(served: Served) -> None:
    for path in ("/recommend?user=u0000", "/metrics", "/readyz", "/openapi.json", "/users"):
        status, body = served.call("GET", path, token=None)
        assert status == 401 and "Authorization: Bearer" in body["detail"], (path, body)
        status, body = served.call("GET", path, token="wrong")
        assert status == 401 and "wrong token" in body["detail"]
    assert served.call("GET", "/healthz", token=None) == (200, {"status": "ok"})
    for path in ("/", "/static/page.js"):  # the page's own files hold no data: it sends the token for data
        status, text = served.call("GET", path, token=None)
        assert status == 200 and "graphrec" in text, path
    assert served.call("GET", "/static/../users", token=None)[0] == 404  # no way round the token through /static/
    status, spec = served.call("GET", "/openapi.json")
    assert status == 200
    assert {"/recommend", "/explain", "/similar-items", "/topics", "/healthz", "/readyz", "/metrics", "/reload"} <= set(
        spec["paths"]
    )
    status, docs = served.call("GET", "/docs")
    assert status == 200 and "swagger" in docs.lower()
    assert served.call("GET", "/readyz")[1] == {"status": "ready", "run": served.run_a.name, "store": "reachable"}
    assert TOKEN not in served.log.read_text()


def _metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    line = f"{name}{{{want}}}" if labels else name
    values = [float(x.rsplit(" ", 1)[1]) for x in text.splitlines() if x.startswith(line + " ")]
    return values[0] if values else 0.0


def test_metrics_count_requests(served: Served) -> None:
    _, before = served.call("GET", "/metrics")
    for _ in range(4):
        assert served.call("GET", "/similar-items?item=b0001&k=2")[0] == 200
    assert served.call("GET", "/similar-items?item=nothing")[0] == 404
    assert served.call("GET", "/metrics", token=None)[0] == 401
    _, after = served.call("GET", "/metrics")
    ok = {"route": "/similar-items", "method": "GET", "status": "200"}
    assert (
        _metric(after, "graphrec_http_requests_total", **ok) - _metric(before, "graphrec_http_requests_total", **ok)
        == 4
    )
    missing = {"route": "/similar-items", "method": "GET", "status": "404"}
    assert (
        _metric(after, "graphrec_http_requests_total", **missing)
        == _metric(before, "graphrec_http_requests_total", **missing) + 1
    )
    unauthorized = {"route": "unmatched", "method": "GET", "status": "401"}
    assert _metric(after, "graphrec_http_requests_total", **unauthorized) >= 1
    count = "graphrec_http_request_duration_seconds_count"
    assert _metric(after, count, route="/similar-items") - _metric(before, count, route="/similar-items") == 5
    inf = _metric(after, "graphrec_http_request_duration_seconds_bucket", route="/similar-items", le="+Inf")
    assert inf == _metric(after, count, route="/similar-items")
    assert _metric(after, "graphrec_model_info", run=served.run_a.name, target="books") == 1
    assert not [x for x in after.splitlines() if 'status="5' in x]  # no 5xx, bad requests included


def test_reload_under_traffic_fails_no_request(served: Served) -> None:
    users = served.run_a.user_ids[:8]
    assert users == served.run_b.user_ids[:8]  # the same graph: the same users in both runs
    want = {run.name: {u: _expected(run, u, "books", 10) for u in users} for run in (served.run_a, served.run_b)}
    assert want[served.run_a.name] != want[served.run_b.name]
    seen: list[tuple[int, str | None]] = []
    errors: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)  # one persistent connection
        n = 0
        while not stop.is_set():
            user = users[n % len(users)]
            n += 1
            try:
                conn.request("GET", f"/recommend?user={user}&k=10", headers={"Authorization": f"Bearer {TOKEN}"})
                resp = conn.getresponse()
                body = json.loads(resp.read())
            except (OSError, http.client.HTTPException, ValueError) as e:
                errors.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
                continue
            seen.append((resp.status, body.get("run")))
            if resp.status == 200:
                try:
                    _same_ranking(body["items"], want[body["run"]][user])
                except AssertionError as e:
                    errors.append(f"{body['run']} {user}: {e}")
        conn.close()

    threads = [threading.Thread(target=traffic) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        status, body = served.call("POST", "/reload")  # the home's latest run: B
        assert status == 200, body
        assert body["run"] == served.run_b.name and body["previous"] == served.run_a.name
        time.sleep(1.0)
        status, body = served.call("POST", "/reload", {"run": str(served.run_a.path)})  # and back, by path
        assert status == 200 and body["run"] == served.run_a.name, body
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert [s for s, _ in seen if s != 200] == []
    runs = [r for _, r in seen]
    assert served.run_a.name in runs and served.run_b.name in runs  # answered by A, then B, then A again
    assert runs.index(served.run_b.name) > 0 and runs[-1] == served.run_a.name
    _, text = served.call("GET", "/metrics")
    assert _metric(text, "graphrec_model_info", run=served.run_a.name, target="books") == 1
    assert _metric(text, "graphrec_model_reloads_total") == 2
    assert f'run="{served.run_b.name}"' not in text


def test_a_busy_port_is_a_clear_error(served: Served) -> None:
    err = invoke(served.cfg, "serve", "--port", str(served.port), ok=False)
    assert f"cannot listen on 127.0.0.1:{served.port}" in err and "pass another --port" in err


def test_sigterm_exits_cleanly(served: Served) -> None:
    """Last: SIGTERM ends the service with exit code 0, the store closed."""
    assert served.call("GET", "/healthz") == (200, {"status": "ok"})
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=60) == 0, served.log.read_text()
    log = served.log.read_text()
    assert "stopped (SIGTERM); store closed" in log and "Traceback" not in log
    with pytest.raises(OSError):
        served.call("GET", "/healthz")
