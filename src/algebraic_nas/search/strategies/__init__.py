"""Search strategies behind one interface (:class:`Strategy`): ``propose(pending, n)`` and
``observe(term, record)``."""

from __future__ import annotations

from typing import Any

from algebraic_nas.search.strategies.banat import BANAT
from algebraic_nas.search.strategies.base import Observation, Strategy, record_error
from algebraic_nas.search.strategies.evolution import RegularizedEvolution
from algebraic_nas.search.strategies.random_search import RandomSearch

STRATEGIES = ("banat", "banat_wl", "evolution", "random")


def make_strategy(name: str, grammar: Any, seed: int = 0, **options: Any) -> Strategy:
    """Build a strategy by name: ``banat`` (hWL kernel), ``banat_wl`` (flat WL kernel),
    ``evolution`` (regularized evolution) or ``random``; ``options`` are its keyword arguments."""
    if name == "banat":
        options.setdefault("kernel", "hwl")
        return BANAT(grammar, seed=seed, **options)
    if name == "banat_wl":
        options.setdefault("kernel", "wl")
        return BANAT(grammar, seed=seed, **options)
    if name in ("evolution", "regularized_evolution", "re"):
        return RegularizedEvolution(grammar, seed=seed, **options)
    if name in ("random", "random_search", "rs"):
        return RandomSearch(grammar, seed=seed, **options)
    raise ValueError(f"unknown strategy {name!r}; known: {', '.join(STRATEGIES)}")


__all__ = ["BANAT", "Observation", "RandomSearch", "RegularizedEvolution", "Strategy", "STRATEGIES", "make_strategy", "record_error"]
