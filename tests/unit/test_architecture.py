"""Layering rules: graphrec never imports ingest (only its CLI, lazily); the CLI and the APIs import nothing heavy."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import loaded_after

REPO = Path(__file__).resolve().parents[2]


def _imports(tree: ast.AST) -> list[tuple[str, int, bool]]:
    """(module, line, at_module_level) for every import in a module."""
    out = []
    top = {id(n) for n in getattr(tree, "body", [])}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, node.lineno, id(node) in top))
    return out


def test_graphrec_never_imports_ingest_except_cli_lazily() -> None:
    offenders = []
    for path in (REPO / "graphrec").rglob("*.py"):
        for module, line, top in _imports(ast.parse(path.read_text())):
            is_ingest = module == "ingest" or module.startswith("ingest.")
            if is_ingest and ("cli" not in path.relative_to(REPO / "graphrec").parts[:1] or top):
                offenders.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    assert offenders == []


#: The command boundaries and what they import at module level: cheap to import, so ``graphrec --help``
#: is instant. The library modules below them import their heavy dependencies at the top and are
#: reached from these only inside functions (a command's body).
CHEAP = (
    "graphrec",
    "graphrec.cli",
    *sorted(f"graphrec.cli.{p.stem}" for p in (REPO / "graphrec" / "cli").glob("*.py") if p.stem != "__init__"),
    "graphrec.api",
    "ingest.api",
    "graphrec.models.presets",
    "graphrec.home",
    "graphrec.schema",
    "graphrec.errors",
    # serving reads run folders and ranks with NumPy: no torch in the service process
    "graphrec.train.rundir",
    "graphrec.serve.service",
    "graphrec.serve.foldin",
    "graphrec.serve.refresh",
)


@pytest.mark.parametrize("module", CHEAP)
def test_command_boundaries_import_nothing_heavy(module: str) -> None:
    """Importing the CLI, the Python APIs and the torch-free modules loads none of :data:`~tests.helpers.HEAVY`.

    Each module is imported alone in a fresh interpreter, so one module's imports cannot hide another's.
    """
    assert loaded_after([module]) == []


def test_help_imports_nothing_heavy() -> None:
    """``python -m graphrec --help`` (the whole command tree, every option) loads none of them either."""
    assert loaded_after(["-m", "graphrec", "--help"]) == []
