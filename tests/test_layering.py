"""Imports flow one way: grammar → assembly → evaluation (issue 9): a lower layer never loads a higher one."""

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
