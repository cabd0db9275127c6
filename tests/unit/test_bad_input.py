"""Bad input: a clear error naming file, line and fix, or a counted reject with the reason. Nothing silently dropped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from graphrec.errors import ConfigError, InputDataError
from ingest.prepare import prepare_dataset
from ingest.spec import load_spec
from ingest.summary import IngestSummary, iter_rejects

ITEMS = "item_id\ttitle\tgenres\n1\tAlpha\tA\n2\tBeta\tB\n3\tGamma\tC\n"


def write_spec(tmp_path: Path, inter: str | bytes, items: str | bytes | None = ITEMS, extra: str = "") -> Path:
    ip = tmp_path / "inter.tsv"
    ip.write_bytes(inter if isinstance(inter, bytes) else inter.encode("utf-8"))
    spec = (
        '[[scenario]]\nname = "s"\n' + extra +
        'interactions = { path = "inter.tsv", format = "tsv", user = "user_id", item = "item_id", '
        'rating = "rating", timestamp = "ts" }\n'
    )  # fmt: skip
    if items is not None:
        (tmp_path / "items.tsv").write_bytes(items if isinstance(items, bytes) else items.encode("utf-8"))
        spec += 'items = { path = "items.tsv", format = "tsv", id = "item_id", title = "title", text = ["genres"] }\n'
    p = tmp_path / "spec.toml"
    p.write_text(spec, encoding="utf-8")
    return p


def prepare(tmp_path: Path, spec: Path) -> tuple[IngestSummary, list[dict[str, str]]]:
    summary = IngestSummary(spec=str(spec))
    prepare_dataset(load_spec(spec), tmp_path / "rejects.tsv", summary)
    return summary, list(iter_rejects(tmp_path / "rejects.tsv"))


HEADER = "user_id\titem_id\trating\tts\n"


def test_malformed_rows_are_counted_rejects_with_line(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, HEADER + "u1\t1\t5\t10\nu2\t2\t4\nu3\t3\t3\t30\textra\n\nu4\t1\t1\t1\n")
    summary, rejects = prepare(tmp_path, spec)
    assert summary.scenarios["s"].interactions_loaded == 2
    assert summary.scenarios["s"].interactions_rejected == 3
    assert [(r["line"], r["kind"]) for r in rejects] == [("3", "field-count"), ("4", "field-count"), ("5", "blank")]
    assert rejects[0]["file"].endswith("inter.tsv") and "expected 4 fields" in rejects[0]["reason"]


def test_wrong_types_are_rejected_with_value(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, HEADER + "u1\t1\tfive\t10\nu2\t2\t4\tyesterday\nu3\t3\t2\t2024-05-01T10:00:00\n")
    summary, rejects = prepare(tmp_path, spec)
    assert [(r["line"], r["kind"]) for r in rejects] == [("2", "rating"), ("3", "timestamp")]
    assert "'five'" in rejects[0]["reason"] and "'yesterday'" in rejects[1]["reason"]
    assert summary.scenarios["s"].interactions_loaded == 1  # the ISO date parses


def test_missing_required_column_is_an_error_naming_file_and_fix(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, "user\titem_id\trating\tts\nu1\t1\t5\t1\n")
    with pytest.raises(
        InputDataError, match=r"inter\.tsv:2: .*'user_id'.*it has \['item_id', 'rating', 'ts', 'user'\]"
    ):
        prepare(tmp_path, spec)


def test_unknown_item_ids_are_rejected_or_created(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, HEADER + "u1\t1\t5\t1\nu1\t99\t5\t1\n")
    summary, rejects = prepare(tmp_path, spec)
    assert [(r["line"], r["kind"]) for r in rejects] == [("3", "unknown-item")]
    assert "unknown_items" in rejects[0]["reason"]
    assert summary.scenarios["s"].items_without_interactions == 2
    (tmp_path / "second").mkdir()
    spec2 = write_spec(tmp_path / "second", HEADER + "u1\t1\t5\t1\nu1\t99\t5\t1\n", extra='unknown_items = "create"\n')
    summary2, rejects2 = prepare(tmp_path / "second", spec2)
    assert rejects2 == [] and summary2.scenarios["s"].items_created == 1


def test_item_file_problems(tmp_path: Path) -> None:
    items = "item_id\ttitle\tgenres\n1\tAlpha\tA\n\tNo id\tX\n1\tAlpha again\tA\n2\tBeta\n"
    spec = write_spec(tmp_path, HEADER + "u1\t1\t5\t1\n", items=items)
    summary, rejects = prepare(tmp_path, spec)
    assert [(r["line"], r["kind"]) for r in rejects] == [("3", "missing-id"), ("4", "duplicate"), ("5", "field-count")]
    assert "first at" in rejects[1]["reason"] and rejects[1]["file"].endswith("items.tsv")
    assert summary.scenarios["s"].items_loaded == 1 and summary.scenarios["s"].items_rejected == 3


def test_non_utf8_bytes_are_rejected_and_encoding_can_be_declared(tmp_path: Path) -> None:
    inter = (HEADER + "u1\t1\t5\t1\n").encode() + "Jos\xe9\t2\t4\t1\n".encode("latin-1")
    spec = write_spec(tmp_path, inter)
    summary, rejects = prepare(tmp_path, spec)
    assert [(r["line"], r["kind"]) for r in rejects] == [("3", "encoding")]
    assert "latin-1" in rejects[0]["reason"] and "0xe9" in rejects[0]["reason"].lower().replace("\\x", "0x")
    text = spec.read_text().replace('format = "tsv", user', 'format = "tsv", encoding = "latin-1", user')
    spec.write_text(text)
    summary, rejects = prepare(tmp_path, spec)
    assert rejects == [] and summary.scenarios["s"].interactions_loaded == 2


def test_duplicate_interactions_are_rejected_with_first_location(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, HEADER + "u1\t1\t5\t1\nu2\t1\t4\t1\nu1\t1\t3\t2\n")
    summary, rejects = prepare(tmp_path, spec)
    assert [(r["line"], r["kind"]) for r in rejects] == [("4", "duplicate")]
    assert "inter.tsv:2" in rejects[0]["reason"]
    assert summary.rejects_by_kind == {"duplicate": 1}


@pytest.mark.parametrize("content", [b"", HEADER.encode()])
def test_empty_files_are_errors(tmp_path: Path, content: bytes) -> None:
    spec = write_spec(tmp_path, content)
    with pytest.raises(InputDataError, match=r"inter\.tsv: .*(empty|no records)"):
        prepare(tmp_path, spec)


def test_missing_file_is_an_error_naming_the_path(tmp_path: Path) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(
        '[[scenario]]\nname = "s"\ninteractions = { path = "nope.tsv", format = "tsv", user = "u", item = "i" }\n'
    )
    with pytest.raises(InputDataError, match=r"nope\.tsv: file not found; check the path"):
        prepare(tmp_path, spec)


def test_invalid_jsonl_lines_are_rejected(tmp_path: Path) -> None:
    p = tmp_path / "r.jsonl"
    p.write_text('{"reviewerID": "a", "asin": "x", "overall": 5}\n{broken\n[1, 2]\n')
    spec = tmp_path / "spec.toml"
    spec.write_text('[[scenario]]\nname = "s"\ninteractions = { path = "r.jsonl", format = "amazon-2018" }\n')
    summary, rejects = prepare(tmp_path, spec)
    assert [(r["line"], r["kind"]) for r in rejects] == [("2", "json"), ("3", "json")]
    assert summary.scenarios["s"].interactions_loaded == 1 and summary.scenarios["s"].items_created == 1


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "no \\[\\[scenario\\]\\] tables"),
        ('[[scenario]]\nname = "a"\n', "interactions: missing"),
        ('[[scenario]]\nname = "a"\ninteractions = { path = "x", format = "xlsx" }\n', "format = 'xlsx' is not known"),
        ('[[scenario]]\nname = "a"\ninteractions = { path = "x", format = "tsv", user = "u" }\n', "needs 'item'"),
        ('[[scenario]]\nname = "a"\nintractions = {}\n', "unknown keys \\['intractions'\\]"),
        (
            '[[scenario]]\nname = "a"\ninteractions = { path = "x", format = "recbole", usr = "u" }\n',
            "unknown keys \\['usr'\\]",
        ),
        (
            '[[scenario]]\nname = "a"\ninteractions = { path = "x", format = "recbole" }\n[[scenario]]\nname = "a"\n'
            'interactions = { path = "y", format = "recbole" }\n',
            "unique",
        ),
        ("[[scenario]\n", "not valid TOML"),
    ],
)
def test_spec_errors_name_the_file_and_key(tmp_path: Path, text: str, match: str) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        load_spec(p)
    assert str(p) in str(info.value)


def test_spec_relative_paths_resolve_against_the_spec_file(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    p = tmp_path / "sub" / "spec.toml"
    p.write_text('[[scenario]]\nname = "a"\ninteractions = { path = "../d/x.inter", format = "recbole" }\n')
    spec = load_spec(p, check_files=False)
    src = spec.scenarios[0].interactions[0]
    assert src.file.path == (tmp_path / "d" / "x.inter").resolve()
    assert (src.user, src.item, src.rating) == ("user_id", "item_id", "rating?")


def test_blank_header_line_is_an_error(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, "\n" + HEADER + "u1\t1\t5\t1\n")
    with pytest.raises(InputDataError, match=r"inter\.tsv:1: the header line is blank"):
        prepare(tmp_path, spec)


_PERMISSION_PROBE = """
import sys
from pathlib import Path
from graphrec.errors import InputDataError
from ingest.prepare import prepare_dataset
from ingest.summary import IngestSummary
from ingest.spec import load_spec
spec = Path(sys.argv[1])
try:
    prepare_dataset(load_spec(spec), spec.parent / "rejects.tsv", IngestSummary(spec=str(spec)))
