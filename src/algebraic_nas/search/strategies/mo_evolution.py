"""Multi-objective regularized evolution: ageing population, NSGA-II selection.

As :mod:`~algebraic_nas.search.strategies.evolution` (Real et al. 2019: the population is the
``population_size`` most recently finished evaluations, so the oldest dies as a new one
arrives), but the members of a tournament sample are ranked by NSGA-II's crowded comparison
(Deb et al. 2002): the population's non-dominated sorting first (front 0 best), then the crowding
distance within a front (larger first, which spreads the front). The child is the grammar's
crossover of the sample's two best (probability ``p_crossover``) or a mutation of the best,
and must satisfy the pre-training bounds. Failed, infeasible and incompletely measured members
rank last: they take a place and age out, but are parents only when the whole sample is such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from algebraic_nas.errors import ConfigError
from algebraic_nas.grammar.term import Term
from algebraic_nas.search.pareto import objective_matrix, nsga2_order
from algebraic_nas.search.proposal import Proposal
from algebraic_nas.search.strategies.base import Observation, PendingItem
from algebraic_nas.search.strategies.mo_base import MOStrategy
from algebraic_nas.search.strategies.registry import register_strategy


@dataclass
class MOEvolutionConfig:
    """Multi-objective regularized evolution.

    population_size: the ageing population (P = 30, as single-objective evolution).
    sample_size: the tournament sample (S = 10).
    p_crossover: probability that a child is a crossover of the sample's two best (else a mutant of the best).
    max_mutation_tries: children tried before falling back to a random term when every one was
        already proposed or over a bound.
    """

    population_size: int = 30
    sample_size: int = 10
    p_crossover: float = 0.25
    max_mutation_tries: int = 50


@register_strategy("mo_evolution", config=MOEvolutionConfig)
class MORegularizedEvolution(MOStrategy):
    """Multi-objective regularized evolution: NSGA-II ranking (non-dominated sorting, crowding
    distance) of a tournament sample of the most recent evaluations; mutation and crossover."""

    name = "mo_evolution"
    config_class = MOEvolutionConfig

    def __init__(self, grammar: Any, config: Any = None, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(grammar, config, seed, **kwargs)
        c = self.config
        if not 1 <= c.sample_size <= c.population_size:
            raise ConfigError(f"strategy.sample_size={c.sample_size}: need 1 <= sample_size <= population_size "
                              f"({c.population_size})")
        if not 0.0 <= c.p_crossover <= 1.0:
            raise ConfigError(f"strategy.p_crossover={c.p_crossover}: must be in [0, 1]")

    @property
    def population(self) -> list[Observation]:
        return self.observations[-self.config.population_size:]

    def ranking(self, population: Sequence[Observation], usable: Optional[set[int]] = None) -> np.ndarray:
        """``(len(population),)`` position of each member in NSGA-II order (0 = best); ``usable``:
        the ``id`` of each :meth:`usable` observation (default: computed here)."""
        usable = set(map(id, self.usable())) if usable is None else usable
        y = objective_matrix([o.result.objectives for o in population], self.objectives)
        y[[id(o) not in usable for o in population]] = np.nan  # failed / infeasible: last
        pos = np.empty(len(population), dtype=int)
        pos[nsga2_order(y)] = np.arange(len(population))
        return pos

    def propose(self, pending: Sequence[PendingItem] = (), n: int = 1) -> list[Proposal]:
        return self._propose_each(pending, n, self._choose)

    def _choose(self, exclude: set[Term]) -> Term:
        c = self.config
        population = self.population
        if self.n_proposed < c.population_size or not population:
            return self._new_feasible(exclude)
        usable = set(map(id, self.usable()))
        pos = self.ranking(population, usable)
        sample = sorted(self.rng.sample(range(len(population)), min(c.sample_size, len(population))),
                        key=lambda i: pos[i])
        parents = [population[i] for i in sample if id(population[i]) in usable]
        if not parents:
            return self._new_feasible(exclude)
        g = self.grammar
        for _ in range(c.max_mutation_tries):
            if len(parents) > 1 and self.rng.random() < c.p_crossover:
                pair = g.crossover(parents[0].term, parents[1].term, self.rng)
                children = list(pair) if pair is not None else [g.mutate(parents[0].term, self.rng)]
            else:
                children = [g.mutate(parents[0].term, self.rng)]
            for child in children:
                if child not in exclude and self.admit(child):
                    return child
        return self._new_feasible(exclude)
