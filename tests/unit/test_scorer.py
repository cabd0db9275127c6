"""The model presets load no torch; every fitted model is one Scorer (scores over all items, embeddings or none)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from graphrec.data.splits import coldstart_transfer
from graphrec.models.presets import model_spec
from graphrec.train.config import TrainConfig
from graphrec.train.fit import fit
from graphrec.train.scorer import FunctionScorer, ModelScorer, PopularityScorer, Scorer
from tests.helpers import toy_export


def test_presets_import_no_torch() -> None:
    code = "import graphrec.models.presets, sys; assert 'torch' not in sys.modules and 'numpy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("name", "kind", "has_embeddings"),
    [("popularity", PopularityScorer, False), ("ease", FunctionScorer, False), ("text-knn", FunctionScorer, False),
     ("bpr-mf", ModelScorer, True), ("graphrec", ModelScorer, True)],
)  # fmt: skip
def test_every_model_is_one_scorer(name: str, kind: type, has_embeddings: bool) -> None:
    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    fitted = fit(
        export,
        split,
        model_spec(name, dim=8),
        TrainConfig(epochs=2, batch_size=64, lr=0.05, seed=0),
        target="books",
        item_x=x,
    )
    assert isinstance(fitted.scorer, kind) and isinstance(fitted.scorer, Scorer)
    rows = torch.arange(5)
    scores = fitted.scorer.score(rows)
    assert scores.shape == (5, len(export.item_keys))
    assert torch.equal(fitted.score_fn()(rows), scores)
    emb = fitted.embeddings()
    assert bool(emb) == has_embeddings == (fitted.model is not None)
    if has_embeddings:
        assert emb["user"].shape[0] == len(export.user_ids) and emb["item"].shape[0] == len(export.item_keys)
        # the embeddings reproduce the scores (one space)
        assert np.allclose(emb["user"][:5] @ emb["item"].T, scores.numpy(), atol=1e-4)
    assert (fitted.popularity is not None) == (name == "popularity")


def test_a_model_scorer_scores_the_model_as_it_is_after_refresh() -> None:
    export, _ = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    fitted = fit(
        export,
        split,
        model_spec("bpr-mf", dim=8),
        TrainConfig(epochs=1, batch_size=64, lr=0.05, seed=0),
        target="books",
    )
    assert fitted.model is not None
    rows = torch.arange(3)
    before = fitted.scorer.score(rows).clone()
    with torch.no_grad():
        fitted.model.user_emb.weight.mul_(2.0)
    assert torch.equal(fitted.scorer.score(rows), before)  # one propagation, kept
    assert torch.allclose(fitted.score_fn()(rows), 2 * before)  # score_fn propagates the model as it is now
