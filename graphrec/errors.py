"""The project's exception hierarchy: every error graphrec raises derives from :class:`GraphRecError`."""

from __future__ import annotations


class GraphRecError(Exception):
    """Root of all graphrec errors. Messages say what failed, the value, and how to fix it."""


class ConfigError(GraphRecError):
    """A configuration or dataset spec value is invalid."""


class InputDataError(GraphRecError):
    """An input file cannot be read as declared (missing, empty, missing columns, bad header).

    Attributes:
        path: The offending file.
        line: 1-based line number, or ``None`` when the problem concerns the whole file.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.path = path
        self.line = line


class StoreError(GraphRecError):
    """A graph store operation failed."""


class StoreUnavailableError(StoreError):
    """The graph store cannot be reached or started."""


class CapabilityError(StoreError):
    """The connected store does not support a requested feature (e.g. vector indexes on ArcadeDB)."""


class QueryRefusedError(StoreError):
    """A query was refused, e.g. a write query run in read-only mode."""
