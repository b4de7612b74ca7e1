"""Random search, regularized evolution and BANAT behind one interface (toy grammar, fake GP)."""

from __future__ import annotations

import numpy as np
import pytest

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.proposal import Result
from algebraic_nas.search.strategies import BANAT, RandomSearch, RegularizedEvolution, make_strategy
from algebraic_nas.search.strategies.banat.optimiser import EvolutionConfig
from search_fakes import FakeGP, ToyGrammar, make, toy_error, word

OK = lambda e: {"outcome": "ok", "valid_error": e}
FAILED = {"outcome": "failed", "reason": "boom", "valid_error": None}
SMALL_EVO = dict(pool_size=40, min_generations=3, max_generations=10, patience=2)


def terms_of(proposals):
    return [p.term for p in proposals]


def feed(strategy, n, pending=()):
    """Propose and observe ``n`` terms with the toy objective; returns the terms."""
    out = []
    for _ in range(n):
        (p,) = strategy.propose(pending=list(pending), n=1)
        t = p.term
        strategy.observe(Result.from_record(p, OK(toy_error(str(t)))))
        out.append(t)
    return out


def test_make_strategy_names():
    g = ToyGrammar()
    assert isinstance(make_strategy("random", g), RandomSearch)
    assert isinstance(make_strategy("evolution", g), RegularizedEvolution)
    assert make_strategy("banat", g).kernel == "hwl" and make_strategy("banat", g).name == "banat"
    assert make_strategy("banat_wl", g).kernel == "wl" and make_strategy("banat_wl", g).name == "banat_wl"
    with pytest.raises(ConfigError, match="strategy.name='bogus': not a registered strategy; known: banat, banat_wl, bohb, evolution, hyperband, mo_banat, mo_evolution, mo_random, random"):
        make_strategy("bogus", g)


@pytest.mark.parametrize("name", ["random", "evolution"])
def test_no_duplicates_and_pending_respected(name):
    g = ToyGrammar()
    s = make_strategy(name, g, seed=3)
    pending = [g.sample(i) for i in range(5)]
    terms = feed(s, 60, pending)
    assert len(set(terms)) == 60 and not set(terms) & set(pending)
    batch = [p.term for p in s.propose(pending=pending, n=4)]
    assert len(set(batch)) == 4 and not set(batch) & (set(terms) | set(pending))


def test_same_seed_same_proposals():
    a, b = (RandomSearch(ToyGrammar(), seed=5) for _ in range(2))
    assert a.propose(n=3) == b.propose(n=3)


def test_regularized_evolution_random_phase_then_mutants_of_the_sample_best():
    g = ToyGrammar()
    s = RegularizedEvolution(g, population_size=6, sample_size=6, seed=0)
    first = feed(s, 6)
    best = min(first, key=lambda t: toy_error(str(t)))
    (child,) = terms_of(s.propose())
    # sample = whole population: the child is a one-letter mutant of the best member
    assert sum(x != y for x, y in zip(word(child), word(best))) == 1


def test_regularized_evolution_ages_by_evaluation_order():
    g = ToyGrammar()
    s = RegularizedEvolution(g, population_size=3, sample_size=3, seed=0)
    good = make("aaaaaaab")
    s.observe(good, OK(0.01))
    for w in ("bbbbbbbb", "cccccccc", "dddddddd"):
        s.observe(make(w), OK(0.9))
    # the best one is the oldest and has died: no child is a mutant of it
    assert good not in [o.term for o in s.population]
    for _ in range(5):
        (c,) = terms_of(s.propose())
        assert sum(x != y for x, y in zip(word(c), word(good))) > 1


def test_regularized_evolution_never_picks_a_failed_parent():
    g = ToyGrammar()
    s = RegularizedEvolution(g, population_size=4, sample_size=4, seed=0)
    s.observe(make("aaaaaaaa"), FAILED)
    for w in ("bbbbbbbb", "cccccccc", "dbdbdbdb"):
        s.observe(make(w), OK(0.5))
    (c,) = terms_of(s.propose())
    assert word(c).count("a") <= 1


def banat(**kw):
    kw.setdefault("evolution", EvolutionConfig(**SMALL_EVO))
    return BANAT(ToyGrammar(), surrogate_factory=lambda k, g, o: FakeGP(k, g, **o), seed=0, **kw)


def test_banat_initial_design_is_random_then_uses_the_model():
    s = banat(n_initial=4)
    feed(s, 4)
    assert s.last.random
    feed(s, 1)
    assert not s.last.random and s.last.n_train == 4 and s.last.results
    assert s.last.results[0].generations >= 3


