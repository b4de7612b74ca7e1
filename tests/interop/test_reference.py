"""Terms of the hierarchical-NAS reference code -> hnb201 terms (issue 14)."""

from __future__ import annotations

import pytest

from algebraic_nas.grammar import load_grammar
from algebraic_nas.interop import ConversionError, convert
from algebraic_nas.interop.reference import parse_string_tree, reference_to_term

BLOCK = "Linear3(relu, conv3x3, batch)"


@pytest.mark.parametrize("text, expected", [
    # the one-edge Linear1 wrapper the reference puts around a conv block is dropped
    ("Linear1(Linear3(relu, conv3x3, batch))", BLOCK),
    ("Cell(Linear1(Linear3(relu, dconv3x3, layer)), id, avg_pool, Linear1(Linear3(mish, conv1x1, instance)), id, zero)",
     "Cell(Linear3(relu, dconv3x3, layer), id, avg_pool, Linear3(mish, conv1x1, instance), id, zero)"),
    # printed in the paper (PDF text): "conv1x1." for "conv1x1," and "avg pool" for "avg_pool"
    ("Cell(id, zero, Linear1(Linear3(hardswish, conv1x1. layer)), avg pool, zero, id)",
     "Cell(id, zero, Linear3(hardswish, conv1x1, layer), avg_pool, zero, id)"),
    # NePS parse-tree strings: nonterminal names dropped, conv3x3o -> conv3x3, resBlock -> down, and a
    # bare conv3x3 as a Cell argument (the fixed-cell grammar) is NB201's ReLU-Conv-BN
    ("(CELL Cell (OPS id) (OPS zero) (OPS Linear1 (CONVBLOCK Linear3 (ACT relu) (CONV conv3x3o) (NORM batch)))"
     " (OPS avg_pool) (OPS conv3x3) (OPS id))",
     f"Cell(id, zero, {BLOCK}, avg_pool, {BLOCK}, id)"),
    ("(DOWN Residual2 (CELL Cell (OPS id) (OPS zero) (OPS id) (OPS avg_pool) (OPS conv1x1) (OPS id)) resBlock resBlock)",
     "Residual2(Cell(id, zero, id, avg_pool, Linear3(relu, conv1x1, batch), id), down, down)"),
])
def test_reference_strings_convert_to_hnb201(text, expected):
    assert convert("reference", text) == expected


def test_a_whole_parse_tree_gives_a_term_of_the_space():
    cell = "(CELL Cell (OPS id) (OPS avg_pool) (OPS zero) (OPS id) (OPS conv3x3) (OPS id))"
    c = f"(C Linear2 {cell} {cell})"
    d = f"(DOWN Linear2 {cell} resBlock)"
    d1 = f"(D1 Linear3 {c} {c} {d})"
    d0 = f"(D0 Linear3 {c} {c} {cell})"
    term = reference_to_term(f"(D2 Linear3 {d1} {d1} {d0})")
    g = load_grammar("hnb201")
    assert str(g.parse(term)) == term and term.count("down") == 2


def test_parse_trees_nest_deeply_without_recursion():
    _, tree = parse_string_tree("(A Linear1 " * 5000 + "(B id)" + ")" * 5000)
    depth = 0
    while tree[1]:
        tree, depth = tree[1][0], depth + 1
    assert depth == 5000 and tree[0] == "id"
    with pytest.raises(ConversionError, match="nests too deeply"):
        reference_to_term("Linear2(id, " * 5000 + "id" + ")" * 5000)


@pytest.mark.parametrize("text, message", [
    ("(D0 Linear3 (C Linear2 SharedCell SharedCell) x)", "SharedCell"),
    ("(CELL Cell (OPS id)", "not closed"),
    ("(CELL Cell (OPS id)) (OPS id)", "exactly one"),
    ("((OPS id) Cell)", "NONTERMINAL terminal"),
    ("Cell(id)", "not in hnb201 \\(as CL\\).*Cell\\(_, _, _, _, _, _\\)"),
    ("Cell(id, zero, Linear1(conv3x3, batch), id, id, id)", "Linear1 takes one argument"),
    ("(FOO Cell (OPS id))", "'FOO' is no nonterminal of hnb201"),
])
def test_bad_input_is_a_clear_error(text, message):
    with pytest.raises(ConversionError, match=message):
        convert("reference", text)
