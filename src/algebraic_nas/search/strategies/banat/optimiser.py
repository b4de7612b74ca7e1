"""The evolutionary acquisition optimiser of the model-based strategies (BANAT, MO-BANAT, BOHB's model).

The optimiser is the one of BANAT as implemented (Schrodi et al. 2023): a pool of 200
terms = the 10 best observed + 190 random samples; each child comes from a tournament of 40
drawn with replacement whose 2 best (by acquisition) are the parents; mutation 0.5, crossover
0.25, self-crossover 0.25; at least 10 and at most 50 generations, stopping once the best value
has not changed over the last 5 (up to a tolerance of 1 % of EI: see ``EvolutionConfig``); the
result is the best term that is neither evaluated nor pending. Each generation makes 200
children; the pool keeps the 200 best distinct terms of pool and children (elitist), so the
best value never decreases.

Numbers (generator spaces such as NAGO's): a parent that holds numeric placeholders may also be
*perturbed* (``p_perturb``, weighed against the three operators above): its numbers move by
Gaussian steps within their ranges (:func:`~algebraic_nas.grammar.operators.perturb_numbers`,
sd ``perturb_scale`` of the range), a local move next to mutation's uniform resampling. For a
parent without numbers the operator is never drawn and the random draws are those of the three
operators alone.
"""

from __future__ import annotations

import contextlib
import gc
import math
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

import numpy as np

from algebraic_nas.grammar.grammar import Grammar
from algebraic_nas.grammar.operators import perturb_numbers
from algebraic_nas.grammar.sites import has_numbers
from algebraic_nas.grammar.term import Term


@dataclass
class EvolutionConfig:
    """Settings of the evolutionary acquisition optimiser (defaults: BANAT as implemented, see the module docstring)."""

    pool_size: int = 200
    n_best: int = 10
    tournament_size: int = 40
    n_parents: int = 2
    p_mutation: float = 0.5
    p_crossover: float = 0.25
    p_self_crossover: float = 0.25
    # numeric perturbation, drawn only for parents holding numbers (weighed against the three
    # above: with the defaults, a third of such children are perturbed); its step sd as a
    # fraction of each placeholder's range
    p_perturb: float = 0.5
    perturb_scale: float = 0.1
    min_generations: int = 10
    max_generations: int = 50
    patience: int = 5
    # "unchanged" = EI grew by at most this fraction over the last `patience` generations (with
    # log-EI: log EI grew by at most this much). Exact equality never happens with a continuous
    # acquisition and an elitist pool: tiny gains would always run the optimiser to the maximum.
    tolerance: float = 0.01


