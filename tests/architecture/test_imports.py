"""Imports run one way (DESIGN §8): no package imports one above it, no circle between
packages or between modules, and no import hidden behind ``importlib``.

The graph is read with ``ast`` from the source files, so lazy imports inside functions count
as arrows too; only imports under ``if TYPE_CHECKING:`` (annotations, never run) are left out.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "butterflyvi"

#: Top to bottom; a package may import packages of lower layers (and, without a circle, its
#: own layer's).
LAYERS: list[set[str]] = [
    {"__main__", "cli", "portal"},
    {"zoo", "hub", "openproblems"},
    {"tl", "pl"},
    {"model"},
    {"kinds"},
    {"train", "pp", "metrics", "datasets"},
    {"module"},
    {"_validation", "_constants", "_neighbors", "_threads"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Ids of the import nodes under ``if TYPE_CHECKING:``."""
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped |= {id(n) for n in ast.walk(child)}
    return skipped


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _known(name: str) -> bool:
    path = PACKAGE.parent / name.replace(".", "/")
    return path.is_dir() or path.with_suffix(".py").is_file()


def import_graph() -> dict[str, set[str]]:
    """``{module: modules of the package it imports}``."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        tree = ast.parse(path.read_text())
        skipped = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom):
                target = _resolve(module, path.name == "__init__.py", node)
                if not target.startswith("butterflyvi"):
                    continue
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    edges[module].add(full if _known(full) else target)
            elif isinstance(node, ast.Import):
                edges[module] |= {a.name for a in node.names if a.name.startswith("butterflyvi")}
    return edges


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
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
                found.append(sorted(component))

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    # The root package's lazy attribute table (PEP 562) is the facade, not a layer.
    return {m: ws for m, ws in import_graph().items() if m != "butterflyvi"}


def test_every_package_has_a_layer():
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert (packages | modules) - set(RANK) == set()


def test_no_package_imports_one_above_it(graph):
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in graph.items()
        for target in targets
        if _package(source) and _package(target) and RANK[_package(target)] < RANK[_package(source)]
    )
    assert upward == []


def test_no_circle_between_packages(graph):
    packages: dict[str, set[str]] = defaultdict(set)
    for source, targets in graph.items():
        for target in targets:
            a, b = _package(source), _package(target)
            if a and b and a != b:
                packages[a].add(b)
    assert _cycles(packages) == []


def test_no_circle_between_modules(graph):
    # A package's __init__ importing its own modules is not a circle of the design.
    edges = {
        m: {w for w in ws if not w.startswith(m + ".")} if _is_package(m) else ws
        for m, ws in graph.items()
    }
    assert _cycles(edges) == []


def _is_package(module: str) -> bool:
    return (PACKAGE.parent / module.replace(".", "/") / "__init__.py").is_file()


def test_no_import_behind_importlib():
    hidden = sorted(
        _module_name(path)
        for path in PACKAGE.rglob("*.py")
        if path != PACKAGE / "__init__.py" and "import_module(" in path.read_text()
    )
    assert hidden == []


def test_the_test_sees_a_planted_upward_arrow():
    edges = {"butterflyvi.module._x": {"butterflyvi.kinds._registry"}}
    upward = [
        (s, t) for s, ts in edges.items() for t in ts if RANK[_package(t)] < RANK[_package(s)]
    ]
    assert upward and _cycles({"a": {"b"}, "b": {"a"}}) == [["a", "b"]]
