"""Search strategies behind one contract (:class:`Strategy`, ``strategies/base.py``): ``propose(pending, n)``
returns :class:`~algebraic_nas.search.proposal.Proposal` objects and ``observe(result)`` takes a
:class:`~algebraic_nas.search.proposal.Result`. One family per search method for any number of
objectives (random, evolution, BANAT; ``mo_random``, ``mo_evolution``, ``mo_banat`` are registered
names of the same classes). Strategies are found by name in the registry (``strategies/registry.py``);
importing this package registers the shipped ones."""

from __future__ import annotations

from algebraic_nas.search.strategies.base import Observation, Strategy, StrategyConfig, record_error
from algebraic_nas.search.strategies.registry import (
    StrategyEntry,
    get_strategy,
    list_strategies,
    make_strategy,
    register_strategy,
    strategy_entries,
)

# the shipped strategies register themselves on import
from algebraic_nas.search.strategies.random_search import RandomSearch  # noqa: E402  isort: skip
from algebraic_nas.search.strategies.evolution import EvolutionStrategyConfig, RegularizedEvolution  # noqa: E402  isort: skip
from algebraic_nas.search.strategies.banat import BANAT, BanatConfig  # noqa: E402  isort: skip
from algebraic_nas.search.strategies.hyperband import Hyperband, HyperbandConfig  # noqa: E402  isort: skip
from algebraic_nas.search.strategies.bohb import BOHB, BohbConfig  # noqa: E402  isort: skip
from algebraic_nas.search.strategies.random_search import MORandomSearch  # noqa: E402  isort: skip
from algebraic_nas.search.strategies.evolution import MORegularizedEvolution  # noqa: E402  isort: skip
from algebraic_nas.search.strategies.banat import MOBANAT  # noqa: E402  isort: skip


def __getattr__(name: str):
    # STRATEGIES: the registered names now (a strategy registered later is included)
    if name == "STRATEGIES":
        return tuple(list_strategies())
    raise AttributeError(name)


__all__ = [
    "BANAT", "BOHB", "BanatConfig", "BohbConfig", "EvolutionStrategyConfig", "Hyperband", "HyperbandConfig",
    "MOBANAT", "MORandomSearch", "MORegularizedEvolution",
    "Observation", "RandomSearch", "RegularizedEvolution",
    "STRATEGIES", "Strategy", "StrategyConfig", "StrategyEntry", "get_strategy", "list_strategies",
    "make_strategy", "record_error", "register_strategy", "strategy_entries",
]
