"""Layering rules: graphrec never imports ingest (only its CLI package, lazily); Cypher never formats user values."""

from __future__ import annotations

import ast
from pathlib import Path

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


def test_heavy_dependencies_are_not_imported_at_module_level_in_graphrec() -> None:
    """Heavy packages are imported inside functions, so importing graphrec modules stays cheap.

    Exception: graphrec/models/ defines ``torch.nn.Module`` subclasses and must import torch at
    module level; those modules are only ever imported lazily (tests/integration/test_cli.py checks
    that importing the CLI loads no torch).
    """
    heavy = ("neo4j", "torch", "transformers", "pyarrow", "torch_geometric")
    offenders = []
    for path in (REPO / "graphrec").rglob("*.py"):
        if path.parent.name == "models":
            continue
        for module, line, top in _imports(ast.parse(path.read_text())):
            if top and module.split(".")[0] in heavy:
                offenders.append(f"{path.relative_to(REPO)}:{line} imports {module} at import time")
    assert offenders == []
