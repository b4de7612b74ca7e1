"""The incumbent of a search: the one definition the store, the strategies, the checkpoint keeper
and the report use.

One objective (``valid_error`` by default): the incumbent is the succeeded evaluation with the
lowest value **at the highest fidelity any succeeded evaluation reached** (results at lower
fidelities, e.g. Hyperband's lower rungs, are not comparable with full training); among equal
values the first in the given order (pass evaluations in finishing order: the first to reach it).

Several objectives: a point of the Pareto front of those highest-fidelity evaluations that
satisfy every bound. The choice is **the front's point with the lowest first objective** (ties
broken by the next objectives in order): with ``objectives=[valid_error, params]`` the most
accurate network on the front, so the single-objective answer and the multi-objective one agree
on the error, and it is never dominated (the lexicographic minimum of a set is on its front). The
knee of the front would depend on how the objectives are scaled; the whole front is in the report.

The functions take any items with accessors, so rows of the store, a strategy's observations and
report rows share them.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, TypeVar

from algebraic_nas.search.proposal import fidelity_rank
from algebraic_nas.search.proposal import finite_or_none as _finite

T = TypeVar("T")

__all__ = ["best_of", "incumbent", "observation_incumbent", "top_fidelity_items"]


def top_fidelity_items(items: Iterable[T], fidelity: Callable[[T], Optional[Mapping[str, Any]]],
                       succeeded: Callable[[T], bool]) -> list[T]:
    """The succeeded ``items`` at the highest fidelity (``fidelity_rank``) any succeeded item reached,
    in their given order."""
    ok = [it for it in items if succeeded(it)]
    if not ok:
        return []
    top = max(fidelity_rank(fidelity(it)) for it in ok)
    return [it for it in ok if fidelity_rank(fidelity(it)) == top]


def best_of(items: Sequence[T], values: Callable[[T], Sequence[Optional[float]]]) -> Optional[T]:
    """The item whose value vector (already oriented for minimisation) is lexicographically lowest;
    items with a missing value are skipped; the first among equals. With one value: the minimum."""
    best: Optional[T] = None
    best_key: Optional[tuple[float, ...]] = None
    for it in items:
        key = tuple(_finite(v) for v in values(it))
        if any(v is None for v in key):
            continue
        if best_key is None or key < best_key:  # strict: the first among equals stays
            best, best_key = it, key  # type: ignore[assignment]
    return best


def incumbent(
    items: Iterable[T],
    *,
    objectives: Sequence[str] = ("valid_error",),
    value: Callable[[T, str], Optional[float]],
    fidelity: Callable[[T], Optional[Mapping[str, Any]]],
    feasible: Optional[Callable[[T], bool]] = None,
    orient: Optional[Callable[[str, float], float]] = None,
) -> Optional[T]:
    """The incumbent of ``items`` (see the module docstring); ``None`` when nothing succeeded.

    Args:
        items: evaluations in finishing order (store rows, observations, ...).
        objectives: the objective names, each minimised; the first decides (then the next ones).
        value: ``(item, name) -> value`` of an objective (``None``: not measured / failed).
        fidelity: ``item -> fidelity mapping`` (``{}``: full).
        feasible: whether an item satisfies the search's bounds (``None``: all do).
        orient: ``(name, value) -> value to minimise`` for objectives registered as maximised
            (``None``: the values as they are).
    """
    first = objectives[0]
    succeeded = (lambda it: _finite(value(it, first)) is not None and (feasible is None or feasible(it)))
    top = top_fidelity_items(items, fidelity, succeeded)
    if orient is None:
        return best_of(top, lambda it: [value(it, k) for k in objectives])

    def oriented(it: T) -> list[Optional[float]]:
        out = []
        for k in objectives:
            v = _finite(value(it, k))
            out.append(None if v is None else orient(k, v))
        return out

    return best_of(top, oriented)


def observation_incumbent(observations: Iterable[Any], objectives: Sequence[str] = ("valid_error",),
                          feasible: Optional[Callable[[Any], bool]] = None,
                          orient: Optional[Callable[[str, float], float]] = None) -> Optional[Any]:
    """:func:`incumbent` of a strategy's observations (objects with ``.result``: a
    :class:`~algebraic_nas.search.proposal.Result`), in observation order."""
    return incumbent(
        observations, objectives=objectives, fidelity=lambda o: o.result.fidelity, feasible=feasible, orient=orient,
        value=lambda o, k: o.result.error if k == "valid_error" else o.result.objectives.get(k),
    )
