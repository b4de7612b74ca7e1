"""``perturb_numbers`` moves a number by a Gaussian step of sd ``scale * (hi - lo)``, clipped to
its range; an int that rounds back moves one unit its way (inwards at a bound); a float keeps the
grammar's ``float_digits``."""

from __future__ import annotations

import random
import statistics

from algebraic_nas.grammar import load_grammar
from algebraic_nas.grammar.operators import perturb_numbers


def values(g, text: str, scale: float, n: int, seed: int = 0) -> list:
    rng = random.Random(seed)
    t = g.parse(text)
    out = []
    for _ in range(n):
        child = perturb_numbers(g, t, rng, scale=scale)
        assert child is not None and child != t and child.symbol == "Op"
        out.append(child.children[0].value)
    return out


def test_a_short_int_step_moves_one_unit_inwards_at_the_bounds():
    g = load_grammar("i.ebnf", text="S ::= Op(int(0, 10))\n")
    assert set(values(g, "Op(0)", 0.001, 20)) == {1}
    assert set(values(g, "Op(10)", 0.001, 20)) == {9}
    assert set(values(g, "Op(5)", 0.001, 60)) == {4, 6}


def test_a_long_int_step_is_clipped_to_the_range():
    g = load_grammar("i.ebnf", text="S ::= Op(int(0, 10))\n")
    v = values(g, "Op(5)", 1.0, 300)
    assert min(v) == 0 and max(v) == 10 and all(isinstance(x, int) for x in v)
    assert v.count(0) > 30 and v.count(10) > 30  # measured 112 and 83 of 300


def test_float_steps_have_the_scale_as_sd_and_keep_the_digits():
    g = load_grammar("f.ebnf", text="%float_digits 3\nS ::= Op(float(1.0, 3.0))\n")
    v = values(g, "Op(2.0)", 0.05, 2000)  # sd 0.05 * (3 - 1) = 0.1: clipping at 1 and 3 never happens
    steps = [x - 2.0 for x in v]
    assert all(round(x, 3) == x and 1.0 <= x <= 3.0 for x in v)
    assert 0.09 < statistics.pstdev(steps) < 0.11  # measured 0.0994 (2000 steps: sd of the sd 0.0016)
    assert abs(statistics.fmean(steps)) < 0.01
    w = values(g, "Op(2.9)", 0.5, 300)  # sd 1: nearly half the steps clip to the upper bound
    assert max(w) == 3.0 and w.count(3.0) > 100 and min(w) >= 1.0  # measured 132 of 300
