"""Self-crossover swaps two subterms of the same nonterminal inside one term: it works as soon as
a nonterminal occurs twice, and never returns a term deeper than ``%max_depth`` allows."""

from __future__ import annotations

import random

import pytest

from algebraic_nas.grammar import TermError, load_grammar


def test_two_occurrences_are_enough_to_swap():
    g = load_grammar("s.ebnf", text="S ::= Linear2(A, A)\nA ::= conv | id\n")
    t = g.parse("Linear2(conv, id)")
    rng = random.Random(0)
    assert {str(g.self_crossover(t, rng)) for _ in range(10)} == {"Linear2(id, conv)"}
    assert g.self_crossover(g.parse("Linear2(conv, conv)"), rng) is None  # a swap changes nothing


def test_a_swap_that_would_exceed_the_depth_bound_is_not_made():
    # %max_depth counts nested nonterminals: the second A sits one level deeper (under B), so
    # moving Linear1(conv) there would need depth 4
    g = load_grammar("s.ebnf", text="%max_depth 3\nS ::= Linear2(A, B)\nB ::= Linear1(A)\n"
                                    "A ::= conv | id | Linear1(A)\n")
    t = g.parse("Linear2(Linear1(conv), Linear1(id))")
    assert g.is_valid(t)
    rng = random.Random(1)
    made = {str(g.self_crossover(t, rng)) for _ in range(50)}
    assert made == {"Linear2(Linear1(id), Linear1(conv))"}  # the inner conv and id swapped: depth 3
    too_deep = "Linear2(id, Linear1(Linear1(conv)))"  # Linear1(conv) and id swapped
    with pytest.raises(TermError):
        g.parse(too_deep)
    shallow = g.parse("Linear2(conv, Linear1(id))")  # the same swap between leaves is fine
    assert str(g.self_crossover(shallow, rng)) == "Linear2(id, Linear1(conv))"
