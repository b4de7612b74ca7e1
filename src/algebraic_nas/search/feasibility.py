"""Feasibility of candidates: the search's bounds (``constraints``) checked on terms before
training and on results after.

Bounds on objectives the search can compute from a term without an evaluation
(:data:`algebraic_nas.search.config.objectives.TERM_STATISTICS`: ``params``, ``flops``) are
checked on the term: :class:`TermStats` builds the untrained network on the CPU (the assembler's
counts, the same numbers the evaluation records), and :class:`Constraints` rejects a candidate
over a bound before anyone trains it (keeping a record of each rejection). Bounds on other
objectives can only be checked on the result: an evaluation over such a bound is *infeasible*
and never on the Pareto front. The bounds themselves are parsed from the config by
:mod:`algebraic_nas.search.config.objectives`.

Building a network only to count it is the one place the search layer touches the assembler
directly (as ``evaluation.check_buildable`` does before a search); it never trains one.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Mapping, Optional, Sequence

from algebraic_nas.grammar.term import Term
from algebraic_nas.search.config.objectives import Bound

MAX_RECORDED = 1000  # rejections kept with their values (all are counted)


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


def record_rejections(store: Any, strategy: Any) -> None:
    """Add the strategy's rejections before training to the store (meta key ``rejected``:
    ``{"count": n, "examples": [...]}``, summed over the sessions of a run)."""
    constraints = strategy.constraints  # declared by the strategy contract (strategies/base.py)
    if not constraints.n_rejected:
        return
    stored = store.get_meta("rejected") or {"count": 0, "examples": []}
    examples = (list(stored.get("examples", [])) + constraints.rejected)[:MAX_RECORDED]
    store.set_meta("rejected", {"count": int(stored.get("count", 0)) + constraints.n_rejected, "examples": examples})