except InputDataError as e:
    print("InputDataError:", e)
"""


def _without_file_permissions() -> list[str]:
    """A command prefix under which this process's file permissions apply (root: DAC capabilities dropped)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv (util-linux) is missing: root reads any file")
    drop = "-dac_override,-dac_read_search"
    return [setpriv, "--bounding-set", drop, "--inh-caps", drop]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("inter.tsv", "tsv"), ("inter.tsv.gz", "tsv"), ("inter.parquet", "parquet"), ("sub/inter.tsv", "tsv")],
)
def test_permission_denied_is_an_error_naming_the_file(tmp_path: Path, name: str, fmt: str) -> None:
    data = tmp_path / name
    data.parent.mkdir(exist_ok=True)
    data.write_bytes(HEADER.encode() + b"u1\t1\t5\t1\n")
    spec = tmp_path / "spec.toml"
    spec.write_text(
        '[[scenario]]\nname = "s"\n'
        f'interactions = {{ path = "{name}", format = "{fmt}", user = "user_id", item = "item_id" }}\n'
    )
    locked = data.parent if name.startswith("sub/") else data
    locked.chmod(0)
    try:
        proc = subprocess.run(
            [*_without_file_permissions(), sys.executable, "-c", _PERMISSION_PROBE, str(spec)],
            capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2],
        )  # fmt: skip
    finally:
        locked.chmod(0o755 if locked.is_dir() else 0o644)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.startswith(f"InputDataError: {data}: permission denied"), proc.stdout
    assert "chmod" in proc.stdout
