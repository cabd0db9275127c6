"""Parsing ``--param key=value`` options for ``graphrec query``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from graphrec.errors import ConfigError

_CASTS = ("str", "int", "float", "bool", "json")


def parse_param(text: str) -> tuple[str, Any]:
    """Parse ``key=value`` (a string) or ``key:TYPE=value`` with TYPE in str, int, float, bool, json.

    Values are strings unless typed, so ids such as ``0811825558`` keep their leading zero.

    Raises:
        ConfigError: Malformed option or a value that does not parse as its type.
    """
    if "=" not in text:
        raise ConfigError(f"--param {text!r}: expected key=value (or key:int=5, key:json=[1,2])")
    key, value = text.split("=", 1)
    cast = "str"
    if ":" in key:
        key, cast = key.split(":", 1)
    key = key.strip()
    if not key.isidentifier():
        raise ConfigError(f"--param {text!r}: {key!r} is not a valid parameter name")
    if cast not in _CASTS:
        raise ConfigError(f"--param {text!r}: unknown type {cast!r}; use one of {list(_CASTS)}")
    try:
        if cast == "int":
            return key, int(value)
        if cast == "float":
            return key, float(value)
        if cast == "bool":
            if value.lower() not in ("true", "false"):
                raise ValueError("expected true or false")
            return key, value.lower() == "true"
        if cast == "json":
            return key, json.loads(value)
    except ValueError as e:
        raise ConfigError(f"--param {text!r}: value {value!r} is not a valid {cast} ({e})") from e
    return key, value


def parse_params(texts: Iterable[str]) -> dict[str, Any]:
    """Parse several ``--param`` options into a dict (a repeated key is an error)."""
    out: dict[str, Any] = {}
    for t in texts:
        k, v = parse_param(t)
        if k in out:
            raise ConfigError(f"--param {k!r} given twice")
        out[k] = v
    return out
