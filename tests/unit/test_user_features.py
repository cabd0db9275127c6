"""User features come from training interactions only."""

from __future__ import annotations

import numpy as np

from graphrec.features import ItemFeatures, user_features


def items() -> ItemFeatures:
    x = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=np.float32)
    return ItemFeatures(
        scenario=["m", "m", "b", "b"], ids=["1", "2", "1", "blank"], x=x, has_text=np.array([True, True, True, False])
    )


def test_mean_of_training_items_normalised() -> None:
    x, has = user_features(["u", "v", "w"], [("u", "m", "1"), ("u", "m", "2"), ("v", "b", "blank")], items())
    np.testing.assert_allclose(x[0], np.array([1, 1, 0]) / np.sqrt(2), atol=1e-6)
    assert has.tolist() == [True, False, False]  # v only touched an item without text; w has no history
    assert not x[1].any() and not x[2].any()


def test_held_out_interactions_cannot_change_user_features() -> None:
    train = [("u", "m", "1"), ("v", "b", "1")]
    held_out_a = [("u", "b", "1")]
    held_out_b = [("u", "m", "2"), ("v", "m", "1")]
    base, _ = user_features(["u", "v"], train, items())
    # the function only sees what it is given: the held-out sets are never passed, whatever they hold
    again, _ = user_features(["u", "v"], list(train), items())
    np.testing.assert_array_equal(base, again)
    leaked, _ = user_features(["u", "v"], train + held_out_a + held_out_b, items())
    assert not np.allclose(leaked, base)  # the check above could fail: held-out pairs would move the features
