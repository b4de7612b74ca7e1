"""Multi-objective BANAT: a graph GP per trained objective, expected hypervolume improvement.

Each proposal:

1. fits one ``GraphGP`` (BANAT's surrogate; ``kernel: auto`` picks hWL for spaces of structures,
   the value kernel for generator spaces such as ``nago_hnag``/``rnag``) per objective that is
   only known after an evaluation (``valid_error``, ``peak_memory_mb``, ``latency_ms``, ...),
   each on the log of the objective as BANAT models log error. Objectives that are exact
   functions of the term (``params``, ``flops``) are *computed* (the assembler's counts,
   :class:`~algebraic_nas.search.constraints.TermStats`, cached), never modelled;
2. Kriging believer: pending terms are "observed" at their posterior mean: each GP is refitted
   with them, and they join the front the improvement is measured against;
3. maximises the expected hypervolume improvement (EHVI) over that front with BANAT's
   evolutionary acquisition optimiser (mutation, crossover, numeric perturbation; never an
   evaluated or pending term); candidates over a pre-training bound score ``-inf``;
4. for a batch (``n > 1``) the new proposal joins the pending terms and 2-3 repeat.

Why EHVI and not ParEGO's random scalarisations: EHVI scores exactly what the search is judged
by (the hypervolume of the front), needs no scalarisation weights, and keeps the computed
objectives exact: the expectation runs over the modelled objectives only (often just the
error), by quasi-Monte-Carlo with ``mc_samples`` common Sobol normal draws and the hypervolume
improvement of each draw from BoTorch's box decomposition of the non-dominated region
(:class:`~algebraic_nas.search.pareto.HypervolumeImprovement`). ParEGO would fold an exact
parameter count into a modelled scalar and, with one random weight per proposal, spend
proposals on parts of the front already covered. The optimiser ranks by ``log EHVI``;
candidates whose EHVI is exactly 0 (dominated under every draw) are ordered by how far their
mean point is from being non-dominated (additive epsilon indicator), so the optimiser still
has a direction on a flat acquisition.

Generator spaces (``acquisition: auto`` with the value kernel and no computed objective, or
``acquisition: qlognehvi``): BoTorch's ``qLogNoisyExpectedHypervolumeImprovement`` on BoTorch
``SingleTaskGP``s over the unit cube of the generator hyperparameters, evaluated on the terms
the evolutionary optimiser proposes (:mod:`~algebraic_nas.search.strategies.mo_botorch` says why
it is not optimised by gradients over the relaxed cube); pending terms enter as ``X_pending``.

Cost: each candidate scored needs its computed objectives: building an ``hnb201`` network to
count parameters takes ~30 ms (FLOPs ~300 ms) on one CPU core, so the optimiser's defaults here
are smaller than BANAT's (pool 50, tournament 10, 3-10 generations: at most ~550 candidates per
proposal, against ~10,000), and the counts are cached for the whole search. Without a computed
objective (e.g. error against peak memory) the larger BANAT settings can be given
(``strategy.evolution.pool_size=200``...).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Sequence

import numpy as np
import torch

from algebraic_nas.errors import ConfigError
from algebraic_nas.grammar.term import Term
from algebraic_nas.search.acquisition import EvolutionaryOptimiser, EvolutionConfig
from algebraic_nas.search.constraints import PRE_TRAINING
from algebraic_nas.search.pareto import (
    HypervolumeImprovement,
    nsga2_order,
    objective_matrix,
    pareto_mask,
    reference_point,
    transform,
)
from algebraic_nas.search.proposal import Proposal, as_proposal
from algebraic_nas.search.strategies.banat import ProposalInfo
from algebraic_nas.search.strategies.base import PendingItem
from algebraic_nas.search.strategies.mo_base import MOStrategy
from algebraic_nas.search.strategies.registry import register_strategy

log = logging.getLogger(__name__)

_FLOOR = 1e-4  # modelled objectives are logged: keep a perfect score finite
_FLAT = -1e3  # log-EHVI stand-in for candidates with zero EHVI (minus their distance to the front)


def _small_optimiser() -> EvolutionConfig:
    return EvolutionConfig(pool_size=50, n_best=10, tournament_size=10, min_generations=3, max_generations=10,
                           patience=2)


@dataclass
class MOBanatConfig:
    """Multi-objective BANAT's settings.

    kernel: the GP kernel of every modelled objective (``auto``: from the grammar, as BANAT).
    n_initial: size of the random initial design.
    acquisition: ``"ehvi"`` (the graph GPs' EHVI), ``"qlognehvi"`` (BoTorch's, generator spaces
        without computed objectives only) or ``"auto"`` (``qlognehvi`` where it applies).
    mc_samples: quasi-Monte-Carlo draws of the modelled objectives per candidate for EHVI.
    evolution: settings of the acquisition optimiser (smaller than BANAT's: see the module docstring).
    surrogate: extra keyword arguments of ``GraphGP``.
    """

    kernel: str = "auto"
    n_initial: int = 10
    acquisition: str = "auto"
    mc_samples: int = 64
    evolution: EvolutionConfig = field(default_factory=_small_optimiser)
    surrogate: Dict[str, Any] = field(default_factory=dict)


@register_strategy("mo_banat", config=MOBanatConfig)
class MOBANAT(MOStrategy):
    """Multi-objective BANAT: a graph GP per trained objective (params/FLOPs computed), expected
    hypervolume improvement maximised by BANAT's evolutionary optimiser, Kriging believer."""

    name = "mo_banat"
    config_class = MOBanatConfig
    propose_ahead = True  # slow proposals: the driver may compute them while workers train (as BANAT)

    def __init__(self, grammar: Any, config: Any = None, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(grammar, config, seed, **kwargs)
        c = self.config
        if c.mc_samples < 1:
            raise ConfigError(f"strategy.mc_samples={c.mc_samples}: must be an integer >= 1")
        evolution = EvolutionConfig(**c.evolution) if isinstance(c.evolution, Mapping) else c.evolution
        self.optimiser = EvolutionaryOptimiser(grammar, evolution)
        self.kernel = c.kernel
        if self.kernel == "auto":
            from algebraic_nas.surrogate.kernel_spec import auto_kernel  # torch + gpytorch: imported late

            self.kernel = auto_kernel(grammar)
        self.modelled = tuple(k for k in self.objectives if k not in PRE_TRAINING)
        self.computed = tuple(k for k in self.objectives if k in PRE_TRAINING)
        fits = self.kernel == "values" and not self.computed  # numbers only, every objective modelled
        if c.acquisition not in ("auto", "ehvi", "qlognehvi"):
            raise ConfigError(f"strategy.acquisition={c.acquisition!r}: must be one of auto, ehvi, qlognehvi")
        if c.acquisition == "qlognehvi" and not fits:
            raise ConfigError("strategy.acquisition='qlognehvi': needs a generator space (kernel values) and no "
                              f"computed objective (params, flops); here kernel {self.kernel!r}, objectives "
                              f"{list(self.objectives)}")
        self.acquisition = "qlognehvi" if c.acquisition == "qlognehvi" or (c.acquisition == "auto" and fits) else "ehvi"
        self._graphs: Any = None
        self.last = ProposalInfo()

    # --- models ----------------------------------------------------------------------------------

    def _fit(self, terms: list[Term], values: Sequence[float]) -> Any:
        from algebraic_nas.surrogate import GraphGP, parse_kernel_spec
        from algebraic_nas.surrogate.graphs import DEFAULT_LEVELS, TermGraphs

        options = dict(self.config.surrogate or {})
        if parse_kernel_spec(self.kernel)[0] != ["values"]:  # graphs shared by every objective's GP
            if self._graphs is None:
                levels = DEFAULT_LEVELS if self.kernel != "wl" else ()
                self._graphs = TermGraphs(self.grammar, levels=levels, max_terms=20_000, seed=self.network_seed)
            options["graphs"] = self._graphs
        gp = GraphGP(kernel=self.kernel, grammar=self.grammar, **options)
        gp.fit(terms, np.maximum(np.asarray(values, dtype=float), _FLOOR))
        return gp

    def _values(self, terms: list[Term], models: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per term: posterior mean and sd of each modelled objective's log value ``(n, k)``, and
        the transformed computed objectives ``(n, c)`` (NaN when the network cannot be built)."""
        n = len(terms)
        mean = np.zeros((n, len(self.modelled)))
        sd = np.zeros((n, len(self.modelled)))
        for j, k in enumerate(self.modelled):
            mu, var = models[k].predict(terms)
            mean[:, j] = np.asarray(mu, float).reshape(-1)
            sd[:, j] = np.sqrt(np.clip(np.asarray(var, float).reshape(-1), 0.0, None))
        comp = np.full((n, len(self.computed)), math.nan)
        for j, k in enumerate(self.computed):  # counted once per term (cached), only when an objective
            comp[:, j] = transform(k, [self.stats(t).get(k, math.nan) for t in terms])
        return mean, sd, comp

    def _assemble(self, modelled: np.ndarray, computed: np.ndarray) -> np.ndarray:
        """Points ``(..., m)`` in objective order from modelled log values ``(..., k)`` and
        transformed computed values ``(..., c)`` (broadcast)."""
        shape = np.broadcast_shapes(modelled.shape[:-1], computed.shape[:-1])
        out = np.empty(shape + (len(self.objectives),))
        for j, k in enumerate(self.modelled):
            out[..., self.objectives.index(k)] = transform(k, np.exp(modelled[..., j]))
        for j, k in enumerate(self.computed):
            out[..., self.objectives.index(k)] = np.broadcast_to(computed[..., j], shape)
        return out

    # --- proposals -------------------------------------------------------------------------------

    def propose(self, pending: Sequence[PendingItem] = (), n: int = 1) -> list[Proposal]:
        proposals = [as_proposal(p) for p in pending]
        exclude = self._excluded(proposals)
        believed = [p.term for p in proposals if not p.fidelity]
        out: list[Term] = []
        self.last = ProposalInfo()
        for _ in range(n):
            t: Optional[Term] = None
            if len(exclude) >= self.config.n_initial and len(self.usable()) >= 2:
                try:
                    t = self._propose_bo(believed + out, exclude)
                except Exception as exc:  # a numerical failure of a GP must not stop the search
                    log.warning("MO-BANAT proposal failed (%s: %s); proposing a random term", type(exc).__name__, exc)
                if t is not None and not self.admit(t):
                    t = None  # every candidate scored was over a bound
            if t is None:
                t = self._new_feasible(exclude)
                self.last.random = True
            exclude.add(t)
            out.append(t)
        return [self._made(t) for t in out]

    def _propose_bo(self, pending: list[Term], exclude: set[Term]) -> Term:
        t0 = time.perf_counter()
        obs = self.usable()
        uniq = {o.term: o.result.objectives for o in obs}  # a term evaluated twice enters once
        terms = list(uniq)
        fake = [p for p in dict.fromkeys(pending) if p not in uniq]
        y_obs = objective_matrix([uniq[t] for t in terms], self.objectives)
        if self.acquisition == "qlognehvi":
            from algebraic_nas.search.strategies.mo_botorch import qlognehvi_acquisition

            score = qlognehvi_acquisition(self.grammar, terms, [uniq[t] for t in terms], self.objectives, fake,
                                          self.config.mc_samples, seed=self.rng.randrange(2**31))
            self.last.fit_time_s += time.perf_counter() - t0
            self.last.n_train, self.last.n_fake = len(terms), len(fake)
            return self._optimise(lambda cands: np.where(self._admissible(cands), score(cands), -math.inf),
                                  terms, y_obs, exclude)
        models: dict[str, Any] = {}
        for k in self.modelled:
            y = [uniq[t][k] for t in terms]
            gp = self._fit(terms, y)
            if fake:  # Kriging believer
                mu, _ = gp.predict(fake)
                gp = self._fit(terms + fake, y + np.exp(np.asarray(mu, float).reshape(-1)).tolist())
            models[k] = gp
        self.last.fit_time_s += time.perf_counter() - t0
        self.last.n_train, self.last.n_fake = len(terms), len(fake)

        if fake:
            mean, _, comp = self._values(fake, models)
            y_fake = self._assemble(mean, comp)
            y_front = np.vstack([y_obs, y_fake[~np.isnan(y_fake).any(axis=1)]])
        else:
            y_front = y_obs
        front = y_front[pareto_mask(y_front, deduplicate=True)]
        ref = reference_point(y_front)
        hvi = HypervolumeImprovement(front, ref)
        z = self._normal_draws(len(self.modelled))  # (S, k), common to every candidate

        def acq(candidates: list[Term]) -> np.ndarray:
            mean, sd, comp = self._values(candidates, models)
            ok = ~np.isnan(comp).any(axis=1) & self._admissible(candidates)
            draws = mean[None, :, :] + sd[None, :, :] * z[:, None, :]  # (S, N, k)
            points = self._assemble(draws, np.nan_to_num(comp)[None, :, :])  # (S, N, m)
            ehvi = hvi(points).mean(axis=0)  # (N,)
            at_mean = self._assemble(mean, np.nan_to_num(comp))
            gap = np.max(at_mean[:, None, :] - front[None, :, :], axis=-1).min(axis=1)  # additive epsilon
            with np.errstate(divide="ignore"):
                score = np.where(ehvi > 0, np.log(np.maximum(ehvi, 1e-300)), _FLAT - np.maximum(gap, 0.0))
            return np.where(ok, score, -math.inf)

        return self._optimise(acq, terms, y_obs, exclude)

    def _admissible(self, candidates: list[Term]) -> np.ndarray:
        """``(N,)`` whether each candidate is within the pre-training bounds (not recorded: scored only)."""
        return np.array([not self.constraints.violated_before_training(t) for t in candidates], dtype=bool)

    def _optimise(self, acq: Any, terms: list[Term], y_obs: np.ndarray, exclude: set[Term]) -> Term:
        """The evolutionary optimiser on ``acq`` (log EHVI), its pool seeded by the observed terms in NSGA-II order."""
        order = nsga2_order(y_obs)
        t1 = time.perf_counter()
        result = self.optimiser.optimise(acq, [terms[i] for i in order], exclude, self.rng, log_scale=True)
        self.last.optimise_time_s += time.perf_counter() - t1
        self.last.results.append(result)
        log.debug("MO-BANAT (%s): n=%d, %d generations, %d scored, best log EHVI %.4g", self.acquisition,
                  len(terms), result.generations, result.n_scored, result.value)
        return result.term

    def _normal_draws(self, k: int) -> np.ndarray:
        """``(mc_samples, k)`` scrambled-Sobol standard normal draws (seeded by the strategy's RNG)."""
        s = self.config.mc_samples
        if k == 0:
            return np.zeros((1, 0))
        sobol = torch.quasirandom.SobolEngine(dimension=k, scramble=True, seed=self.rng.randrange(2**31))
        u = sobol.draw(s, dtype=torch.double).clamp(1e-6, 1 - 1e-6)
        return torch.distributions.Normal(0.0, 1.0).icdf(u).numpy()
