"""`graphrec embed` on both stores: features for every Item node, cached rerun."""

from __future__ import annotations

from click.testing import CliRunner

from graphrec.cli import cli
from graphrec.features import ItemFeatures
from graphrec.home import features_file
from graphrec.store.connect import StoreConfig, open_store
from tests.helpers import cli_args


def test_embed_items_then_cached_rerun(store_config: StoreConfig) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, [*cli_args(store_config), "quickstart", "--users", "40", "--items", "30"]).exit_code == 0
    # one item without any text: kept, counted, zero vector
    with open_store(store_config) as store:
        store.execute_write("MERGE (i:Item {scenario: 'books', id: 'blank'})", {})
        items = store.read("MATCH (i:Item) RETURN i.scenario AS s, i.id AS id ORDER BY s, id")
    out = runner.invoke(cli, [*cli_args(store_config), "embed"], catch_exceptions=False)
    assert out.exit_code == 0, out.stderr
    assert "1 with empty text" in out.stdout and "0 from cache" in out.stdout
    feats = ItemFeatures.load(features_file(store_config.home))
    assert [(s, i) for s, i in zip(feats.scenario, feats.ids)] == [(r["s"], r["id"]) for r in items]
    assert feats.x.shape == (len(items), 384)
    blank = feats.ids.index("blank")
    assert not feats.has_text[blank] and not feats.x[blank].any()
    assert feats.has_text.sum() == len(items) - 1
    again = runner.invoke(cli, [*cli_args(store_config), "embed"], catch_exceptions=False)
    assert again.exit_code == 0 and " 0 encoded" in again.stdout
    assert (ItemFeatures.load(features_file(store_config.home)).x == feats.x).all()