def test_banat_initial_design_is_noted_stored_sized_by_the_budget_and_warned(tmp_path, caplog):
    """A small budget is not silently random search: the initial design shrinks to max(2, budget // 3)
    under a budget of 3 * n_initial (30 for the default 10: larger budgets keep 10), each proposal says
    how it was chosen (stored with its row), and a budget that does not exceed the design warns."""
    from algebraic_nas.search.driver import Budget, Driver
    from algebraic_nas.search.executors import InProcessExecutor
    from algebraic_nas.search.store import Store
    from algebraic_nas.search.worker import EvaluationTask

    for budget, size in ((None, 10), (30, 10), (100, 10), (29, 9), (8, 2), (3, 2)):
        s = banat()
        s.set_budget(budget)
        assert s.n_initial == size, budget
    assert banat(n_initial=4).n_initial == 4
    with caplog.at_level("WARNING"):
        banat().set_budget(2)
    assert "budget of 2 evaluations does not exceed the initial design of 2 random terms" in caplog.text

    s = banat()
    settings = EvaluationTask(grammar="toy8", dataset="none", function="search_fakes:toy_evaluate")
    with Store(tmp_path) as store:
        # synchronous proposals: each one is made after the previous result was observed
        Driver(ToyGrammar(), s, InProcessExecutor(), store, settings, Budget(evaluations=8), propose_ahead=False).run()
        rows = store.rows()
    notes = [r.note for r in rows]
    assert notes[:2] == ["initial design 1/2, random", "initial design 2/2, random"]
    # then the model, once two evaluations succeeded (the toy objective fails S(d, d, ...) terms)
    for i, r in enumerate(rows[2:], start=2):
        ok_before = sum(q.status == "done" for q in rows[:i])
        assert r.note == ("model (log_ei)" if ok_before >= 2 else "random (fewer than 2 usable evaluations to model)")
    assert notes.count("model (log_ei)") >= 4


def test_banat_improves_on_the_toy_problem_and_never_repeats():
    s = banat(n_initial=5)
    terms = feed(s, 25)
    assert len(set(terms)) == 25
    assert min(toy_error(str(t)) for t in terms) < min(toy_error(str(t)) for t in terms[:5])
    assert min(word(t).count("a") for t in terms[-5:]) >= 6  # the model (exact here) is followed


def test_banat_kriging_believer_and_pending_exclusion():
    s = banat(n_initial=2)
    feed(s, 3)
    pending = [make("aaaaaaab"), make("aaaaaaba")]
    fits = []
    s.surrogate_factory = lambda k, g, o: fits.append(FakeGP()) or fits[-1]
    (t,) = terms_of(s.propose(pending=pending, n=1))
    assert t not in pending
    # two fits: the real data, then real + pending at their posterior means
    assert len(fits) == 2
    terms, y = fits[1].fitted[0]
    assert set(pending) <= set(terms) and len(terms) == 3 + 2
    for p in pending:
        assert y[terms.index(p)] == pytest.approx(toy_error(str(p)))  # exp(posterior mean of log error)


def test_banat_batch_is_distinct_and_fantasises_earlier_batch_members():
    s = banat(n_initial=2)
    feed(s, 3)
    batch = terms_of(s.propose(n=3))
    assert len(set(batch)) == 3
    assert s.last.n_fake == 2  # the third proposal saw the first two as fake observations


def test_banat_failed_evaluations_excluded_or_worst():
    for mode, expect in (("exclude", 2), ("worst", 3)):
        s = banat(n_initial=1, failed=mode)
        s.observe(make("bbbbbbbb"), OK(0.5))
        s.observe(make("cccccccc"), OK(0.7))
        s.observe(make("dddddddd"), FAILED)
        data = s.training_data()
        terms, y = data.terms, data.targets["valid_error"]
        assert len(terms) == expect
        if mode == "worst":
            assert y[terms.index(make("dddddddd"))] == 0.7
        (t,) = terms_of(s.propose())
        assert t != make("dddddddd")


def test_banat_falls_back_to_random_when_the_model_fails():
    class Broken(FakeGP):
        def fit(self, terms, y):
            raise np.linalg.LinAlgError("not positive definite")

    s = BANAT(ToyGrammar(), n_initial=1, surrogate_factory=lambda k, g, o: Broken(), seed=0)
    feed(s, 3)
    assert s.last.random


