"""User constraints written in Python, named from grammar files with ``%constraint NAME``.

    from algebraic_nas.grammar import register_constraint

    @register_constraint("at_most_8_convs")
    def at_most_8_convs(term) -> bool:
        return sum(1 for _, t in term.walk() if t.symbol.startswith("conv")) <= 8

The function receives a complete `Term` and returns whether it is acceptable. Register it
before loading a grammar that names it. Sampling, mutation and crossover reject terms that fail
(or make it raise: logged once, see :class:`Hooks`) and try again; sampling stops with a
`GrammarError` naming the constraints when none of 10000 candidates passes; `Grammar.check` / `parse` raise `TermError`. The exact size ignores these
constraints (it cannot count them); `Grammar.size_ignores` lists them and `algebraic-nas info`
says so.
"""

from __future__ import annotations

import logging
from typing import Callable, Sequence

from .term import Term

_LOG = logging.getLogger("algebraic_nas.grammar")

Constraint = Callable[[Term], bool]

_REGISTRY: dict[str, Constraint] = {}
_LOGGED: set[tuple[str, str]] = set()  # (constraint, first exception) already logged by this process


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


class Hooks:
    """The Python constraints of one grammar, guarded: user code never stops sampling or a search.

    A constraint that raises rejects the term; its first exception is logged once per process
    (warning on the ``algebraic_nas.grammar`` logger; loading the grammar again does not repeat it) with the constraint's name and kept for error messages.
    """

    def __init__(self, names: Sequence[str], functions: Sequence[Constraint]):
        self.names = list(names)
        self._fns = list(functions)
        self.errors: dict[str, str] = {}  # constraint name -> its first exception

    def violated(self, term: Term) -> str | None:
        """The name of the first constraint ``term`` fails (or raises on), or ``None``."""
        for name, fn in zip(self.names, self._fns):
            try:
                ok = fn(term)
            except Exception as exc:  # noqa: BLE001 - any error of user code rejects the term
                if name not in self.errors:
                    self.errors[name] = f"{type(exc).__name__}: {exc}"
                if (name, self.errors[name]) not in _LOGGED:  # once per process, however often the grammar loads
                    _LOGGED.add((name, self.errors[name]))
                    _LOG.warning("%%constraint %s raised %s (the term is rejected; logged once)", name, self.errors[name])
                return name
            if not ok:
                return name
        return None

    def failure(self, tries: int, rejected_by: dict[str, int]) -> str:
        """Why no candidate passed: ``"passed its Python constraints in N candidates: ..."``."""
        parts = []
        for name, n in sorted(rejected_by.items(), key=lambda kv: -kv[1]):
            raised = self.errors.get(name)
            parts.append(f"%constraint {name} rejected {n}" + (f" (it raises, e.g. {raised})" if raised else ""))
        return f"passed its Python constraints in {tries} candidates: " + "; ".join(parts)
