"""BANAT: Bayesian optimisation over algebraic architecture terms (REFERENCE §5, paper App. H).

Each proposal:

1. fits the graph GP (``GraphGP(kernel="hwl" | "wl" | "values" | ...)``) on the successful
   observations (the GP models the standardised log validation error); by default
   (``kernel: auto``) the kernel is chosen from the grammar: hWL for spaces of structures
   (hnb201), the stationary value kernel for generator spaces whose terms differ only in numbers
   (nago_hnag, rnag: BO over the generator hyperparameters), ``hwl+values`` for both;
2. gives every pending term its posterior mean as a fake observation (Kriging believer) and
   refits, so that workers still busy steer the next proposal away from their terms;
3. maximises expected improvement (log-EI by default) over the best observed log error with
   the evolutionary optimiser, never returning an evaluated or pending term;
4. for a batch of ``n > 1``, adds each new proposal's posterior mean as a fake observation
   too, and repeats 3 (Algorithm 2 of the paper).

The first ``n_initial`` proposals are random terms (the initial design); so are proposals while
fewer than two evaluations have succeeded (no GP can be fitted), and a proposal whose GP fit
raises (logged; the search goes on).

Failed evaluations: by default (``failed="exclude"``) they are left out of the GP and only
remembered so that they are never proposed again; ``failed="worst"`` gives them the worst
observed validation error instead, which steers the search away from their neighbourhood.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

import numpy as np

from algebraic_nas.errors import ConfigError
from algebraic_nas.grammar.term import Term
from algebraic_nas.search.acquisition import ACQUISITIONS, EvolutionaryOptimiser, EvolutionConfig, OptimiserResult
from algebraic_nas.search.proposal import Proposal, as_proposal
from algebraic_nas.search.strategies.base import PendingItem, Strategy
from algebraic_nas.search.strategies.registry import register_strategy

log = logging.getLogger(__name__)

# validation errors are modelled on a log scale: keep a perfect score finite
_MIN_ERROR = 1e-4


@dataclass
class ProposalInfo:
    """Diagnostics of the last proposal (shown in logs, used by the benchmark)."""

    random: bool = False
    fit_time_s: float = 0.0
    optimise_time_s: float = 0.0
    n_train: int = 0
    n_fake: int = 0
    results: list[OptimiserResult] = field(default_factory=list)


def _pinned_graph_cache(grammar: Any, kernel: str, max_candidates: int, seed: int = 0) -> Any:
    """A graph cache for the whole search: the graphs of observed (and pending) terms are kept
    for good (``pin``), those of acquisition candidates in a small LRU. A plain LRU would let
    the ~10,000 candidates of one proposal evict the observed terms, whose graphs every fit
    needs again (about 100 kB and a few ms per ``hnb201`` term with all fold levels)."""
    from algebraic_nas.surrogate.graphs import DEFAULT_LEVELS, TermGraphs

    class PinnedTermGraphs(TermGraphs):
        def __init__(self) -> None:
            # the flat WL kernel needs no fold graphs
            super().__init__(grammar, levels=DEFAULT_LEVELS if kernel != "wl" else (), max_terms=max_candidates,
                             seed=seed)
            self.pinned: dict[Term, Any] = {}

        def pin(self, terms: Sequence[Term]) -> None:
            for t in terms:
                if t not in self.pinned:
                    self.pinned[t] = TermGraphs.__call__(self, t)

        def __call__(self, term: Term) -> Any:
            got = self.pinned.get(term)
            return got if got is not None else TermGraphs.__call__(self, term)

    return PinnedTermGraphs()


@dataclass
class BanatConfig:
    """BANAT's settings (``kernel: wl`` is BANAT (WL)).

    kernel: ``"auto"`` (chosen from the grammar: ``"hwl"``, ``"values"`` or ``"hwl+values"``,
        see :func:`algebraic_nas.surrogate.kernel_spec.auto_kernel`), ``"hwl"`` (BANAT),
        ``"wl"`` (BANAT (WL)); any kernel ``GraphGP`` accepts.
    n_initial: size of the random initial design.
    acquisition: ``"log_ei"`` or ``"ei"``; both rank candidates the same way where EI does not
        underflow.
    xi: exploration margin of EI, in log-error units.
    failed: ``"exclude"`` or ``"worst"`` (see the module docstring).
    evolution: settings of the acquisition optimiser (pool 200, tournament 40, ...).
    surrogate: extra keyword arguments of ``GraphGP``; ``max_cached_candidates`` (2000) bounds
        the graph cache of acquisition candidates; ``fast: false`` selects the straightforward
        featurisation (same model, slower: the benchmarks' baseline).
    warm_start: each GP fit starts its hyperparameter optimisation from the previous fit's
        optimum (the same objective, fewer optimiser steps); ``false`` starts from the defaults.
    """

    kernel: str = "auto"
    n_initial: int = 10
    acquisition: str = "log_ei"
    xi: float = 0.0
    failed: str = "exclude"
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    surrogate: Dict[str, Any] = field(default_factory=dict)
    warm_start: bool = False


@register_strategy("banat", config=BanatConfig)
@register_strategy("banat_wl", config=BanatConfig, defaults={"kernel": "wl"},
                   doc="BANAT (WL): BANAT with a single WL kernel on the flat graph.")
class BANAT(Strategy):
    """BANAT: a graph GP on log validation error, log-EI, evolutionary acquisition, Kriging believer.

    Args:
        grammar: the search space.
        config: a :class:`BanatConfig` (or a mapping of its fields; ``None``: the defaults).
        seed: random seed.
        surrogate_factory: ``(kernel, grammar, options) -> model`` with ``fit(terms, errors)``
            and ``predict(terms) -> (mean, var)`` of log error; the default builds a ``GraphGP``.
        **settings: fields of the config to replace (``n_initial=4``).
    """

    name = "banat"
    config_class = BanatConfig
    propose_ahead = True  # a proposal takes seconds: the driver computes it while the workers train

    def __init__(
        self,
        grammar: Any,
        config: Any = None,
        seed: int = 0,
        surrogate_factory: Optional[Callable[[str, Any, dict], Any]] = None,
        network_seed: int = 0,
        **settings: Any,
    ) -> None:
        super().__init__(grammar, config, seed, network_seed=network_seed, **settings)
        c = self.config
        if c.acquisition not in ACQUISITIONS:
            raise ConfigError(f"strategy.acquisition must be one of {sorted(ACQUISITIONS)}, not {c.acquisition!r}")
        if c.failed not in ("exclude", "worst"):
            raise ConfigError(f"strategy.failed must be 'exclude' or 'worst', not {c.failed!r}")
        evolution = EvolutionConfig(**c.evolution) if isinstance(c.evolution, Mapping) else c.evolution
        self.kernel = c.kernel
        if self.kernel == "auto":
            from algebraic_nas.surrogate.kernel_spec import auto_kernel  # imported late: torch + gpytorch

            self.kernel = auto_kernel(grammar)
        self.name = "banat" if self.kernel == "hwl" else f"banat_{self.kernel}"
        self.n_initial = c.n_initial
        self.acquisition = ACQUISITIONS[c.acquisition]
        self.acquisition_name = c.acquisition
        self.xi = c.xi
        self.failed = c.failed
        self.optimiser = EvolutionaryOptimiser(grammar, evolution)
        self.surrogate_options = dict(c.surrogate or {})
        self.max_cached_candidates = int(self.surrogate_options.pop("max_cached_candidates", 2000))
        self.surrogate_factory = surrogate_factory
        self._graphs: Any = None
        self.warm_start = bool(c.warm_start)
        self._previous: Any = None  # the last GP fit's best parameters: the start of the next fit
        self.last = ProposalInfo()

    # --- data ----------------------------------------------------------------------------------

    def training_data(self) -> tuple[list[Term], list[float]]:
        """Terms and validation errors the GP is fitted on (failed ones per ``failed``)."""
        ok = self.successes
        terms = [o.term for o in ok]
        errors = [max(o.error, _MIN_ERROR) for o in ok]
        if self.failed == "worst" and errors:
            worst = max(errors)
            for o in self.observations:
                if o.failed:
                    terms.append(o.term)
                    errors.append(worst)
        # a term evaluated twice (e.g. re-queued after a crash) enters the GP once: duplicate
        # inputs make the kernel matrix singular
        uniq: dict[Term, float] = {}
        for t, e in zip(terms, errors):
            uniq[t] = e
        return list(uniq), list(uniq.values())

    def _fit(self, terms: list[Term], errors: list[float]) -> Any:
        if self.surrogate_factory is not None:
            model = self.surrogate_factory(self.kernel, self.grammar, self.surrogate_options)
        else:
            from algebraic_nas.surrogate import GraphGP, parse_kernel_spec  # imported late: torch + gpytorch

            if parse_kernel_spec(self.kernel)[0] == ["values"]:  # numbers only: no graphs to build
                model = GraphGP(kernel=self.kernel, grammar=self.grammar, **self.surrogate_options)
            else:
                if self._graphs is None:
                    self._graphs = _pinned_graph_cache(self.grammar, self.kernel, self.max_cached_candidates,
                                                       self.network_seed)
                self._graphs.pin(terms)
                model = GraphGP(kernel=self.kernel, grammar=self.grammar, graphs=self._graphs,
                                **self.surrogate_options)
        y = np.asarray(errors, dtype=float)
        if self.warm_start and self.surrogate_factory is None:  # a GraphGP: its states_ start the next fit
            model.fit(terms, y, warm_start=self._previous)
            self._previous = model.states_
        else:
            model.fit(terms, y)
        return model

    # --- proposals -----------------------------------------------------------------------------

    def propose(self, pending: Sequence[PendingItem] = (), n: int = 1) -> list[Proposal]:
        pending_proposals = [as_proposal(p) for p in pending]
        exclude = self._excluded(pending_proposals)
        pending_terms = [p.term for p in pending_proposals]
        out: list[Term] = []
        self.last = ProposalInfo()
        for _ in range(n):
            # exclude is seen | pending | out: every term proposed so far
            if len(exclude) < self.n_initial or len(self.successes) < 2:
                t = self._new_random(exclude)
                self.last.random = True
            else:
                try:
                    t = self._propose_bo(*self.training_data(), pending_terms + out, exclude)
                except Exception as exc:  # a numerical failure of the GP must not stop the search
                    log.warning("BANAT proposal failed (%s: %s); proposing a random term", type(exc).__name__, exc)
                    t = self._new_random(exclude)
                    self.last.random = True
            exclude.add(t)
            out.append(t)
        return [self._made(t) for t in out]

    def _propose_bo(self, terms: list[Term], errors: list[float], pending: list[Term], exclude: set[Term]) -> Term:
        t0 = time.perf_counter()
        model = self._fit(terms, errors)
        observed = set(terms)
        fake = [p for p in dict.fromkeys(pending) if p not in observed]
        if fake:
            # Kriging believer: pending terms "observed" at their posterior mean
            mean, _ = model.predict(fake)
            fake_errors = np.exp(np.asarray(mean, dtype=float).reshape(-1)).tolist()
            model = self._fit(terms + fake, errors + fake_errors)
        self.last.fit_time_s += time.perf_counter() - t0
        self.last.n_train = len(terms)
        self.last.n_fake = len(fake)

        best_log = math.log(min(errors))  # EI over the best *real* observation
        order = np.argsort(errors)
        best_terms = [terms[i] for i in order]

        def acq(candidates: list[Term]) -> np.ndarray:
            mean, var = model.predict(candidates)
            return self.acquisition(np.asarray(mean, float).reshape(-1), np.asarray(var, float).reshape(-1), best_log, self.xi)

        t1 = time.perf_counter()
        result = self.optimiser.optimise(acq, best_terms, exclude, self.rng, log_scale=self.acquisition_name == "log_ei")
        self.last.optimise_time_s += time.perf_counter() - t1
        self.last.results.append(result)
        log.debug(
            "BANAT: n=%d (+%d pending), %d generations, %d scored, best %s=%.4g",
            len(terms), len(fake), result.generations, result.n_scored, self.acquisition_name, result.value,
        )
        return result.term
