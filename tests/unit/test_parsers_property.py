"""Property-based tests (Hypothesis) of the input parsers: ids round-trip through every text format
under the whitespace rule, any byte noise ends as loaded or counted rejects (never a crash), and
numbers parse exactly when they are plain decimal numbers."""

from __future__ import annotations

import csv
import io
import json
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.prepare import prepare_dataset
from ingest.spec import load_spec
from ingest.summary import IngestSummary, iter_rejects
from ingest.values import INT64_MAX, INT64_MIN, BadValue, parse_id, parse_rating, parse_timestamp

# database=None: no .hypothesis folder in the repository; failures print their reproducing example.
SETTINGS = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

# Any text without control characters (C0, DEL) or surrogates: what an id may hold.
ID_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters=[chr(c) for c in (*range(32), 127)])
IDS = st.text(ID_CHARS, min_size=0, max_size=12)
PAIRS = st.lists(st.tuples(IDS, IDS), min_size=1, max_size=25)


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="graphrec-prop-") as d:
        yield Path(d)


def prepare(tmp: Path, name: str, fmt: str) -> tuple[IngestSummary, list[tuple[str, str]], list[dict[str, str]]]:
    spec = tmp / "spec.toml"
    spec.write_text(
        f'[[scenario]]\nname = "s"\nunknown_items = "create"\n'
        f'interactions = {{ path = "{name}", format = "{fmt}", user = "user_id", item = "item_id" }}\n',
        encoding="utf-8",
    )
    summary = IngestSummary(spec=str(spec))
    prepared = prepare_dataset(load_spec(spec), tmp / "rejects.tsv", summary)
    return summary, [(i.user, i.item) for i in prepared["s"].interactions], list(iter_rejects(tmp / "rejects.tsv"))


def expected(
    pairs: list[tuple[str, str]], *, header_rows: bool, blank_lines: bool = False
) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """What the whitespace rule and the pipeline's checks make of ``pairs``: loaded pairs and reject kinds."""
    loaded: list[tuple[str, str]] = []
    kinds: dict[str, int] = {}
    for u, i in pairs:
        us, is_ = u.strip(), i.strip()
        if header_rows and (us, is_) == ("user_id", "item_id"):
            kind = "header"
        elif blank_lines and not (u + "\t" + i).strip():
            kind = "blank"
        elif not us or not is_:
            kind = "missing-id"
        elif (us, is_) in loaded:
            kind = "duplicate"
        else:
            loaded.append((us, is_))
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
    return loaded, kinds


def kinds_of(rejects: list[dict[str, str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rejects:
        out[r["kind"]] = out.get(r["kind"], 0) + 1
    return out


@SETTINGS
@given(PAIRS)
def test_tsv_ids_round_trip(pairs: list[tuple[str, str]]) -> None:
    pairs = [(u.replace("\t", " "), i.replace("\t", " ")) for u, i in pairs]
    with folder() as tmp:
        (tmp / "x.tsv").write_text("user_id\titem_id\n" + "".join(f"{u}\t{i}\n" for u, i in pairs), encoding="utf-8")
        summary, loaded, rejects = prepare(tmp, "x.tsv", "tsv")
    want, want_kinds = expected(pairs, header_rows=True, blank_lines=True)
    assert loaded == want
    assert kinds_of(rejects) == want_kinds
    assert summary.scenarios["s"].interactions_loaded + summary.scenarios["s"].interactions_rejected == len(pairs)


@SETTINGS
@given(PAIRS, st.sampled_from([",", ";", "|"]))
def test_csv_ids_round_trip_with_quoting(pairs: list[tuple[str, str]], delimiter: str) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["user_id", "item_id"])
    writer.writerows(pairs)
    with folder() as tmp:
        (tmp / "x.csv").write_text(buf.getvalue(), encoding="utf-8")
        spec_delim = f', delimiter = "{delimiter}"' if delimiter != "," else ""
        spec = tmp / "spec.toml"
        spec.write_text(
            f'[[scenario]]\nname = "s"\nunknown_items = "create"\n'
            f'interactions = {{ path = "x.csv", format = "csv", user = "user_id", item = "item_id"{spec_delim} }}\n'
        )
        summary = IngestSummary(spec=str(spec))
        prepared = prepare_dataset(load_spec(spec), tmp / "rejects.tsv", summary)
        rejects = list(iter_rejects(tmp / "rejects.tsv"))
    # csv.writer writes an all-empty row as a line holding the delimiter: a record, never a blank line.
    want, want_kinds = expected(pairs, header_rows=True)
    assert [(i.user, i.item) for i in prepared["s"].interactions] == want
    assert kinds_of(rejects) == want_kinds
    assert summary.scenarios["s"].interactions_loaded + summary.scenarios["s"].interactions_rejected == len(pairs)


@SETTINGS
@given(
    st.lists(
        st.tuples(st.one_of(IDS, st.integers(min_value=-(10**30), max_value=10**30)), IDS), min_size=1, max_size=25
    )
)
def test_jsonl_ids_round_trip(pairs: list[tuple[str | int, str]]) -> None:
    with folder() as tmp:
        (tmp / "x.jsonl").write_text(
            "".join(json.dumps({"user_id": u, "item_id": i}) + "\n" for u, i in pairs), encoding="utf-8"
        )
        summary, loaded, rejects = prepare(tmp, "x.jsonl", "jsonl")
    want, want_kinds = expected([(str(u), i) for u, i in pairs], header_rows=False)
    assert loaded == want
    assert kinds_of(rejects) == want_kinds
    assert summary.scenarios["s"].interactions_loaded + summary.scenarios["s"].interactions_rejected == len(pairs)


NOISE = st.binary(min_size=0, max_size=40).map(lambda b: b.replace(b"\n", b" "))


@SETTINGS
@given(st.lists(NOISE, min_size=1, max_size=30), st.sampled_from(["tsv", "jsonl", "csv"]))
def test_byte_noise_is_loaded_or_counted_never_a_crash(lines: list[bytes], fmt: str) -> None:
    header = {
        "tsv": b"user_id\titem_id\n",
        "csv": b"user_id,item_id\n",
        "jsonl": b'{"user_id": "u", "item_id": "i"}\n',
    }[fmt]
    with folder() as tmp:
        (tmp / f"x.{fmt}").write_bytes(header + b"\n".join(lines) + b"\n")
        summary, loaded, rejects = prepare(tmp, f"x.{fmt}", fmt)
    counts = summary.scenarios["s"]
    assert counts.interactions_loaded == len(loaded) and counts.interactions_rejected == len(rejects)
    records = len(lines) + (1 if fmt == "jsonl" else 0)
    if fmt == "csv":  # a quote in the noise may join lines into one record
        assert 1 <= counts.interactions_loaded + counts.interactions_rejected <= records
    else:
        assert counts.interactions_loaded + counts.interactions_rejected == records
    for u, i in loaded:
        assert u == u.strip() and i == i.strip() and u and i
        assert not any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in u + i)
    assert all(r["reason"] and r["kind"] for r in rejects)


NUMBERISH = st.text(st.sampled_from(list("0123456789+-.eE_ \u0661xnaifINF")), min_size=1, max_size=12)


def _python_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@SETTINGS
@given(NUMBERISH)
def test_rating_parses_iff_plain_finite_decimal(text: str) -> None:
    plain = text.strip()
    python = _python_float(plain)
    strict = (
        python is not None and math.isfinite(python) and plain.isascii() and all(c in "0123456789+-.eE" for c in plain)
    )
    if strict:
        assert parse_rating(text, "r") == python
    else:
        with pytest.raises(BadValue) if plain else _nothing():
            got = parse_rating(text, "r")
            assert got is None


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@SETTINGS
@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["{!r}", "{:e}", "{:.3f}", " {!r} ", "+{!r}"]))
def test_finite_floats_round_trip_as_ratings(x: float, form: str) -> None:
    text = form.format(x)
    if text.startswith("+-"):
        text = text[1:]
    assert parse_rating(text, "r") == float(text.strip())


