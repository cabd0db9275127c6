"""Dataset spec: a TOML file declaring several scenarios and their source files.

Example::

    [[scenario]]
    name = "movies"
    interactions = { path = "movies.tsv", format = "tsv", user = "user_id", item = "item_id", rating = "rating" }
    items = { path = "movie_items.tsv", format = "tsv", id = "item_id", title = "title", text = ["genres"] }

Keys of ``interactions``: ``path``, ``format`` (see :data:`ingest.formats.FORMATS`), ``user``, ``item``,
``rating``, ``timestamp``, ``encoding``, ``delimiter``, ``columns`` (names for a header-less file).
Keys of ``items``: ``path``, ``format``, ``id``, ``title``, ``title_parser`` (``"dbpedia"``), ``text``
(list of columns), ``categories`` (a column of categories/genres: a list, or a string split on
``categories_separator``, default whitespace), ``enrich`` (true: the file only adds fields to items of
earlier item files; rows of other items are skipped and counted), ``encoding``, ``delimiter``, ``columns``.
Either may be a list of tables (several files).
Scenario keys: ``name``, ``interactions``, ``items``, ``unknown_items`` (``"reject"``, default, or
``"create"``). Relative paths resolve against the spec file's folder.

Values, the same for every format (details in :mod:`ingest.values`): ids are strings or integers;
surrounding whitespace is removed from ids and everything else is kept exactly. Ratings and numeric
timestamps are plain decimal numbers (no ``_``, ``NaN`` or ``Infinity``); timestamps fit in 64 bits or
are ISO-8601 dates. Files may be gzip-compressed (``.gz``, any case); UTF-8 files may start with a BOM.
Rows that break these rules are counted rejects with the reason (see :class:`ingest.records.Reject`).
"""

from __future__ import annotations

import codecs
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 (requires-python): the same parser, published as tomli
    import tomli as tomllib

from graphrec.errors import ConfigError, InputDataError
from ingest.formats import FORMATS
from ingest.sources.lines import unreadable_reason

TITLE_PARSERS = ("dbpedia",)
UNKNOWN_ITEM_POLICIES = ("reject", "create")


@dataclass(frozen=True)
class FileOptions:
    """How to read one file.

    Attributes:
        path: Absolute path.
        raw_path: The path as the spec writes it (for messages; not part of the options).
        format: A key of :data:`ingest.formats.FORMATS`.
        encoding: Text encoding; ``None`` = the format's default.
        delimiter: Field separator override for delimited formats.
        columns: Column names for a header-less delimited file.
    """

    path: Path
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    columns: tuple[str, ...] | None = None
    raw_path: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class InteractionSource:
    """An interaction file and its column mapping (a trailing ``?`` marks a column used only if present)."""

    file: FileOptions
    user: str
    item: str
    rating: str | None = None
    timestamp: str | None = None


@dataclass(frozen=True)
class ItemSource:
    """An item file and its column mapping."""

    file: FileOptions
    id: str
    title: str | None = None
    title_parser: str | None = None
    text: tuple[str, ...] = ()
    categories: str | None = None
    categories_separator: str | None = None
    enrich: bool = False


@dataclass(frozen=True)
class ScenarioSpec:
    """One scenario (domain) of the dataset.

    Attributes:
        name: Scenario name (``Scenario.name`` in the graph).
        interactions: Interaction files.
        items: Item files (may be empty: items are then created from interactions).
        unknown_items: What to do with interactions whose item is in no item file: ``"reject"``
            (default, counted in the rejects file) or ``"create"`` (create the item without metadata).
    """

    name: str
    interactions: tuple[InteractionSource, ...]
    items: tuple[ItemSource, ...] = ()
    unknown_items: str = "reject"


@dataclass(frozen=True)
class DatasetSpec:
    """A whole dataset: several scenarios. ``source`` names where it came from, for messages."""

    scenarios: tuple[ScenarioSpec, ...]
    source: str = "<spec>"


_FILE_KEYS = {"path", "format", "encoding", "delimiter", "columns"}
_INTER_KEYS = _FILE_KEYS | {"user", "item", "rating", "timestamp"}
_ITEM_KEYS = _FILE_KEYS | {"id", "title", "title_parser", "text", "categories", "categories_separator", "enrich"}
_SCENARIO_KEYS = {"name", "interactions", "items", "unknown_items"}


