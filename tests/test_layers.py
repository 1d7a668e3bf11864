"""The package's layers: each module imports only its own layer or those below it, and no two
modules import each other, directly or round a circle. Imports inside functions count.

    core → nn → reference → compile → viz → cli
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "micrograd_mlp"
LAYERS = ("core", "nn", "reference", "compile", "viz", "cli")
FACADE = {"micrograd_mlp", "micrograd_mlp.__main__"}  # the package root re-exports every layer
#: Modules beside the layers, below all of them: they import no other module of the library
#: (``_deprecated`` maps old paths to real ones by name, importing them only when one is used).
BASE = {"micrograd_mlp._version", "micrograd_mlp._deprecated"}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_sources(root: Path) -> dict[str, tuple[str, bool]]:
    """``{module: (source, is_package)}`` for every module under ``root``."""
    return {module_name(p, root): (p.read_text(encoding="utf-8"), p.name == "__init__.py")
            for p in sorted(root.rglob("*.py"))}


def imports(name: str, source: str, is_package: bool, known: set[str]) -> set[str]:
    """The library modules ``name`` imports anywhere in its source (lazy imports too)."""
    found: set[str] = set()
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in known else target)
    return {m for m in found if m in known and m != name}


def layer(module: str) -> int:
    parts = module.split(".")
    if module in FACADE:
        return len(LAYERS)
    if parts[1] not in LAYERS:  # a module beside the layers (BASE): below all of them
        return -1
    return LAYERS.index(parts[1])


def violations(sources: dict[str, tuple[str, bool]]) -> list[str]:
    known = set(sources)
    graph = {m: imports(m, *sources[m], known) for m in sources}
    problems = [f"{m} (layer {LAYERS[layer(m)] if layer(m) >= 0 else 'base'}) imports {t}"
                for m, targets in graph.items() if m not in FACADE
                for t in sorted(targets) if layer(t) > layer(m)]
    problems += [f"import cycle: {' → '.join(c)}" for c in cycles(graph)]
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_module_imports_only_its_layer_or_lower_and_no_cycle():
    assert violations(read_sources(PACKAGE)) == []


def test_every_module_belongs_to_a_layer():
    for module in read_sources(PACKAGE):
        parts = module.split(".")
        assert module in FACADE or parts[1] in LAYERS or module in BASE, module


@pytest.mark.parametrize("planted, expected", [
    ({"micrograd_mlp.core.value": ("def f():\n    from ..viz import graph\n", False)},
     "micrograd_mlp.core.value (layer core) imports micrograd_mlp.viz"),
    ({"micrograd_mlp.nn.a": ("from . import b\n", False),
      "micrograd_mlp.nn.b": ("from .a import x\n", False)},
     "import cycle: micrograd_mlp.nn.a → micrograd_mlp.nn.b"),
])
def test_the_check_finds_a_planted_upward_import_or_cycle(planted, expected):
    sources = {"micrograd_mlp.viz": ("", True), "micrograd_mlp.nn": ("", True), **planted}
    assert expected in violations(sources)
