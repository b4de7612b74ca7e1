"""A term's floats print in full (the shortest text that reads back as the same float), so that
``parse(str(t)) == t`` and the run's stored term strings name exactly the network evaluated;
printing with a fixed number of digits (``%g``: 6) would silently round them."""

from __future__ import annotations

import random

import pytest

from algebraic_nas.grammar import load_grammar


@pytest.fixture(scope="module")
def g():
    return load_grammar("f.ebnf", text="S ::= Op(float(0.0, 1.0), float(-1000.0, 1000.0))")


@pytest.mark.parametrize("text", ["Op(0.123456789, 123.456789)", "Op(1e-07, -999.9999999)", "Op(0.1, 0.5)"])
def test_floats_print_as_written_and_read_back_exactly(g, text):
    t = g.parse(text)
    assert str(t) == text
    assert g.parse(str(t)) == t


def test_sampled_floats_keep_every_digit_through_printing(g):
    rng = random.Random(0)
    for _ in range(50):
        t = g.sample(rng)
        values = [c.value for c in t.children]
        back = g.parse(str(t))
        assert [c.value for c in back.children] == values  # bit-identical floats
        assert back == t