@SETTINGS
@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_integer_timestamps_hold_iff_int64(n: int) -> None:
    for value in (n, str(n), f" {n} "):
        if INT64_MIN <= n <= INT64_MAX:
            assert parse_timestamp(value, "ts") == n
        else:
            with pytest.raises(BadValue, match="out of range"):
                parse_timestamp(value, "ts")


@SETTINGS
@given(
    st.one_of(
        st.floats(),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    )
)
def test_non_string_non_integer_ids_are_rejected(value: object) -> None:
    if isinstance(value, float) and math.isnan(value):
        assert parse_id(value, "id") is None  # Parquet/pandas missing value
        return
    with pytest.raises(BadValue) as info:
        parse_id(value, "user id")
    assert info.value.kind == "id-type" and "store ids as strings or integers" in info.value.reason


@SETTINGS
@given(
    IDS,
    st.text(st.sampled_from(" \t\u00a0\u2003\n"), max_size=3),
    st.text(st.sampled_from(" \t\u00a0\u3000\r"), max_size=3),
)
def test_id_whitespace_rule(core: str, left: str, right: str) -> None:
    got = parse_id(left + core + right, "id")
    assert got == ((core.strip()) or None)
    for encoded in ((left + core + right).encode(),):
        assert parse_id(encoded, "id") == got


def test_parquet_decimal_and_date_values(tmp_path: Path) -> None:
    import datetime as dt
    from decimal import Decimal

    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "user_id": ["u1", "u2", "u3", "u4"],
            "item_id": ["i1", "i1", "i1", "i1"],
            "rating": pa.array([Decimal("4.5"), Decimal("3.0"), Decimal("2.0"), Decimal("1.0")], pa.decimal128(3, 1)),
            "timestamp": pa.array(
                [dt.datetime(2024, 5, 1), dt.datetime(1969, 12, 31, 23, 59), None, dt.datetime(1, 1, 1)],
                pa.timestamp("s"),
            ),
        }
    )  # fmt: skip
    pq.write_table(table, tmp_path / "x.parquet")
    spec = tmp_path / "spec.toml"
    spec.write_text('[[scenario]]\nname = "s"\nunknown_items = "create"\n'
                    'interactions = { path = "x.parquet", format = "parquet", '
                    'user = "user_id", item = "item_id", rating = "rating", timestamp = "timestamp" }\n')  # fmt: skip
    summary = IngestSummary(spec=str(spec))
    got = prepare_dataset(load_spec(spec), tmp_path / "rejects.tsv", summary)["s"].interactions
    assert [(i.rating, i.ts) for i in got] == [(4.5, 1714521600), (3.0, -60), (2.0, None), (1.0, -62135596800)]
    for bad in (Decimal("NaN"), Decimal("sNaN"), Decimal("1e30")):
        with pytest.raises(BadValue):
            parse_timestamp(bad, "ts")
    with pytest.raises(BadValue):
        parse_rating(Decimal("sNaN"), "r")
