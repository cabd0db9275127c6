"""Production training: select on validation (carved from training where a split has none), then train
again on training + validation with the choices made."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from graphrec.data.splits import (
    coldstart_transfer,
    holdout_validation,
    merged_validation,
    no_holdout,
    pairs_set,
    scenario_index,
)
from graphrec.errors import ConfigError, NoValidationError
from graphrec.eval.ranking import group_by_user
from graphrec.models.presets import model_spec
from graphrec.train.blocks import ease_block, text_block
from graphrec.train.choices import Choices, apply_choices, choices_of
from graphrec.train.config import TrainConfig
from graphrec.train.fit import fit
from graphrec.train.refit import fit_refit
from graphrec.train.run import SplitConfig, make_split, train_from_export
from graphrec.train.selection import gate_weight_grid, score_spread
from tests.helpers import noisy_sparse_books_split, toy_export

CONFIG = TrainConfig(epochs=6, batch_size=64, lr=0.01, patience=2, seed=0)


def test_holdout_validation_carves_a_seeded_share_of_each_target_user() -> None:
    export, _ = toy_export()
    split = no_holdout(export, source="movies", target="books")
    carved = holdout_validation(split, export, target="books", seed=3, fraction=0.2)
    books = scenario_index(export, "books")
    assert (export.item_scenario[carved.val[1]] == books).all()  # source interactions all stay in training
    assert pairs_set(carved.train) | pairs_set(carved.val) == pairs_set(split.train)
    assert not pairs_set(carved.train) & pairs_set(carved.val)
    for u in np.unique(split.train[0]):
        n = int(((split.train[0] == u) & (export.item_scenario[split.train[1]] == books)).sum())
        held = int((carved.val[0] == u).sum())
        assert held == (max(1, round(n * 0.2)) if n >= 3 else 0)
    assert carved.meta["validation"]["pairs"] == carved.val.shape[1] and carved.meta["protocol"] == "none"
    again = holdout_validation(split, export, target="books", seed=3, fraction=0.2)
    other = holdout_validation(split, export, target="books", seed=4, fraction=0.2)
    assert np.array_equal(again.val, carved.val) and not np.array_equal(other.val, carved.val)
    assert pairs_set(merged_validation(carved).train) == pairs_set(split.train)
    with pytest.raises(ConfigError, match="already has"):
        holdout_validation(carved, export, target="books", seed=0)
    with pytest.raises(ConfigError, match="out of range"):
        holdout_validation(split, export, target="books", seed=0, fraction=1.0)


def test_choices_carry_relative_weights_over_as_validation_measured_them() -> None:
    """apply_choices turns each relative weight into the model's scale exactly as the selection grid does
    (the prior at its gate, then the text block at its gate, then EASE), and choices_of reads back what
    a selection run set."""
    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    fitted = fit(export, split, model_spec("graphrec", dim=8, bridge=0), CONFIG, target="books", item_x=x)
    model, inputs = fitted.model, fitted.inputs
    chosen = choices_of(fitted, split)
    gate = fitted.result.config["item_gate"]
    assert chosen.epochs == {name: c["best_epoch"] + 1 for name, c in fitted.result.config["channels"].items()}
    assert (chosen.prior, chosen.prior_gate, chosen.gate_count) == (
        gate["prior"],
        gate["prior_gate"],
        gate["gate_count"],
    )
    assert chosen.sample == tuple(np.unique(split.val[0]).tolist())
    # every block on, with weights the toy's validation would not pick
    users_t, items_t, topics_t = text_block(export, inputs, x)
    model.set_text(users_t, items_t, 0.0, topics=topics_t)
    block = ease_block(export, split, inputs, target="books", rank=16)
    assert block is not None
    model.set_ease(block[0], block[1], 0.0)
    choices = Choices(
        epochs=chosen.epochs,
        prior_gate=2.0,
        prior=0.5,
        text_gate=10.0,
        text=1.0,
        ease=2.0,
        ease_l2=block[2]["l2"],
        sample=chosen.sample,
    )
    applied = apply_choices(model, inputs, split, choices)
    served = (float(model.prior_weight), float(model.text_weight), float(model.ease_weight), model.item_gate.clone())
    # the selection grid, one cell each, in the same order
    model.eval()
    with torch.inference_mode():
        channels = model.channels(inputs.adj)
    candidates, sample = inputs.candidates, np.asarray(chosen.sample)
    exclude = group_by_user(inputs.train)
    for w in (model.set_prior_weight, model.set_text_weight, model.set_ease_weight):
        w(0.0)
    cand = torch.from_numpy(np.flatnonzero(candidates))
    expected = {}
    for name, gate_count, r, spread, set_weight in (
        ("beta", 2.0, 0.5, lambda: float(model.item_prior[cand].std()), model.set_prior_weight),
        ("text", 10.0, 1.0, lambda: score_spread(users_t, items_t, sample, candidates), model.set_text_weight),
        ("ease", 10.0, 2.0, lambda: score_spread(block[0], block[1], sample, candidates), model.set_ease_weight),
    ):
        (row,) = gate_weight_grid(model, channels, split, exclude, candidates, sample, weights=(r,),
                                  block_spread=spread(), set_weight=set_weight, names=("r", "weight"),
                                  gates=(gate_count,))  # fmt: skip
        expected[name] = row["weight"]
        assert row["weight"] > 0
    assert applied["beta"] == pytest.approx(expected["beta"], rel=1e-6)
    assert applied["text"]["weight"] == pytest.approx(expected["text"], rel=1e-6)
    assert applied["ease"]["weight"] == pytest.approx(expected["ease"], rel=1e-6)
    assert served[:3] == pytest.approx((expected["beta"], expected["text"], expected["ease"]), rel=1e-6)
    model.set_gate_count(10.0)
    assert torch.equal(served[3], model.item_gate)


@pytest.mark.parametrize("model_name", ["graphrec", "lightgcn-merged"])
def test_a_production_split_is_selected_on_carved_validation_then_refit_on_everything(model_name: str) -> None:
    export, x = toy_export()
    split = no_holdout(export, source="movies", target="books")
    spec = model_spec(model_name, dim=8, bridge=0)
    final, trained_on = fit_refit(export, split, spec, CONFIG, target="books", item_x=x if spec.text else None)
    assert pairs_set(trained_on.train) == pairs_set(export.interactions) and not trained_on.val.shape[1]
    assert pairs_set(final.inputs.train) == pairs_set(export.interactions)  # the refit saw every interaction
    record = final.result.config["refit"]
    assert record["validation"]["carved_from"] == "train" and record["validation"]["pairs"] > 0
    # the selection run is the plain fit on the carved split: same choices, recorded
    carved = holdout_validation(split, export, target="books", seed=CONFIG.seed)
    selection = fit(export, carved, spec, CONFIG, target="books", item_x=x if spec.text else None)
    choices = choices_of(selection, carved)
    assert (
        record["choices"]["epochs"] == choices.epochs and record["selection"]["best_val"] == selection.result.best_val
    )
    if spec.route:
        collab_epochs = sum(1 for row in final.result.history if "collaborative_loss" in row)
        assert collab_epochs == choices.epochs["collaborative"]
        assert final.result.config["cold_path"]["selected_on"] == "val-simulated-cold"  # its own selection, on all data
        gate = final.result.config["item_gate"]
        assert gate["gate_count"] == choices.gate_count and gate["prior"] == choices.prior
        assert (final.model.ease_users is not None) == bool(choices.ease)
        assert (final.model.text_users is not None) == bool(choices.text)
    else:
        assert len(final.result.history) == choices.epochs[""]
    # a refit on a split with validation keeps its test set and trains on training + validation
    cold = coldstart_transfer(export, source="movies", target="books", seed=0)
    refit, on = fit_refit(
        export, cold, dataclasses.replace(spec), CONFIG, target="books", item_x=x if spec.text else None
    )
    assert pairs_set(on.train) == pairs_set(cold.train) | pairs_set(cold.val) and np.array_equal(on.test, cold.test)
    assert refit.result.config["refit"]["validation"]["pairs"] == cold.val.shape[1]
    assert {"cold", "warm"} <= set(refit.metrics)


def test_without_users_to_carve_validation_from_a_production_run_trains_unselected_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    export, _ = toy_export()
    books = scenario_index(export, "books")
    inter = export.interactions
    first_two = np.zeros(inter.shape[1], dtype=bool)  # every user keeps at most 2 books
    for u in np.unique(inter[0]):
        rows = np.flatnonzero((inter[0] == u) & (export.item_scenario[inter[1]] == books))
        first_two[rows[:2]] = True
    sparse = dataclasses.replace(export, interactions=inter[:, first_two | (export.item_scenario[inter[1]] != books)])
    spec, split_config = model_spec("lightgcn-merged", dim=8), SplitConfig(protocol="none", source="movies")
    with pytest.raises(NoValidationError, match=r"no validation to select on.*--no-refit"):
        train_from_export(
            sparse, target="books", spec=spec, split_config=split_config, train_config=CONFIG, item_x=None, refit=True
        )
    with caplog.at_level("WARNING", logger="graphrec.train.run"):
        fitted, split = train_from_export(
            sparse, target="books", spec=spec, split_config=split_config, train_config=CONFIG, item_x=None
        )
    assert "training on everything without selection" in caplog.text
    assert "refit" not in fitted.result.config and len(fitted.result.history) == CONFIG.epochs
    assert pairs_set(split.train) == pairs_set(sparse.interactions)


def test_a_production_split_of_a_two_scenario_graph_takes_the_other_scenario_as_source() -> None:
    export, _ = toy_export()
    assert make_split(export, SplitConfig(protocol="none"), target="books").meta["source"] == "movies"
    assert make_split(export, SplitConfig(protocol="none", source="movies"), target="books").meta["source"] == "movies"
    three = dataclasses.replace(export, scenarios=["books", "movies", "music"])  # no scenario to prefer: none taken
    assert "source" not in make_split(three, SplitConfig(protocol="none"), target="books").meta


def test_a_refit_keeps_the_cold_path_its_selection_chose_on_users_it_cannot_simulate() -> None:
    # a sparse target: the selection run chooses the cold path with validation users who have no target
    # training pair; the refit's split has no validation, so it keeps those choices instead of choosing again
    export, x, split = noisy_sparse_books_split()
    spec = model_spec("graphrec", dim=8, bridge=6, text_block=False, ease=0)
    selection = fit(export, split, spec, CONFIG, target="books", item_x=x)
    chosen = selection.result.config["cold_path"]
    assert chosen["users"]["natural_cold_users"] > 0
    choices = choices_of(selection, split)
    assert (choices.cold_prior, choices.cold_bridge) == (chosen["prior"], chosen["bridge"])
    assert choices.epochs["knowledge"] == chosen["selection"]["best_epoch"] + 1
    final, _ = fit_refit(export, split, spec, CONFIG, target="books", item_x=x)
    cold = final.result.config["cold_path"]
    assert final.result.config["refit"]["choices"]["cold_prior"] == chosen["prior"]
    assert cold["selected_on"] == "refit: cold validation of the selection run"
    assert (cold["prior"], cold["bridge"]) == (chosen["prior"], chosen["bridge"])
    assert cold["refit"]["epochs"] == choices.epochs["knowledge"]
    assert set(cold["refit_grid_choice"]) == {"prior", "bridge", "beta", "val_recall@20"}  # what it chose itself
    assert float(final.model.cold_prior_weight) == pytest.approx(cold["beta"])
    # a cold-user split has no such users: its refit chooses the cold path again, as before
    base = coldstart_transfer(export, source="movies", target="books", seed=0)
    assert choices_of(fit(export, base, spec, CONFIG, target="books", item_x=x), base).cold_prior is None