def load_spec(path: str | Path, *, check_files: bool = True) -> DatasetSpec:
    """Read and validate a dataset spec TOML file, and check that every file it declares can be read.

    The files are checked here, before any database is started, so a wrong path fails in
    milliseconds (:func:`check_spec_files`).

    Args:
        path: The spec file.
        check_files: Check the declared files (exist, regular, non-empty, readable); ``False`` only
            validates the spec itself.

    Raises:
        ConfigError: The file is missing, is not valid TOML, or declares something invalid;
            the message names the file, the scenario and the key.
        InputDataError: A declared file cannot be read; the message names it, the spec entry that
            declares it and the fix.
    """
    p = Path(path).expanduser().resolve()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"{p}: dataset spec not found") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: dataset spec must be UTF-8 text ({e})") from e
    spec = parse_spec(data, base_dir=p.parent, source=str(p))
    if check_files:
        check_spec_files(spec)
    return spec


def check_spec_files(spec: DatasetSpec) -> None:
    """Check that every file ``spec`` declares is a non-empty regular file this process may read.

    Raises:
        InputDataError: For the first file that is not; the message starts with the file's path and says
            what is wrong, how to fix it, and which entry of which spec declares it.
    """
    for index, sc in enumerate(spec.scenarios):
        where = _where(spec.source, index, sc.name)
        entries = [(f"interactions[{k}]", s.file) for k, s in enumerate(sc.interactions)]
        entries += [(f"items[{k}]", s.file) for k, s in enumerate(sc.items)]
        for part, f in entries:
            reason = unreadable_reason(f.path)
            if reason is not None:
                raise InputDataError(
                    f"{reason} (declared by {where} {part}, path = {str(f.raw_path)!r})", path=str(f.path)
                )


def parse_spec(data: Mapping[str, Any], *, base_dir: Path, source: str = "<spec>") -> DatasetSpec:
    """Validate a parsed spec mapping (as from ``tomllib``) into a :class:`DatasetSpec`."""
    unknown = set(data) - {"scenario"}
    if unknown:
        raise ConfigError(f"{source}: unknown top-level keys {sorted(unknown)}; declare scenarios as [[scenario]]")
    raw = data.get("scenario")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{source}: no [[scenario]] tables; declare at least one scenario")
    scenarios = [_scenario(s, i, base_dir, source) for i, s in enumerate(raw)]
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{source}: scenario names must be unique, repeated: {dupes}")
    return DatasetSpec(tuple(scenarios), source=source)


def _where(source: str, index: int, name: Any, part: str = "") -> str:
    label = f"scenario[{index}]" + (f" {name!r}" if isinstance(name, str) else "")
    return f"{source}: {label}" + (f" {part}" if part else "")


def _scenario(raw: Any, index: int, base_dir: Path, source: str) -> ScenarioSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{_where(source, index, None)}: must be a table")
    name = raw.get("name")
    where = _where(source, index, name)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: needs a non-empty string 'name'")
    unknown = set(raw) - _SCENARIO_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; valid keys: {sorted(_SCENARIO_KEYS)}")
    policy = raw.get("unknown_items", "reject")
    if policy not in UNKNOWN_ITEM_POLICIES:
        raise ConfigError(f"{where}: unknown_items = {policy!r}; use one of {list(UNKNOWN_ITEM_POLICIES)}")
    inter_raw = _as_list(raw.get("interactions"), f"{where} interactions", required=True)
    items_raw = _as_list(raw.get("items"), f"{where} items", required=False)
    inters = tuple(_interactions(t, base_dir, f"{where} interactions[{k}]") for k, t in enumerate(inter_raw))
    items = tuple(_items(t, base_dir, f"{where} items[{k}]") for k, t in enumerate(items_raw))
    return ScenarioSpec(name=name.strip(), interactions=inters, items=items, unknown_items=policy)


def _as_list(value: Any, where: str, *, required: bool) -> list[dict[str, Any]]:
    if value is None:
        if required:
            raise ConfigError(f"{where}: missing; give a table with at least 'path' and 'format'")
        return []
    tables = value if isinstance(value, list) else [value]
    for t in tables:
        if not isinstance(t, dict):
            raise ConfigError(f"{where}: must be a table (or a list of tables), got {t!r}")
    return tables


