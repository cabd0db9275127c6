"""The page of ``graphrec serve`` (graphrec/serve/page.py, graphrec/serve/static/) in a real headless
Chromium driven by Selenium, over ``graphrec serve`` started as a real process on a free loopback port
over the quickstart's trained run on the embedded ArcadeDB: the page loads, a user's recommendations
appear and match the JSON API's, an explanation opens with the API's paths, the learned topics and the
topic map are drawn, a pasted history gets its list, and the server's message shows for a bad user.

The page's own JSON endpoints (``/scenarios``, ``/users``, ``/topic-map``, ``/static``) are checked over
plain HTTP against the run and the graph, with or without a browser.

Chromium and chromedriver come from the distribution (Debian: ``apt-get install chromium
chromium-driver``); without them, or without ``selenium`` (the dev extra), the browser test is skipped
with the reason, and fails instead under ``GRAPHREC_REQUIRE_BROWSER=1`` (CI).
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from graphrec.serve.recommend import recommend
from graphrec.store.arcade_process import free_port
from graphrec.store.connect import StoreConfig, open_store
from graphrec.train.record import RunRecord
from graphrec.train.rundir import load_run
from tests.helpers import cli_args, invoke, skip_or_fail

if TYPE_CHECKING:  # pragma: no cover
    from selenium.webdriver.remote.webdriver import WebDriver

REQUIRE = "GRAPHREC_REQUIRE_BROWSER"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
WAIT = 30.0
K = 10


@dataclass
class Page:
    """A running ``graphrec serve`` and the run it serves."""

    cfg: StoreConfig
    proc: subprocess.Popen[bytes]
    base: str
    port: int
    log: Path
    run: RunRecord

    def get(self, path: str, body: Any = None) -> tuple[int, Any, str]:
        """One request (POST when ``body`` is given): ``(status, JSON or text, content type)``."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            if body is None:
                conn.request("GET", path)
            else:
                conn.request("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})
            resp = conn.getresponse()
            text = resp.read().decode()
            kind = resp.getheader("content-type", "")
            return resp.status, json.loads(text) if kind.startswith("application/json") else text, kind
        finally:
            conn.close()

    def json(self, path: str, body: Any = None) -> Any:
        status, answer, _ = self.get(path, body)
        assert status == 200, (path, status, answer)
        return answer


@pytest.fixture(scope="module")
def chrome() -> tuple[str, str]:
    """Paths of a Chromium and its chromedriver (skipped, or failed under GRAPHREC_REQUIRE_BROWSER, without)."""
    browser = next((p for p in map(shutil.which, BROWSERS) if p), None)
    driver = shutil.which("chromedriver")
    missing = [what for what, path in (("chromium", browser), ("chromedriver", driver)) if path is None]
    if importlib.util.find_spec("selenium") is None:
        missing.append("the selenium package (pip install -e '.[dev]')")
    if missing:
        skip_or_fail(
            f"the page's browser test needs {', '.join(missing)}; on Debian or Ubuntu, as root: "
            "apt-get install -y chromium chromium-driver",
            REQUIRE,
        )
    assert browser is not None and driver is not None
    return browser, driver


@pytest.fixture(scope="module")
def page(arcadedb_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    """The quickstart's run (written back, with topics) on a fresh ArcadeDB graph, served by
    ``graphrec serve --run`` on a free loopback port (no token: the page is opened as a user would)."""
    cfg = StoreConfig(home=arcadedb_home)
    with open_store(cfg) as store:
        store.clear()
    invoke(cfg, "quickstart", "--users", "60", "--items", "30")
    run_dir = cfg.home / "runs" / "quickstart-train-seed0"
    port = free_port()
    log = tmp_path_factory.mktemp("page-log") / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "GRAPHREC_SERVE_TOKEN"} | {"OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "graphrec", *cli_args(cfg), "serve", "--run", str(run_dir), "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    served = Page(cfg, proc, f"http://127.0.0.1:{port}", port, log, load_run(run_dir))
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"graphrec serve exited with {proc.returncode}: {log.read_text()}")
            try:
                if served.get("/readyz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"graphrec serve not ready after 300 s: {log.read_text()}")
            time.sleep(0.3)
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def driver(chrome: tuple[str, str], tmp_path: Path) -> Iterator[WebDriver]:
    """A headless Chromium (its own profile folder), its console log kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = chrome[0]
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1200,2000", f"--user-data-dir={tmp_path / 'profile'}"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(chrome[1]), options=options)
    try:
        yield d
    finally:
        d.quit()


# --- the page's JSON endpoints, over plain HTTP --------------------------------------------------------
def test_page_files_and_endpoints(page: Page) -> None:
    status, html, kind = page.get("/")
    assert status == 200 and kind.startswith("text/html") and '<script src="static/page.js">' in html
    for name, media in (("page.js", "text/javascript"), ("page.css", "text/css"), ("index.html", "text/html")):
        status, text, kind = page.get(f"/static/{name}")
        assert status == 200 and kind.startswith(media) and text
    status, answer, _ = page.get("/static/page.py")
    assert status == 404 and "no static file 'page.py'" in answer["detail"]
    assert page.get("/static/..%2Fpage.py")[0] == 404

    run = page.run
    books = sum(s == "books" for s, _ in run.item_keys)
    assert page.json("/scenarios") == {
        "run": "quickstart-train-seed0",
        "target": "books",
        "scenarios": [{"name": "books", "items": books}, {"name": "movies", "items": len(run.item_keys) - books}],
    }
    users = page.json("/users?scenario=books&limit=5")
    assert users["total"] == len(run.user_ids) and [u["user"] for u in users["users"]] == sorted(run.user_ids)[:5]
    cold = page.json("/users?scenario=books&cold=true&limit=1000")
    warm = page.json("/users?scenario=books&cold=false&limit=1000")
    assert cold["total"] + warm["total"] == len(run.user_ids) and cold["total"] > 0
    assert all(u["in_scenario"] == 0 for u in cold["users"]) and all(u["in_scenario"] > 0 for u in warm["users"])
    status, answer, _ = page.get("/users?scenario=comics")
    assert status == 422 and "scenario 'comics' has no items in run quickstart-train-seed0" in answer["detail"]
    status, answer, _ = page.get("/users?limit=0")
    assert status == 422 and "limit" in answer["detail"]


def test_topic_map_matches_the_run_and_the_graph(page: Page) -> None:
    run = page.run
    m = page.json("/topic-map")
    assert m["run"] == run.name and m["total"] == len(run.topic_ids) > 0 and m["scenarios"] == ["books", "movies"]
    assert sorted(t["id"] for t in m["topics"]) == sorted(run.topic_ids)
    assert [t["items"] for t in m["topics"]] == sorted((t["items"] for t in m["topics"]), reverse=True)
    assert max(max(abs(t["x"]), abs(t["y"])) for t in m["topics"]) == pytest.approx(1.0)
    with open_store(page.cfg, ensure_schema=False) as store:
        for t in m["topics"]:
            rows = store.read(
                "MATCH (i:Item)-[:HAS_TOPIC]->(t:Topic {id: $id}) RETURN i.scenario AS s, count(*) AS n ORDER BY s",
                {"id": t["id"]},
            )
            counts = {r["s"]: r["n"] for r in rows}
            assert t["items"] == sum(counts.values())
            assert t["balance"] == pytest.approx({s: n / t["items"] for s, n in counts.items()})
            label = store.read("MATCH (t:Topic {id: $id}) RETURN t.label AS label", {"id": t["id"]})[0]["label"]
            assert t["label"] == label
    top = page.json("/topic-map?limit=2")
    assert top["total"] == m["total"] and top["topics"] == m["topics"][:2]
    status, answer, _ = page.get("/topic-map?limit=0")
    assert status == 422 and "limit" in answer["detail"]


# --- the page in a browser -----------------------------------------------------------------------------
def _wait(d: WebDriver, what: str, until: Any) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:  # a table the page re-renders while it is read (rows replaced mid-read) is read again, not an error
        return WebDriverWait(d, WAIT, ignored_exceptions=(StaleElementReferenceException,)).until(until)
    except TimeoutException:
        error = d.find_element("id", "error").text
        raise AssertionError(f"the page did not show {what} within {WAIT} s; its error box says {error!r}") from None


def _table(d: WebDriver, css: str) -> list[list[str]]:
    return [[c.text for c in r.find_elements("tag name", "td")] for r in d.find_elements("css selector", css)]


def _rows_of(items: list[dict[str, Any]]) -> list[list[str]]:
    """How the page writes a list of the JSON API's items: rank, id, title, score to 4 decimals."""
    return [[str(i["rank"]), i["item"], i["title"] or "–", f"{i['score']:.4f}"] for i in items]


def _cells(path: dict[str, Any]) -> list[str]:
    """The last three cells the page writes for a topic path: examples, support, affinity."""
    affinity = "–" if path["affinity"] is None else f"{path['affinity']:.4f}"
    return ["; ".join(path["examples"]), f"{path['support']:.2f}", affinity]


@pytest.mark.browser
def test_the_page_shows_recommendations_explanations_topics_and_the_map(
    chrome: tuple[str, str], page: Page, driver: WebDriver
) -> None:
    from selenium.webdriver.support.ui import Select

    d, run = driver, page.run
    d.get(page.base + "/")
    assert d.title == "graphrec"
    _wait(d, "the run", lambda d: "quickstart-train-seed0" in d.find_element("id", "run-info").text)
    assert Select(d.find_element("id", "scenario")).first_selected_option.get_attribute("value") == "books"

    # the user list offers users with and without history in books
    _wait(d, "the users", lambda d: len(d.find_elements("css selector", "#user-pick option")) > 1)
    groups = d.find_elements("css selector", "#user-pick optgroup")
    assert [g.get_attribute("label").split(":")[0] for g in groups] == [
        "with history in books",
        "no history in books (placed by their other scenarios)",
    ]
    user = groups[1].find_elements("tag name", "option")[0].get_attribute("value")  # no book in the graph
    assert user in run.user_ids

    # the topic map: one circle per topic of the run, sized by member items
    m = page.json("/topic-map")
    circles = _wait(d, "the topic map", lambda d: d.find_elements("css selector", "#topic-map circle"))
    assert len(circles) == len(m["topics"]) == len(run.topic_ids)
    radius = {c.get_attribute("data-topic"): float(c.get_attribute("r")) for c in circles}
    by_size = [radius[t["id"]] for t in m["topics"]]  # largest topic first
    assert by_size == sorted(by_size, reverse=True) and by_size[0] > by_size[-1]
    assert len({c.get_attribute("fill") for c in circles}) > 1  # coloured by scenario balance

    # pick the user: the rows are the JSON API's list
    Select(d.find_element("id", "user-pick")).select_by_value(user)
    _wait(d, "recommendations", lambda d: d.find_elements("css selector", "#recs tbody tr"))
    api = page.json(f"/recommend?user={user}&scenario=books&k={K}")
    assert _table(d, "#recs tbody tr") == _rows_of(api["items"]) and len(api["items"]) == K
    library = recommend(run, [user], scenario="books", k=K).rows
    assert [r.item_id for r in library] == [i["item"] for i in api["items"]]

    # the learned topics: the API's, in order, and ringed on the map
    topics = page.json(f"/topics?user={user}&k=10")["topics"]
    assert topics
    _wait(d, "the learned topics", lambda d: d.find_elements("css selector", "#topic-list li"))
    shown = [li.text for li in d.find_elements("css selector", "#topic-list li")]
    assert shown == [f"{t['label']} ({t['score']:.4f})" for t in topics]
    ringed = {c.get_attribute("data-topic") for c in d.find_elements("css selector", "#topic-map circle.interest")}
    assert ringed == {t["topic"] for t in topics} & set(radius)

    # click the first item: its explanation opens with the API's paths
    first = api["items"][0]
    d.find_elements("css selector", "#recs tbody tr")[0].click()
    _wait(d, "the explanation", lambda d: d.find_element("id", "explanation").is_displayed())
    why = page.json(f"/explain?user={user}&item={first['item']}&scenario=books")
    assert d.find_element("id", "explanation-title").text == f"Why {first['title']} for {user}"
    assert why["topic_paths"] or why["shared_users"]  # a user with history has paths to their top item
    if why["recommendation"]:
        assert f"Rank {why['recommendation']['rank']} " in d.find_element("id", "explanation-summary").text
    paths = [
        [p["label"] or p["topic"], p["source"] or "–", str(p["via_items"]), *_cells(p)] for p in why["topic_paths"]
    ]
    assert _table(d, "#topic-paths tbody tr") == (paths or [["no topic connects the user's items to this item"]])
    shared = [[s["scenario"], s["item"], s["title"] or "–", str(s["shared_users"])] for s in why["shared_users"]]
    assert _table(d, "#shared-users tbody tr") == (
        shared or [["no other user has both one of the user's items and this one"]]
    )
    severe = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe

    # a pasted history (a user the model has never seen): the list POST /recommend gives
    history = [i for s, i in run.item_keys if s == "movies"][:4]
    d.find_element("css selector", "#history-box summary").click()
    d.find_element("id", "history").send_keys("\n".join(f"movies,{i}" for i in history))
    d.find_element("id", "recommend-history").click()
    body = {"scenario": "books", "k": K, "history": [{"scenario": "movies", "item": i} for i in history]}
    want = _rows_of(page.json("/recommend", body)["results"][0]["items"])
    assert want and want != _rows_of(api["items"])
    _wait(d, "the history's recommendations", lambda d: _table(d, "#recs tbody tr") == want)
    assert "pasted history of 4 items" in d.find_element("id", "results-caption").text
    assert not d.find_element("id", "explanation").is_displayed()

    # a user the run does not know: the server's message, on the page
    box = d.find_element("id", "user")
    box.clear()
    box.send_keys("nobody-at-all")
    d.find_element("id", "recommend").click()
    _wait(d, "the error", lambda d: d.find_element("id", "error").is_displayed())
    assert "user 'nobody-at-all' is not in run quickstart-train-seed0" in d.find_element("id", "error").text
