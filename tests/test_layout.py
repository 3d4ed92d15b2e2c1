"""How the packages hang together, read from their source with ``ast``: the autograder's two halves
talk only through ``autograder.checks``'s exported names, and no module imports itself round a
cycle (every import counts: module level, ``if TYPE_CHECKING:`` blocks, inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import autograder.checks

REPO = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((REPO / package).rglob("*.py"))}


def _imports(path: Path, module: str) -> list[tuple[str, list[str]]]:
    """``(imported module, names)`` for each import anywhere in ``path``, relative ones
    resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    nodes = list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.append((base, [alias.name for alias in node.names]))
    return found


KERNEL = {m: p for m, p in _modules("autograder").items() if m.startswith("autograder.checks")}
INSTRUCTOR = {m: p for m, p in _modules("autograder").items() if m not in KERNEL}


@pytest.mark.parametrize("module", sorted(KERNEL))
def test_the_kernel_side_imports_nothing_of_the_instructor_side(module):
    for target, names in _imports(KERNEL[module], module):
        targets = [target] + [f"{target}.{n}" for n in names] if target == "autograder" else [
            target]
        outside = [t for t in targets if t.startswith("autograder")
                   and not t.startswith("autograder.checks")]
        assert not outside, f"{module} imports {outside}: the student's kernel does not have them"


@pytest.mark.parametrize("module", sorted(INSTRUCTOR))
def test_the_instructor_side_uses_the_checks_only_through_their_interface(module):
    for target, names in _imports(INSTRUCTOR[module], module):
        if target.startswith("autograder.checks."):
            pytest.fail(f"{module} imports {target}; import from autograder.checks instead")
        if target == "autograder.checks":
            unknown = set(names) - set(autograder.checks.__all__)
            assert not unknown, f"{module} imports {unknown}, not in autograder.checks.__all__"


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in ``graph`` (module -> modules it imports), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


@pytest.mark.parametrize("package", ["convnb", "autograder"])
def test_no_import_cycle(package):
    modules = _modules(package)
    graph = {}
    for module, path in modules.items():
        edges = set()
        for target, names in _imports(path, module):
            # ``from . import x`` imports the submodule x; a package's own __init__ is not an edge
            candidates = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
            edges |= set(candidates) or ({target} & set(modules))
        graph[module] = {e for e in edges if e != module and not module.startswith(e + ".")}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
