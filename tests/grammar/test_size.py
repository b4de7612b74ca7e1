"""Exact sizes against brute-force enumeration (constraints, depth bounds, sharing, numbers)."""

from __future__ import annotations

import math
import random

import pytest

from algebraic_nas.grammar import load_grammar

from .helpers import valid_terms

SMALL = {
    "toy_depth2": "%max_depth 2\nS ::= Linear(S, S, S) | Residual(S, S, S) | conv | id | fc",
    "cell": "%zero zero\nS ::= Cell(O, O, O, O, O, O)\nO ::= zero | id | conv",
    "nested_units": (
        "%zero zero\n"
        "S ::= Residual2(A, A, A) | Linear2(A, Diamond2(A, zero, A, B))\n"
        "A ::= zero | B\n"
        "B ::= conv | Linear2(zero, conv) | Residual2(zero, id, conv)"
    ),
    "recursive_zero": "%zero zero\n%max_depth 3\nS ::= Linear2(S, S) | Residual2(S, S, S) | zero | id",
    "residual3": "%zero zero\n%max_depth 2\nS ::= Residual3(S, S, S, S) | Diamond2(S, S, S, S) | zero | id",
    "shared_can_be_zero": (
        "%zero zero\n%shared X\n"
        "S ::= Linear2(X, Y) | Residual2(Y, X, X) | id\n"
        "Y ::= X | Linear2(conv, conv) | avg\n"
        "X ::= zero | id | conv"
    ),
    "nested_shared": "%shared A, B\nS ::= Linear2(A, B) | B | Op(A)\nA ::= Linear2(B, x) | y\nB ::= p | q | Op(r)",
    "motif_group": (
        "%zero zero\n%shared M1, M2, M3\n"
        "S ::= Diamond2(L, L, L, L)\n"
        "L ::= M1 | M2 | M3 | zero\n"
        "M1 ::= Linear2(P, P)\nM2 ::= Linear2(P, P)\nM3 ::= Linear2(P, P)\n"
        "P ::= id | conv"
    ),
    "motif_group_small": (
        "%shared M1, M2\n"
        "S ::= Linear3(L, L, L)\n"
        "L ::= M1 | M2 | x\n"
        "M1 ::= a | b | c\nM2 ::= a | b | c"
    ),
    "motif_group_with_zero_inside": (
        "%zero zero\n%shared M1, M2\n"
        "S ::= Residual2(L, L, L) | L\n"
        "L ::= M1 | M2 | zero | id\n"
        "M1 ::= Diamond2(P, P, P, P)\nM2 ::= Diamond2(P, P, P, P)\n"
        "P ::= zero | conv"
    ),
    "numbers": "S ::= Op(N, int(1, 3)) | 7 | Pair(0.5, N)\nN ::= int(0, 2) | x | -1",
    "weights_and_literals": "S ::= Linear2(A, B) [0.7] | B\nA ::= a [0.9] | b\nB ::= 1 | 2 | Linear2(a, b)",
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_size_equals_brute_force_enumeration(name):
    g = load_grammar(f"{name}.ebnf", text=SMALL[name])
    terms = valid_terms(g)
    distinct = {str(t) for t in terms}
    assert g.size() == len(distinct)
    assert g.log10_size() == pytest.approx(math.log10(len(distinct)))
    # every valid term parses back (to the canonical form, which prints the same)
    for t in terms[:500]:
        p = g.parse(str(t))
        assert str(p) == str(t)
        if not g.canonicalizes:
            assert p == t
    # samples are among the valid terms, and (apart from rare strings) all of them show up
    rng = random.Random(0)
    seen = {str(g.sample(rng)) for _ in range(3000)}
    assert seen <= distinct
    if len(distinct) <= 60:
        assert seen == distinct


def test_unambiguous_grammars_count_derivations_and_strings_alike():
    g = load_grammar("c.ebnf", text=SMALL["cell"])
    terms = valid_terms(g)
    assert len(terms) == len({str(t) for t in terms}) == g.size()
    # 3^6 cells minus those whose zeros cut every path
    assert g.size() < 3**6


def test_toy_size_matches_the_recursion_by_hand():
    g = load_grammar("toy")  # depth 3: f1 = 3, f2 = 3 + 2*3^3, f3 = 3 + 2*f2^3
    f1 = 3
    f2 = 3 + 2 * f1**3
    assert g.size() == 3 + 2 * f2**3 == 370389


def test_hnb201_size_is_exact_and_consistent():
    g = load_grammar("hnb201")
    n = g.size()
    assert isinstance(n, int)
    # recompute by hand from the per-nonterminal counts: OP has 30 terms, one of them zero
    op = 1 + 1 + 27 + 1
    assert g.size("OP") == op
    assert g.size("BLOCK") == 27
    # Cell: 6 arguments, zero allowed where a path 1 -> 4 remains
    from algebraic_nas.grammar import has_path, topology_edges

    edges = topology_edges("Cell", 6)
    cell = 0
    for mask in range(64):
        zeros = {i for i in range(6) if mask >> i & 1}
        if has_path(edges, zeros):
            cell += (op - 1) ** (6 - len(zeros))
    assert g.size("CL") == cell
    c = cell**2 + cell**3 + cell**3  # Linear2, Linear3, Residual2 (CL never zero)
    d = cell + cell**2 + cell
    d1 = c * c * d + c**3 * d + c * c * d * d
    d0 = c * c * cell + c**3 * cell + c * c * cell * cell
    assert n == d1 * d1 * d0 + d0 * d1 * d1 + d1 * d1 * d0 * d0
    assert 375 < g.log10_size() < 376


def test_infinite_sizes():
    g = load_grammar("nago_hnag")
    assert g.size() is None and g.log10_size() == math.inf
    g = load_grammar("f.ebnf", text="S ::= Op(P) | x\nP ::= float(0.5, 0.5)")
    assert g.size() == 2  # a degenerate float range is one number


def test_shared_sizes_of_shipped_grammars():
    g = load_grammar("nb201_cell")
    assert g.size() == g.size("CELL")  # the macro is fixed: one term per cell
    g = load_grammar("autodeeplab")
    darts = load_grammar("darts_cell")
    assert darts.size() == 8**14
    assert g.size() % darts.size() == 0
    assert g.size() // darts.size() == _paths(12)


def _paths(steps):
    # 12 steps from level 1/4 (index 0), each Up/Same/Down within 4 levels, first step from 1/4
    counts = {0: 1}
    for _ in range(steps):
        nxt = {}
        for lvl, n in counts.items():
            for d in (-1, 0, 1):
                if 0 <= lvl + d <= 3:
                    nxt[lvl + d] = nxt.get(lvl + d, 0) + n
        counts = nxt
    return sum(counts.values())


def test_size_ignores_python_constraints_and_says_so():
    from algebraic_nas.grammar import register_constraint

    @register_constraint("no_fc_test")
    def no_fc(term):
        return "fc" not in str(term)

    g = load_grammar("c.ebnf", text="%constraint no_fc_test\nS ::= Linear(A, A) | fc\nA ::= conv | fc")
    assert g.size() == 5
    assert g.size_ignores == ["no_fc_test"]
    assert g.info()["size_ignores"] == ["no_fc_test"]
    rng = random.Random(0)
    for _ in range(200):
        assert "fc" not in str(g.sample(rng))
