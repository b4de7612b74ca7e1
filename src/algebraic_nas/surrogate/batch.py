"""One Kriging-believer batch of q proposals from one GP fit (the batch engine of BANAT,
MO-BANAT and BOHB's model).

Algorithm 2 of the BANAT paper proposes a batch by Kriging believer: after each member, the
member is "observed" at its posterior mean and the next member maximises the acquisition under
that belief. Done naively, every member refits the GP (hyperparameters included) and runs the
acquisition optimiser from scratch over ~10,000 fresh candidates, so a batch of q costs about q
proposals. Here (:func:`kriging_believer_batch`):

1. the GP is fitted once (by the caller) and wrapped in a :class:`~.pool.PoolPosterior`;
2. pending terms (evaluations in flight) are fantasies at their posterior mean;
3. the first member comes from the full acquisition optimiser, whose every candidate lands in
   the featurised pool;
4. each later member: the previous one becomes a fantasy (an O(n^2) Cholesky extension at the
   fixed hyperparameters; the whole pool's posterior is updated in O((n + j) m)), the whole pool
   is re-scored, and a short local search starts from the pool's best terms under the new
   posterior (only its new children are featurised).

The acquisition (posterior -> value, higher is better) and the optimiser are the caller's, so
the engine does not depend on the search package. No term is returned twice, and none from
``exclude`` (evaluated, pending or proposed before).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from algebraic_nas.grammar.term import Term
from algebraic_nas.surrogate.pool import PoolPosterior

# posterior mean, variance (log units) -> acquisition values (higher is better)
Acquisition = Callable[[np.ndarray, np.ndarray], np.ndarray]
# (terms -> acquisition values, seed terms best first, exclude, local) -> an optimiser result
# with .term, .value (and whatever bookkeeping it keeps); local: the short search of step 4
Optimise = Callable[[Callable[[list[Term]], np.ndarray], list[Term], set[Term], bool], Any]


@dataclass
class BatchStats:
    """Where a batch's work went: pool size, fantasies, optimiser results per member."""

    pool_size: int = 0
    n_fantasies: int = 0
    results: Optional[list[Any]] = None


def kriging_believer_batch(
    pool: PoolPosterior,
    q: int,
    acquisition: Acquisition,
    optimise: Optimise,
    best_observed: Sequence[Term],
    exclude: set[Term],
    pending: Sequence[Term] = (),
    n_seeds: int = 100,
) -> tuple[list[Term], BatchStats]:
    """``q`` new terms by Kriging believer on one fit (see the module docstring).

    Args:
        pool: the fitted GP's pool posterior (fresh: no fantasies yet).
        q: batch size.
        acquisition: maps the posterior (mean, variance of log error) to acquisition values.
        optimise: the acquisition optimiser (see :data:`Optimise`).
        best_observed: observed terms, best first (the first member's seeds).
        exclude: terms never to return (evaluated, pending, proposed); each member is added.
        pending: terms under evaluation: fantasies at their posterior mean before the first
            member (training terms among them are skipped).
        n_seeds: pool terms (best by the conditioned acquisition) seeding each later member's
            local search.
    """
    stats = BatchStats(results=[])
    skip = set(pool.points.train) | set(pool.fantasies_terms())
    for t in dict.fromkeys(pending):
        if t not in skip:
            pool.condition(t)

    def acq(terms: list[Term]) -> np.ndarray:
        return acquisition(*pool.predict(terms))

    out: list[Term] = []
    seeds = list(best_observed)
    for k in range(q):
        if k:
            pool.condition(out[-1])  # Kriging believer: the last member "observed" at its mean
            values = acquisition(*pool.values())
            order = np.argsort(-values, kind="stable")
            seeds = [pool.terms[i] for i in order[: max(1, n_seeds)]]
        result = optimise(acq, seeds, exclude, k > 0)
        stats.results.append(result)  # type: ignore[union-attr]
        exclude.add(result.term)
        out.append(result.term)
    stats.pool_size, stats.n_fantasies = len(pool), len(pool.fantasies)
    return out, stats
