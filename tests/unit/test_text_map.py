"""The text block's map (graphrec.models.text_map): the ridge solution it claims, what it learns that text kNN
cannot, and its choice on validation."""

from __future__ import annotations

import numpy as np
import pytest

from graphrec.errors import ConfigError
from graphrec.models.text_knn import unit_rows
from graphrec.models.text_map import TEXT_MAP_L2, fit_text_map


def test_the_map_solves_its_normal_equations() -> None:
    rng = np.random.default_rng(0)
    num_users, num_items, d = 40, 30, 6
    pairs = np.array([[u, i] for u in range(num_users) for i in rng.choice(num_items, 5, replace=False)]).T
    unit = unit_rows(rng.normal(size=(num_items, d)))
    w = fit_text_map(pairs, unit, num_users, l2=0.5).astype(np.float64)
    counts = np.bincount(pairs[0], minlength=num_users)
    x = np.zeros((num_users, num_items))
    x[pairs[0], pairs[1]] = 1.0 / np.sqrt(counts[pairs[0]])
    q = unit.astype(np.float64)
    a, c = (x @ q).T @ (x @ q), q.T @ q
    ridge = 0.5 * np.linalg.eigvalsh(a).mean() * np.linalg.eigvalsh(c).mean()
    assert np.allclose(a @ w @ c + ridge * w, a, atol=1e-4 * np.abs(a).max())  # A W C + λW = A
    # the ridge shrinks: a larger one gives a smaller map
    assert np.linalg.norm(fit_text_map(pairs, unit, num_users, l2=10.0)) < np.linalg.norm(w)


def test_the_map_places_a_new_item_where_text_knn_cannot() -> None:
    """Source items point along e0 or e1, target items along e2 or e3; the users who chose e0 items chose e2
    items, those who chose e1 items e3. A new target item along e2 has no text in common with an e0 history
    (cosine 0: text kNN ties it with the e3 item), but the map has learned e0 → e2 from the others."""
    d = 4
    eye = np.eye(d, dtype=np.float32)
    # items 0-9 source (0-4 along e0, 5-9 along e1), 10-19 target (10-14 along e2, 15-19 along e3); 20, 21 new
    x = np.concatenate([np.repeat(eye[[0, 1, 2, 3]], 5, axis=0), eye[[2, 3]]])
    x += np.random.default_rng(1).normal(scale=0.05, size=x.shape).astype(np.float32)
    unit = unit_rows(x)
    pairs = []
    for u in range(60):
        group = u % 2  # 0: e0 and e2 items, 1: e1 and e3 items
        pairs += [[u, 5 * group + k] for k in range(3)] + [[u, 10 + 5 * group + k] for k in range(2)]
    train = np.array(pairs).T
    users = np.array([0, 1])  # one of each group
    profile = unit[train[1][np.isin(train[0], users[:1])]][:3].mean(0)  # user 0's source history only (e0)
    knn = profile @ unit[[20, 21]].T
    assert abs(knn[0] - knn[1]) < 0.2  # text kNN: both new items about equally far from an e0 history
    w = fit_text_map(train, unit, 60, l2=0.1)
    mapped = (profile @ w) @ unit[[20, 21]].T
    assert mapped[0] > mapped[1] + 0.5 * abs(mapped).max()  # the map: the e2 item, clearly


def test_bad_arguments_say_what_to_pass() -> None:
    unit = unit_rows(np.eye(3, dtype=np.float32))
    with pytest.raises(ConfigError, match="ridge must be > 0"):
        fit_text_map(np.array([[0], [1]]), unit, 1, l2=0.0)
    with pytest.raises(ConfigError, match="needs training pairs"):
        fit_text_map(np.zeros((2, 0), dtype=np.int64), unit, 1, l2=1.0)
    assert TEXT_MAP_L2[0] is None and all(r > 0 for r in TEXT_MAP_L2[1:])


def test_the_no_map_ablation_keeps_text_knns_mean() -> None:
    from graphrec.data.splits import coldstart_items
    from graphrec.models.presets import model_spec
    from graphrec.train.config import TrainConfig
    from graphrec.train.fit import fit
    from tests.helpers import toy_export

    export, x = toy_export()
    split = coldstart_items(export, target="books", seed=0)
    cfg = TrainConfig(epochs=2, batch_size=64, lr=0.05, seed=0)
    fitted = fit(export, split, model_spec("graphrec-no-text-map", dim=8), cfg, target="books", item_x=x)
    text_map = fitted.result.config["item_gate"]["text"]["map"]
    assert text_map["l2"] is None and [g["l2"] for g in text_map["grid"]] == [None]
    assert "text_proj" not in fitted.fold_in_blocks


def test_a_refit_fits_the_chosen_map_on_its_own_training_pairs() -> None:
    """Choices carry the map's ridge (not the map): a refit fits it again on the pairs it trains on."""
    import torch

    from graphrec.data.splits import coldstart_transfer
    from graphrec.models.presets import model_spec
    from graphrec.models.text_knn import text_profiles
    from graphrec.train.choices import Choices
    from graphrec.train.config import TrainConfig
    from graphrec.train.fit import fit
    from tests.helpers import toy_export

    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    choices = Choices(
        epochs={"knowledge": 1, "collaborative": 1}, text_gate=10.0, text=1.0, text_l2=1.0,
        sample=tuple(int(u) for u in np.unique(split.val[0])),
    )  # fmt: skip
    cfg = TrainConfig(epochs=1, batch_size=64, lr=0.05, seed=0)
    fitted = fit(export, split, model_spec("graphrec", dim=8, bridge=0), cfg, target="books", item_x=x, choices=choices)
    assert fitted.result.config["item_gate"]["text"]["map"]["l2"] == 1.0
    w = fit_text_map(fitted.inputs.train, unit_rows(x), len(export.user_ids), l2=1.0)
    np.testing.assert_array_equal(fitted.fold_in_blocks["text_proj"], w)
    profiles, _ = text_profiles(fitted.inputs.train, x, len(export.user_ids))
    assert fitted.model.text_users is not None
    assert torch.allclose(fitted.model.text_users, profiles @ torch.from_numpy(w), atol=1e-6)
