"""BANAT's batches: one model fit per batch, fantasies at fixed hyperparameters.

:func:`model_session` puts the strategy's pieces (model -> acquisition -> optimiser) into the
surrogate's batch engine (:class:`~algebraic_nas.surrogate.batch.BelieverSession`): the GPs are
fitted once on the training data; each believed term (pending evaluation, earlier batch member)
conditions every GP's posterior over the featurised candidate pool at the fitted
hyperparameters (:class:`~algebraic_nas.surrogate.pool.PoolPosterior`); the acquisition (log-EI,
or EHVI for several objectives) reads that posterior; the first member runs the full
evolutionary optimiser, later ones a short local search (:func:`local_search_config`) from the
pool's best terms. The strategy keeps the session while its training data is unchanged, so the
members of one ``propose(n)`` call, proposals computed ahead without a new result in between,
and BOHB's new terms of one rung share the fit.

``batch: refit`` (or a model that is not a ``GraphGP``, or BoTorch's qLogNEHVI, which
conditions on pending points itself) keeps the straightforward path: every member refits the
models with the believed terms at their posterior mean, hyperparameters included, and runs the
full optimiser (the benchmarks' baseline).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from algebraic_nas.grammar.term import Term
from algebraic_nas.search.strategies.banat.optimiser import EvolutionConfig

if TYPE_CHECKING:
    from algebraic_nas.search.strategies.banat.strategy import BANAT, TrainingData
    from algebraic_nas.surrogate.batch import BelieverSession

BATCH_MODES = ("fantasy", "refit")


def local_search_config(c: EvolutionConfig) -> EvolutionConfig:
    """The optimiser of a batch's later members: a pool of at most 100 terms, all of them seeds
    (the best of the conditioned candidate pool; no random samples), 2 generations (a batch of 16
    at n = 100 cost 2.1x one proposal with 2-3 generations)."""
    pool = min(c.pool_size, 100)
    return dataclasses.replace(c, pool_size=pool, n_best=pool, tournament_size=min(c.tournament_size, pool),
                               min_generations=2, max_generations=2, patience=1)


def data_key(data: "TrainingData") -> tuple:
    """What a session's fit depends on: the training terms and their values."""
    return tuple(data.terms), tuple((k, tuple(v)) for k, v in sorted(data.targets.items()))


def model_session(strategy: "BANAT", data: "TrainingData", rng: Any) -> "BelieverSession":
    """A session of Kriging-believer proposals on one fit of ``strategy``'s model to ``data``."""
    from algebraic_nas.surrogate import GraphGP
    from algebraic_nas.surrogate.batch import BelieverSession
    from algebraic_nas.surrogate.pool import PoolPosterior

    models = strategy.fit(data)
    fantasy = (strategy.config.batch == "fantasy" and bool(models)
               and all(isinstance(m, GraphGP) for m in models.values()))
    pools = {k: PoolPosterior(m) for k, m in models.items()} if fantasy else {}
    log_scale = strategy.acquisition != "ei"  # log-EI, EHVI and qLogNEHVI are logarithms

    def scorer(believed: list[Term]) -> tuple[Callable[[list[Term]], np.ndarray], list[Term]]:
        if fantasy:  # the pools are conditioned on the believed terms already
            score, seeds, _ = strategy.acquire(pools, data, believed, rng)
        else:  # the models refitted with the believed terms (hyperparameters included)
            conditioned, fake = strategy.believe(models, data, believed)
            score, seeds, _ = strategy.acquire(conditioned, data, fake, rng)
        return score, seeds

    def optimise(score: Callable[[list[Term]], np.ndarray], seeds: list[Term], exclude: set[Term], local: bool) -> Any:
        strategy.optimise(score, seeds, exclude, rng, log_scale, local=local)
        return strategy.last.results[-1]  # the optimiser's result, kept by strategy.optimise

    return BelieverSession(list(pools.values()), scorer, optimise, local_search_config(strategy.optimiser.config).pool_size)
