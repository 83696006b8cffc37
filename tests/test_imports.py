"""The package's import structure: no import circles (function-level imports included) and a cheap ``import vsrife``.

The graph is read from the sources with ``ast``: every ``import``/``from ... import`` of a ``vsrife`` module, at
module level or inside functions, except those under ``if TYPE_CHECKING:`` (never run). ``from pkg import name``
counts as an edge to ``pkg.name`` when that is a module, else to ``pkg``.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "vsrife"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement in ``tree`` that can run (not under ``if TYPE_CHECKING:``)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    """``{module: the vsrife modules it imports}`` for every module of the package."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names]
            edges.update(t for t in targets if t in modules and t != name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_graph_sees_function_level_imports() -> None:
    graph = import_graph()
    assert "vsrife.filter" in graph["vsrife"]  # the lazy __getattr__ import of rife
    assert {"vsrife.models.specs", "vsrife.models.common"} <= graph["vsrife.models"]
    assert "vsrife.paths" in graph["vsrife.native"] and "vsrife.native" in graph["vsrife.models.ifnet_v4"]


def test_cycle_finder_finds_circles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_circles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_native_and_paths_import_nothing_above_them() -> None:
    graph = import_graph()
    assert graph["vsrife.paths"] == set()
    assert graph["vsrife.native"] <= {"vsrife.paths"}


def test_import_vsrife_is_cheap() -> None:
    """``import vsrife`` imports neither torch nor VapourSynth (nor numpy); ``vsrife.rife`` then does."""
    code = ("import sys, vsrife; heavy = ('torch', 'vapoursynth', 'numpy'); "
            "print(sorted(m for m in heavy if m in sys.modules)); vsrife.rife; "
            "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["[]", "['numpy', 'torch', 'vapoursynth']"]


def test_rife_is_visible_to_type_checkers() -> None:
    """``vsrife.rife`` is imported under ``TYPE_CHECKING`` (so checkers see its signature, not ``Any``) and the
    package ships ``py.typed``."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    guarded = [n for n in ast.walk(tree) if isinstance(n, ast.If) and _is_type_checking(n.test)]
    names = {(node.module, a.name, a.asname) for g in guarded for node in ast.walk(g)
             if isinstance(node, ast.ImportFrom) for a in node.names}
    assert ("filter", "rife", "rife") in names
    assert (PACKAGE / "py.typed").is_file()
    import vsrife
    from vsrife.filter import rife

    assert vsrife.rife is rife


def test_version_is_the_projects() -> None:
    import tomllib

    import vsrife

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert vsrife.__version__ == project["version"] and import_graph()["vsrife.version"] == set()
