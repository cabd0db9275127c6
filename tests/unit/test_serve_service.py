"""The service core (graphrec.serve.service) on a real run folder with random embeddings: the same lists
as graphrec.serve.recommend, concurrent single-user requests scored together without mixing them up,
from threads and from coroutines (the HTTP path), the scoring thread that ends when idle; similar items by
cosine, errors for what the run does not hold; the Prometheus text of serve.metrics."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from graphrec.errors import ConfigError, InputDataError, RunFolderError
from graphrec.serve.coalesce import Coalescer
from graphrec.serve.metrics import Metrics
from graphrec.serve.recommend import recommend
from graphrec.serve.service import GEMM_MIN_ROWS, NotFoundError, NotReadyError, ServedRun, Service
from graphrec.train.record import RunRecord
from graphrec.train.rundir import CONFIG_FILE, METRICS_FILE, load_run, save_embeddings, save_split


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> RunRecord:
    """300 users, 400 items in two scenarios (interleaved rows), 16-d, 25 interactions per user."""
    folder = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(3)
    items = [("books" if k % 3 else "movies", f"i{k}") for k in range(400)]
    emb = {
        "user": rng.standard_normal((300, 16), dtype=np.float32),
        "item": rng.standard_normal((400, 16), dtype=np.float32),
        "topic": np.zeros((0, 16), dtype=np.float32),
    }
    pairs = np.unique(np.stack([np.repeat(np.arange(300), 25), rng.integers(0, 400, 300 * 25)]), axis=1)
    cut = pairs.shape[1] * 8 // 10
    save_embeddings(folder, emb, user_ids=[f"u{k}" for k in range(300)], item_keys=items, topic_ids=[])
    save_split(folder, pairs[:, :cut], pairs[:, cut:], np.zeros((2, 0), dtype=np.int64), {})
    (folder / CONFIG_FILE).write_text(json.dumps({"target": "books", "model": {"name": "synthetic"}}))
    (folder / METRICS_FILE).write_text(json.dumps({}))
    return load_run(folder)


def _lists(served: ServedRun, users: list[str], scenario: str, k: int) -> dict[str, list[tuple[str, float]]]:
    lists, _ = served.recommend(users, scenario=scenario, k=k)
    return {u.user or "": [(i.item, i.score) for i in u.items] for u in lists}


def test_recommend_equals_the_library(run: RunRecord) -> None:
    served = ServedRun(run)
    for scenario in ("books", "movies"):
        expected = recommend(run, run.user_ids, scenario=scenario, k=15).rows
        want: dict[str, list[tuple[str, float]]] = {}
        for r in expected:
            want.setdefault(r.user_id, []).append((r.item_id, r.score))
        got = _lists(served, run.user_ids, scenario, 15)  # one batch, chunked scoring
        one = {u: _lists(served, [u], scenario, 15)[u] for u in run.user_ids[:40]}  # one user at a time
        for u in run.user_ids:
            assert [i for i, _ in got[u]] == [i for i, _ in want[u]], u
            assert [s for _, s in got[u]] == pytest.approx([s for _, s in want[u]], rel=1e-5)
        for u, items in one.items():
            assert [i for i, _ in items] == [i for i, _ in want[u]]
        known = run.known_items([0])[0]
        assert all(run.item_keys.index((scenario, i)) not in known for i, _ in got["u0"])


def test_a_short_scenario_gives_shorter_lists_never_known_items(run: RunRecord) -> None:
    served = ServedRun(run)
    movies = [i for s, i in run.item_keys if s == "movies"]
    lists, _ = served.recommend(["u1"], scenario="movies", k=1000)
    known = {run.item_keys[r][1] for r in run.known_items([1])[1] if run.item_keys[r][0] == "movies"}
    got = [i.item for i in lists[0].items]
    assert sorted(got) == sorted(set(movies) - known) and [i.rank for i in lists[0].items] == list(
        range(1, len(got) + 1)
    )


def test_the_library_gives_the_same_shorter_list_never_a_known_or_foreign_item(run: RunRecord) -> None:
    """k above a user's unseen items of the scenario: graphrec.serve.recommend used to pad the list with
    items it excludes (known ones, other scenarios' items); now it stops, as the service does."""
    served = ServedRun(run)
    for user in run.user_ids[:20]:
        row = run.user_row()[user]
        rows = recommend(run, [user], scenario="movies", k=200).rows
        assert all((("movies", r.item_id) in run.item_keys) for r in rows)
        assert not {run.item_keys.index(("movies", r.item_id)) for r in rows} & run.known_items([row])[row]
        assert [r.rank for r in rows] == list(range(1, len(rows) + 1))
        lists, _ = served.recommend([user], scenario="movies", k=200)
        assert [r.item_id for r in rows] == [i.item for i in lists[0].items]


def test_concurrent_single_user_requests_are_scored_together_and_kept_apart(run: RunRecord) -> None:
    served = ServedRun(run)
    blocks: list[int] = []
    inner = served.rank_rows
    gate = threading.Event()

    def slow_rank_rows(s, rows, ks):  # type: ignore[no-untyped-def]
        blocks.append(len(rows))
        gate.wait(5)  # the first block waits until the others have queued
        return inner(s, rows, ks)

    served._coalescer = Coalescer(slow_rank_rows)
    users = run.user_ids[:24]
    want = {u: _lists(ServedRun(run), [u], "books", 5 + n % 7) for n, u in enumerate(users)}
    got: dict[str, dict[str, list[tuple[str, float]]]] = {}

    def ask(n: int, u: str) -> None:
        got[u] = _lists(served, [u], "books", 5 + n % 7)

    threads = [threading.Thread(target=ask, args=(n, u)) for n, u in enumerate(users)]
    for t in threads:
        t.start()
    while sum(blocks) + served._coalescer.pending < len(users):
        threading.Event().wait(0.01)
    gate.set()
    for t in threads:
        t.join()
    for u in users:  # the same items in the same order; scores equal to float32 rounding (one product for all)
        assert [i for i, _ in got[u][u]] == [i for i, _ in want[u][u]]
        assert [x for _, x in got[u][u]] == pytest.approx([x for _, x in want[u][u]], rel=1e-5)
    assert sum(blocks) == len(users) and max(blocks) > 1  # the waiting requests went in one block


def test_coroutines_are_scored_together_with_the_lists_of_one_by_one(run: RunRecord) -> None:
    """The HTTP path: 40 coroutines of one event loop await their lists; none holds a thread, the
    scoring thread ranks them in blocks, and each gets its own list (as ranked alone)."""
    served = ServedRun(run)
    inner = served.rank_rows

    def slow_first_block(s, rows, ks):  # type: ignore[no-untyped-def]
        if served._coalescer.blocks == 0:
            time.sleep(0.2)  # the other coroutines queue meanwhile
        return inner(s, rows, ks)

    served._coalescer = Coalescer(slow_first_block)
    users = run.user_ids[:40]
    want = {u: _lists(ServedRun(run), [u], "books", 3 + n % 9)[u] for n, u in enumerate(users)}

    async def ask_all() -> list[list[tuple[str, float]]]:
        found = await asyncio.gather(
            *(served.recommend_async(u, scenario="books", k=3 + n % 9) for n, u in enumerate(users))
        )
        return [[(i.item, i.score) for i in f.items] for f in found]

    before = threading.active_count()
    got = asyncio.run(ask_all())
    for u, mine in zip(users, got):
        assert [i for i, _ in mine] == [i for i, _ in want[u]]
        assert [x for _, x in mine] == pytest.approx([x for _, x in want[u]], rel=1e-5)
    assert served._coalescer.blocks <= 3  # they queued while the first block was scored
    assert threading.active_count() <= before + 1  # one scoring thread, not one per request


def test_blocks_below_and_above_the_matrix_product_threshold_rank_alike(run: RunRecord) -> None:
    served = ServedRun(run)
    s = served.scenario("books")
    rows = list(range(GEMM_MIN_ROWS + 3))
    alone = [served.rank_rows(s, [r], [10])[0] for r in rows]
    for block in (rows[: GEMM_MIN_ROWS - 1], rows):  # one product per user / one for the block
        for got, want in zip(served.rank_rows(s, block, [10] * len(block)), alone):
            assert [i.item for i in got] == [i.item for i in want]
            assert [i.score for i in got] == pytest.approx([i.score for i in want], rel=1e-5)


def test_the_top_k_is_picked_on_the_waiting_side_not_on_the_scoring_thread(run: RunRecord) -> None:
    served = ServedRun(run)
    s = served.scenario("books")
    where: list[str] = []

    def finish(scenario, line, k):  # type: ignore[no-untyped-def]
        where.append(threading.current_thread().name)
        return served.top_of(scenario, line, k)

    served._coalescer = Coalescer(lambda sc, rows, ks: served.score_rows(sc, rows), finish=finish)
    want = served.rank_rows(s, [0, 1], [7, 7])
    assert served._coalescer.rank(0, s, 7) == want[0]  # a thread caller: finished in its own thread

    async def ask() -> list[object]:
        return await served._coalescer.rank_async(1, s, 7)

    assert asyncio.run(ask()) == want[1]  # a coroutine: finished on its event loop's thread
    assert where == [threading.current_thread().name] * 2
    assert served.recommend(["u0"], scenario="books", k=7)[0][0].items == served.rank_rows(s, [0], [7])[0]


def test_an_error_in_a_block_reaches_every_request_of_it(run: RunRecord) -> None:
    def broken(s, rows, ks):  # type: ignore[no-untyped-def]
        raise MemoryError("no room")

    c: Coalescer[object] = Coalescer(broken)
    scenario = ServedRun(run).scenario("books")
    with pytest.raises(MemoryError, match="no room"):
        c.rank(0, scenario, 5)

    async def ask() -> object:
        return await c.rank_async(0, scenario, 5)

    with pytest.raises(MemoryError, match="no room"):
        asyncio.run(ask())


def test_the_scoring_thread_ends_when_idle_and_the_next_request_starts_one(run: RunRecord) -> None:
    served = ServedRun(run)
    served._coalescer = Coalescer(served.rank_rows, idle_seconds=0.05)

    def scoring_threads() -> int:
        return sum(t.name == "graphrec-scoring" and t.is_alive() for t in threading.enumerate())

    before = scoring_threads()
    first = _lists(served, [run.user_ids[0]], "books", 5)
    deadline = time.monotonic() + 10
    while scoring_threads() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert scoring_threads() == before  # a replaced run leaves no thread behind
    assert _lists(served, [run.user_ids[0]], "books", 5) == first  # a new thread scores the next one


def test_similar_items_are_cosine_neighbours_in_the_scenario(run: RunRecord) -> None:
    served = ServedRun(run)
    rows = [r for r, (s, _) in enumerate(run.item_keys) if s == "movies"]
    x = run.item[rows] / np.linalg.norm(run.item[rows], axis=1, keepdims=True)
    cos = x @ x[4]
    cos[4] = -np.inf
    order = np.argsort(-cos, kind="stable")[:10]
    name, items = served.similar_items(run.item_keys[rows[4]][1], scenario="movies", k=10)
    assert name == "movies"
    assert [i.item for i in items] == [run.item_keys[rows[o]][1] for o in order]
    assert [i.score for i in items] == pytest.approx(cos[order].tolist(), abs=1e-6)


def test_what_the_run_does_not_hold_is_an_error_with_the_fix(run: RunRecord) -> None:
    served = ServedRun(run)
    with pytest.raises(NotFoundError, match=r"user 'nobody' is not in run .*\"history\""):
        served.recommend(["nobody"])
    with pytest.raises(NotFoundError, match=r"2 user\(s\) are not in run .*skip_unknown"):
        served.recommend(["nobody", "nobody2", "u1"])
    assert served.recommend(["nobody", "u1"], skip_unknown=True)[1] == ["nobody"]
    with pytest.raises(NotFoundError, match=r"scenario 'comics' has no items .*\['books', 'movies'\]"):
        served.recommend(["u1"], scenario="comics")
    with pytest.raises(NotFoundError, match="item 'i1' of scenario 'movies' is not in run"):
        served.similar_items("i1", scenario="movies")  # i1 is a book
    for k in (0, 1001):
        with pytest.raises(InputDataError, match=f"k must be between 1 and 1000, got {k}"):
            served.recommend(["u1"], k=k)
    with pytest.raises(InputDataError, match="send at most 1000"):
        served.recommend([f"u{n}" for n in range(1001)])


def test_metrics_text_format() -> None:
    m = Metrics()
    m.observe("/recommend", "GET", 200, 0.004)
    m.observe("/recommend", "GET", 200, 0.02)
    m.observe("/recommend", "GET", 404, 20.0)
    text = m.render(run='a "run"\\x', target="books", loaded_at=1.5, reloads=2)
    lines = text.splitlines()
    assert 'graphrec_http_requests_total{route="/recommend",method="GET",status="200"} 2' in lines
    assert 'graphrec_http_requests_total{route="/recommend",method="GET",status="404"} 1' in lines
    assert 'graphrec_http_request_duration_seconds_bucket{route="/recommend",le="0.005"} 1' in lines
    assert 'graphrec_http_request_duration_seconds_bucket{route="/recommend",le="0.025"} 2' in lines
    assert 'graphrec_http_request_duration_seconds_bucket{route="/recommend",le="10.0"} 2' in lines
    assert 'graphrec_http_request_duration_seconds_bucket{route="/recommend",le="+Inf"} 3' in lines
    assert 'graphrec_http_request_duration_seconds_count{route="/recommend"} 3' in lines
    assert 'graphrec_model_info{run="a \\"run\\"\\\\x",target="books"} 1' in lines
    assert "graphrec_model_reloads_total 2" in lines
    for line in lines:  # every sample line: name{labels} value
        if not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])
    assert all(line.startswith("# ") or line.startswith("graphrec_") for line in lines)


def test_reload_refuses_a_missing_run_and_a_home_without_runs(tmp_path: Path, run: RunRecord) -> None:
    service = Service(home=tmp_path)
    with pytest.raises(NotReadyError, match="no run loaded yet"):
        service.current  # noqa: B018 (the property raises)
    with pytest.raises(RunFolderError, match=f"{tmp_path / 'nope'} does not exist"):
        service.reload(tmp_path / "nope")
    with pytest.raises(ConfigError, match="no complete training run under"):
        service.reload()
    assert run.path is not None
    new, old = service.reload(run.path)
    assert old is None and service.current is new and new.name == run.name
    again, old = service.reload(run.path)
    assert old is new and service.current is again and service.reloads == 1
