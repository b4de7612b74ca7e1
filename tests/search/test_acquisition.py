"""Expected improvement, log-EI and the evolutionary acquisition optimiser (numeric perturbation
of generator terms included)."""

from __future__ import annotations

import math
import random
import warnings

import numpy as np
import pytest
from scipy import integrate, stats

from algebraic_nas.grammar import load_grammar
from algebraic_nas.grammar.sites import value_sites
from algebraic_nas.search.strategies.banat.acquisition import expected_improvement, log_expected_improvement
from algebraic_nas.search.strategies.banat.optimiser import EvolutionaryOptimiser, EvolutionConfig
from search_fakes import ToyGrammar, make, toy_error, word


def test_ei_matches_numerical_integration():
    for mu, s, best in [(0.0, 1.0, 0.5), (1.0, 0.3, 0.2), (-1.0, 2.0, -1.5)]:
        num, _ = integrate.quad(lambda f: max(best - f, 0.0) * stats.norm.pdf(f, mu, s), mu - 12 * s, mu + 12 * s)
        assert expected_improvement(np.array([mu]), np.array([s * s]), best)[0] == pytest.approx(num, rel=1e-6)


def test_log_ei_is_log_of_ei_where_ei_is_representable():
    mean = np.linspace(-3, 8, 200)
    var = np.full_like(mean, 0.7)
    ei = expected_improvement(mean, var, best=0.0)
    ok = ei > 1e-300
    assert np.allclose(log_expected_improvement(mean, var, 0.0)[ok], np.log(ei[ok]), rtol=1e-8, atol=1e-8)


def test_log_ei_keeps_ranking_where_ei_underflows():
    mean = np.array([40.0, 50.0, 1e3, 1e6])
    var = np.ones(4)
    assert np.all(expected_improvement(mean, var, 0.0) == 0.0)
    lei = log_expected_improvement(mean, var, 0.0)
    assert np.all(np.isfinite(lei)) and np.all(np.diff(lei) < 0)
    # asymptote: log h(z) ~ -z^2/2 - log(sqrt(2 pi)) - 2 log|z|
    z = -40.0
    assert lei[0] == pytest.approx(-0.5 * z * z - 0.5 * math.log(2 * math.pi) - 2 * math.log(-z), abs=1e-2)


def _toy_acq(terms):
    return -np.array([toy_error(str(t)) for t in terms])


def test_optimiser_finds_a_near_optimum_and_respects_exclude():
    g = ToyGrammar()
    rng = random.Random(0)
    optimum = make("aaaaaaaa")
    observed = [g.sample(rng) for _ in range(10)]
    res = EvolutionaryOptimiser(g).optimise(_toy_acq, observed, exclude={optimum, *observed}, rng=rng)
    assert res.term != optimum and res.term not in observed
    assert word(res.term).count("a") == 7  # the best term that is not excluded
    assert 10 <= res.generations <= 50
    assert res.history == sorted(res.history)  # elitist: the best value never gets worse


def test_optimiser_stops_early_after_patience_and_obeys_max():
    g = ToyGrammar()
    cfg = EvolutionConfig(pool_size=20, min_generations=3, max_generations=7, patience=2)
    flat = lambda terms: np.zeros(len(terms))  # nothing to gain: stop as soon as allowed
    res = EvolutionaryOptimiser(g, cfg).optimise(flat, [], set(), random.Random(1))
    assert res.generations == 3
    cfg = EvolutionConfig(pool_size=20, min_generations=3, max_generations=4, patience=100)
    res = EvolutionaryOptimiser(g, cfg).optimise(_toy_acq, [], set(), random.Random(1))
    assert res.generations == 4


def test_optimiser_scores_each_term_once_per_call():
    g = ToyGrammar()
    seen = []

    def acq(terms):
        seen.extend(terms)
        return _toy_acq(terms)

    res = EvolutionaryOptimiser(g).optimise(acq, [], set(), random.Random(2))
    assert len(seen) == len(set(seen)) == res.n_scored


