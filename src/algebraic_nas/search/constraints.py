"""Objectives and constraints of a search: the ``objectives`` and ``constraints`` config keys.

``objectives`` lists two or more (or one) names of the evaluation package's objective registry
(``valid_error``, ``params``, ``flops``, ``latency_ms``, ``peak_memory_mb``, and any registered
by a plugin); each is minimised (an objective registered with ``direction="max"`` is negated).
Every evaluation measures all registered objectives regardless, so a run can be re-analysed for
others (``search/report_pareto.py``).

``constraints`` are upper bounds ``name <= bound``, given as a mapping (``{params: 1e6}``), a
list of strings (``["params<=1e6", "flops <= 2e8"]``) or one string. Bounds on objectives known
before training (:data:`PRE_TRAINING`: ``params``, ``flops``) are checked on the term: the
strategy computes them by building the untrained network on the CPU (the assembler's counts, the
same numbers the evaluation records, through :class:`TermStats`), and rejects a candidate over a
bound before anyone trains it (:meth:`Constraints.admit` keeps a record of each rejection). Bounds
on trained objectives (``valid_error``, ``peak_memory_mb``) can only be checked afterwards: an
evaluation over such a bound is *infeasible* and never on the Pareto front.

Building a network only to count it is the one place the search layer touches the assembler
directly (as ``evaluation.check_buildable`` does before a search); it never trains one.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from algebraic_nas.errors import ConfigError
from algebraic_nas.grammar.term import Term

PRE_TRAINING = ("params", "flops")  # objectives computed from the term, before training
DEFAULT_OBJECTIVES = ("valid_error",)
MAX_RECORDED = 1000  # rejections kept with their values (all are counted)
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
        return self.name in PRE_TRAINING

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


def check_objectives_config(c: Mapping[str, Any], strategy_entry: Any = None) -> None:
    """The ``objectives`` and ``constraints`` keys of a search config (see the module
    docstring); with more than one objective or any constraint, the strategy must be a
    multi-objective one (class attribute ``multi_objective = True``: the ``mo_*`` strategies)."""
    objectives = parse_objectives(c.get("objectives"))
    bounds = parse_constraints(c.get("constraints"))
    if strategy_entry is None:
        return
    if (len(objectives) > 1 or bounds or objectives != DEFAULT_OBJECTIVES) and not getattr(
            strategy_entry.cls, "multi_objective", False):
        what = f"objectives={list(objectives)}" if objectives != DEFAULT_OBJECTIVES else "constraints"
        raise ConfigError(f"strategy.name={strategy_entry.name!r}: minimises the validation error only; {what} "
                          "needs a multi-objective strategy (mo_random, mo_evolution, mo_banat)")


class TermStats:
    """Parameters and FLOPs of terms, computed by building the untrained network on the CPU
    (``assembly.build_network`` + ``assembly.network_stats``: the numbers evaluations record),
    cached per term (LRU of ``max_terms``).

    Args:
        dataset: the dataset name (its input spec sizes the network).
        network_seed: the evaluation seed (generator topologies draw their graphs from it).
        flops: count FLOPs too (a forward pass under torch's FLOP counter: ~10x the cost of
            counting parameters); without, only ``params`` is returned.
        prune: the grammar's ``%prune`` (``grammar.prune``): which edges the trained network keeps
            (``nb201_cell`` keeps convolutions behind ``none`` edges; their parameters count).
    """

    def __init__(self, dataset: str, network_seed: int = 0, flops: bool = True, max_terms: int = 50_000,
                 prune: str = "paths") -> None:
        from algebraic_nas.evaluation import get_dataset_spec

        self.spec = get_dataset_spec(dataset)
        self.network_seed = int(network_seed)
        self.flops = bool(flops)
        self.max_terms = int(max_terms)
        self.prune = prune
        self._cache: OrderedDict[Term, dict[str, float]] = OrderedDict()

    def __call__(self, term: Term) -> dict[str, float]:
        """``{"params": ..., "flops": ...}`` of ``term`` (``{}`` when its network cannot be built)."""
        got = self._cache.get(term)
        if got is not None:
            self._cache.move_to_end(term)
            return got
        got = self._compute(term)
        self._cache[term] = got
        if len(self._cache) > self.max_terms:
            self._cache.popitem(last=False)
        return got

    def _compute(self, term: Term) -> dict[str, float]:
        import torch

        from algebraic_nas.assembly import build_network, network_stats
        from algebraic_nas.assembly.stats import count_params
        from algebraic_nas.threads import torch_threads

        try:
            # the caller's RNG untouched: building initialises weights
            with torch.random.fork_rng(devices=[]), torch_threads(1), torch.no_grad():
                net = build_network(term, self.spec, seed=self.network_seed, prune=self.prune)
                if self.flops:
                    s = network_stats(net, self.spec)
                    return {"params": float(s["params"]), "flops": float(s["flops"])}
                return {"params": float(count_params(net))}
        except Exception:  # noqa: BLE001 - a term that cannot be built: its evaluation will say why
            return {}


class Constraints:
    """The bounds of a search, checked on terms before training and on results after.

    Args:
        bounds: the parsed bounds (:func:`parse_constraints`).
        stats: computes pre-training objectives of a term (``None``: built when first needed
            from ``dataset`` and ``network_seed``).
    """

    def __init__(self, bounds: Sequence[Bound] = (), stats: Optional[TermStats] = None, dataset: str = "digits",
                 network_seed: int = 0) -> None:
        self.bounds = tuple(bounds)
        self.pre = tuple(b for b in self.bounds if b.pre_training)
        self._stats = stats
        self._dataset, self._network_seed = dataset, network_seed
        self.rejected: list[dict[str, Any]] = []  # the first MAX_RECORDED candidates rejected before training
        self.n_rejected = 0

    @property
    def stats(self) -> TermStats:
        if self._stats is None:
            need_flops = any(b.name == "flops" for b in self.pre)
            self._stats = TermStats(self._dataset, self._network_seed, flops=need_flops)
        return self._stats

    def __bool__(self) -> bool:
        return bool(self.bounds)

    def violated_before_training(self, term: Term) -> list[Bound]:
        """The pre-training bounds ``term`` violates (a term whose network cannot be built
        violates none: its evaluation fails with the reason)."""
        if not self.pre:
            return []
        values = self.stats(term)
        if not values:
            return []
        return [b for b in self.pre if not b.holds(values.get(b.name))]

    def admit(self, term: Term, record: bool = True) -> bool:
        """Whether ``term`` may be trained; a rejection is recorded in :attr:`rejected`
        (``record=False``: a candidate scored by an acquisition optimiser, not proposed)."""
        bad = self.violated_before_training(term)
        if bad and record:
            self.n_rejected += 1
        if bad and record and len(self.rejected) < MAX_RECORDED:
            values = self.stats(term)
            self.rejected.append({"term": str(term), "violated": [str(b) for b in bad],
                                  **{b.name: values.get(b.name) for b in bad}})
        return not bad

    def feasible(self, objectives: Mapping[str, float]) -> bool:
        """Whether a finished evaluation's objectives satisfy every bound."""
        return all(b.holds(objectives.get(b.name)) for b in self.bounds)


