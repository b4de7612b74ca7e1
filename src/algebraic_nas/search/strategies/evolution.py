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
from typing import Any, Sequence

from algebraic_nas.grammar.term import Term
from algebraic_nas.search.strategies.base import Strategy


class RegularizedEvolution(Strategy):
    """Args:
    grammar: the search space.
    population_size: population (P = 30 by default, as in the paper's experiments).
    sample_size: tournament sample (S = 10).
    seed: random seed.
    max_mutation_tries: mutations tried before falling back to a random term when every
        mutant was already proposed.
    """

    name = "evolution"

    def __init__(
        self,
        grammar: Any,
        population_size: int = 30,
        sample_size: int = 10,
        seed: int = 0,
        max_mutation_tries: int = 50,
    ) -> None:
        super().__init__(grammar, seed)
        if not 1 <= sample_size <= population_size:
            raise ValueError(f"need 1 <= sample_size ({sample_size}) <= population_size ({population_size})")
        self.population_size = population_size
        self.sample_size = sample_size
        self.max_mutation_tries = max_mutation_tries
        self._n_proposed = 0

    def mark_proposed(self, term: Term) -> None:
        super().mark_proposed(term)
        self._n_proposed += 1

    def observe(self, term: Term, record: Any) -> None:
        if term not in self.seen:
            self._n_proposed += 1  # observed on resume without having been proposed here
        super().observe(term, record)

    @property
    def population(self):
        """The ``population_size`` most recently finished evaluations (oldest first)."""
        return self.observations[-self.population_size:]

    def propose(self, pending: Sequence[Term] = (), n: int = 1) -> list[Term]:
        return self._propose_each(pending, n, self._propose_one)

    def _propose_one(self, exclude: set[Term]) -> Term:
        t = self._choose(exclude)
        self._n_proposed += 1
        return t

    def _choose(self, exclude: set[Term]) -> Term:
        population = self.population
        if self._n_proposed < self.population_size or not population:
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
