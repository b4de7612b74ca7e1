"""The ``objectives`` and ``constraints`` keys of a search config, parsed and checked.

``objectives`` lists one or more names of the evaluation package's objective registry
(``valid_error``, ``params``, ``flops``, ``latency_ms``, ``peak_memory_mb``, and any registered
by a plugin); each is minimised (an objective registered with ``direction="max"`` is negated).
Every evaluation measures all registered objectives regardless, so a run can be re-analysed for
others (``search/report/pareto.py``).

``constraints`` are upper bounds ``name <= bound``, given as a mapping (``{params: 1e6}``), a
list of strings (``["params<=1e6", "flops <= 2e8"]``) or one string. Whether an objective is
known before training is the objective registry's ``needs_training``; of those, the search
computes :data:`TERM_STATISTICS` (``params``, ``flops``) from a term itself, without an
evaluation, so bounds on them are checked before training (``search/feasibility.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from algebraic_nas.errors import ConfigError

# objectives the search computes from a term without an evaluation (search/feasibility.py's
# TermStats: the untrained network's counts); each is registered with needs_training=False
TERM_STATISTICS = ("params", "flops")
DEFAULT_OBJECTIVES = ("valid_error",)
_BOUND = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*<=\s*([^\s].*?)\s*$")


def _registered() -> list[str]:
    from algebraic_nas.evaluation import objective_names  # torch: imported late

    return objective_names()


def parse_objectives(value: Any, key: str = "objectives") -> tuple[str, ...]:
    """The objective names of the ``objectives`` config value (a list of registered names, or
    one name); ``ConfigError`` naming ``objectives[i]`` for an unknown or repeated name."""
    if value is None:
        return DEFAULT_OBJECTIVES
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, Sequence) or not names:
        raise ConfigError(f"{key}={value!r}: must be a non-empty list of objective names, e.g. [valid_error,params]")
    known = _registered()
    out: list[str] = []
    for i, name in enumerate(names):
        if not isinstance(name, str) or name not in known:
            raise ConfigError(f"{key}[{i}]={name!r}: not a registered objective; known: {', '.join(known)}")
        if name in out:
            raise ConfigError(f"{key}[{i}]={name!r}: listed twice")
        out.append(name)
    return tuple(out)


@dataclass(frozen=True)
class Bound:
    """``name <= upper`` (in the objective's own unit: a count for params, MiB for memory)."""

    name: str
    upper: float

    @property
    def pre_training(self) -> bool:
        """Whether the bound is checked on the term, before training (:data:`TERM_STATISTICS`)."""
        return self.name in TERM_STATISTICS

    def holds(self, value: Optional[float]) -> bool:
        """Whether ``value`` satisfies the bound (a value not measured does not)."""
        return value is not None and value <= self.upper

    def __str__(self) -> str:
        return f"{self.name}<={self.upper:g}"


def _number(key: str, raw: Any) -> float:
    try:
        if isinstance(raw, bool):
            raise ValueError
        x = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}={raw!r}: the bound must be a number") from None
    if x != x or x in (float("inf"), float("-inf")):
        raise ConfigError(f"{key}={raw!r}: the bound must be a finite number")
    return x


def parse_constraints(value: Any, key: str = "constraints") -> tuple[Bound, ...]:
    """The bounds of the ``constraints`` config value: ``None``, a mapping ``{name: bound}``, a
    list of ``"name <= bound"`` strings or one such string; ``ConfigError`` naming the key
    (``constraints.params``, ``constraints[1]``) for an unknown objective, a malformed entry or a
    bound that is not a number."""
    if value is None or value == [] or value == {}:
        return ()
    if isinstance(value, (list, tuple)) and all(isinstance(b, Bound) for b in value):
        return tuple(value)  # already parsed (a RunConfig's)
    if isinstance(value, Mapping):
        items = [(f"{key}.{name}", name, raw) for name, raw in value.items()]
    else:
        entries = [value] if isinstance(value, str) else value
        if not isinstance(entries, Sequence):
            raise ConfigError(f"{key}={value!r}: must be a mapping {{name: bound}} or a list of 'name <= bound'")
        items = []
        for i, entry in enumerate(entries):
            m = _BOUND.match(entry) if isinstance(entry, str) else None
            if m is None:
                raise ConfigError(f"{key}[{i}]={entry!r}: must read 'name <= bound', e.g. 'params <= 1e6'")
            items.append((f"{key}[{i}]", m.group(1), m.group(2)))
    known = _registered()
    bounds: list[Bound] = []
    for where, name, raw in items:
        if name not in known:
            raise ConfigError(f"{where}: {name!r} is not a registered objective; known: {', '.join(known)}")
        bounds.append(Bound(str(name), _number(where, raw)))
    return tuple(bounds)


def check_objectives_config(c: Mapping[str, Any], strategy_entry: Any = None) -> tuple[tuple[str, ...], tuple[Bound, ...]]:
    """The ``objectives`` and ``constraints`` keys of a search config parsed (see the module
    docstring): ``(objectives, bounds)``. With more than one objective or any bound, the
    strategy (when its registry entry is given) must take them (class attribute
    ``multi_objective = True``: random, evolution, BANAT and their ``mo_*`` names)."""
    objectives = parse_objectives(c.get("objectives"))
    bounds = parse_constraints(c.get("constraints"))
    if strategy_entry is not None and (objectives != DEFAULT_OBJECTIVES or bounds) and not getattr(
            strategy_entry.cls, "multi_objective", False):
        what = f"objectives={list(objectives)}" if objectives != DEFAULT_OBJECTIVES else "constraints"
        raise ConfigError(f"strategy.name={strategy_entry.name!r}: minimises the validation error only; {what} "
                          "needs random, evolution or banat (or mo_random, mo_evolution, mo_banat)")
    return objectives, bounds