# --- the search's hooks (search/validation.py, search/runner.py) ---------------------------------


def check_search_objectives(c: Mapping[str, Any], strategy_given: bool = False) -> None:
    """``check_config``'s check of the ``objectives`` and ``constraints`` keys (with the
    configured strategy unless a strategy object is given)."""
    entry = None
    if not strategy_given:
        from algebraic_nas.search.strategies import get_strategy

        entry = get_strategy(str((c.get("strategy") or {}).get("name", "")))
    check_objectives_config(c, entry)


def strategy_keywords(c: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor keywords a multi-objective strategy gets from the search config
    (``objectives``, ``constraints``, ``dataset``); ``{}`` for any other strategy."""
    from algebraic_nas.search.strategies import get_strategy

    entry = get_strategy(str((c.get("strategy") or {}).get("name", "")))
    if not getattr(entry.cls, "multi_objective", False):
        return {}
    return {"objectives": list(parse_objectives(c.get("objectives"))), "constraints": c.get("constraints"),
            "dataset": str((c.get("dataset") or {}).get("name", "digits"))}


def record_rejections(store: Any, strategy: Any) -> None:
    """Add the strategy's rejections before training to the store (meta key ``rejected``:
    ``{"count": n, "examples": [...]}``, summed over the sessions of a run)."""
    constraints = getattr(strategy, "constraints", None)
    if not isinstance(constraints, Constraints) or not constraints.n_rejected:
        return
    stored = store.get_meta("rejected") or {"count": 0, "examples": []}
    examples = (list(stored.get("examples", [])) + constraints.rejected)[:MAX_RECORDED]
    store.set_meta("rejected", {"count": int(stored.get("count", 0)) + constraints.n_rejected, "examples": examples})
