"""Multi-objective random search: random terms that satisfy the pre-training bounds."""

from __future__ import annotations

from typing import Sequence

from algebraic_nas.search.proposal import Proposal
from algebraic_nas.search.strategies.base import PendingItem, StrategyConfig
from algebraic_nas.search.strategies.mo_base import MOStrategy
from algebraic_nas.search.strategies.registry import register_strategy


@register_strategy("mo_random", config=StrategyConfig)
class MORandomSearch(MOStrategy):
    """Multi-objective random search: terms from the grammar's distribution, candidates over a
    parameter or FLOP bound rejected before training (the baseline of every Pareto search)."""

    name = "mo_random"

    def propose(self, pending: Sequence[PendingItem] = (), n: int = 1) -> list[Proposal]:
        return self._propose_each(pending, n, self._new_feasible)
