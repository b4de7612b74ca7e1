"""Random search: terms sampled from the grammar's distribution (weights and constraints)."""

from __future__ import annotations

from typing import Sequence

from algebraic_nas.grammar.term import Term
from algebraic_nas.search.strategies.base import Strategy


class RandomSearch(Strategy):
    """Samples new terms from the grammar, never repeating one already proposed."""

    name = "random"

    def propose(self, pending: Sequence[Term] = (), n: int = 1) -> list[Term]:
        return self._propose_each(pending, n, self._new_random)
