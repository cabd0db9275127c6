"""The generated bad-input corpus (tests/bad_input_corpus.py), validated without a database.

Each file ends in exactly its expected outcome: a clear InputDataError/ConfigError naming the file
(and the line where one applies), or ``loaded + rejected == rows`` with the expected reject kinds.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from graphrec.errors import GraphRecError
from ingest.prepare import prepare_dataset
from ingest.spec import load_spec
from ingest.summary import IngestSummary, iter_rejects
from tests.bad_input_corpus import CASES, Case, write_spec


def test_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)
    assert {c.fmt for c in CASES} >= {"csv", "tsv", "recbole", "jsonl", "parquet", "ml-1m"}
    assert sum(c.error is None for c in CASES) >= 30 and sum(c.error is not None for c in CASES) >= 10


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_corpus_file(case: Case, tmp_path: Path) -> None:
    spec_path = write_spec(tmp_path / "data", [case])
    data = case.path(tmp_path / "data")
    summary = IngestSummary(spec=str(spec_path))
    if case.error is not None:
        with pytest.raises(GraphRecError) as info:
            prepare_dataset(load_spec(spec_path), tmp_path / "rejects.tsv", summary)
        err = info.value
        assert type(err) is case.error, err
        message = str(err)
        assert re.search(case.match, message), message
        named = spec_path if case.error.__name__ == "ConfigError" else data
        assert str(named) in message, message
        if case.line == 0:
            assert re.search(re.escape(str(data)) + r":\d+: ", message), message
        elif case.line is not None:
            assert f"{data}:{case.line}: " in message, message
        assert "Traceback" not in message
        return
    prepared = prepare_dataset(load_spec(spec_path), tmp_path / "rejects.tsv", summary)
    counts = summary.scenarios[case.name]
    rejects = list(iter_rejects(tmp_path / "rejects.tsv"))
    assert counts.interactions_loaded == case.loaded, rejects
    assert dict(Counter(r["kind"] for r in rejects)) == case.rejects, rejects
    assert counts.interactions_loaded + counts.interactions_rejected == case.rows
    assert all(r["file"] == str(data) and r["reason"] for r in rejects)
    if case.reject_lines is not None:
        assert tuple((int(r["line"]), r["kind"]) for r in rejects) == case.reject_lines
    got = prepared[case.name].interactions
    if case.users is not None:
        assert {i.user for i in got} == case.users
    if case.items is not None:
        assert {i.item for i in got} == case.items
    assert counts.items_created == len({i.item for i in got})
    for i in got:  # what the stores can hold: finite ratings, int64 or finite float timestamps, clean ids
        assert i.user == i.user.strip() and i.item == i.item.strip() and "\x00" not in i.user + i.item
        assert i.rating is None or (isinstance(i.rating, float) and abs(i.rating) < float("inf"))
        assert i.ts is None or (isinstance(i.ts, int) and -(2**63) <= i.ts < 2**63) or abs(i.ts) < float("inf")
