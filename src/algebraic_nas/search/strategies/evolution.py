"""Regularized (ageing) evolution, Real et al. 2019, run asynchronously, for any number of objectives.

The first ``population_size`` proposals are random terms. After that each proposal takes a
sample of ``sample_size`` members of the population (the ``population_size`` most recently
*finished* evaluations, so the oldest dies as a new one arrives: ageing by evaluation order),
ranks it and breeds from its best: a mutant of the best, or (probability ``p_crossover``) the
grammar's crossover of the two best. The ranking is the piece that depends on the objectives:

* one objective: by its value (the validation error by default), the first sampled among equals;
* several: NSGA-II's crowded comparison (Deb et al. 2002) over the population: non-dominated
  sorting first (front 0 best), then the crowding distance within a front (larger first).

A failed, infeasible or incompletely measured member takes a place and ages out, but is a parent
only when no sampled member is usable (then a random term is proposed). Children must satisfy
the pre-training bounds (``constraints``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

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
    p_crossover: probability that a child is a crossover of the sample's two best (else a mutant
        of the best); 0 (``evolution``) draws no random number for it.
    max_mutation_tries: children tried before falling back to a random term when every one was
        already proposed or over a bound.
    """

    population_size: int = 30
    sample_size: int = 10
    p_crossover: float = 0.0
    max_mutation_tries: int = 50


MOEvolutionConfig = EvolutionStrategyConfig  # the name multi-objective evolution's settings had


@register_strategy("mo_evolution", config=EvolutionStrategyConfig, defaults={"p_crossover": 0.25},
                   doc="Regularized evolution for several objectives (NSGA-II ranking; evolution with "
                       "p_crossover 0.25).")
@register_strategy("evolution", config=EvolutionStrategyConfig, aliases=("regularized_evolution", "re"))
class RegularizedEvolution(Strategy):
    """Regularized evolution: children of the best of a sample of the most recent evaluations.

    Args: ``grammar``, ``config`` (an :class:`EvolutionStrategyConfig`), ``seed``, ``objectives``,
    ``constraints`` and fields of the config as keywords (``population_size=6``).
    """

    name = "evolution"
    config_class = EvolutionStrategyConfig
    multi_objective = True

    def __init__(self, grammar: Any, config: Any = None, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(grammar, config, seed, **kwargs)
        c = self.config
        if not 1 <= c.sample_size <= c.population_size:
            raise ConfigError(f"strategy.sample_size={c.sample_size}: need 1 <= sample_size <= population_size "
                              f"({c.population_size})")
        if not 0.0 <= c.p_crossover <= 1.0:
            raise ConfigError(f"strategy.p_crossover={c.p_crossover}: must be in [0, 1]")
        self.population_size = c.population_size
        self.sample_size = c.sample_size
        self.max_mutation_tries = c.max_mutation_tries

    @property
    def population(self) -> list[Observation]:
        """The ``population_size`` most recently finished evaluations (oldest first)."""
        return self.observations[-self.population_size:]

    def ranking(self, population: Sequence[Observation], usable: Optional[set[int]] = None) -> np.ndarray:
        """``(len(population),)`` position of each member in NSGA-II order (0 = best); ``usable``:
        the ``id`` of each :meth:`usable` observation (default: computed here)."""
        from algebraic_nas.search.pareto import nsga2_order, objective_matrix  # botorch: imported late

        usable = set(map(id, self.usable())) if usable is None else usable
        y = objective_matrix([o.result.objectives for o in population], self.objectives)
        y[[id(o) not in usable for o in population]] = np.nan  # failed / infeasible: last
        pos = np.empty(len(population), dtype=int)
        pos[nsga2_order(y)] = np.arange(len(population))
        return pos

    def _parents(self, population: list[Observation]) -> list[Observation]:
        """A tournament sample of ``population``, usable members only, best first."""
        sample = self.rng.sample(range(len(population)), min(self.sample_size, len(population)))
        if len(self.objectives) == 1:  # by value; sorted() is stable: the first sampled among equals
            key = self.objectives[0]
            usable = self.successes if not self.constraints else self.usable()
            ok = set(map(id, usable))
            members = [population[i] for i in sample]
            ranked = sorted(members, key=lambda o: o.result.objectives[key] if id(o) in ok and key in
                            o.result.objectives else float("inf"))
            return [o for o in ranked if id(o) in ok]
        ok = set(map(id, self.usable()))
        pos = self.ranking(population, ok)
        return [population[i] for i in sorted(sample, key=lambda i: pos[i]) if id(population[i]) in ok]

    def propose(self, pending: Sequence[PendingItem] = (), n: int = 1) -> list[Proposal]:
        return self._propose_each(pending, n, self._choose)

    def _choose(self, exclude: set[Term]) -> Term:
        c = self.config
        population = self.population
        if self.n_proposed < self.population_size or not population:
            return self._new_feasible(exclude)
        parents = self._parents(population)
        if not parents:
            return self._new_feasible(exclude)
        g = self.grammar
        for _ in range(c.max_mutation_tries):
            if c.p_crossover > 0 and len(parents) > 1 and self.rng.random() < c.p_crossover:
                pair = g.crossover(parents[0].term, parents[1].term, self.rng)
                children = list(pair) if pair is not None else [g.mutate(parents[0].term, self.rng)]
            else:
                children = [g.mutate(parents[0].term, self.rng)]
            for child in children:
                if child not in exclude and self.admit(child):
                    return child
        return self._new_feasible(exclude)


MORegularizedEvolution = RegularizedEvolution  # the name multi-objective evolution had
