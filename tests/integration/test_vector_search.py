"""Vector search that agrees with the model (issue 14, item 5), on both stores after the quickstart's
write-back: the serving vectors in the graph rank items as the model's dot product does; the brute-force
Cypher recipe returns each user's RECOMMENDED edges in order (both stores); on Neo4j, its own vector
search (the cosine index over the serving vectors, scenario and known items filtered) returns them too,
and "similar items" returns the cosine neighbours of the learned embeddings; ArcadeDB's Cypher really
has no vector index, as its capabilities say, and the write-back says so."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.errors import StoreError
from graphrec.home import runs_dir
from graphrec.schema import ITEM_EMBEDDING_INDEX, ITEM_SERVING_INDEX, VECTOR_INDEXES
from graphrec.serve.recommend import recommend
from graphrec.store import cypher
from graphrec.store.bolt import GraphStore
from graphrec.store.connect import StoreConfig, open_store
from graphrec.train.rundir import load_run
from tests.helpers import invoke

K = 20
#: Users checked one query at a time (every user is checked in NumPy).
CHECKED_USERS = 12


def _stored(store: GraphStore, query: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        r["key"]: (np.asarray(r["embedding"], dtype=np.float64), np.asarray(r["serving"], dtype=np.float64))
        for r in store.read(query)
    }


def _recommended(store: GraphStore) -> dict[str, list[tuple[str, float]]]:
    out: dict[str, list[tuple[str, float]]] = {}
    rows = store.read(
        "MATCH (u:User)-[r:RECOMMENDED]->(i:Item) RETURN u.id AS u, i.id AS i, r.score AS s, r.rank AS rank"
    )
    for r in sorted(rows, key=lambda r: (r["u"], r["rank"])):
        out.setdefault(r["u"], []).append((r["i"], r["s"]))
    return out


def test_vector_search_ranks_as_the_model(store_config: StoreConfig, backend: str) -> None:
    out = invoke(store_config, "quickstart", "--users", "80", "--items", "60")
    run = load_run(runs_dir(store_config.home) / "quickstart-train-seed0")
    books = run.scenario_mask("books")
    n_items, d = run.item.shape
    row_of = run.user_row()
    half = CHECKED_USERS // 2  # users without book history (cold) and with it (warm)
    users = [run.user_ids[int(u)] for name in ("cold", "warm") for u in run.slices[name][:half]]
    with open_store(store_config) as store:
        item_vecs = _stored(
            store,
            "MATCH (i:Item) RETURN i.scenario + '/' + i.id AS key, i.embedding AS embedding, "
            "i.serving_embedding AS serving",
        )
        user_vecs = _stored(
            store, "MATCH (u:User) RETURN u.id AS key, u.embedding AS embedding, u.serving_embedding AS serving"
        )
        known = {r["u"]: set(r["items"]) for r in store.read("MATCH (u:User)-[:INTERACTED]->(i:Item) "
                                                              "RETURN u.id AS u, collect(i.id) AS items")}  # fmt: skip
        recommended = _recommended(store)

        # the serving vectors in the graph: [x, sqrt(M² − |x|²)] on every item (all of norm M), [q, 0] on users
        keys = [f"{s}/{i}" for s, i in run.item_keys]
        x = np.stack([item_vecs[k][0] for k in keys])
        x_serving = np.stack([item_vecs[k][1] for k in keys])
        assert x_serving.shape == (n_items, d + 1)
        np.testing.assert_array_equal(x_serving[:, :d], x)
        norms = np.linalg.norm(x_serving, axis=1)
        max_norm = float(np.linalg.norm(x, axis=1).max())
        np.testing.assert_allclose(norms, max_norm, rtol=1e-9)
        # cosine order over them is the dot-product order of the embeddings, for every user
        book_rows = np.flatnonzero(books)
        for u in run.user_ids:
            q, q_serving = user_vecs[u]
            np.testing.assert_array_equal(q_serving, np.append(q, 0.0))
            cos = (x_serving[book_rows] @ q_serving) / (np.linalg.norm(q_serving) * norms[book_rows])
            dot = x[book_rows] @ q
            np.testing.assert_allclose(cos * np.linalg.norm(q) * max_norm, dot, rtol=1e-9, atol=1e-9)
            assert np.argsort(-cos, kind="stable").tolist() == np.argsort(-dot, kind="stable").tolist(), u
            # and the RECOMMENDED edges are that order, the user's known items left out
            mine = [run.item_keys[book_rows[j]][1] for j in np.argsort(-cos, kind="stable")]
            assert [i for i, _ in recommended[u]] == [i for i in mine if i not in known.get(u, set())][:K], u

        # the brute-force recipe (any store): each user's RECOMMENDED edges in order, with their scores
        for u in users:
            rows = store.read(cypher.RECOMMEND_BY_DOT_PRODUCT, {"user": u, "scenario": "books", "k": K})
            assert [r["item"] for r in rows] == [i for i, _ in recommended[u]], u
            np.testing.assert_allclose([r["score"] for r in rows], [s for _, s in recommended[u]], rtol=1e-5, atol=1e-5)

        if backend == "arcadedb":
            # no vector index through Cypher, as its capabilities say; the write-back reported it
            assert not store.capabilities.vector_index
            with pytest.raises(StoreError, match="index types"):
                store.execute_write(cypher.create_vector_index(ITEM_SERVING_INDEX), {"dimensions": d + 1})
            assert "serving vectors (serving_embedding) written" in out and "RECOMMEND_BY_DOT_PRODUCT" in out
            return

        assert "graphrec_item_serving" in out
        store.execute_write("CALL db.awaitIndexes(300)", {})
        config = {
            r["name"]: r["options"]["indexConfig"]
            for r in store.read("SHOW VECTOR INDEXES YIELD name, options RETURN name, options")
        }
        for ix in VECTOR_INDEXES:
            assert config[ix.name]["vector.quantization.enabled"] is False, ix.name
        assert config[ITEM_SERVING_INDEX.name]["vector.dimensions"] == d + 1
        # Neo4j's own vector search: exhaustive with $candidates = the number of items, so exactly the
        # model's list: the RECOMMENDED edges in order, and what graphrec.serve.recommend returns
        served = recommend(run, users, scenario="books", k=K)
        for u in users:
            rows = store.read(
                cypher.RECOMMEND_BY_VECTOR_SEARCH, {"user": u, "scenario": "books", "k": K, "candidates": n_items}
            )
            assert [r["item"] for r in rows] == [i for i, _ in recommended[u]], u
            assert [r["item"] for r in rows] == [r.item_id for r in served.rows if r.user_id == u], u
            # the index's (1 + cos) / 2 is the model's score over |q| M
            q = run.user[row_of[u]].astype(np.float64)
            scores = (2 * np.array([r["score"] for r in rows]) - 1) * np.linalg.norm(q) * max_norm
            np.testing.assert_allclose(scores, [s for _, s in recommended[u]], rtol=1e-4, atol=1e-4)
        # the plain embeddings' index does not give the model's ranking (what the serving vectors fix)
        plain = [
            [
                r["item"]
                for r in store.read(
                    f"MATCH (u:User {{id: $user}}) CALL db.index.vector.queryNodes('{ITEM_EMBEDDING_INDEX.name}', "
                    "$n, u.embedding) YIELD node, score "
                    "WHERE node.scenario = 'books' AND NOT (u)-[:INTERACTED]->(node) "
                    "RETURN node.id AS item ORDER BY score DESC LIMIT $k",
                    {"user": u, "n": n_items, "k": K},
                )
            ]
            for u in users
        ]
        assert any(p != [i for i, _ in recommended[u]] for p, u in zip(plain, users))

        # similar items: cosine neighbours of the learned embeddings, within books or anywhere
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        for row in book_rows[:5].tolist():
            scenario, item = run.item_keys[row]
            cos = unit @ unit[row]
            cos[row] = -np.inf
            for within, allowed in (("books", books), (None, np.ones(n_items, dtype=bool))):
                rows = store.read(
                    cypher.SIMILAR_ITEMS,
                    {"scenario": scenario, "id": item, "within": within, "k": 5, "candidates": n_items},
                )
                order = [j for j in np.argsort(-cos, kind="stable") if allowed[j] and j != row][:5]
                assert [(r["scenario"], r["id"]) for r in rows] == [run.item_keys[j] for j in order]
                np.testing.assert_allclose([2 * r["score"] - 1 for r in rows], cos[order], atol=1e-5)
