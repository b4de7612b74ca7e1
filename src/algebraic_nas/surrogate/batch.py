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

The acquisition (built by the caller from the pools' posterior: log-EI for one objective, EHVI
for several) and the optimiser are the caller's, so the engine does not depend on the search
package. Several pools (one GP per modelled objective) are conditioned together. No term is returned twice, and none from
``exclude`` (evaluated, pending or proposed before).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from algebraic_nas.grammar.term import Term
from algebraic_nas.surrogate.pool import PoolPosterior

# the believed terms (pending, then the batch's members so far) -> the acquisition over terms
# (higher is better), evaluated on the pools' current, conditioned posterior
Scorer = Callable[[list[Term]], Callable[[list[Term]], np.ndarray]]
# (acquisition over terms, seed terms best first, exclude, local) -> an optimiser result with
# .term (and whatever bookkeeping it keeps); local: the short search of step 4
Optimise = Callable[[Callable[[list[Term]], np.ndarray], list[Term], set[Term], bool], Any]


@dataclass
class BatchStats:
    """Where a batch's work went: pool size, fantasies, optimiser results per member."""

    pool_size: int = 0
    n_fantasies: int = 0
    results: list[Any] = field(default_factory=list)


def kriging_believer_batch(
    pools: Sequence[PoolPosterior],
    q: int,
    scorer: Scorer,
    optimise: Optimise,
    best_observed: Sequence[Term],
    exclude: set[Term],
    pending: Sequence[Term] = (),
    n_seeds: int = 100,
) -> tuple[list[Term], BatchStats]:
    """``q`` new terms by Kriging believer on one fit (see the module docstring).

    Args:
        pools: the fitted GPs' pool posteriors (one per modelled objective; fresh: no fantasies
            yet), conditioned together.
        q: batch size.
        scorer: builds the acquisition over terms from the believed terms (it reads the pools'
            posterior through their ``predict``).
        optimise: the acquisition optimiser (see :data:`Optimise`).
        best_observed: observed terms, best first (the first member's seeds).
        exclude: terms never to return (evaluated, pending, proposed); each member is added.
        pending: terms under evaluation: fantasies at their posterior mean before the first
            member (training terms among them are skipped).
        n_seeds: pool terms (best by the conditioned acquisition) seeding each later member's
            local search.
    """
    stats = BatchStats()
    skip = set(pools[0].points.train) | set(pools[0].fantasies_terms()) if pools else set()
    believed = [t for t in dict.fromkeys(pending) if t not in skip]
    for pool in pools:
        for t in believed:
            pool.condition(t)
    out: list[Term] = []
    seeds = list(best_observed)
    for k in range(q):
        if k:
            for pool in pools:  # Kriging believer: the last member "observed" at its mean
                pool.condition(out[-1])
        score = scorer(believed + out)
        if k and pools:
            values = np.asarray(score(list(pools[0].terms)), dtype=float)
            order = np.argsort(-values, kind="stable")
            seeds = [pools[0].terms[i] for i in order[: max(1, n_seeds)]]
        result = optimise(score, seeds, exclude, k > 0)
        stats.results.append(result)
        exclude.add(result.term)
        out.append(result.term)
    if pools:
        stats.pool_size, stats.n_fantasies = len(pools[0]), len(pools[0].fantasies)
    return out, stats
