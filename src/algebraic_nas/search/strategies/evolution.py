"""Regularized (ageing) evolution, Real et al. 2019, run asynchronously.

The first ``population_size`` proposals are random terms. After that each proposal takes a
sample of ``sample_size`` members of the population (the ``population_size`` most recently
*finished* evaluations, so the oldest dies as a new one arrives: ageing by evaluation order),
and mutates the best of the sample. A failed evaluation is a population member with an infinite
error: it takes a place and ages out, but is never chosen as a parent while a sampled member
succeeded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from algebraic_nas.errors import ConfigError
from algebraic_nas.grammar.term import Term
from algebraic_nas.search.proposal import Proposal
from algebraic_nas.search.strategies.base import Observation, PendingItem, Strategy
from algebraic_nas.search.strategies.registry import register_strategy


@dataclass
class EvolutionStrategyConfig:
    """Regularized evolution.

    population_size: population (P = 30, as in the paper's experiments).
    sample_size: tournament sample (S = 10).
    max_mutation_tries: mutations tried before falling back to a random term when every
        mutant was already proposed.
    """

    population_size: int = 30
    sample_size: int = 10
    max_mutation_tries: int = 50


@register_strategy("evolution", config=EvolutionStrategyConfig, aliases=("regularized_evolution", "re"))
class RegularizedEvolution(Strategy):
    """Regularized evolution: mutants of the best of a sample of the most recent evaluations.

    Args: ``grammar``, ``config`` (an :class:`EvolutionStrategyConfig`), ``seed`` and fields of
    the config as keywords (``population_size=6``).
    """

    name = "evolution"
    config_class = EvolutionStrategyConfig

    def __init__(self, grammar: Any, config: Any = None, seed: int = 0, *, network_seed: int = 0,
                 **settings: Any) -> None:
        super().__init__(grammar, config, seed, network_seed=network_seed, **settings)
        c = self.config
        if not 1 <= c.sample_size <= c.population_size:
            raise ConfigError(f"need 1 <= sample_size ({c.sample_size}) <= population_size ({c.population_size})")
        self.population_size = c.population_size
        self.sample_size = c.sample_size
        self.max_mutation_tries = c.max_mutation_tries

    @property
    def population(self) -> list[Observation]:
        """The ``population_size`` most recently finished evaluations (oldest first)."""
        return self.observations[-self.population_size:]

    def propose(self, pending: Sequence[PendingItem] = (), n: int = 1) -> list[Proposal]:
        return self._propose_each(pending, n, self._choose)

    def _choose(self, exclude: set[Term]) -> Term:
        population = self.population
        if self.n_proposed < self.population_size or not population:
            return self._new_random(exclude)
        k = min(self.sample_size, len(population))
        sample = self.rng.sample(population, k)
        parent = min(sample, key=lambda o: math.inf if o.failed else o.error)
        if parent.failed:
            return self._new_random(exclude)
        for _ in range(self.max_mutation_tries):
            child = self.grammar.mutate(parent.term, self.rng)
            if child not in exclude:
                return child
        return self._new_random(exclude)
