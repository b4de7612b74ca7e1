"""A grammar's terminals are checked against the registries with file:line:col (issue 23, item 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from algebraic_nas.assembly import register_primitive
from algebraic_nas.assembly.terminals import check_terminals, describe_terminals, terminal_problems
from algebraic_nas.grammar import GrammarError, load_grammar
from algebraic_nas.grammar.loading import shipped_grammars

BAD = "S ::= Linaer2(A, A) | Linear2(A, A, A) | A\nA ::= conv5x5 | conv3x3\n"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "algebraic_nas", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", shipped_grammars())
def test_every_shipped_grammar_names_only_registered_terminals(name):
    assert terminal_problems(load_grammar(name)) == []


def test_unknown_primitive_misspelt_topology_and_wrong_arity_are_located_with_a_hint():
    problems = terminal_problems(load_grammar("bad.ebnf", text=BAD))
    assert len(problems) == 3
    misspelt, arity, primitive = (next(p for p in problems if p.startswith(f"bad.ebnf:{at}:")) for at in ("1:7", "1:23", "2:7"))
    assert misspelt.startswith("bad.ebnf:1:7: unknown terminal Linaer2") and "Linear2" in misspelt
    assert "register_topology" in misspelt
    assert arity.startswith("bad.ebnf:1:23: topology Linear2 does not take 3 arguments (it takes 2)")
    assert primitive.startswith("bad.ebnf:2:7: unknown primitive conv5x5") and "@register_primitive" in primitive


def test_check_raises_one_error_at_the_first_location():
    with pytest.raises(GrammarError) as caught:
        check_terminals(load_grammar("bad.ebnf", text=BAD))
    assert (caught.value.file, caught.value.line, caught.value.column) == ("bad.ebnf", 1, 7)
    assert "bad.ebnf:2:7: unknown primitive conv5x5" in str(caught.value)


def test_a_registered_primitive_passes_and_group_children_are_free():
    register_primitive("conv5x5_for_terminal_test", lambda shape: None)
    g = load_grammar("ok.ebnf", text="S ::= Linear2(A, A)\nA ::= conv5x5_for_terminal_test | id\n")
    assert terminal_problems(g) == []
    # Darts reads its children's children: Node2's own name is not a terminal to implement
    darts = "S ::= Darts(N2, N3, N4, N5)\nN2 ::= Node2(O, O)\nN3 ::= Node3(O, O, none)\n" \
            "N4 ::= Node4(O, O, none, none)\nN5 ::= Node5(O, O, none, none, none)\nO ::= sep_conv_3x3 | skip_connect\n"
    assert terminal_problems(load_grammar("d.ebnf", text=darts)) == []


def test_cli_check_draw_build_refuse_and_info_warns(tmp_path: Path):
    path = tmp_path / "bad.ebnf"
    path.write_text(BAD)
    for args in (("check", str(path), "conv3x3"), ("draw", str(path), "conv3x3", "-o", str(tmp_path / "x.png")),
                 ("build", str(path), "conv3x3", "--dataset", "digits")):
        done = _cli(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert f"{path}:1:7: unknown terminal Linaer2" in done.stderr
    info = _cli("info", str(path))
    assert info.returncode == 0 and f"warning: {path}:2:7: unknown primitive conv5x5" in info.stderr


def test_primitives_command_lists_every_builtin_with_a_description():
    text = describe_terminals()
    for name in ("conv3x3", "down", "zero", "Cell", "Linear<K>", "WattsStrogatz", "wsum"):
        assert name in text
    lines = [ln for ln in text.splitlines() if ln.startswith("  conv3x3 ")]
    assert len(lines) == 1 and "Conv2d" in lines[0]


def test_the_torch_free_name_lists_equal_what_the_builtin_modules_register():
    code = ("from algebraic_nas.assembly import registry as r, terminals as t; r._load_builtin_primitives(); "
            "assert tuple(r.PRIMITIVE_REGISTRY.names()) == t.BUILTIN_PRIMITIVES, r.PRIMITIVE_REGISTRY.names(); "
            "assert tuple(r.MERGE_REGISTRY.names()) == t.BUILTIN_MERGES, r.MERGE_REGISTRY.names()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
