"""What the page offers to pick from (graphrec/serve/catalogue.py), on a real small run of the toy export
whose cold users (every user's books held out for half the shared users) are known from the split."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from graphrec.data.splits import coldstart_transfer
from graphrec.errors import InputDataError
from graphrec.models.presets import model_spec
from graphrec.serve.catalogue import MAX_USERS, sample_users, scenarios
from graphrec.train.config import TrainConfig
from graphrec.train.fit import fit
from graphrec.train.record import RunRecord, record_run
from tests.helpers import toy_export


@pytest.fixture(scope="module")
def run() -> RunRecord:
    export, _ = toy_export()
    # one more user, with movies only: no history in books at all (train, validation or test)
    movies = [k for k, (s, _) in enumerate(export.item_keys) if s == "movies"][:3]
    export = dataclasses.replace(
        export,
        user_ids=[*export.user_ids, "u99"],
        interactions=np.concatenate([export.interactions, np.array([[80] * 3, movies])], axis=1),
    )
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    cfg = TrainConfig(epochs=1, batch_size=256)
    fitted = fit(export, split, model_spec("bpr-mf", dim=4), cfg, target="books")
    return record_run(fitted, export, split, cfg, name="toy", target="books", source="movies")


def test_scenarios_with_their_item_counts(run: RunRecord) -> None:
    assert scenarios(run) == [{"name": "books", "items": 30}, {"name": "movies", "items": 30}]


def test_users_in_id_order_with_their_history_in_the_scenario_and_in_all(run: RunRecord) -> None:
    everything = sample_users(run, "books", limit=MAX_USERS)
    assert everything.total == 81 and [u["user"] for u in everything.users] == sorted(run.user_ids)
    pairs = np.concatenate([run.train, run.val, run.test], axis=1)
    for u in everything.users:
        row = run.user_ids.index(u["user"])
        mine = pairs[1, pairs[0] == row]
        assert u["items"] == len(mine)
        assert u["in_scenario"] == sum(run.item_keys[i][0] == "books" for i in mine.tolist())
    # the split's cold users keep their (held-out) books: serving counts them as history, and never
    # recommends them; only u99 has no book at all
    cold = sample_users(run, "books", cold=True)
    assert cold.users == [{"user": "u99", "in_scenario": 0, "items": 3}] and cold.total == 1
    warm = sample_users(run, "books", limit=5, cold=False)
    assert warm.total == 80 and [u["user"] for u in warm.users] == ["u00", "u01", "u02", "u03", "u04"]
    assert all(u["in_scenario"] > 0 for u in warm.users)
    assert sample_users(run, "movies", cold=True).total == 0


def test_bad_requests_name_the_value_and_the_choices(run: RunRecord) -> None:
    with pytest.raises(InputDataError, match=r"scenario 'comics' has no items in run toy; give one of \['books', 'm"):
        sample_users(run, "comics")
    with pytest.raises(InputDataError, match=f"limit must be between 1 and {MAX_USERS}, got 0"):
        sample_users(run, "books", limit=0)
