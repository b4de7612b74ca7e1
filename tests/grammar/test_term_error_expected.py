"""A term string that is not a term of its nonterminal says what would have been: numbers first,
then the terminals and topologies (with ``_`` per argument), sorted; more than twelve are cut
with a count of the rest."""

from __future__ import annotations

import pytest

from algebraic_nas.grammar import TermError, load_grammar


def message(g, text: str) -> str:
    with pytest.raises(TermError) as info:
        g.parse(text)
    return str(info.value).splitlines()[0]


def test_the_error_lists_what_the_nonterminal_accepts():
    g = load_grammar("e.ebnf", text="S ::= Linear2(A, A) | conv | int(0, 3) | float(0, 1) | Residual2(A, A, A)\n"
                                    "A ::= id | fc\n")
    assert message(g, "nope") == ("position 0: 'nope' is not a term of S "
                                  "(expected a number, an integer, Linear2(_, _), Residual2(_, _, _), conv)")
    assert message(g, "Linear2(conv, id)") == "position 8: 'conv' is not a term of A (expected fc, id)"


def test_a_long_list_is_cut_after_twelve():
    g = load_grammar("m.ebnf", text="S ::= " + " | ".join(f"p{i}" for i in range(15)) + "\n")
    assert message(g, "x") == ("position 0: 'x' is not a term of S (expected p0, p1, p10, p11, p12, p13, p14, "
                               "p2, p3, p4, p5, p6, ... (3 more))")
    g13 = load_grammar("m.ebnf", text="S ::= " + " | ".join(f"q{i}" for i in range(13)) + "\n")
    assert message(g13, "x").endswith("q7, q8, ... (1 more))")
    g12 = load_grammar("m.ebnf", text="S ::= " + " | ".join(f"r{i}" for i in range(12)) + "\n")
    assert message(g12, "x").endswith("r8, r9)")
