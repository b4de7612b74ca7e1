"""Expected improvement, log-EI and the evolutionary acquisition optimiser."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import integrate, stats

from algebraic_nas.search.acquisition import (
    EvolutionaryOptimiser,
    EvolutionConfig,
    expected_improvement,
    log_expected_improvement,
)
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