def test_banat_models_the_graphs_of_the_network_seed():
    """Generator topologies draw their graph from the evaluation (network) seed: BANAT's GP must
    see the graphs that were trained, not those of seed 0."""
    from algebraic_nas.grammar import Template, is_topology, load_grammar, register_topology
    from algebraic_nas.surrogate.graphs import TermGraphs

    if not is_topology("StrategySeedChain"):
        register_topology("StrategySeedChain", lambda v, seed: Template.chain(1 + seed % 3, arg=1), generator=True)
    g = load_grammar("seedchain", text="NET ::= Linear2(StrategySeedChain(N, OP), StrategySeedChain(N, OP))\n"
                                       "N ::= int(1, 3)\nOP ::= conv3x3 | avg_pool | id\n")
    s = make_strategy("banat", g, seed=0, network_seed=4, n_initial=2, evolution=SMALL_EVO)
    assert s.network_seed == 4
    for i in range(4):  # two random, then two GP proposals: the graph cache is built
        (p,) = s.propose()
        s.observe(p.term, OK(0.1 + 0.1 * i))
    term = s.observations[0].term
    graph = lambda tg: [(c.labels, c.src.tolist(), c.dst.tolist()) for c in tg(term)]
    assert graph(s.models.graphs) == graph(TermGraphs(g, seed=4))
    assert any(graph(TermGraphs(g, seed=4)) != graph(TermGraphs(g, seed=k)) for k in range(4))


# --- BANAT over generator hyperparameters (numbers only: the value kernel) -----------------------


def _unit_numbers(g, t):
    """The term's varying numbers, each scaled to [0, 1] by its range."""
    from algebraic_nas.grammar.sites import value_sites

    return np.array([(s.value - s.span[0]) / (s.span[1] - s.span[0]) for s in value_sites(g, t) if s.span[1] > s.span[0]])


def _smooth_error(g, t):
    """A smooth synthetic validation error of a generator setting: a bowl in three of the eight
    hyperparameters (the top graph's N and P, the mid graph's P), minimum 0.05 inside the box;
    the other five do not matter (as most do not in NAGO's own sensitivity study). A function of the
    network: of the canonical values (a P that its graph ignores takes its canonical value, issue 10)."""
    from algebraic_nas.grammar.canonical_values import canonical_term

    x = _unit_numbers(g, canonical_term(g, t))
    return 0.05 + 0.3 * float((x[2] - 0.37) ** 2 + (x[4] - 0.61) ** 2 + 0.5 * (x[0] - 0.5) ** 2)


@pytest.mark.parametrize("name, kernel", [("nago_hnag", "values"), ("rnag", "values"), ("hnb201", "hwl"),
                                          ("mobilenet", "hwl+values")])
def test_banat_kernel_is_chosen_from_the_grammar(name, kernel):
    from algebraic_nas.grammar import load_grammar

    g = load_grammar(name)
    assert make_strategy("banat", g).kernel == kernel
    assert make_strategy("banat", g, kernel="wl").kernel == "wl"  # an explicit kernel wins


def _run(strategy, g, n):
    errors = []
    for _ in range(n):
        (p,) = strategy.propose()
        e = _smooth_error(g, p.term)
        strategy.observe(Result.from_record(p, OK(e)))
        errors.append(e)
    return errors


def test_banat_values_proposals_use_the_model_and_raise_no_warning(caplog):
    import warnings

    import algebraic_nas.surrogate  # noqa: F401  (imports warn about torch.jit: not ours)
    from algebraic_nas.grammar import load_grammar

    g = load_grammar("nago_hnag")
    s = make_strategy("banat", g, seed=0, n_initial=3, evolution=SMALL_EVO)
    randoms = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(10):
            _run(s, g, 1)
            randoms.append(s.last.random)
    # a warning turned error inside a proposal would make BANAT fall back to a random term
    assert randoms == [True] * 3 + [False] * 7
    assert "proposal failed" not in caplog.text


def test_banat_finds_better_generator_settings_than_random_search():
    """20 evaluations on nago_hnag (8 hyperparameters, 3 of them relevant; optimum 0.05): BANAT
    (value kernel, the default here) ends far closer to the optimum than random search on most
    seeds. The verdict compares the two, with margins, not BANAT's last digits against a fixed
    number (those differ between CPUs and BLAS builds).

    Measured (seeds 0-5, regret = best error - 0.05): BANAT 0.0016 0.0024 0.0009 0.0012 0.0008
    0.0008 (mean 0.0013); random 0.0108 0.0188 0.0484 0.0069 0.0052 0.0025 (mean 0.0154);
    BANAT / random at most 0.31 per seed."""
    from algebraic_nas.grammar import load_grammar

    g = load_grammar("nago_hnag")
    evo = dict(pool_size=60, min_generations=3, max_generations=10, patience=2)
    regrets = []
    for seed in range(6):
        bo = _run(make_strategy("banat", g, seed=seed, n_initial=5, evolution=evo), g, 20)
        rs = _run(make_strategy("random", g, seed=seed), g, 20)
        regrets.append((min(bo) - 0.05, min(rs) - 0.05))
    better = sum(b < 0.5 * r for b, r in regrets)
    assert better >= 5, f"BANAT's regret is under half of random search's on {better} of 6 seeds: {regrets}"
    mean_bo, mean_rs = (sum(x) / len(regrets) for x in zip(*regrets))
    assert mean_bo < 0.3 * mean_rs and max(b for b, _ in regrets) < 0.006, regrets
