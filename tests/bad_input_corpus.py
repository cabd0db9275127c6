"""A generated corpus of bad input files, each with its exact expected outcome.

Every case writes one interactions file (nothing is copied from ../shared) and states either the
error it must raise (type, a pattern, and the line where one applies) or exactly how many records
load and how many are rejected, by kind; ``loaded + rejected == rows`` (the records in the file).
Used by tests/unit/test_bad_input_corpus.py (no database) and tests/integration/test_corpus_ingest.py
(all loadable cases in one spec, recounted in the graph).
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from graphrec.errors import ConfigError, InputDataError

COLS = ("user_id", "item_id", "rating", "timestamp")
MAPPING = 'user = "user_id", item = "item_id", rating = "rating?", timestamp = "timestamp?"'


@dataclass(frozen=True)
class Case:
    """One corpus file and its expected outcome.

    Attributes:
        name: Case name (also the scenario name and the file's stem).
        suffix: File name suffix (``.tsv``, ``.csv.gz``, ...).
        fmt: Spec ``format``.
        write: Writes the file to the given path.
        options: Extra TOML for the ``interactions`` table (``encoding = "latin-1"``).
        rows: Records in the file (header excluded); ``None`` for error cases.
        loaded: Interactions expected to load.
        rejects: Expected reject counts by kind.
        error: Expected exception type, or ``None``.
        match: Regex the error message must match.
        line: Line the error must name (``path:line:``), ``0`` for "some line", or ``None``.
        reject_lines: Expected ``(line, kind)`` of every reject, in order, when given.
        users: Expected user ids (exact strings), when given.
        items: Expected item ids, when given.
    """

    name: str
    suffix: str
    fmt: str
    write: Callable[[Path], None]
    options: str = ""
    rows: int | None = None
    loaded: int = 0
    rejects: dict[str, int] = field(default_factory=dict)
    error: type[Exception] | None = None
    match: str = ""
    line: int | None = None
    reject_lines: tuple[tuple[int, str], ...] | None = None
    users: frozenset[str] | None = None
    items: frozenset[str] | None = None

    def path(self, folder: Path) -> Path:
        return folder / f"{self.name}{self.suffix}"

    def scenario_toml(self, folder: Path) -> str:
        """The ``[[scenario]]`` table reading this case's file."""
        mapping = "" if self.fmt in ("recbole", "ml-1m") else MAPPING
        opts = ", ".join(
            p for p in (f'path = "{self.path(folder).name}"', f'format = "{self.fmt}"', mapping, self.options) if p
        )
        return f'[[scenario]]\nname = "{self.name}"\nunknown_items = "create"\ninteractions = {{ {opts} }}\n\n'


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(data)


def _text(data: str, encoding: str = "utf-8") -> Callable[[Path], None]:
    return _bytes(data.encode(encoding))


def tsv(rows: list[tuple[str, ...]], header: tuple[str, ...] = COLS, sep: str = "\t") -> str:
    return "".join(sep.join(r) + "\n" for r in [header, *rows])


def jsonl(rows: list[dict | str]) -> str:  # type: ignore[type-arg]
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def good(n: int, start: int = 1) -> list[tuple[str, ...]]:
    """``n`` valid rows ``u<k> i<k> 4 <k>``."""
    return [(f"u{k}", f"i{k}", "4", str(1_600_000_000 + k)) for k in range(start, start + n)]


def _gzip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as fh:
        fh.write(data)
    return buf.getvalue()


def _long_rows(n: int) -> bytes:
    """``n`` distinct valid rows, padded so the gzip stream is several blocks long."""
    return tsv([(f"user{k:06d}", f"item{k % 997}", str(1 + k % 5), str(k)) for k in range(n)]).encode()


def _truncated_gz(p: Path) -> None:
    data = _gzip(_long_rows(40_000))
    p.write_bytes(data[: len(data) // 2])


def _corrupt_gz(p: Path) -> None:
    data = bytearray(_gzip(_long_rows(40_000)))
    for k in range(len(data) // 2, len(data) // 2 + 64):
        data[k] ^= 0x5A
    p.write_bytes(bytes(data))


def _parquet(columns: dict[str, list], schema: dict[str, str] | None = None) -> Callable[[Path], None]:  # type: ignore[type-arg]
    def write(p: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        fields = [pa.field(k, getattr(pa, (schema or {}).get(k, "string"))()) for k in columns]
        pq.write_table(pa.table(columns, schema=pa.schema(fields)), p)

    return write


def _truncated_parquet(p: Path) -> None:
    _parquet({"user_id": ["u1", "u2"], "item_id": ["i1", "i2"]})(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) - 20])


def _empty_parquet(p: Path) -> None:
    _parquet({"user_id": [], "item_id": []})(p)


BIG = "x" * (200 * 1024)
H = "\t".join(COLS) + "\n"


def cases() -> list[Case]:
    """The corpus: more than 40 files across encodings, compression, quoting, delimiters, headers,
    id and number edge cases, sizes and formats."""
    c: list[Case] = []
    add = c.append
    # ---- encodings -------------------------------------------------------------------------------
    add(
        Case(
            "latin1_bytes",
            ".tsv",
            "tsv",
            _bytes((H + "u1\ti1\t4\t1\n").encode() + "Jos\xe9\ti2\t4\t2\n".encode("latin-1")),
            rows=2,
            loaded=1,
            rejects={"encoding": 1},
            reject_lines=((3, "encoding"),),
        )
    )
    add(
        Case(
            "latin1_declared",
            ".tsv",
            "tsv",
            _bytes((H + "u1\ti1\t4\t1\n").encode() + "Jos\xe9\ti2\t4\t2\n".encode("latin-1")),
            options='encoding = "latin-1"',
            rows=2,
            loaded=2,
            users=frozenset({"u1", "José"}),
        )
    )
    add(
        Case(
            "bom_tsv",
            ".tsv",
            "tsv",
            _bytes(b"\xef\xbb\xbf" + tsv(good(3)).encode()),
            rows=3,
            loaded=3,
            users=frozenset({"u1", "u2", "u3"}),
        )
    )
    add(Case("bom_csv", ".csv", "csv", _bytes(b"\xef\xbb\xbf" + tsv(good(2), sep=",").encode()), rows=2, loaded=2))
    add(
        Case(
            "utf16_undeclared",
            ".tsv",
            "tsv",
            _text(tsv(good(2)), "utf-16"),
            error=InputDataError,
            match="header line cannot be read: bytes are not valid utf-8",
            line=1,
        )
    )
    add(
        Case(
            "utf16_declared",
            ".tsv",
            "tsv",
            _text(tsv([("Zoë", "i1", "4", "1"), *good(2)]), "utf-16"),
            options='encoding = "utf-16"',
            rows=3,
            loaded=3,
            users=frozenset({"Zoë", "u1", "u2"}),
        )
    )
    add(
        Case(
            "cp1252_quotes",
            ".tsv",
            "tsv",
            _bytes(H.encode() + b"u1\t\x93quoted\x94\t4\t1\n" + tsv(good(1)).encode()[len(H) :]),
            rows=2,
            loaded=1,
            rejects={"encoding": 1},
        )
    )
    add(
        Case(
            "bom_midfile",
            ".tsv",
            "tsv",
            _bytes(tsv(good(1)).encode() + b"\xef\xbb\xbfu9\ti9\t4\t9\n"),
            rows=2,
            loaded=2,
            users=frozenset({"u1", "\ufeffu9"}),
        )
    )
    # ---- compression -----------------------------------------------------------------------------
    add(Case("gz_ok", ".tsv.gz", "tsv", _bytes(_gzip(tsv(good(5)).encode())), rows=5, loaded=5))
    add(Case("gz_upper", ".TSV.GZ", "tsv", _bytes(_gzip(tsv(good(4)).encode())), rows=4, loaded=4))
    add(Case("gz_unnamed", ".tsv", "tsv", _bytes(_gzip(tsv(good(3)).encode())), rows=3, loaded=3))
    add(
        Case(
            "gz_truncated",
            ".tsv.gz",
            "tsv",
            _truncated_gz,
            error=InputDataError,
            match=r"truncated gzip.*gzip -t",
            line=0,
        )
    )
    add(
        Case(
            "gz_corrupt",
            ".tsv.gz",
            "tsv",
            _corrupt_gz,
            error=InputDataError,
            match=r"(corrupt gzip|truncated gzip)",
            line=0,
        )
    )
    add(Case("gz_not_gzip", ".tsv.gz", "tsv", _text(tsv(good(2))), error=InputDataError, match=r"not gzip data"))
    add(
        Case(
            "gz_jsonl_truncated",
            ".jsonl.gz",
            "jsonl",
            lambda p: p.write_bytes(
                _gzip(jsonl([{"user_id": f"u{k}", "item_id": "i"} for k in range(20_000)]).encode())[:3000]
            ),
            error=InputDataError,
            match="truncated gzip",
            line=0,
        )
    )
    # ---- quoting ---------------------------------------------------------------------------------
    hq = "user_id,item_id,rating,timestamp,note\n"
    add(
        Case(
            "csv_embedded_newline",
            ".csv",
            "csv",
            _text(hq + 'u1,i1,4,1,"first line\nsecond line"\nu2,i2,4,2,plain\nu3,i3,five,3,x\n'),
            rows=3,
            loaded=2,
            rejects={"rating": 1},
            reject_lines=((5, "rating"),),
        )
    )
    add(
        Case(
            "csv_unterminated_quote",
            ".csv",
            "csv",
            _text(hq + 'u1,i1,4,1,ok\nu2,i2,4,2,"never closed\nu3,i3,4,3,x\nu4,i4,4,4,y\n'),
            rows=2,
            loaded=1,
            rejects={"quoting": 1},
            reject_lines=((3, "quoting"),),
        )
    )
    add(
        Case(
            "csv_embedded_delimiter",
            ".csv",
            "csv",
            _text(hq + '"u,1",i1,4,1,"a, b"\nu2,i2,4,2,c\n'),
            rows=2,
            loaded=2,
            users=frozenset({"u,1", "u2"}),
        )
    )
    add(
        Case(
            "csv_text_after_quote",
            ".csv",
            "csv",
            _text(hq + '"u1"x,i1,4,1,n\nu2,i2,4,2,n\n'),
            rows=2,
            loaded=1,
            rejects={"quoting": 1},
        )
    )
    add(
        Case(
            "csv_doubled_quotes",
            ".csv",
            "csv",
            _text(hq + '"say ""hi""",i1,4,1,n\n'),
            rows=1,
            loaded=1,
            users=frozenset({'say "hi"'}),
        )
    )
    add(
        Case(
            "csv_quoted_newline_in_id",
            ".csv",
            "csv",
            _text(hq + '"u\n1",i1,4,1,n\nu2,i2,4,2,n\n'),
            rows=2,
            loaded=1,
            rejects={"id-control": 1},
            reject_lines=((2, "id-control"),),
        )
    )
    # ---- delimiters ------------------------------------------------------------------------------
    add(
        Case(
            "wrong_delimiter",
            ".csv",
            "csv",
            _text(tsv(good(2))),
            error=InputDataError,
            match=r"header was read as one column: check the delimiter",
            line=2,
        )
    )
    add(
        Case(
            "semicolon_declared",
            ".csv",
            "csv",
            _text(tsv(good(3), sep=";")),
            options='delimiter = ";"',
            rows=3,
            loaded=3,
        )
    )
    add(
        Case(
            "stray_tabs",
            ".tsv",
            "tsv",
            _text(H + "u1\ti1\t4\t1\textra\nu2\ti2\t4\nu3\ti3\t4\t3\n"),
            rows=3,
            loaded=1,
            rejects={"field-count": 2},
        )
    )
    # ---- headers ---------------------------------------------------------------------------------
    add(
        Case(
            "missing_header",
            ".tsv",
            "tsv",
            _text("".join("\t".join(r) + "\n" for r in good(3))),
            error=InputDataError,
            match=r"required column 'user_id' \(for user\) is not in the file",
            line=2,
        )
    )
    add(
        Case(
            "duplicate_header_names",
            ".tsv",
            "tsv",
            _text(tsv(good(1), header=("user_id", "item_id", "rating", "rating"))),
            error=InputDataError,
            match=r"header repeats column names \['rating'\]",
            line=1,
        )
    )
    add(
        Case(
            "header_repeated_midfile",
            ".tsv",
            "tsv",
            _text(tsv(good(2)) + tsv(good(2, start=3))),
            rows=5,
            loaded=4,
            rejects={"header": 1},
            reject_lines=((4, "header"),),
        )
    )
    add(
        Case(
            "recbole_repeated_header",
            ".inter",
            "recbole",
            _text(tsv(good(2), header=("user_id:token", "item_id:token", "rating:float", "timestamp:float")) * 2),
            rows=5,
            loaded=2,
            rejects={"header": 1, "duplicate": 2},
        )
    )
    add(
        Case(
            "columns_with_header",
            ".tsv",
            "tsv",
            _text(tsv(good(3))),
            options=f"columns = {list(COLS)!r}".replace("'", '"'),
            rows=4,
            loaded=3,
            rejects={"header": 1},
            reject_lines=((1, "header"),),
        )
    )
    add(
        Case(
            "columns_without_header",
            ".tsv",
            "tsv",
            _text(tsv(good(3))[len(H) :]),
            options=f"columns = {list(COLS)!r}".replace("'", '"'),
            rows=3,
            loaded=3,
        )
    )
    add(
        Case(
            "blank_header",
            ".tsv",
            "tsv",
            _text("\n" + tsv(good(1))),
            error=InputDataError,
            match="header line is blank",
            line=1,
        )
    )
    add(Case("header_only", ".tsv", "tsv", _text(H), error=InputDataError, match="header but no records"))
    add(
        Case(
            "empty_column_name",
            ".tsv",
            "tsv",
            _text("user_id\t\titem_id\nu\tx\ti\n"),
            error=InputDataError,
            match="empty column name",
            line=1,
        )
    )
    # ---- ids -------------------------------------------------------------------------------------
    add(
        Case(
            "empty_ids",
            ".tsv",
            "tsv",
            _text(H + "\ti1\t4\t1\nu2\t \t4\t2\nu3\ti3\t4\t3\n"),
            rows=3,
            loaded=1,
            rejects={"missing-id": 2},
        )
    )
    add(
        Case(
            "whitespace_ids",
            ".tsv",
            "tsv",
            _text(H + "  u1 \ti1\t4\t1\nu1\t i1\t4\t2\nu 2\t\u00a0i2\u00a0\t4\t3\n"),
            rows=3,
            loaded=2,
            rejects={"duplicate": 1},
            users=frozenset({"u1", "u 2"}),
            items=frozenset({"i1", "i2"}),
        )
    )
    add(
        Case(
            "nul_in_id",
            ".tsv",
            "tsv",
            _text(H + "u\x001\ti1\t4\t1\nu2\ti\x012\t4\t2\nu3\ti3\t4\t3\n"),
            rows=3,
            loaded=1,
            rejects={"id-control": 2},
        )
    )
    add(
        Case(
            "jsonl_float_ids",
            ".jsonl",
            "jsonl",
            _text(
                jsonl(
                    [{"user_id": 1.0, "item_id": "i1"}, {"user_id": 7, "item_id": 8}, {"user_id": "u3", "item_id": 2.5}]
                )
            ),
            rows=3,
            loaded=1,
            rejects={"id-type": 2},
            users=frozenset({"7"}),
            items=frozenset({"8"}),
        )
    )
    add(
        Case(
            "jsonl_bool_list_dict_ids",
            ".jsonl",
            "jsonl",
            _text(
                jsonl(
                    [
                        {"user_id": True, "item_id": "i1"},
                        {"user_id": ["u"], "item_id": "i1"},
                        {"user_id": "u", "item_id": {"id": 1}},
                        {"user_id": "u", "item_id": "i1"},
                    ]
                )
            ),
            rows=4,
            loaded=1,
            rejects={"id-type": 3},
        )
    )
    add(
        Case(
            "jsonl_surrogate_id",
            ".jsonl",
            "jsonl",
            _text('{"user_id": "u\\ud800", "item_id": "i"}\n{"user_id": "u", "item_id": "i"}\n'),
            rows=2,
            loaded=1,
            rejects={"encoding": 1},
        )
    )
    add(
        Case(
            "jsonl_bad_lines",
            ".jsonl",
            "jsonl",
            _text(
                '{"user_id": "u1", "item_id": "i1"}\n{broken\n[1, 2]\n'
                + "[" * 100_000
                + "\n"
                + '{"user_id": "u2", "item_id": "i2", "timestamp": '
                + "9" * 5000
                + "}\n"
            ),
            rows=5,
            loaded=1,
            rejects={"json": 4},
        )
    )
    add(
        Case(
            "parquet_binary_ids",
            ".parquet",
            "parquet",
            _parquet(
                {"user_id": [b"u1", b"u2", b"\xff\xfe"], "item_id": [b"i1", b" i2 ", b"i3"]},
                {"user_id": "binary", "item_id": "binary"},
            ),
            rows=3,
            loaded=2,
            rejects={"encoding": 1},
            users=frozenset({"u1", "u2"}),
            items=frozenset({"i1", "i2"}),
        )
    )
    add(
        Case(
            "parquet_float_ids",
            ".parquet",
            "parquet",
            _parquet({"user_id": [1.0, 2.0], "item_id": ["i1", "i2"]}, {"user_id": "float64"}),
            rows=2,
            loaded=0,
            rejects={"id-type": 2},
        )
    )
    add(
        Case(
            "parquet_int_ids",
            ".parquet",
            "parquet",
            _parquet(
                {"user_id": [1, 2], "item_id": [10, 20], "rating": [4.0, float("nan")], "timestamp": [1.0, 1e300]},
                {"user_id": "int64", "item_id": "int64", "rating": "float64", "timestamp": "float64"},
            ),
            rows=2,
            loaded=1,
            rejects={"rating": 1},
            users=frozenset({"1"}),
            items=frozenset({"10"}),
        )
    )
    add(
        Case(
            "parquet_big_timestamp",
            ".parquet",
            "parquet",
            _parquet(
                {"user_id": ["u1", "u2"], "item_id": ["i1", "i2"], "timestamp": [1e300, -5.0]}, {"timestamp": "float64"}
            ),
            rows=2,
            loaded=1,
            rejects={"timestamp": 1},
        )
    )
    # ---- numbers ---------------------------------------------------------------------------------
    add(
        Case(
            "rating_strict",
            ".tsv",
            "tsv",
            _text(
                H
                + "".join(
                    f"u{k}\ti\t{r}\t1\n"
                    for k, r in enumerate(["5_0", "\u0661", "0x10", " 4.5 ", "4.", ".5", "-1", "1e1", "5 0", "+3"])
                )
            ),
            rows=10,
            loaded=6,
            rejects={"rating": 4},
        )
    )
    add(
        Case(
            "rating_nonfinite",
            ".tsv",
            "tsv",
            _text(
                H
                + "".join(f"u{k}\ti\t{r}\t1\n" for k, r in enumerate(["nan", "NaN", "inf", "-Infinity", "1e400", "3"]))
            ),
            rows=6,
            loaded=1,
            rejects={"rating": 5},
        )
    )
    add(
        Case(
            "jsonl_nan_rating",
            ".jsonl",
            "jsonl",
            _text(
                '{"user_id": "a", "item_id": "i", "rating": NaN, "timestamp": 1}\n'
                '{"user_id": "b", "item_id": "i", "rating": Infinity}\n'
                '{"user_id": "c", "item_id": "i", "rating": 4, "timestamp": NaN}\n'
                '{"user_id": "d", "item_id": "i", "rating": true}\n'
                '{"user_id": "e", "item_id": "i", "rating": null, "timestamp": 100000000000000000000}\n'
                '{"user_id": "f", "item_id": "i", "rating": 2.5, "timestamp": -1}\n'
            ),
            rows=6,
            loaded=1,
            rejects={"rating": 3, "timestamp": 2},
        )
    )
    add(
        Case(
            "timestamp_range",
            ".tsv",
            "tsv",
            _text(
                H
                + "".join(
                    f"u{k}\ti\t4\t{t}\n"
                    for k, t in enumerate(
                        [
                            "1e300",
                            "99999999999999999999",
                            "-86400",
                            "9223372036854775807",
                            "9223372036854775808",
                            "-9223372036854775809",
                            "1.5",
                            "0" * 30 + "7",
                            "inf",
                            "5_0",
                        ]
                    )
                )
            ),
            rows=10,
            loaded=4,
            rejects={"timestamp": 6},
        )
    )
    add(
        Case(
            "timestamp_iso",
            ".tsv",
            "tsv",
            _text(
                H
                + "".join(
                    f"u{k}\ti\t4\t{t}\n"
                    for k, t in enumerate(
                        [
                            "2024-05-01",
                            "2024-05-01T10:00:00+02:00",
                            "2024-05-01 10:00:00",
                            "2024-13-01",
                            "yesterday",
                            "0001-01-01",
                        ]
                    )
                )
            ),
            rows=6,
            loaded=4,
            rejects={"timestamp": 2},
        )
    )
    # ---- sizes -----------------------------------------------------------------------------------
    add(Case("empty_file", ".tsv", "tsv", _bytes(b""), error=InputDataError, match=r"file is empty \(0 bytes\)"))
    add(Case("empty_gz", ".tsv.gz", "tsv", _bytes(_gzip(b"")), error=InputDataError, match="file has no header line"))
    add(
        Case(
            "csv_field_over_128k",
            ".csv",
            "csv",
            _text(hq + f'u1,i1,4,1,{BIG}\nu2,i2,4,2,short\nu3,i3,4,3,"{BIG}"\n'),
            rows=3,
            loaded=1,
            rejects={"field-size": 2},
            reject_lines=((2, "field-size"), (4, "field-size")),
        )
    )
    add(
        Case(
            "tsv_field_over_128k",
            ".tsv",
            "tsv",
            _text("user_id\titem_id\tnote\nu1\ti1\t" + BIG + "\n"),
            rows=1,
            loaded=1,
        )
    )
    add(
        Case(
            "blank_lines",
            ".tsv",
            "tsv",
            _text(H + "u1\ti1\t4\t1\n\n   \n\t\nu2\ti2\t4\t2\n"),
            rows=5,
            loaded=2,
            rejects={"blank": 3},
        )
    )
    add(
        Case(
            "crlf",
            ".csv",
            "csv",
            _text(tsv(good(3), sep=",").replace("\n", "\r\n")),
            rows=3,
            loaded=3,
            users=frozenset({"u1", "u2", "u3"}),
            items=frozenset({"i1", "i2", "i3"}),
        )
    )
    add(
        Case(
            "long_file",
            ".tsv.gz",
            "tsv",
            _bytes(_gzip(_long_rows(20_000) + b"bad\trow\n")),
            rows=20_001,
            loaded=20_000,
            rejects={"field-count": 1},
        )
    )
    # ---- formats ---------------------------------------------------------------------------------
    add(
        Case(
            "parquet_not_parquet",
            ".parquet",
            "parquet",
            _text(tsv(good(2))),
            error=InputDataError,
            match="not a readable Parquet file",
        )
    )
    add(
        Case(
            "parquet_truncated",
            ".parquet",
            "parquet",
            _truncated_parquet,
            error=InputDataError,
            match="not a readable Parquet file",
        )
    )
    add(
        Case(
            "parquet_empty",
            ".parquet",
            "parquet",
            _empty_parquet,
            error=InputDataError,
            match="Parquet file has no rows",
        )
    )
    add(
        Case(
            "ml1m_ratings",
            ".dat",
            "ml-1m",
            _text("1::10::5::978300760\n1::11::x::978300761\n2::10::4\n\n3::\x0012::4::1\n"),
            rows=5,
            loaded=1,
            rejects={"rating": 1, "field-count": 1, "blank": 1, "id-control": 1},
        )
    )
    add(
        Case(
            "recbole_typed",
            ".inter",
            "recbole",
            _text(
                tsv(
                    [(" 1 ", "0811825558", "4", "1"), ("2", "x", "4.5_", "2")],
                    header=("user_id:token", "item_id:token", "rating:float", "timestamp:float"),
                )
            ),
            rows=2,
            loaded=1,
            rejects={"rating": 1},
            users=frozenset({"1"}),
        )
    )
    add(
        Case(
            "unknown_format_key",
            ".tsv",
            "tsv",
            _text(tsv(good(1))),
            options='delimiter = "ab"',
            error=ConfigError,
            match="delimiter must be one character",
        )
    )
    return c


CASES = cases()
LOADABLE = [c for c in CASES if c.error is None]


def write_spec(folder: Path, selected: list[Case]) -> Path:
    """Write the files of ``selected`` into ``folder`` and one spec with a scenario per case."""
    folder.mkdir(parents=True, exist_ok=True)
    for case in selected:
        case.write(case.path(folder))
    spec = folder / "corpus.toml"
    spec.write_text("".join(case.scenario_toml(folder) for case in selected), encoding="utf-8")
    return spec
