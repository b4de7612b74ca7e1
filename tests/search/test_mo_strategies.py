"""Multi-objective strategies (mo_random, mo_evolution, mo_banat) and the objectives/constraints keys."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from algebraic_nas.errors import ConfigError
from algebraic_nas.grammar import load_grammar
from algebraic_nas.search import Proposal, Result, make_strategy
from algebraic_nas.search.config.objectives import Bound, parse_constraints, parse_objectives
from algebraic_nas.search.feasibility import TermStats
from algebraic_nas.search.pareto import pareto_mask

OBJECTIVES = ["valid_error", "params"]


@pytest.fixture(scope="module")
def toy():
    return load_grammar("toy")


@pytest.fixture(scope="module")
def stats():
    return TermStats("digits")


def fake_error(term) -> float:
    """A deterministic pseudo-error in [0.05, 0.55) per term."""
    return 0.05 + int(hashlib.sha1(str(term).encode()).hexdigest()[:6], 16) / 16**6 / 2


def record(term, stats, ok=True) -> dict:
    objectives = {"params": stats(term)["params"], "peak_memory_mb": 100.0 + 10 * fake_error(term)}
    if ok:
        objectives["valid_error"] = fake_error(term)
    return {"outcome": "ok" if ok else "failed", "objectives": objectives, "valid_error": objectives.get("valid_error")}


def run(strategy, stats, steps: int, n: int = 1, fail_every: int = 0) -> list[Proposal]:
    made = []
    for i in range(steps):
        for p in strategy.propose(n=n):
            made.append(p)
            ok = not (fail_every and len(made) % fail_every == 0)
            strategy.observe(Result.from_record(p, record(p.term, stats, ok)))
    return made


def test_objective_and_constraint_keys_fail_naming_the_key():
    assert parse_objectives(["valid_error", "params"]) == ("valid_error", "params")
    assert parse_constraints({"params": 1e6}) == (Bound("params", 1e6),)
    assert parse_constraints(["params <= 1e6", "flops<=2e8"]) == (Bound("params", 1e6), Bound("flops", 2e8))
    assert parse_constraints("params<=5") == (Bound("params", 5.0),)
    with pytest.raises(ConfigError, match=r"objectives\[1\]='parms': not a registered objective"):
        parse_objectives(["valid_error", "parms"])
    with pytest.raises(ConfigError, match=r"objectives\[1\]='params': listed twice"):
        parse_objectives(["params", "params"])
    with pytest.raises(ConfigError, match=r"constraints\[0\]='params < 3': must read 'name <= bound'"):
        parse_constraints(["params < 3"])
    with pytest.raises(ConfigError, match=r"constraints.params='many': the bound must be a number"):
        parse_constraints({"params": "many"})
    with pytest.raises(ConfigError, match=r"constraints\[0\]: 'size' is not a registered objective"):
        parse_constraints(["size <= 3"])


@pytest.mark.parametrize("name", ["mo_random", "mo_evolution", "mo_banat"])
def test_a_parameter_bound_rejects_candidates_before_training(toy, stats, name):
    settings = {"mo_evolution": {"population_size": 6, "sample_size": 3}, "mo_banat": {"n_initial": 4}}.get(name, {})
    s = make_strategy(name, toy, seed=1, objectives=OBJECTIVES, constraints=["params <= 1000"], dataset="digits",
                      **settings)
    made = run(s, stats, steps=8)
    # every proposal is within the bound (counted independently); over-bound candidates were drawn and rejected
    assert all(stats(p.term)["params"] <= 1000 for p in made)
    assert s.constraints.n_rejected > 0 and len(s.rejected) == s.constraints.n_rejected
    r = s.rejected[0]
    assert r["violated"] == ["params<=1000"] and r["params"] > 1000 and toy.parse(r["term"])
    assert len({p.term for p in made}) == len(made)


def test_mo_evolution_breeds_from_the_front_and_ranks_failures_last(toy, stats):
    s = make_strategy("mo_evolution", toy, seed=0, objectives=OBJECTIVES, population_size=8, sample_size=8,
                      dataset="digits")
    run(s, stats, steps=8, fail_every=4)
    population = s.population
    pos = s.ranking(population)
    failed = [i for i, o in enumerate(population) if o.failed]
    assert failed and all(pos[i] >= len(population) - len(failed) for i in failed)
    front = {o.term for o in s.front()}
    best = population[int(np.argmin(pos))]
    assert best.term in front  # rank 0, an extreme of the front (infinite crowding distance)
    # with the whole population in the sample, each child comes from the best-ranked parent(s)
    child = s.propose(n=1)[0].term
    assert child not in {o.term for o in population}


def test_mo_banat_proposes_by_ehvi_with_pending_terms_believed(toy, stats):
    s = make_strategy("mo_banat", toy, seed=0, objectives=OBJECTIVES, n_initial=6, dataset="digits",
                      mc_samples=16)
    run(s, stats, steps=6)
    pending = s.propose(n=2)
    assert not s.last.random and s.last.n_fake == 1  # the batch's first proposal is believed for the second
    assert len({p.term for p in pending}) == 2
    more = s.propose(pending=pending, n=1)
    assert s.last.n_fake == 2 and more[0].term not in {p.term for p in pending}
    result = s.last.results[-1]
    assert np.isfinite(result.value) and result.n_scored > 10


def test_mo_banat_models_trained_objectives_and_computes_sizes(toy, stats):
    s = make_strategy("mo_banat", toy, seed=0, objectives=["valid_error", "peak_memory_mb", "params"],
                      n_initial=4, dataset="digits", mc_samples=8)
    assert s.modelled == ("valid_error", "peak_memory_mb") and s.computed == ("params",)
    run(s, stats, steps=6)
    assert not s.last.random


def test_the_front_of_a_strategy_is_the_non_dominated_set(toy, stats):
    s = make_strategy("mo_random", toy, seed=3, objectives=OBJECTIVES, dataset="digits")
    run(s, stats, steps=12)
    ys = s.points()
    front = {o.term for o in s.front()}
    expected = {o.term for o, on in zip(s.usable(), pareto_mask(ys)) if on}
    assert front == expected and front
    # no front member is dominated by any usable observation
    for o in s.front():
        e, p = o.result.objectives["valid_error"], o.result.objectives["params"]
        assert not any(u.result.objectives["valid_error"] <= e and u.result.objectives["params"] <= p
                       and (u.result.objectives["valid_error"], u.result.objectives["params"]) != (e, p)
                       for u in s.usable())


def test_the_incumbent_of_several_objectives_is_the_fronts_lowest_first_objective(toy, stats):
    s = make_strategy("mo_random", toy, seed=3, objectives=OBJECTIVES, dataset="digits")
    run(s, stats, steps=12)
    best = s.incumbent()
    assert best.term in {o.term for o in s.front()}
    assert best.result.objectives["valid_error"] == min(o.result.objectives["valid_error"] for o in s.usable())


def test_one_family_per_method_takes_objectives_and_hyperband_refuses_them():
    """random, evolution and banat take several objectives and bounds (their mo_* names are aliases of
    the same classes); Hyperband and BOHB minimise the validation error only and say so."""
    from algebraic_nas.search.config.objectives import check_objectives_config
    from algebraic_nas.search.strategies import get_strategy

    for name in ("random", "evolution", "banat", "mo_random", "mo_evolution", "mo_banat"):
        check_objectives_config({"objectives": OBJECTIVES, "constraints": ["params<=10"]}, get_strategy(name))
    assert get_strategy("mo_banat").cls is get_strategy("banat").cls
    assert get_strategy("mo_evolution").cls is get_strategy("evolution").cls
    assert get_strategy("mo_random").cls is get_strategy("random").cls
    with pytest.raises(ConfigError, match=r"strategy.name='hyperband'.*constraints"):
        check_objectives_config({"constraints": {"params": 10}}, get_strategy("hyperband"))
    with pytest.raises(ConfigError, match=r"'bohb' minimises the validation error only"):
        make_strategy("bohb", load_grammar("toy"), objectives=OBJECTIVES)


@pytest.mark.parametrize("alias, name, settings", [
    ("mo_random", "random", {}),
    ("mo_evolution", "evolution", {"population_size": 4, "sample_size": 2, "p_crossover": 0.0}),
    ("mo_banat", "banat", {"n_initial": 3, "evolution": {"pool_size": 20, "n_best": 5, "tournament_size": 5,
                                                         "min_generations": 2, "max_generations": 3, "patience": 1}}),
])
def test_an_alias_with_the_same_settings_proposes_what_the_method_does(toy, stats, alias, name, settings):
    """With several objectives the mo_* name and the plain name are one strategy: same settings, same proposals."""
    made = [[str(p.term) for p in run(make_strategy(n, toy, seed=5, objectives=OBJECTIVES, dataset="digits",
                                                     mc_samples=8, **settings) if "banat" in n else
                                       make_strategy(n, toy, seed=5, objectives=OBJECTIVES, dataset="digits",
                                                     **settings), stats, steps=6)] for n in (alias, name)]
    assert made[0] == made[1]


def test_mo_banat_uses_botorchs_qlognehvi_in_a_generator_space():
    g = load_grammar("nago_hnag")
    small = {"pool_size": 20, "n_best": 5, "tournament_size": 5, "min_generations": 2, "max_generations": 3,
             "patience": 1}
    s = make_strategy("mo_banat", g, seed=0, objectives=["valid_error", "peak_memory_mb"], n_initial=5,
                      dataset="digits", mc_samples=16, evolution=small)
    assert s.kernel == "values" and s.acquisition == "qlognehvi"
    for _ in range(5):
        (p,) = s.propose(n=1)
        e = fake_error(p.term)
        s.observe(Result.from_record(p, {"outcome": "ok", "objectives": {"valid_error": e, "peak_memory_mb": 300 - 200 * e}}))
    batch = s.propose(n=2)
    assert not s.last.random and s.last.n_fake == 1 and np.isfinite(s.last.results[-1].value)
    assert len({p.term for p in batch}) == 2
    # with a computed objective the GP cannot sample it: the strategy's own EHVI instead, and asking is an error
    assert make_strategy("mo_banat", g, objectives=["valid_error", "params"], dataset="digits").acquisition == "ehvi"
    with pytest.raises(ConfigError, match="strategy.acquisition='qlognehvi': needs a generator space"):
        make_strategy("mo_banat", load_grammar("toy"), objectives=OBJECTIVES, acquisition="qlognehvi")


def test_counts_before_training_are_the_ones_an_evaluation_records(toy):
    from algebraic_nas.evaluation import evaluate

    term = toy.parse("Linear(conv, Residual(conv, id, conv), fc)")
    rec = evaluate(str(term), grammar="toy", dataset="digits", protocol="tiny", device="cpu")
    counted = TermStats("digits", flops=True)(term)
    assert counted == {"params": rec.objectives["params"], "flops": rec.objectives["flops"]}
    assert TermStats("digits", flops=False)(term) == {"params": rec.objectives["params"]}


def test_counts_before_training_follow_the_grammars_prune():
    """nb201_cell keeps convolutions behind none edges (%prune none): a params bound must count them."""
    from algebraic_nas.assembly import build_network, network_stats
    from algebraic_nas.evaluation import get_dataset_spec
    from algebraic_nas.interop import convert

    g = load_grammar("nb201_cell")
    # conv1x1 (2,3) and conv3x3 (2,4) sit behind the none edge (1,2)
    term = g.parse(convert("nb201", "|none~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"))
    strategy = make_strategy("mo_random", g, objectives=OBJECTIVES, dataset="digits")
    spec = get_dataset_spec("digits")
    kept = network_stats(build_network(term, spec, prune="none"), spec)["params"]
    pruned = network_stats(build_network(term, spec, prune="paths"), spec)["params"]
    assert kept > pruned and strategy.stats(term)["params"] == kept
