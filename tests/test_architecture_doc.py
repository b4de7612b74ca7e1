"""docs/architecture.md stays true: every ```python block runs, each in a fresh namespace, and
the module map names exactly the modules that exist."""

from __future__ import annotations

import re
import sys
import time
import types
from pathlib import Path

import pytest

from algebraic_nas.evaluation.data import DATASET_REGISTRY
from algebraic_nas.evaluation.objectives import OBJECTIVE_REGISTRY
from algebraic_nas.evaluation.protocols import PROTOCOL_REGISTRY
from algebraic_nas.search.executors.registry import EXECUTOR_REGISTRY
from algebraic_nas.search.strategies.registry import STRATEGY_REGISTRY

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "src" / "algebraic_nas"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.S | re.M)
REGISTRIES = (DATASET_REGISTRY, OBJECTIVE_REGISTRY, PROTOCOL_REGISTRY, EXECUTOR_REGISTRY, STRATEGY_REGISTRY)


def python_blocks() -> list[tuple[str, str]]:
    """``(heading of the section, code)`` of every ```python block, in order."""
    text = DOC.read_text()
    out = []
    for m in BLOCK.finditer(text):
        headings = re.findall(r"^#+ (.+)$", text[: m.start()], re.M)
        out.append((headings[-1] if headings else "top", m.group(1)))
    return out


BLOCKS = python_blocks()


def test_every_kind_of_extension_has_an_example():
    kinds = {h for h, _ in BLOCKS}
    assert {"Primitive", "Topology (a fixed edge list)", "Generator topology", "Merge", "Strategy", "Executor",
            "Objective", "Dataset", "Protocol"} <= kinds


@pytest.fixture
def clean_registries():
    """Forget what an example registered in the named registries, so other tests see the built-ins only."""
    before = [set(r.names()) for r in REGISTRIES]
    yield
    for registry, names in zip(REGISTRIES, before):
        for name in set(registry.names()) - names:
            registry.remove(name)


@pytest.mark.parametrize("heading,code", BLOCKS, ids=[h for h, _ in BLOCKS])
def test_example_runs(heading, code, clean_registries):
    # a fresh module per block: dataclasses defined in an example look their module up in sys.modules
    module = types.ModuleType("doc_example")
    sys.modules[module.__name__] = module
    start = time.perf_counter()
    try:
        exec(compile(code, f"{DOC.name} [{heading}]", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    assert time.perf_counter() - start < 20  # the doc promises quick examples (< 5 s on a quiet machine)


def documented_modules() -> set[str]:
    """Module paths (relative to the package) named in the module map: ``pkg/mod.py`` items."""
    text = DOC.read_text().split("## What each package and module owns", 1)[1].split("\n## ", 1)[0]
    found: set[str] = set()
    package = ""
    for line in text.splitlines():
        head = re.match(r"^`([a-z_]+/)`", line)
        if head:
            package = head.group(1)
        if line.startswith("`src/algebraic_nas/`"):
            package = ""
        if not line.startswith("- "):
            continue
        item = line[2:].split(" — ", 1)[0]
        names = re.findall(r"`([a-z0-9_/]+\.py)`", item)
        # "strategies/random_search.py`, `evolution.py`" : siblings share the first one's folder
        folder = ""
        for name in names:
            if "/" in name:
                folder = name.rsplit("/", 1)[0] + "/"
                found.add(package + name)
            else:
                found.add(package + folder + name)
    return found


def test_module_map_lists_every_module_and_no_other():
    actual = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")}
    # package __init__ files are described by their package's heading, except the top-level one
    actual = {p for p in actual if not p.endswith("__init__.py") or p == "__init__.py"}
    assert documented_modules() == actual
