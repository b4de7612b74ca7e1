"""Every search operator (mutation, crossover, self-crossover) keeps the grammar's ``%constraint``:
an offspring that a hook rejects is never returned. Sampling alone satisfying the hook is not
enough: mutating one leaf of ``Linear(conv, id, id)`` into ``conv`` would break
"at most one conv" in about half of the mutants if the operators skipped the check."""

from __future__ import annotations

import random

import pytest

from algebraic_nas.grammar import load_grammar, register_constraint


@register_constraint("ops_at_most_one_conv")
def _at_most_one_conv(term) -> bool:
    return str(term).count("conv") <= 1


@pytest.fixture(scope="module")
def g():
    return load_grammar("c.ebnf", text="%constraint ops_at_most_one_conv\nS ::= Linear3(A, A, A)\nA ::= conv | id | fc\n")


def test_mutation_never_returns_a_term_the_constraint_rejects(g):
    rng = random.Random(0)
    parents = [g.sample(rng) for _ in range(20)]
    assert all(_at_most_one_conv(p) for p in parents)
    children = [g.mutate(p, rng) for p in parents for _ in range(10)]
    bad = [str(c) for c in children if not _at_most_one_conv(c)]
    assert not bad, f"{len(bad)} of {len(children)} mutants break %constraint, e.g. {bad[:3]}"
    # the operator still explores: 20 of the 27 terms satisfy the constraint, the mutants vary
    assert len({str(c) for c in children}) >= 8


def test_mutation_of_a_term_with_one_conv_changes_it_within_the_constraint(g):
    rng = random.Random(1)
    t = g.parse("Linear3(conv, id, id)")
    children = [g.mutate(t, rng) for _ in range(100)]
    assert all(c != t for c in children)
    assert all(str(c).count("conv") <= 1 for c in children), "a mutant with two convs slipped through"


def test_crossover_children_keep_the_constraint(g):
    rng = random.Random(2)
    a, b = g.parse("Linear3(conv, id, id)"), g.parse("Linear3(id, conv, fc)")
    for _ in range(100):
        out = g.crossover(a, b, rng)
        if out is not None:
            assert all(_at_most_one_conv(c) for c in out), [str(c) for c in out]
        s = g.self_crossover(a, rng)
        if s is not None:
            assert _at_most_one_conv(s), str(s)
