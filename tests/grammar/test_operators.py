"""Mutation, crossover, self-crossover: valid children that differ from their parents; numeric
perturbation (numbers only, in range); fold."""

from __future__ import annotations

import random

import numpy as np
import pytest

from algebraic_nas.grammar import Term, load_grammar, shipped_grammars
from algebraic_nas.grammar.operators import perturb_numbers
from algebraic_nas.grammar.sites import has_numbers, has_structure, value_sites


@pytest.fixture(scope="module")
def hnb201():
    return load_grammar("hnb201")


@pytest.fixture(scope="module")
def population(hnb201):
    rng = random.Random(0)
    return [hnb201.sample(rng) for _ in range(40)]


def test_thousands_of_mutations_are_valid_and_differ(hnb201, population):
    rng = random.Random(1)
    for i in range(3000):
        parent = population[i % len(population)]
        child = hnb201.mutate(parent, rng)
        assert child != parent
        hnb201.check(child)
        if i % 10 == 0:
            assert hnb201.parse(str(child)) == child


def test_thousands_of_crossovers_are_valid_and_differ(hnb201, population):
    rng = random.Random(2)
    n_none = 0
    for i in range(1500):
        a = population[i % len(population)]
        b = population[(7 * i + 3) % len(population)]
        out = hnb201.crossover(a, b, rng)
        if out is None:
            n_none += 1
            continue
        for child in out:
            assert child != a and child != b
            hnb201.check(child)
    assert n_none < 15  # distinct parents nearly always share a swappable nonterminal


def test_thousands_of_self_crossovers_are_valid_and_differ(hnb201, population):
    rng = random.Random(3)
    for i in range(2000):
        parent = population[i % len(population)]
        child = hnb201.self_crossover(parent, rng)
        assert child is not None
        assert child != parent
        hnb201.check(child)


def test_chains_of_operators_stay_valid(hnb201):
    rng = random.Random(4)
    t = hnb201.sample(rng)
    other = hnb201.sample(rng)
    for i in range(500):
        op = i % 3
        if op == 0:
            t = hnb201.mutate(t, rng)
        elif op == 1:
            out = hnb201.crossover(t, other, rng)
            if out:
                t, other = out
        else:
            t = hnb201.self_crossover(t, rng) or t
        hnb201.check(t)
        hnb201.check(other)


def test_operators_are_reproducible(hnb201, population):
    a = [str(hnb201.mutate(p, random.Random(9))) for p in population[:5]]
    b = [str(hnb201.mutate(p, random.Random(9))) for p in population[:5]]
    assert a == b


def test_crossover_swaps_subterms_of_one_nonterminal():
    g = load_grammar("toy")
    a = g.parse("Linear(conv, id, fc)")
    b = g.parse("Residual(fc, fc, fc)")
    rng = random.Random(0)
    seen = set()
    for _ in range(200):
        out = g.crossover(a, b, rng)
        assert out is not None
        c1, c2 = out
        seen.add((str(c1), str(c2)))
        for c in out:
            g.check(c)
    assert ("Residual(fc, fc, fc)", "Linear(conv, id, fc)") not in seen  # would equal the parents
    assert ("Linear(fc, id, fc)", "Residual(conv, fc, fc)") in seen


def test_crossover_none_when_nothing_can_be_swapped():
    g = load_grammar("toy")
    assert g.crossover(g.parse("fc"), g.parse("fc"), random.Random(0)) is None
    assert g.self_crossover(g.parse("Linear(fc, fc, fc)"), random.Random(0)) is None


def test_crossover_respects_the_depth_bound():
    g = load_grammar("toy")
    deep = g.parse("Linear(Linear(conv, id, fc), id, fc)")
    shallow = g.parse("Residual(id, id, Linear(conv, conv, conv))")
    rng = random.Random(0)
    for _ in range(300):
        out = g.crossover(deep, shallow, rng)
        if out:
            for c in out:
                g.check(c)


def test_operators_respect_the_zero_constraint_in_small_cells():
    g = load_grammar("c.ebnf", text="%zero zero\nS ::= Linear2(C, C)\nC ::= Cell(O, O, O, O, O, O)\nO ::= zero | id")
    rng = random.Random(0)
    pop = [g.sample(rng) for _ in range(20)]
    for i in range(2000):
        a, b = pop[i % 20], pop[(i * 3 + 1) % 20]
        g.check(g.mutate(a, rng))
        out = g.crossover(a, b, rng)
        if out:
            for c in out:
                g.check(c)
        s = g.self_crossover(a, rng)
        if s is not None:
            g.check(s)


