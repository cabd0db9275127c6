"""The project's exception hierarchy: every error graphrec raises derives from :class:`GraphRecError`."""

from __future__ import annotations


class GraphRecError(Exception):
    """Root of all graphrec errors. Messages say what failed, the value, and how to fix it."""


class ConfigError(GraphRecError):
    """A configuration or dataset spec value is invalid."""


class NoValidationError(ConfigError):
    """No validation split can be carved from the training data (too few interactions per user)."""


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


class IngestIntegrityError(StoreError):
    """An ingest's writes do not match its input: a batch matched fewer rows than it sent, or the
    graph's recount after the ingest differs from what was loaded. The message names the stage and
    the numbers; the ingest's resume checkpoint is discarded, so a rerun rewrites every stage."""


class TrainingDivergedError(GraphRecError):
    """Training produced a non-finite loss or embedding (typically a learning rate far too high).
    Nothing is saved or written back; the message names what went non-finite, where, and the fix."""


class RunFolderError(GraphRecError):
    """A training run folder is incomplete or corrupted (missing, truncated or inconsistent files,
    non-finite embeddings). The message names the folder, the problem and the fix."""


class CommandInterrupted(GraphRecError):
    """The user interrupted a command (Ctrl-C / SIGINT). The message says what was kept and how to
    finish; the CLI exits with status 130."""
