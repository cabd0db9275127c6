"""Collection applies the backend and data markers (tests/conftest.py), so that ``-m neo4j``,
``-m "not neo4j"``, ``-m arcadedb`` and ``-m data`` select what they say; a missing dataset's skip names
the files expected and the README to read."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import DATA_README, DATASETS, REPO, missing_data_reason

CONTRACT = "tests/integration/test_store_contract.py"


def collected(*args: str) -> list[str]:
    """Test ids ``pytest --collect-only -q *args`` prints (collection only: no server is started)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode in (0, 5), proc.stdout[-3000:] + proc.stderr[-3000:]  # 5: nothing selected
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_backend_markers_follow_the_backend_parameter() -> None:
    neo4j, arcadedb, every = (
        collected(CONTRACT, "-m", "neo4j"),
        collected(CONTRACT, "-m", "arcadedb"),
        collected(CONTRACT),
    )
    assert neo4j and all("neo4j" in t and "arcadedb" not in t for t in neo4j)
    assert arcadedb and all("arcadedb" in t and "neo4j" not in t for t in arcadedb)
    assert sorted(neo4j + arcadedb) == sorted(every)
    assert sorted(collected(CONTRACT, "-m", "not neo4j")) == sorted(arcadedb)


def test_data_marker_follows_the_shared_data_fixture() -> None:
    data = collected("tests/unit/test_sources.py", "-m", "data")
    assert data == ["tests/unit/test_sources.py::test_real_movielens_100k_recbole_files"]
    rest = collected("tests/unit/test_sources.py", "-m", "not data")
    assert rest and data[0] not in rest


def test_missing_data_names_the_files_and_the_readme(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import tests.helpers as helpers

    monkeypatch.setattr(helpers, "SHARED_DATA", tmp_path)
    assert "real datasets not found" in (missing_data_reason() or "") and str(tmp_path) in (missing_data_reason() or "")
    (tmp_path / "README.md").write_text("datasets\n")
    assert missing_data_reason() is None
    reason = missing_data_reason(("ml-100k",)) or ""
    assert str(tmp_path / "movielens" / "ml-100k" / "ml-100k.inter") in reason and DATA_README in reason
    for f in DATASETS["ml-100k"][1]:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_text("")
    assert missing_data_reason(("ml-100k",)) is None
    with pytest.raises(ValueError, match="unknown dataset"):
        missing_data_reason(("ml-10m",))
