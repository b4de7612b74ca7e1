"""Imports flow one way: grammar → assembly → evaluation (issue 9): a lower layer never loads a higher one;
inside the search package, no import circle crosses a concept (issue 20)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _fresh_import(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("algebraic_nas.grammar", "torch"),
        ("algebraic_nas.assembly", "algebraic_nas.evaluation"),
        ("algebraic_nas.assembly.commands", "algebraic_nas.evaluation"),
        ("algebraic_nas.interop.nb201", "torch"),  # converters work on strings
        ("algebraic_nas.interop.reference", "torch"),
        ("algebraic_nas.interop.darts", "torch"),
        ("algebraic_nas.interop", "algebraic_nas.search"),
    ],
)
def test_a_layer_imports_without_the_layers_above_it(module, forbidden):
    r = _fresh_import(f"import sys, {module}; assert {forbidden!r} not in sys.modules, 'loaded {forbidden}'")
    assert r.returncode == 0, r.stderr


def test_building_a_network_loads_no_evaluation_code():
    code = ("import sys; from algebraic_nas.assembly import build_network, network_stats, InputSpec; "
            "from algebraic_nas.grammar import load_grammar; "
            "g = load_grammar('toy'); spec = InputSpec(1, 8, 10); "
            "network_stats(build_network(g.parse('Linear(conv, id, fc)'), spec), spec); "
            "assert 'algebraic_nas.evaluation' not in sys.modules")
    r = _fresh_import(code)
    assert r.returncode == 0, r.stderr


def _search_imports() -> dict[str, set[str]]:
    """Module → the ``algebraic_nas.search`` modules it imports (at the top or inside a function:
    a lazy import is a dependency too), from the sources' syntax trees."""
    import ast
    from pathlib import Path

    import algebraic_nas.search as search

    root = Path(search.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = ("algebraic_nas", "search", *path.relative_to(root).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("algebraic_nas.search"):
                targets |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                            for a in node.names}
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("algebraic_nas.search")}
        for t in targets:
            while t not in modules and "." in t:
                t = t.rsplit(".", 1)[0]
            if t != name:
                graph.setdefault(name, set()).add(t)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circle_in_the_search_package_crosses_a_concept():
    """Issue 20: modules that import each other (directly or round a circle) are one concept: they
    live in one folder (``search/config/``, ``strategies/banat/``...). A circle through modules of
    different folders (config ↔ executors ↔ worker, say) is a design error."""
    def concept(module: str) -> str:  # a module directly in search/ is a concept of its own
        return module.rsplit(".", 1)[0] if module.count(".") > 2 else module

    crossing = [sorted(c) for c in _cycles(_search_imports()) if len({concept(m) for m in c}) > 1]
    assert crossing == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a.x": {"b.y"}, "b.y": {"a.x"}, "c": {"a.x"}}) == [{"a.x", "b.y"}]