@pytest.mark.parametrize("name", shipped_grammars())
def test_operators_on_every_shipped_grammar(name):
    g = load_grammar(name)
    rng = random.Random(5)
    pop = [g.sample(rng) for _ in range(10)]
    for i in range(60):
        a, b = pop[i % 10], pop[(i + 3) % 10]
        m = g.mutate(a, rng)
        assert m != a
        g.check(m)
        assert g.parse(str(m)) == m
        out = g.crossover(a, b, rng)
        if out:
            for c in out:
                assert c not in (a, b)
                g.check(c)
                assert g.parse(str(c)) == c
        s = g.self_crossover(a, rng)
        if s is not None:
            assert s != a
            g.check(s)
            assert g.parse(str(s)) == s


def test_mutation_keeps_shared_subterms_shared():
    g = load_grammar("nb201_cell")
    rng = random.Random(0)
    t = g.sample(rng)
    for _ in range(50):
        t = g.mutate(t, rng)
        cells = {n for _, n in t.walk() if n.nonterminal == "CELL"}
        assert len(cells) == 1


# ---------------------------------------------------------------- fold


def test_fold_paper_example():
    # the paper's F_l (levels counted from 1) is fold(t, l - 1): F_2(w) = Linear(Residual, Residual, fc)
    g = load_grammar("toy")
    w = g.parse("Linear(Residual(conv, id, conv), Residual(conv, id, conv), fc)")
    assert g.fold(w, 3) is w
    # nodes shallower than the level stay as they are (fc is a leaf at level 1)
    assert str(g.fold(w, 2)) == "Linear(Residual(S, S, S), Residual(S, S, S), fc)"
    f1 = g.fold(w, 1)
    assert str(f1) == "Linear(S, S, S)"
    assert [c.label for c in f1.children] == ["S Residual", "S Residual", "S fc"]
    f0 = g.fold(w, 0)
    assert f0.collapsed and f0.children == () and f0.label == "S Linear" and str(f0) == "S"


def test_fold_hnb201_levels(hnb201):
    t = hnb201.sample(0)
    labels = {}
    for level in range(5):
        f = hnb201.fold(t, level)
        collapsed = [n for _, n in f.walk() if n.collapsed]
        assert collapsed
        labels[level] = {n.label.split()[0] for n in collapsed}
        for n in collapsed:
            assert n.children == () and n.nonterminal
    assert labels[0] == {"D2"}
    assert labels[1] == {"D1", "D0"}
    assert labels[2] <= {"C", "D", "CL"}
    assert labels[3] == {"CL", "OP"}  # D0 ::= Linear3(C, C, CL): some cells sit one level higher
    assert labels[4] <= {"OP", "ACT", "CONV", "NORM"}
    f4 = hnb201.fold(t, 4)
    blocks = [n for _, n in f4.walk() if n.collapsed and n.nonterminal == "OP" and n.production == 2]
    assert blocks
    assert all(n.label == "OP Linear3" for n in blocks)  # a collapsed unit node keeps the symbol it resolves to
    f3 = str(hnb201.fold(t, 3))
    assert f3.count("CL") + f3.count("Cell(") == str(t).count("Cell(")
    assert hnb201.fold(t, 6) == t


def test_fold_keeps_terminals_written_in_productions(hnb201):
    t = hnb201.sample(1)
    f = hnb201.fold(t, 3)
    assert "down" in str(f)
    assert all(isinstance(n, Term) for _, n in f.walk())


# ---------------------------------------------------------------- numbers

GEN = """%float_digits 2
NET ::= Linear2(Gen(N, P, X, 4), Gen(N, 0.5, X, 4))
N   ::= int(3, 10)
P   ::= float(0.1, 0.9)
X   ::= conv3x3 | id
"""


def _skeleton(t: Term) -> Term:
    """The term with every number erased: what numeric perturbation must keep."""
    if t.value is not None:
        return Term(t.nonterminal, t.production, t.symbol)
    return Term(t.nonterminal, t.production, t.symbol, tuple(_skeleton(c) for c in t.children), None, t.collapsed)


