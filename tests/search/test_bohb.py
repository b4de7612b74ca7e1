"""BOHB: random new terms until a rung has enough results, then BANAT's model fitted on the
highest such rung, with the terms under evaluation as Kriging-believer fakes."""

from __future__ import annotations

import pytest

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.proposal import Result
from algebraic_nas.search.strategies import make_strategy
from algebraic_nas.search.strategies.bohb import BOHB
from fidelity_fakes import mf_toy_evaluate
from search_fakes import ToyGrammar, fake_gp_factory, toy_error


def bohb(**settings) -> BOHB:
    opts = dict(eta=2, min_fidelity=1, max_fidelity=4, brackets=1, min_points=3, random_fraction=0.0,
                model={"evolution": {"pool_size": 20, "tournament_size": 5, "min_generations": 2, "max_generations": 3}})
    opts.update(settings)
    return make_strategy("bohb", ToyGrammar(), seed=0, surrogate_factory=fake_gp_factory, **opts)


def finish(strategy: BOHB, proposal) -> None:
    record = mf_toy_evaluate(str(proposal.term), overrides=proposal.fidelity)
    strategy.observe(Result.from_record(proposal, record))


def test_random_until_a_rung_has_enough_results_then_the_model_of_the_highest_such_rung():
    s = bohb()
    while s.model_data()[0] is None:
        (p,) = s.propose()
        assert s.model_rung is None  # no rung with 3 results yet: random
        finish(s, p)
    n_random = len(s.observations)
    fitted_on = []
    for _ in range(12):
        (p,) = s.propose()
        if p.fidelity["epochs"] == 1:  # a new term: from the model now
            fitted_on.append(s.model_rung)
            assert s.model.last.n_train == len(s.model_data()[1])
        finish(s, p)
    assert fitted_on and fitted_on[0] == 0 and None not in fitted_on
    # the model is asked (BANAT.propose_on), its own state never written: it observed and proposed nothing itself
    assert s.model.observations == [] and s.model.seen == set() and s.model.n_proposed == 0
    # terms the GP chose are good: better than the random first three on average
    model_terms = [o.term for o in s.observations[n_random:] if o.result.fidelity["epochs"] == 1]
    first = [o.term for o in s.observations[:n_random] if o.result.fidelity["epochs"] == 1]
    mean = lambda ts: sum(toy_error(str(t)) for t in ts) / len(ts)  # noqa: E731
    assert mean(model_terms) < mean(first)


def test_the_model_moves_up_to_a_higher_rung_once_it_has_enough_results():
    s = bohb(min_points=2)
    while s.model_data()[0] != 1:
        (p,) = s.propose()
        finish(s, p)
    rung, obs = s.model_data()
    assert rung == 1 and all(o.result.fidelity["epochs"] == 2 for o in obs)
    p = next(q for q in (s.propose()[0] for _ in range(20)) if q.fidelity["epochs"] == 1)  # a new term
    assert s.model_rung == 1 and p.term not in {o.term for o in s.observations}


def test_pending_terms_are_kriging_believer_fakes():
    s = bohb()
    for _ in range(4):
        (p,) = s.propose()
        finish(s, p)
    pending = [p for p in (s.propose()[0] for _ in range(2))]
    s.propose(pending=pending)
    assert s.model.last.n_fake >= 1


def test_bad_settings_name_the_key():
    with pytest.raises(ConfigError, match="strategy.min_points"):
        bohb(min_points=1)
    with pytest.raises(ConfigError, match="strategy.random_fraction"):
        bohb(random_fraction=2.0)
