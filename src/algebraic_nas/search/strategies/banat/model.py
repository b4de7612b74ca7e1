"""The model of the model-based strategies: one graph GP per modelled objective.

Each modelled objective (``valid_error``, ``peak_memory_mb``, ``latency_ms``, ...: those only known
after an evaluation) gets a ``GraphGP`` on the log of its value (floored at ``1e-4`` so that a
perfect score stays finite). The kernel is chosen once from the grammar (``kernel: auto``: hWL for
spaces of structures such as ``hnb201``, the stationary value kernel for generator spaces whose
terms differ only in numbers such as ``nago_hnag``, ``hwl+values`` for both), and every GP shares
one graph cache that pins the observed terms' graphs for the whole search.

The Kriging believer (:meth:`ObjectiveModels.believe`): terms under evaluation are "observed" at
their posterior mean, and the GPs are refitted with them, so that workers still busy steer the
next proposal away from their terms (Algorithm 2 of the BANAT paper).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from algebraic_nas.grammar.term import Term

FLOOR = 1e-4  # objectives are modelled on a log scale: keep a perfect score finite
_MIN_ERROR = FLOOR  # the name BANAT's floor had


def choose_kernel(grammar: Any, kernel: str) -> str:
    """``kernel`` as configured, or for ``"auto"`` the one the grammar calls for."""
    if kernel != "auto":
        return kernel
    from algebraic_nas.surrogate.kernel_spec import auto_kernel  # imported late: torch + gpytorch

    return auto_kernel(grammar)


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


class ObjectiveModels:
    """Fits the GPs of the modelled objectives: ``fit`` on observed data, ``believe`` pending terms.

    Args:
        grammar: the search space.
        kernel: the GP kernel (already chosen: :func:`choose_kernel`).
        network_seed: the seed networks are built with (generator topologies draw their graphs from it).
        surrogate_options: extra keyword arguments of ``GraphGP``; ``max_cached_candidates`` (2000)
            bounds the graph cache of acquisition candidates.
        surrogate_factory: ``(kernel, grammar, options) -> model`` with ``fit(terms, values)`` and
            ``predict(terms) -> (mean, var)`` of the log value (default: a ``GraphGP``).
        warm_start: each fit starts its hyperparameter optimisation from the previous fit's optimum.
    """

    def __init__(self, grammar: Any, kernel: str, network_seed: int = 0,
                 surrogate_options: Optional[Mapping[str, Any]] = None,
                 surrogate_factory: Optional[Callable[[str, Any, dict], Any]] = None, warm_start: bool = False) -> None:
        self.grammar = grammar
        self.kernel = kernel
        self.network_seed = int(network_seed)
        self.options = dict(surrogate_options or {})
        self.max_cached_candidates = int(self.options.pop("max_cached_candidates", 2000))
        self.surrogate_factory = surrogate_factory
        self.warm_start = bool(warm_start)
        self.graphs: Any = None
        self._previous: dict[str, Any] = {}  # per objective: the last fit's best parameters

    def fit_one(self, objective: str, terms: list[Term], values: Sequence[float]) -> Any:
        """A GP of ``objective`` fitted on ``terms`` and their (raw, floored) ``values``."""
        if self.surrogate_factory is not None:
            model = self.surrogate_factory(self.kernel, self.grammar, self.options)
        else:
            from algebraic_nas.surrogate import GraphGP, parse_kernel_spec  # imported late: torch + gpytorch

            if parse_kernel_spec(self.kernel)[0] == ["values"]:  # numbers only: no graphs to build
                model = GraphGP(kernel=self.kernel, grammar=self.grammar, **self.options)
            else:
                if self.graphs is None:
                    self.graphs = _pinned_graph_cache(self.grammar, self.kernel, self.max_cached_candidates,
                                                      self.network_seed)
                self.graphs.pin(terms)
                model = GraphGP(kernel=self.kernel, grammar=self.grammar, graphs=self.graphs, **self.options)
        y = np.maximum(np.asarray(values, dtype=float), FLOOR)
        if self.warm_start and self.surrogate_factory is None:  # a GraphGP: its states_ start the next fit
            model.fit(terms, y, warm_start=self._previous.get(objective))
            self._previous[objective] = model.states_
        else:
            model.fit(terms, y)
        return model

    def fit(self, terms: list[Term], targets: Mapping[str, Sequence[float]]) -> dict[str, Any]:
        """One fitted GP per objective of ``targets`` (``{name: values of terms}``)."""
        return {k: self.fit_one(k, terms, v) for k, v in targets.items()}

    def believe(self, models: Mapping[str, Any], terms: list[Term], targets: Mapping[str, Sequence[float]],
                pending: Sequence[Term]) -> tuple[dict[str, Any], list[Term]]:
        """Kriging believer: the GPs refitted with each pending term not observed "observed" at its
        posterior mean; returns them and the believed terms (``models`` unchanged when there are none)."""
        observed = set(terms)
        fake = [p for p in dict.fromkeys(pending) if p not in observed]
        if not fake:
            return dict(models), fake
        out = {}
        for k, model in models.items():
            mean, _ = model.predict(fake)
            believed = np.exp(np.asarray(mean, dtype=float).reshape(-1)).tolist()
            out[k] = self.fit_one(k, terms + fake, list(targets[k]) + believed)
        return out, fake


def posterior(models: Mapping[str, Any], names: Sequence[str], terms: list[Term]) -> tuple[np.ndarray, np.ndarray]:
    """``(n, k)`` posterior mean and variance of the log value of each objective in ``names``."""
    n = len(terms)
    mean = np.zeros((n, len(names)))
    var = np.zeros((n, len(names)))
    for j, k in enumerate(names):
        mu, v = models[k].predict(terms)
        mean[:, j] = np.asarray(mu, float).reshape(-1)
        var[:, j] = np.asarray(v, float).reshape(-1)
    return mean, var
