"""The layout is part of the product: these tests keep the arrows pointing one way.

- the import contracts in pyproject.toml (`[tool.importlinter]`) hold;
- no import cycle between modules (function-level imports included);
- no module over about 400 lines;
- package ``__init__.py`` files hold a docstring and re-exports, no code;
- an import inside a function defers a heavy dependency and says so (``# deferred: ...``).
"""

from __future__ import annotations

import ast
import io
import sys
from contextlib import redirect_stdout
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("suite", "estimators", "leaderboard")
MAX_LINES = 420  # "about 400": a module past this is doing more than one job


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm over the module graph: the groups of modules that import each other."""
    adjacency = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for start in adjacency:
        if start in index:
            continue
        work = [(start, iter(adjacency[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(adjacency.get(child, []))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_import_contracts_hold():
    from importlinter.cli import lint_imports

    out = io.StringIO()
    with redirect_stdout(out):
        code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert code == 0, out.getvalue()[-4000:]


def test_no_import_cycles():
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None)
    assert _strongly_connected(graph) == []


def test_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(name)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert _strongly_connected(graph) == [["a.x", "a.y"]]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by job"


def _init_files() -> list[Path]:
    return [p for p in _modules() if p.name == "__init__.py"]


@pytest.mark.parametrize("path", _init_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_package_init_holds_no_code(path):
    tree = ast.parse(path.read_text())
    for i, node in enumerate(tree.body):
        docstring = i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        dunder = isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.startswith("__") for t in node.targets)
        assert docstring or dunder or isinstance(node, (ast.Import, ast.ImportFrom)), (
            f"{path.relative_to(ROOT)}:{node.lineno}: a package __init__ holds a docstring and re-exports only")


def _function_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for func in ast.walk(tree):
        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(func):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    found.append((node.lineno, ast.unparse(node)))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_function_level_imports_defer_a_heavy_dependency(path):
    lines = path.read_text().splitlines()
    for lineno, text in _function_imports(path):
        # the comment may sit on the import line, up to three lines above, or close a parenthesised import
        window = " ".join(lines[max(0, lineno - 4):lineno + 3])
        assert "deferred:" in window, (
            f"{path.relative_to(ROOT)}:{lineno}: `{text}` inside a function: move it to the top, or say what "
            "heavy dependency it defers (`# deferred: torch ...`)")
