"""Vector search against the model: how often Neo4j's own vector search returns a user's RECOMMENDED list.

    scripts/neo4j_server.sh start 7687
    graphrec --uri bolt://127.0.0.1:7687 quickstart --users 120 --items 90
    .venv/bin/python bench/vector_search_bench.py --uri bolt://127.0.0.1:7687 --target books

For every user of the run (the latest under the home, or ``--run``), the top ``-k`` items of ``--target``
by each of these, the user's known items and other scenarios filtered out afterwards, against the user's
``RECOMMENDED`` edges (the model's list, written back by the same run):

* ``plain``: the cosine index over the plain item embeddings (``graphrec_item_embedding``) queried with
  the user's embedding, exhaustive (every item fetched): what the index gave before serving vectors;
* ``serving, k + known + other``: ``cypher.RECOMMEND_BY_VECTOR_SEARCH`` with ``$candidates`` = k + the
  user's interactions + the items of other scenarios (the fewest that can leave k after the filter);
* ``serving, 2x``: twice that (at most the number of items);
* ``serving, all items``: ``$candidates`` = the number of items (an exhaustive search).

Reported per policy: users whose list is identical (same items, same order), mean overlap@k and @5 (as
sets), and the p50 query time. Results go to ``bench/results/vector_search.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import REPO  # bench/common.py (beside this script): also puts the repository root on sys.path

from graphrec.home import resolve_home, runs_dir
from graphrec.results import run_metadata
from graphrec.schema import ITEM_EMBEDDING_INDEX
from graphrec.store import cypher
from graphrec.store.connect import StoreConfig, open_store
from graphrec.train.rundir import latest_run, load_run

PLAIN = (
    "MATCH (u:User {id: $user}) "
    f"CALL db.index.vector.queryNodes('{ITEM_EMBEDDING_INDEX.name}', $candidates, u.embedding) "
    "YIELD node AS item, score WHERE item.scenario = $scenario AND NOT (u)-[:INTERACTED]->(item) "
    "RETURN item.id AS item ORDER BY score DESC LIMIT $k"
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--uri", required=True, help="Bolt URI of the Neo4j holding the written-back run")
    p.add_argument("--home", type=Path, default=None, help="graphrec home (default: GRAPHREC_HOME or ~/.graphrec)")
    p.add_argument("--run", type=Path, default=None, help="run folder (default: the latest under the home)")
    p.add_argument("--target", required=True, help="scenario the RECOMMENDED edges point into")
    p.add_argument("-k", type=int, default=20)
    args = p.parse_args()
    home = resolve_home(args.home)
    run = load_run(args.run or latest_run(runs_dir(home)))
    n_items = len(run.item_keys)
    other = int((~run.scenario_mask(args.target)).sum())
    k = args.k
    with open_store(StoreConfig(home=home, uri=args.uri)) as store:
        store.execute_write("CALL db.awaitIndexes(300)", {})
        known = {
            r["u"]: r["n"] for r in store.read("MATCH (u:User) RETURN u.id AS u, COUNT { (u)-[:INTERACTED]->() } AS n")
        }
        ranked: dict[str, list[tuple[int, str]]] = {}
        for r in store.read("MATCH (u:User)-[r:RECOMMENDED]->(i:Item) RETURN u.id AS u, i.id AS i, r.rank AS rank"):
            ranked.setdefault(r["u"], []).append((r["rank"], r["i"]))
        model = {u: [i for _, i in sorted(v)] for u, v in ranked.items()}
        users = [u for u in run.user_ids if u in model]
        policies: list[tuple[str, str, Callable[[str], int]]] = [
            ("plain", PLAIN, lambda u: n_items),
            ("serving, k + known + other", cypher.RECOMMEND_BY_VECTOR_SEARCH, lambda u: k + known[u] + other),
            ("serving, 2x", cypher.RECOMMEND_BY_VECTOR_SEARCH, lambda u: 2 * (k + known[u] + other)),
            ("serving, all items", cypher.RECOMMEND_BY_VECTOR_SEARCH, lambda u: n_items),
        ]
        rows: list[dict[str, Any]] = []
        for name, query, candidates in policies:
            identical, overlap, overlap5, seconds = 0, 0.0, 0.0, []
            for u in users:
                params = {"user": u, "scenario": args.target, "k": k, "candidates": min(candidates(u), n_items)}
                t0 = time.perf_counter()
                got = [r["item"] for r in store.read(query, params)]
                seconds.append(time.perf_counter() - t0)
                want = model[u][:k]
                identical += got == want
                overlap += len(set(got) & set(want)) / len(want)
                overlap5 += len(set(got[:5]) & set(want[:5])) / len(want[:5])
            rows.append(
                {
                    "policy": name,
                    "identical": identical,
                    "users": len(users),
                    f"overlap@{k}": round(overlap / len(users), 4),
                    "overlap@5": round(overlap5 / len(users), 4),
                    "p50_ms": round(1000 * statistics.median(seconds), 2),
                }
            )
            print(rows[-1])
    out = REPO / "bench" / "results" / "vector_search.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"run": run.name, "items": n_items, "k": k, "target": args.target, "rows": rows, **run_metadata()}
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
