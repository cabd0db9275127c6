"""No import cycles among the modules of graphrec/ and ingest/.

The import graph is read from the source with ``ast``: an edge ``a → b`` for every ``import b`` or
``from b import name`` in ``a`` (``from pkg import mod`` counts as an import of ``pkg.mod`` when
``mod`` is a module). Imports under ``if TYPE_CHECKING:`` never run and are left out.

* Module-level imports must form no cycle at all: a cycle there makes the result depend on which
  module is imported first.
* Function-level (lazy) imports may close a cycle only through the CLI, which imports the whole
  library lazily by design; anywhere else a lazy import that closes a cycle hides a layering
  mistake (two modules that need each other belong together, or a third module is missing).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("graphrec", "ingest")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST, *, top: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement below ``node`` with whether it runs at module level."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, top
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _imports(child, top=False)
        else:  # class bodies, try/if/with blocks at module level still run at import time
            yield from _imports(child, top=top)


def _targets(stmt: ast.Import | ast.ImportFrom, here: str, is_package: bool, modules: set[str]) -> list[str]:
    if isinstance(stmt, ast.Import):
        return [a.name for a in stmt.names]
    base = stmt.module or ""
    if stmt.level:
        package = here if is_package else here.rpartition(".")[0]
        for _ in range(stmt.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    out = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in stmt.names]
    return list(dict.fromkeys(out))


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``(module_level, all_imports)``: for each module of graphrec/ and ingest/, the modules of theirs it imports."""
    modules = _modules()
    names = set(modules)
    top_edges: dict[str, set[str]] = {m: set() for m in modules}
    all_edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for stmt, top in _imports(tree, top=True):
            for target in _targets(stmt, name, path.name == "__init__.py", names):
                if target in names and target != name:
                    all_edges[name].add(target)
                    if top:
                        top_edges[name].add(target)
    return top_edges, all_edges


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_graph_is_read() -> None:
    top, _ = import_graph()
    assert "ingest.sources.amazon_kg" in top["ingest.formats"]
    assert "ingest.formats" in top["ingest.mapping"]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_at_module_level() -> None:
    top, _ = import_graph()
    assert find_cycles(top) == []


def test_lazy_imports_close_no_cycle_outside_the_cli() -> None:
    _, every = import_graph()
    without_cli = {m: {t for t in ts if not _is_cli(t)} for m, ts in every.items() if not _is_cli(m)}
    assert find_cycles(without_cli) == []


def _is_cli(module: str) -> bool:
    return module in ("graphrec.cli", "graphrec.__main__") or module.startswith("graphrec.cli.")
