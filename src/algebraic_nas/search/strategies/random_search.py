"""Random search: terms sampled from the grammar's distribution (weights and constraints), for
any number of objectives; candidates over a pre-training bound (``params``, ``flops``) are
rejected before they are proposed (the baseline of every Pareto search)."""

from __future__ import annotations

from typing import Sequence

from algebraic_nas.search.proposal import Proposal
from algebraic_nas.search.strategies.base import PendingItem, Strategy, StrategyConfig
from algebraic_nas.search.strategies.registry import register_strategy


@register_strategy("mo_random", config=StrategyConfig,
                   doc="Random search for several objectives (an alias of random: the same class).")
@register_strategy("random", config=StrategyConfig, aliases=("random_search", "rs"))
class RandomSearch(Strategy):
    """Random search: samples new terms from the grammar, never repeating one already proposed."""

    name = "random"
    multi_objective = True

    def propose(self, pending: Sequence[PendingItem] = (), n: int = 1) -> list[Proposal]:
        return self._propose_each(pending, n, self._new_feasible)


MORandomSearch = RandomSearch  # the name multi-objective random search had