def test_value_sites_list_numbers_in_pre_order_with_ranges_and_spans():
    g = load_grammar("mobilenet")
    t = g.parse("Linear3(Block(Conv(5, 0.0), skip, 1.0, -1), Block(MBConv(3, 6, 0.25), noskip, 1.25, -1), "
                "Block(DConv(3, 0.25), noskip, 1.0, 1))")
    sites = value_sites(g, t)
    assert [s.value for s in sites] == [n.value for _, n in t.walk() if n.value is not None]
    assert [t.at(s.path).value for s in sites] == [s.value for s in sites]
    first = sites[0]  # KSIZE ::= 3 | 5: a literal whose place chooses between numbers
    assert (first.lo, first.hi, first.span, first.integer) == (5, 5, (3, 5), True)
    assert sites[1].span == (0.0, 0.25) and not sites[1].integer
    g2 = load_grammar("gen.ebnf", text=GEN)
    t2 = g2.parse("Linear2(Gen(4, 0.3, id, 4), Gen(9, 0.5, conv3x3, 4))")
    assert [(s.value, s.lo, s.hi, s.span) for s in value_sites(g2, t2)] == [
        (4, 3, 10, (3, 10)), (0.3, 0.1, 0.9, (0.1, 0.9)), (4, 4, 4, (4, 4)),
        (9, 3, 10, (3, 10)), (0.5, 0.5, 0.5, (0.5, 0.5)), (4, 4, 4, (4, 4))]


@pytest.mark.parametrize("name, numbers, structure", [
    ("nago_hnag", True, False), ("rnag", True, False), ("hnb201", False, True), ("mobilenet", True, True)])
def test_numbers_and_structure_of_shipped_grammars(name, numbers, structure):
    g = load_grammar(name)
    assert (has_numbers(g), has_structure(g)) == (numbers, structure)


def test_fixed_literals_and_numeric_choices():
    assert not has_numbers(load_grammar("a.ebnf", text="NET ::= Gen(3, 0.5, X)\nX ::= conv | id"))
    choice = load_grammar("b.ebnf", text="NET ::= Gen(K, conv)\nK ::= 3 | 5")
    assert has_numbers(choice) and not has_structure(choice)
    assert not has_structure(load_grammar("c.ebnf", text="NET ::= Gen(N, conv)\nN ::= int(1, 3) | int(5, 7)"))


@pytest.mark.parametrize("name", ["nago_hnag", "rnag", "gen"])
def test_perturbation_moves_numbers_only_within_their_ranges(name):
    g = load_grammar("gen.ebnf", text=GEN) if name == "gen" else load_grammar(name)
    rng = random.Random(0)
    moved = 0
    for i in range(300):
        parent = g.sample(i)
        child = perturb_numbers(g, parent, rng, scale=0.1)
        assert child is not None and child != parent
        g.check(child)
        assert g.parse(str(child)) == child
        assert _skeleton(child) == _skeleton(parent)
        for a, b in zip(value_sites(g, parent), value_sites(g, child)):
            assert b.lo <= b.value <= b.hi and type(b.value) is type(a.value)
            if a.lo == a.hi:
                assert b.value == a.value  # fixed numbers never move
            if not b.integer:
                assert b.value == round(b.value, g.float_digits)
            moved += b.value != a.value
    assert moved > 300  # several numbers per child move on average


def test_perturbation_steps_are_local_and_scale_with_the_range():
    g = load_grammar("gen.ebnf", text=GEN)
    rng = random.Random(1)
    steps = {0.02: [], 0.3: []}
    for scale, out in steps.items():
        for i in range(400):
            parent = g.sample(i)
            child = perturb_numbers(g, parent, rng, scale=scale)
            out += [abs(b.value - a.value) / (a.hi - a.lo) for a, b in zip(value_sites(g, parent), value_sites(g, child))
                    if not a.integer and a.hi > a.lo and b.value != a.value]
    assert max(steps[0.02]) < 0.15  # 7 standard deviations
    assert np.median(steps[0.02]) < np.median(steps[0.3]) / 5


def test_perturbation_is_deterministic_per_seed_and_none_without_numbers():
    g = load_grammar("nago_hnag")
    t = g.sample(3)
    a = [perturb_numbers(g, t, random.Random(s)) for s in range(5)]
    assert a == [perturb_numbers(g, t, random.Random(s)) for s in range(5)]
    assert len(set(a)) > 1
    h = load_grammar("hnb201")
    rng = random.Random(7)
    state = rng.getstate()
    assert perturb_numbers(h, h.sample(0), rng) is None
    assert rng.getstate() == state  # no draw: the callers' random streams are unchanged
    with pytest.raises(ValueError, match="scale"):
        perturb_numbers(g, t, rng, scale=0.0)


def test_perturbation_keeps_shared_subterms_shared():
    g = load_grammar("s.ebnf", text="%shared CELL\nNET ::= Linear2(CELL, CELL)\nCELL ::= Gen(N, P)\n"
                                    "N ::= int(1, 9)\nP ::= float(0.0, 1.0)")
    rng = random.Random(0)
    for i in range(100):
        child = perturb_numbers(g, g.sample(i), rng)
        assert child.children[0] == child.children[1]
        g.check(child)
