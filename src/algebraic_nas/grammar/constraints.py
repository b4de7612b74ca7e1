"""User constraints written in Python, named from grammar files with ``%constraint NAME``.

    from algebraic_nas.grammar import register_constraint

    @register_constraint("at_most_8_convs")
    def at_most_8_convs(term) -> bool:
        return sum(1 for _, t in term.walk() if t.symbol.startswith("conv")) <= 8

The function receives a complete `Term` and returns whether it is acceptable. Register it
before loading a grammar that names it. Sampling, mutation and crossover reject terms that fail
and try again; `Grammar.check` / `parse` raise `TermError`. The exact size ignores these
constraints (it cannot count them); `Grammar.size_ignores` lists them and `algebraic-nas info`
says so.
"""

from __future__ import annotations

from typing import Callable

from .term import Term

Constraint = Callable[[Term], bool]

_REGISTRY: dict[str, Constraint] = {}


def register_constraint(name: str) -> Callable[[Constraint], Constraint]:
    """Decorator registering ``fn(term) -> bool`` as the constraint ``name``."""

    def deco(fn: Constraint) -> Constraint:
        _REGISTRY[name] = fn
        return fn

    return deco


def get_constraint(name: str) -> Constraint | None:
    return _REGISTRY.get(name)


def registered_constraints() -> list[str]:
    return sorted(_REGISTRY)