def _file(t: Mapping[str, Any], base_dir: Path, where: str, valid: set[str]) -> FileOptions:
    unknown = set(t) - valid
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; valid keys: {sorted(valid)}")
    path, fmt = t.get("path"), t.get("format")
    if not isinstance(path, str) or not path:
        raise ConfigError(f"{where}: needs 'path' (a string)")
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: format = {fmt!r} is not known; use one of {sorted(FORMATS)}")
    columns = t.get("columns")
    if columns is not None and (not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)):
        raise ConfigError(f"{where}: columns must be a list of strings")
    if columns is not None and not FORMATS[fmt].delimited:
        raise ConfigError(f"{where}: 'columns' only applies to csv/tsv/recbole files")
    delimiter = t.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1 or not FORMATS[fmt].delimited):
        raise ConfigError(f"{where}: delimiter must be one character, for csv/tsv/recbole files; got {delimiter!r}")
    encoding = t.get("encoding")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except (LookupError, TypeError) as e:
            raise ConfigError(f"{where}: unknown encoding {encoding!r}; use e.g. 'utf-8' or 'latin-1'") from e
    p = Path(path).expanduser()
    return FileOptions(
        path=(p if p.is_absolute() else base_dir / p).resolve(),
        format=fmt,
        encoding=encoding,
        delimiter=delimiter,
        columns=tuple(columns) if columns is not None else None,
        raw_path=path,
    )


@overload
def _column(t: Mapping[str, Any], key: str, default: Any, where: str, *, required: Literal[True]) -> str: ...
@overload
def _column(t: Mapping[str, Any], key: str, default: Any, where: str, *, required: Literal[False]) -> str | None: ...
def _column(t: Mapping[str, Any], key: str, default: Any, where: str, *, required: bool) -> str | None:
    value = t.get(key, default)
    if value is None:
        if required:
            raise ConfigError(f"{where}: needs '{key}' (the column holding it)")
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: '{key}' must be a column name (string), got {value!r}")
    return value


def _interactions(t: Mapping[str, Any], base_dir: Path, where: str) -> InteractionSource:
    f = _file(t, base_dir, where, _INTER_KEYS)
    if FORMATS[f.format].items_only:
        raise ConfigError(
            f"{where}: format {f.format!r} describes item metadata; use it under 'items', not 'interactions'"
        )
    d = FORMATS[f.format].interaction_columns
    return InteractionSource(
        file=f,
        user=_column(t, "user", d.get("user"), where, required=True),
        item=_column(t, "item", d.get("item"), where, required=True),
        rating=_column(t, "rating", d.get("rating"), where, required=False),
        timestamp=_column(t, "timestamp", d.get("timestamp"), where, required=False),
    )


def _items(t: Mapping[str, Any], base_dir: Path, where: str) -> ItemSource:
    f = _file(t, base_dir, where, _ITEM_KEYS)
    d = FORMATS[f.format].item_columns
    text = t.get("text", d.get("text", []))
    if isinstance(text, str):
        text = [text]
    if not isinstance(text, list) or not all(isinstance(c, str) and c for c in text):
        raise ConfigError(f"{where}: text must be a list of column names, got {text!r}")
    parser = t.get("title_parser")
    if parser is not None and parser not in TITLE_PARSERS:
        raise ConfigError(f"{where}: title_parser = {parser!r}; use one of {list(TITLE_PARSERS)}")
    sep = t.get("categories_separator")
    if sep is not None and (not isinstance(sep, str) or not sep):
        raise ConfigError(f"{where}: categories_separator must be a non-empty string, got {sep!r}")
    enrich = t.get("enrich", False)
    if not isinstance(enrich, bool):
        raise ConfigError(f"{where}: enrich must be true or false, got {enrich!r}")
    return ItemSource(
        file=f,
        id=_column(t, "id", d.get("id"), where, required=True),
        title=_column(t, "title", d.get("title"), where, required=False),
        title_parser=parser,
        text=tuple(text),
        categories=_column(t, "categories", d.get("categories"), where, required=False),
        categories_separator=sep,
        enrich=enrich,
    )
