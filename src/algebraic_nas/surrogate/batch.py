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

from typing import Any, Callable, Sequence

import numpy as np

from algebraic_nas.grammar.term import Term
from algebraic_nas.surrogate.pool import PoolPosterior

# the believed terms (pending, then the batch's members so far) -> (the acquisition over terms
# (higher is better), evaluated on the pools' current, conditioned posterior; the observed
# terms best first, the first member's seeds)
Scorer = Callable[[list[Term]], tuple[Callable[[list[Term]], np.ndarray], list[Term]]]
# (acquisition over terms, seed terms best first, exclude, local) -> an optimiser result with
# .term (and whatever bookkeeping it keeps); local: the short search of step 4
Optimise = Callable[[Callable[[list[Term]], np.ndarray], list[Term], set[Term], bool], Any]


class BelieverSession:
    """Kriging-believer proposals from one fit, member after member (see the module docstring).

    Each :meth:`propose` conditions the pools on the believed terms not conditioned yet (pending
    evaluations, earlier members: the caller passes them), builds the acquisition and runs the
    optimiser: in full for the session's first member (seeded with the observed terms), as a
    short local search from the pool's best ``n_seeds`` terms for later ones. A strategy keeps
    one session while its training data is unchanged, so proposals asked for one by one (BOHB's
    new terms) share the fit too.

    Args:
        pools: the fitted GPs' pool posteriors (one per modelled objective; fresh), conditioned
            together; empty: the scorer conditions by itself (a model that is not a ``GraphGP``).
        scorer: builds the acquisition over terms from all believed terms so far (see :data:`Scorer`).
        optimise: the acquisition optimiser (see :data:`Optimise`).
        n_seeds: pool terms seeding each later member's local search.
    """

    def __init__(self, pools: Sequence[PoolPosterior], scorer: Scorer, optimise: Optimise, n_seeds: int = 100) -> None:
        self.pools = list(pools)
        self.scorer, self.optimise = scorer, optimise
        self.n_seeds = max(1, int(n_seeds))
        self.believed: list[Term] = []
        self._skip: set[Term] = set(self.pools[0].points.train) if self.pools else set()
        self.members = 0

    def condition(self, terms: Sequence[Term]) -> None:
        """Believe each of ``terms`` not believed or observed yet, at its posterior mean."""
        for t in dict.fromkeys(terms):
            if t not in self._skip:
                self._skip.add(t)
                self.believed.append(t)
                for pool in self.pools:
                    pool.condition(t)

    def propose(self, believed: Sequence[Term], exclude: set[Term]) -> Any:
        """The next member given ``believed`` (pending terms and earlier members), never one of
        ``exclude``; returns the optimiser's result (``.term``)."""
        self.condition(believed)
        score, seeds = self.scorer(list(self.believed))
        local = self.members > 0 and bool(self.pools)
        if local:
            values = np.asarray(score(list(self.pools[0].terms)), dtype=float)
            order = np.argsort(-values, kind="stable")
            seeds = [self.pools[0].terms[i] for i in order[: self.n_seeds]]
        result = self.optimise(score, seeds, exclude, local)
        self.members += 1
        return result


def kriging_believer_batch(
    pools: Sequence[PoolPosterior],
    q: int,
    scorer: Scorer,
    optimise: Optimise,
    exclude: set[Term],
    pending: Sequence[Term] = (),
    n_seeds: int = 100,
) -> tuple[list[Term], BelieverSession]:
    """``q`` new terms by Kriging believer on one fit: a :class:`BelieverSession` asked ``q``
    times, with ``pending`` and the members so far believed; each member joins ``exclude``.
    Returns the terms and the session (its pools, believed terms)."""
    session = BelieverSession(pools, scorer, optimise, n_seeds)
    out: list[Term] = []
    for _ in range(q):
        result = session.propose(list(pending) + out, exclude)
        exclude.add(result.term)
        out.append(result.term)
    return out, session
