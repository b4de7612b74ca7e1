"""A strategy defined outside the package, registered here only: the registry test selects it
with ``strategy=shortest_of_k`` (imported through ``ALGEBRAIC_NAS_PLUGINS``) without any other
file knowing about it. Also a fast objective for real searches over any grammar."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from algebraic_nas.search.proposal import Proposal
from algebraic_nas.search.strategies import Strategy, register_strategy


@dataclass
class ShortestOfKConfig:
    """k: random terms drawn per proposal; the shortest new one is proposed."""

    k: int = 3


@register_strategy("shortest_of_k", config=ShortestOfKConfig)
class ShortestOfK(Strategy):
    """The shortest of k random terms (a test strategy)."""

    config_class = ShortestOfKConfig

    def propose(self, pending: Sequence[Any] = (), n: int = 1) -> list[Proposal]:
        def one(exclude: set) -> Any:
            drawn = [self._new_random(exclude) for _ in range(self.config.k)]
            return min(drawn, key=lambda t: (len(str(t)), str(t)))

        return self._propose_each(pending, n, one)


def length_objective(term: str, **kwargs: Any) -> dict:
    """A synthetic objective: longer terms have lower error; no training."""
    return {"term": term, "outcome": "ok", "valid_error": 1.0 / len(term), "params": len(term), "flops": 2 * len(term)}
