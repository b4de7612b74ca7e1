"""``size()`` counts distinct terms where ``%shared`` nonterminals can be ``zero`` (a shared value
that is zero cuts the paths through every occurrence at once), including two shared nonterminals
with the same rules (interchangeable: swapping their values gives the same networks). Checked
against the distinct terms that 6000 samples reach (these grammars have at most 46 terms; the
recursive one was checked with 40,000)."""

from __future__ import annotations

import warnings

import pytest

from algebraic_nas.grammar import load_grammar

GRAMMARS = {
    "one shared, zero or not": (
        "%zero zero\n%shared X\nS ::= Linear2(X, A) | Residual2(X, A, X) | X\nA ::= id | avg_pool | X\n"
        "X ::= zero | conv | fc\n", 17),
    "two shared": (
        "%zero zero\n%shared X\n%shared Y\nS ::= Cell(X, Y, X, A, Y, conv) | Linear2(X, Y)\n"
        "X ::= zero | conv | id\nY ::= zero | conv | id\nA ::= zero | fc\n", 21),
    "two shared, one inside the other's alternatives": (
        "%zero zero\n%shared X\n%shared Y\nS ::= Diamond2(X, Y, A, X) | Residual2(Y, A, zero)\n"
        "X ::= zero | conv\nY ::= zero | id | fc\nA ::= X | avg_pool\n", 12),
    "terms that do not use the shared one": (
        "%zero zero\n%shared X\nS ::= Linear2(X, A) | fc | Linear1(A) | Residual2(A, X, A)\nA ::= id | avg_pool\n"
        "X ::= zero | conv | Linear1(conv)\n", 19),
    "under a depth bound": (
        "%zero zero\n%max_depth 3\n%shared X\nS ::= Linear2(X, A) | A\nA ::= id | Linear1(A) | X\n"
        "X ::= zero | conv | Linear1(X2)\nX2 ::= avg_pool | fc\n", 25),
    "interchangeable shared": (
        "%zero zero\n%shared X\n%shared Y\nS ::= Linear2(X, Y) | Residual2(X, Y, conv) | Cell(X, Y, A, A, X, Y)\n"
        "X ::= zero | conv | id\nY ::= zero | conv | id\nA ::= fc | zero\n", 46),
}


@pytest.mark.parametrize("name", sorted(GRAMMARS))
def test_size_counts_distinct_terms_with_shared_zero_values(name):
    text, expected = GRAMMARS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ambiguity: derivations and terms are one to one
        g = load_grammar("sz.ebnf", text=text)
    seen = {str(t) for t in g.sample_many(6000, rng=1)}
    assert len(seen) == expected  # measured: sampling reaches every term
    assert g.size() == expected