def test_stopping_rule_treats_tiny_gains_as_unchanged():
    g = ToyGrammar()
    tiny_gains = lambda terms: np.array([1e-6 * word(t).count("a") for t in terms])  # log-scale values
    cfg = dict(pool_size=20, min_generations=3, max_generations=12, patience=2)
    res = EvolutionaryOptimiser(g, EvolutionConfig(**cfg)).optimise(tiny_gains, [], set(), random.Random(0), log_scale=True)
    assert res.generations == 3
    strict = EvolutionConfig(**cfg, tolerance=0.0)
    res = EvolutionaryOptimiser(g, strict).optimise(tiny_gains, [], set(), random.Random(0), log_scale=True)
    assert res.generations > 3


def test_log_ei_is_finite_and_silent_when_the_variance_vanishes():
    """A candidate with (numerically) zero posterior variance far above the best has z ~ -1e12:
    the bracket of log h rounded to exactly 0 and log1p divided by zero (seen with the value kernel)."""
    mean = np.array([0.5, 1.0, 3.0, 0.5])
    var = np.array([0.0, 0.0, 1e-30, 1e-20])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lei = log_expected_improvement(mean, var, best=0.0)
    assert np.all(np.isfinite(lei))
    assert lei[0] > lei[1] > lei[2]  # still ranked: nearer the best is better


def _floats(g, t):
    return np.array([s.value for s in value_sites(g, t) if s.span[1] > s.span[0] and not s.integer])


def test_numeric_perturbation_finds_a_sharp_optimum_in_the_numbers():
    """nago_hnag: an acquisition peaked at one setting of the three edge probabilities; Gaussian
    steps tune floats that uniform resampling (mutation) only hits by chance."""
    g = load_grammar("nago_hnag")
    target = np.array([0.234, 0.567, 0.789])
    acq = lambda terms: np.array([-np.abs(_floats(g, t) - target).sum() for t in terms])
    best = {}
    for p in (0.0, 0.5):
        cfg = EvolutionConfig(pool_size=40, min_generations=10, max_generations=10, p_perturb=p)
        best[p] = np.mean([EvolutionaryOptimiser(g, cfg).optimise(acq, [], set(), random.Random(s)).value
                           for s in range(8)])
    assert best[0.5] > 0.6 * best[0.0]  # values are negative distances: at least 40 % closer


def test_parents_without_numbers_draw_as_without_the_operator():
    """In a space of structures and numbers, a parent that holds no number gets exactly the random
    draws (and children) it would get if numeric perturbation did not exist."""
    g = load_grammar("mixed.ebnf", text="NET ::= Linear2(OP, OP)\nOP ::= conv3x3 | id | Pool(K)\nK ::= int(1, 5)\n")
    pool = [g.parse(s) for s in ("Linear2(conv3x3, id)", "Linear2(id, conv3x3)", "Linear2(id, id)")]
    scores = {t: float(i) for i, t in enumerate(pool)}
    with_op = EvolutionaryOptimiser(g, EvolutionConfig(p_perturb=0.5))
    without = EvolutionaryOptimiser(g, EvolutionConfig(p_perturb=0.0))
    assert with_op._numbers and not without._numbers
    a, b = random.Random(3), random.Random(3)
    assert with_op._offspring(pool, scores, a, 60) == without._offspring(pool, scores, b, 60)
    assert a.getstate() == b.getstate()
    numeric = [g.parse("Linear2(Pool(2), id)"), g.parse("Linear2(Pool(4), Pool(1))")]
    scores = {t: float(i) for i, t in enumerate(numeric)}
    a, b = random.Random(3), random.Random(3)
    assert with_op._offspring(numeric, scores, a, 60) != without._offspring(numeric, scores, b, 60)


def test_perturbation_settings_are_checked():
    with pytest.raises(ValueError, match="perturb"):
        EvolutionaryOptimiser(load_grammar("nago_hnag"), EvolutionConfig(perturb_scale=0.0))


def test_cyclic_gc_is_paused_while_scoring_and_restored():
    import gc

    from algebraic_nas.search.strategies.banat.optimiser import cyclic_gc_paused

    seen = []
    assert gc.isenabled()
    with cyclic_gc_paused():
        seen.append(gc.isenabled())
    assert seen == [False] and gc.isenabled()
    with pytest.raises(KeyError):
        with cyclic_gc_paused():
            raise KeyError("x")
    assert gc.isenabled()
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()  # a caller's own pause is kept
    finally:
        gc.enable()
