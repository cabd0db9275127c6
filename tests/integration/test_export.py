"""Store → HeteroData on both stores: id maps, counts, features, only the given interactions."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

from graphrec.cli import cli
from graphrec.data.export import export_graph, item_feature_matrix, to_hetero_data
from graphrec.features import ItemFeatures
from graphrec.home import features_file
from graphrec.schema import EdgeType, NodeType
from graphrec.stats import graph_stats
from graphrec.store.connect import StoreConfig, open_store
from tests.helpers import cli_args


def test_export_to_hetero_data(store_config: StoreConfig) -> None:
    runner = CliRunner()
    for args in (["quickstart", "--users", "50", "--items", "30"],):
        assert runner.invoke(cli, [*cli_args(store_config), *args]).exit_code == 0
    with open_store(store_config) as store:
        export = export_graph(store)
        stats = graph_stats(store)
        some = store.read("MATCH (u:User)-[:INTERACTED]->(i:Item) RETURN u.id AS u, i.scenario AS s, i.id AS i LIMIT 5")
        only_discovered = export_graph(store, topic_sources=["discovered"])
    assert export.num_nodes == {"user": stats.nodes["User"], "item": stats.nodes["Item"], "topic": stats.nodes["Topic"]}
    assert export.interactions.shape == (2, stats.relationships["INTERACTED"])
    assert export.has_topic.shape[1] == stats.relationships["HAS_TOPIC"] == export.has_topic_weight.shape[0]
    assert export.scenarios == ["books", "movies"]
    pairs = {(export.user_ids[u], *export.item_keys[i]) for u, i in export.interactions.T}
    assert {(r["u"], r["s"], r["i"]) for r in some} <= pairs
    assert len(only_discovered.topic_ids) == 8 and all(t.startswith("discovered:") for t in only_discovered.topic_ids)

    features = ItemFeatures.load(features_file(store_config.home))
    x, has_text = item_feature_matrix(export, features)
    assert x.shape == (len(export.item_keys), 384) and has_text.all()
    train = export.interactions[:, ::2]  # any subset: only these edges may appear
    data = to_hetero_data(export, train, item_x=x)
    assert data[NodeType.ITEM].x.shape == (len(export.item_keys), 384)
    assert data[EdgeType.INTERACTS].edge_index.shape[1] == train.shape[1]
    assert np.array_equal(data[EdgeType.REV_INTERACTS].edge_index.flip(0).numpy(), train)
    held_out = {tuple(p) for p in export.interactions[:, 1::2].T} - {tuple(p) for p in train.T}
    assert held_out and not held_out & {tuple(p) for p in data[EdgeType.INTERACTS].edge_index.numpy().T}
    assert set(data.edge_types) == {
        EdgeType.INTERACTS,
        EdgeType.REV_INTERACTS,
        EdgeType.HAS_TOPIC,
        EdgeType.REV_HAS_TOPIC,
    }