@dataclass
class OptimiserResult:
    """What the optimiser found: the best new term, its acquisition value and bookkeeping."""

    term: Term
    value: float
    generations: int
    n_scored: int
    history: list[float] = field(default_factory=list)  # best value after each generation


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (reference counting goes on).

    Scoring ~10,000 candidates allocates millions of small objects (subterms, graph blocks,
    feature rows) while the surrogate's caches hold hundreds of thousands more; every
    generation-2 collection then traverses all of them, which cost as much as building the
    candidates' graphs (measured on hnb201: a BANAT proposal at n = 100 took 1.6-1.8x longer
    with the collector running). Terms, blocks and arrays form no reference cycles, so pausing
    the collector leaks nothing: cyclic garbage of the period is collected once it resumes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class EvolutionaryOptimiser:
    """Maximises an acquisition function over terms of a grammar by evolution.

    Args:
        grammar: provides ``sample``, ``mutate``, ``crossover`` and ``self_crossover``; a
            :class:`Grammar` with numeric placeholders is also perturbed numerically.
        config: the settings (see :class:`EvolutionConfig`).
    """

    def __init__(self, grammar: Any, config: Optional[EvolutionConfig] = None) -> None:
        self.grammar = grammar
        self.config = config or EvolutionConfig()
        c = self.config
        total = c.p_mutation + c.p_crossover + c.p_self_crossover
        if total <= 0:
            raise ValueError("mutation, crossover and self-crossover probabilities are all zero")
        self._probs = (c.p_mutation / total, c.p_crossover / total, c.p_self_crossover / total)
        if c.p_perturb < 0 or not c.perturb_scale > 0:
            raise ValueError("p_perturb must be >= 0 and perturb_scale > 0")
        total_n = total + c.p_perturb
        # for parents with numbers: mutation, crossover, self-crossover, then perturbation
        self._probs_numbers = (c.p_mutation / total_n, c.p_crossover / total_n, c.p_self_crossover / total_n)
        # a duck-typed grammar (tests' stand-ins) has no rules, hence no numbers
        self._numbers = isinstance(grammar, Grammar) and has_numbers(grammar) and c.p_perturb > 0
        self._numbers_of: dict[Term, bool] = {}  # whether a term holds numbers (per optimise call)

    def optimise(
        self,
        acquisition: Callable[[list[Term]], np.ndarray],
        best_observed: Sequence[Term],
        exclude: set[Term],
        rng: random.Random,
        log_scale: bool = False,
    ) -> OptimiserResult:
        """Evolve a pool and return the best term not in ``exclude``.

        Args:
            acquisition: maps a list of terms to their acquisition values (higher is better);
                called once per generation with the new terms only (values are cached).
            best_observed: observed terms, best first; the first ``n_best`` seed the pool.
            exclude: evaluated and pending terms, never returned (they may still be parents).
            rng: random number generator.
            log_scale: the acquisition values are logarithms (log-EI): the stopping tolerance
                is then an absolute change, else a relative one.
        """
        with cyclic_gc_paused():
            return self._optimise(acquisition, best_observed, exclude, rng, log_scale)

    def _optimise(
        self,
        acquisition: Callable[[list[Term]], np.ndarray],
        best_observed: Sequence[Term],
        exclude: set[Term],
        rng: random.Random,
        log_scale: bool,
    ) -> OptimiserResult:
        c = self.config
        self._numbers_of = {}
        scores: dict[Term, float] = {}
        # the best scored term not in exclude (the first one scored among equals), kept up to
        # date as terms are scored instead of scanning every score each generation
        best_term: Optional[Term] = None
        best_value = -math.inf

        def score(terms: Iterable[Term]) -> None:
            nonlocal best_term, best_value
            new = [t for t in dict.fromkeys(terms) if t not in scores]
            if new:
                vals = np.asarray(acquisition(new), dtype=float).reshape(-1)
                for t, v in zip(new, vals):
                    v = float(v) if math.isfinite(v) else -math.inf
                    scores[t] = v
                    if t not in exclude and (best_term is None or v > best_value):
                        best_term, best_value = t, v

        pool: list[Term] = list(dict.fromkeys(best_observed[: c.n_best]))
        attempts = 0
        while len(pool) < c.pool_size and attempts < 20 * c.pool_size:
            t = self.grammar.sample(rng)
            attempts += 1
            if t not in pool:
                pool.append(t)
        score(pool)
        history = [best_value]
        generation = 0
        while generation < c.max_generations:
            generation += 1
            children = self._offspring(pool, scores, rng, c.pool_size)
            score(children)
            # (mu + lambda) survival: the pool keeps the best distinct terms seen in it so far
            merged = list(dict.fromkeys(pool + children))
            merged.sort(key=lambda t: scores[t], reverse=True)
            pool = merged[: c.pool_size]
            history.append(best_value)
            if generation >= c.min_generations and len(history) > c.patience:
                if self._unchanged(history[-1 - c.patience], history[-1], log_scale):
                    break
        term, value = best_term, best_value
        if term is None:  # every candidate was excluded: a fresh random term is all we can do
            for _ in range(1000):
                term = self.grammar.sample(rng)
                if term not in exclude:
                    break
            else:
                raise RuntimeError("the acquisition optimiser found no term that is not evaluated or pending")
            score([term])
            value = scores[term]
        return OptimiserResult(term=term, value=value, generations=generation, n_scored=len(scores), history=history)

    def _unchanged(self, old: float, new: float, log_scale: bool) -> bool:
        if new == old:  # also covers -inf == -inf
            return True
        if not math.isfinite(old):
            return False
        gain = new - old
        return gain <= self.config.tolerance if log_scale else gain <= self.config.tolerance * abs(old)

    def _holds_numbers(self, term: Term) -> bool:
        """Whether ``term`` has a numeric leaf (cached for the current ``optimise`` call)."""
        got = self._numbers_of.get(term)
        if got is None:
            got = self._numbers_of[term] = any(node.value is not None for _, node in term.walk())
        return got

    def _offspring(self, pool: list[Term], scores: dict[Term, float], rng: random.Random, n: int) -> list[Term]:
        """``n`` children (fewer if the operators keep failing) by tournament selection."""
        c = self.config
        g = self.grammar
        children: list[Term] = []
        tries = 0
        while len(children) < n and tries < 5 * n:
            tries += 1
            tournament = [pool[rng.randrange(len(pool))] for _ in range(c.tournament_size)]
            ranked = sorted(dict.fromkeys(tournament), key=lambda t: scores[t], reverse=True)
            parents = ranked[: max(1, c.n_parents)]
            a = parents[0]
            b = parents[1] if len(parents) > 1 else parents[0]
            numbers = self._numbers and self._holds_numbers(a)
            probs = self._probs_numbers if numbers else self._probs
            u = rng.random()
            made: list[Term] = []
            if u < probs[0]:
                made = [g.mutate(a, rng)]
            elif u < probs[0] + probs[1]:
                pair = g.crossover(a, b, rng) if a != b else None
                made = list(pair) if pair is not None else []
            elif numbers and u >= probs[0] + probs[1] + probs[2]:
                child = perturb_numbers(g, a, rng, c.perturb_scale)
                made = [child] if child is not None else []
            else:
                child = g.self_crossover(a, rng)
                made = [child] if child is not None else []
            if not made:  # no compatible subterms: mutate instead so the generation fills up
                made = [g.mutate(a, rng)]
            children.extend(made)
        return children[:n]
