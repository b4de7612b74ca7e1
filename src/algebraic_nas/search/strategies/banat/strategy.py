"""BANAT: Bayesian optimisation over algebraic architecture terms, for one or several objectives.

One loop, three pieces (as BoTorch's model -> acquisition -> optimiser), in :meth:`BANAT.propose_batch`:

1. **model** (:mod:`.model`): a graph GP per modelled objective on its log value (``kernel: auto``:
   hWL for spaces of structures, the value kernel for generator spaces, ``hwl+values`` for both);
   objectives that are exact functions of the term (``params``, ``flops``) are computed, never
   modelled. Kriging believer: pending terms are "observed" at their posterior mean;
2. **acquisition** (:mod:`.acquisition`), the one piece that depends on the number of objectives:
   log-EI (or EI) over the best observed log value for one objective; for several, the expected
   hypervolume improvement of the graph GPs (``ehvi``) or, in generator spaces without a computed
   objective, BoTorch's qLogNEHVI (``qlognehvi``, :mod:`.qlognehvi`);
3. **optimiser** (:mod:`.optimiser`): the evolutionary optimiser over terms, seeded with the
   observed terms best first, never returning an evaluated or pending term.

For a batch of ``n > 1`` each new member is believed for the next (Algorithm 2 of the paper).

Initial design: the first ``n_initial`` proposals are random terms, and so are proposals while
fewer than two evaluations are usable (no GP can be fitted) and a proposal whose model fails
(logged; the search goes on). Each proposal's ``note`` says which (``"initial design 3/10,
random"``, ``"model (log_ei)"``): the store keeps it with the row. When the driver gives the
evaluation budget (:meth:`BANAT.set_budget`) and it is under ``3 * n_initial``, the initial design is
``max(2, budget // 3)`` instead, so that a small budget is not silently random search; with a
budget of 30 or more it is ``n_initial``.

Failed evaluations: by default (``failed="exclude"``) they are left out of the GP and only
remembered so that they are never proposed again; ``failed="worst"`` gives them the worst
observed value instead (one objective), which steers the search away from their neighbourhood.

Several objectives: a multi-objective search builds many networks to count their parameters
(~30 ms each on ``hnb201``), so ``mo_banat`` registers smaller optimiser defaults (pool 50,
tournament 10, 3-10 generations) than ``banat``'s 200-term pool.
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
from algebraic_nas.search.config.objectives import TERM_STATISTICS
from algebraic_nas.search.proposal import Proposal, as_proposal
from algebraic_nas.search.strategies.banat.acquisition import (
    ACQUISITIONS,
    ObjectivePoints,
    ehvi_scorer,
    ei_scorer,
    normal_draws,
)
from algebraic_nas.search.strategies.banat.batch import BATCH_MODES, data_key, local_search_config, model_session
from algebraic_nas.search.strategies.banat.model import FLOOR, ObjectiveModels, choose_kernel
from algebraic_nas.search.strategies.banat.optimiser import EvolutionaryOptimiser, EvolutionConfig, OptimiserResult
from algebraic_nas.search.strategies.base import Observation, PendingItem, Strategy
from algebraic_nas.search.strategies.registry import register_strategy

log = logging.getLogger(__name__)

MULTI_ACQUISITIONS = ("ehvi", "qlognehvi")


@dataclass
class ProposalInfo:
    """Diagnostics of the last proposal (shown in logs, used by the benchmark)."""

    random: bool = False
    fit_time_s: float = 0.0
    optimise_time_s: float = 0.0
    n_train: int = 0
    n_fake: int = 0
    results: list[OptimiserResult] = field(default_factory=list)


@dataclass
class TrainingData:
    """What the model is fitted on: distinct ``terms``, ``targets`` (raw values of each modelled
    objective per term) and, for several objectives, each term's measured ``objectives`` and the
    observed points ``y_obs`` ``(n, m)`` (transformed for minimisation)."""

    terms: list[Term]
    targets: dict[str, list[float]]
    objectives: list[Mapping[str, float]] = field(default_factory=list)
    y_obs: Optional[np.ndarray] = None


def _small_optimiser() -> EvolutionConfig:
    return EvolutionConfig(pool_size=50, n_best=10, tournament_size=10, min_generations=3, max_generations=10,
                           patience=2)


@dataclass
class BanatConfig:
    """BANAT's settings (``kernel: wl`` is BANAT (WL)).

    kernel: ``"auto"`` (chosen from the grammar: ``"hwl"``, ``"values"`` or ``"hwl+values"``,
        see :func:`algebraic_nas.surrogate.kernel_spec.auto_kernel`), ``"hwl"`` (BANAT),
        ``"wl"`` (BANAT (WL)); any kernel ``GraphGP`` accepts.
    n_initial: size of the random initial design (with a known evaluation budget under
        ``3 * n_initial``: ``max(2, budget // 3)``, see the module docstring).
    acquisition: ``"auto"`` (log-EI for one objective; for several ``qlognehvi`` in a generator
        space without computed objective, else ``ehvi``), ``"log_ei"`` or ``"ei"`` (one
        objective: both rank candidates the same way where EI does not underflow), ``"ehvi"`` or
        ``"qlognehvi"`` (several).
    xi: exploration margin of EI, in log units.
    failed: ``"exclude"`` or ``"worst"`` (see the module docstring).
    mc_samples: quasi-Monte-Carlo draws of the modelled objectives per candidate (EHVI, qLogNEHVI).
    evolution: settings of the acquisition optimiser (pool 200, tournament 40, ...).
    surrogate: extra keyword arguments of ``GraphGP``; ``max_cached_candidates`` (2000) bounds
        the graph cache of acquisition candidates; ``fast: false`` selects the straightforward
        featurisation (same model, slower: the benchmarks' baseline).
    warm_start: each GP fit starts its hyperparameter optimisation from the previous fit's
        optimum (the same objective, fewer optimiser steps); ``false`` starts from the defaults.
    batch: ``"fantasy"`` (one model fit per batch, believed terms conditioned at the fitted
        hyperparameters, later members by a short local search: :mod:`.batch`) or ``"refit"``
        (every member refits the models with the believed terms and runs the full optimiser).
    """

    kernel: str = "auto"
    n_initial: int = 10
    acquisition: str = "auto"
    xi: float = 0.0
    failed: str = "exclude"
    mc_samples: int = 64
    evolution: EvolutionConfig = field(default_factory=EvolutionConfig)
    surrogate: Dict[str, Any] = field(default_factory=dict)
    warm_start: bool = False
    batch: str = "fantasy"


@register_strategy("mo_banat", config=BanatConfig, defaults={"evolution": _small_optimiser()},
                   doc="Multi-objective BANAT: banat with EHVI and a smaller acquisition optimiser (counts are costly).")
@register_strategy("banat", config=BanatConfig)
@register_strategy("banat_wl", config=BanatConfig, defaults={"kernel": "wl"},
                   doc="BANAT (WL): BANAT with a single WL kernel on the flat graph.")
class BANAT(Strategy):
    """BANAT: graph GPs on log objectives, log-EI or EHVI, evolutionary acquisition, Kriging believer.

    Args:
        grammar: the search space.
        config: a :class:`BanatConfig` (or a mapping of its fields; ``None``: the defaults).
        seed: random seed.
        surrogate_factory: ``(kernel, grammar, options) -> model`` with ``fit(terms, values)``
            and ``predict(terms) -> (mean, var)`` of the log value; the default builds a ``GraphGP``.
        **kwargs: ``network_seed``, ``objectives``, ``constraints``, ``dataset`` and fields of the
            config to replace (``n_initial=4``).
    """

    name = "banat"
    config_class = BanatConfig
    multi_objective = True
    propose_ahead = True  # a proposal takes seconds: the driver computes it while the workers train

    def __init__(self, grammar: Any, config: Any = None, seed: int = 0,
                 surrogate_factory: Optional[Callable[[str, Any, dict], Any]] = None, **kwargs: Any) -> None:
        super().__init__(grammar, config, seed, **kwargs)
        c = self.config
        if c.failed not in ("exclude", "worst"):
            raise ConfigError(f"strategy.failed must be 'exclude' or 'worst', not {c.failed!r}")
        if not isinstance(c.mc_samples, int) or c.mc_samples < 1:
            raise ConfigError(f"strategy.mc_samples={c.mc_samples}: must be an integer >= 1")
        self.kernel = choose_kernel(grammar, c.kernel)
        self.name = "banat" if self.kernel == "hwl" else f"banat_{self.kernel}"
        self.modelled = tuple(k for k in self.objectives if k not in TERM_STATISTICS)
        self.computed = tuple(k for k in self.objectives if k in TERM_STATISTICS)
        self.acquisition = self._resolve_acquisition(c.acquisition)
        self.n_initial = c.n_initial
        self.xi = c.xi
        self.failed = c.failed
        evolution = EvolutionConfig(**c.evolution) if isinstance(c.evolution, Mapping) else c.evolution
        self.optimiser = EvolutionaryOptimiser(grammar, evolution)
        if c.batch not in BATCH_MODES:
            raise ConfigError(f"strategy.batch={c.batch!r}: must be one of {', '.join(BATCH_MODES)}")
        self.local_optimiser = EvolutionaryOptimiser(grammar, local_search_config(evolution))
        self._session: Any = None  # the Kriging-believer session of the last fit, and its data's key
        self._session_key: Optional[tuple] = None
        self.models = ObjectiveModels(grammar, self.kernel, self.network_seed, c.surrogate, surrogate_factory,
                                      c.warm_start)
        self.space = ObjectivePoints(self.objectives, self.modelled, self.computed, self.stats)
        self.budget: Optional[int] = None
        self.last = ProposalInfo()

    def _resolve_acquisition(self, name: str) -> str:
        """The acquisition for ``name`` and the objectives (``ConfigError`` naming the key)."""
        single = len(self.objectives) == 1
        if single and not self.modelled:
            raise ConfigError(f"objectives={list(self.objectives)}: BANAT needs an objective measured by training "
                              "to model (a single computed count needs no search model); use random or evolution")
        fits = self.kernel == "values" and not self.computed  # numbers only, every objective modelled
        known = (*ACQUISITIONS, *MULTI_ACQUISITIONS, "auto")
        if name not in known:
            raise ConfigError(f"strategy.acquisition={name!r}: must be one of {', '.join(known)}")
        if name == "auto":
            return "log_ei" if single else ("qlognehvi" if fits else "ehvi")
        if single != (name in ACQUISITIONS):
            want = "log_ei or ei" if single else "ehvi or qlognehvi"
            raise ConfigError(f"strategy.acquisition={name!r}: with objectives={list(self.objectives)} use {want}")
        if name == "qlognehvi" and not fits:
            raise ConfigError("strategy.acquisition='qlognehvi': needs a generator space (kernel values) and no "
                              f"computed objective (params, flops); here kernel {self.kernel!r}, objectives "
                              f"{list(self.objectives)}")
        return name

    @property
    def acquisition_name(self) -> str:
        return self.acquisition

    @property
    def surrogate_factory(self) -> Optional[Callable[[str, Any, dict], Any]]:
        """The model factory (``None``: ``GraphGP``); settable, e.g. by tests."""
        return self.models.surrogate_factory

    @surrogate_factory.setter
    def surrogate_factory(self, factory: Optional[Callable[[str, Any, dict], Any]]) -> None:
        self.models.surrogate_factory = factory

    # --- the initial design ----------------------------------------------------------------------

    def set_budget(self, evaluations: Optional[int]) -> None:
        """Size the initial design by the run's evaluation budget, and warn when the budget does
        not exceed it (the run would be random search)."""
        super().set_budget(evaluations)
        self.budget = evaluations
        if evaluations is not None and evaluations < 3 * self.config.n_initial:
            self.n_initial = min(self.config.n_initial, max(2, int(evaluations) // 3))
        if evaluations is not None and evaluations <= self.n_initial:
            log.warning("%s: the budget of %d evaluations does not exceed the initial design of %d random terms: "
                        "this run is random search (lower strategy.n_initial)", self.name, evaluations, self.n_initial)

    # --- data ----------------------------------------------------------------------------------

    def training_data(self, observations: Optional[Sequence[Observation]] = None) -> TrainingData:
        """What the model is fitted on, from ``observations`` (default: the strategy's). One
        objective: succeeded observations (failed ones per ``failed``), any fidelity; several:
        :meth:`usable` ones. A term evaluated twice enters once (its last value): duplicate inputs
        make the kernel matrix singular."""
        obs = self.observations if observations is None else list(observations)
        if len(self.objectives) > 1:
            from algebraic_nas.search.pareto import objective_matrix

            usable = set(map(id, self.usable()))
            points = {o.term: o.result.objectives for o in obs if id(o) in usable}
            terms = list(points)
            measured = [points[t] for t in terms]
            return TrainingData(terms, {k: [points[t][k] for t in terms] for k in self.modelled}, measured,
                                objective_matrix(measured, self.objectives))
        k = self.objectives[0]
        ok = [o for o in obs if not o.failed and k in o.result.objectives
              and (not self.constraints or self.constraints.feasible(o.result.objectives))]
        terms = [o.term for o in ok]
        values = [max(o.result.objectives[k], FLOOR) for o in ok]
        if self.failed == "worst" and values:
            worst = max(values)
            for o in obs:
                if o.failed:
                    terms.append(o.term)
                    values.append(worst)
        uniq: dict[Term, float] = dict(zip(terms, values))
        return TrainingData(list(uniq), {k: list(uniq.values())})

    def _usable_count(self) -> int:
        return len(self.usable()) if len(self.objectives) > 1 else len(self.successes)

    # --- proposals -----------------------------------------------------------------------------

    def propose(self, pending: Sequence[PendingItem] = (), n: int = 1) -> list[Proposal]:
        return self.propose_batch(pending, n)

    def propose_batch(self, pending: Sequence[PendingItem] = (), n: int = 1) -> list[Proposal]:
        """``n`` proposals: the initial design's random terms first, then for each member the
        model fitted (:meth:`fit`), the pending terms and the batch's earlier members believed, the
        acquisition built (:meth:`acquire`) and maximised over the optimiser's pool (:meth:`optimise`)."""
        proposals = [as_proposal(p) for p in pending]
        exclude = self._excluded(proposals)
        believed = [p.term for p in proposals]
        out: list[tuple[Term, str]] = []
        self.last = ProposalInfo()
        data: Optional[TrainingData] = None
        for _ in range(n):
            # exclude is seen | pending | out: every term proposed so far
            if len(exclude) < self.n_initial or self._usable_count() < 2:
                note = (f"initial design {len(exclude) + 1}/{self.n_initial}, random" if len(exclude) < self.n_initial
                        else "random (fewer than 2 usable evaluations to model)")
                log.info("%s: %s", self.name, note)
                t = self._new_feasible(exclude)
                self.last.random = True
            else:
                data = data or self.training_data()
                t, note = self._model_member(data, believed + [t for t, _ in out], exclude, self.rng)
            exclude.add(t)
            out.append((t, note))
        return [self._made(t, note) for t, note in out]

    def propose_on(self, observations: Sequence[Observation], pending: Sequence[Term], exclude: set[Term]
                   ) -> tuple[Term, bool]:
        """One model-based term fitted on ``observations`` (another strategy's, e.g. one rung of
        BOHB's), with ``pending`` believed and never one of ``exclude``; the strategy's own state is
        not touched. Returns the term and whether the model chose it (else it is random)."""
        self.last = ProposalInfo()
        t, _ = self._model_member(self.training_data(observations), list(pending), exclude, self.rng)
        return t, not self.last.random

    def _model_member(self, data: TrainingData, believed: list[Term], exclude: set[Term], rng: Any
                      ) -> tuple[Term, str]:
        """One batch member from the model, or a random term when the model fails or every
        candidate it scored was over a bound."""
        try:
            session = self._session_for(data, rng)
            t = session.propose(believed, exclude).term
            self.last.n_train, self.last.n_fake = len(data.terms), len(session.believed)
            if self.admit(t):
                return t, f"model ({self.acquisition})"
            reason = "every candidate scored was over a bound"
        except Exception as exc:  # a numerical failure of a GP must not stop the search
            log.warning("%s proposal failed (%s: %s); proposing a random term", self.name, type(exc).__name__, exc)
            reason = f"model failed: {type(exc).__name__}"
        self.last.random = True
        return self._new_feasible(exclude), f"random ({reason})"

    def _session_for(self, data: TrainingData, rng: Any) -> Any:
        """The Kriging-believer session fitted on ``data`` (:mod:`.batch`): the last one while the
        training data is unchanged, else a new fit."""
        key = data_key(data)
        if self._session is None or self._session_key != key:
            self._session = None  # free the previous fit's pools first
            t0 = time.perf_counter()
            self._session, self._session_key = model_session(self, data, rng), key
            self.last.fit_time_s += time.perf_counter() - t0
        return self._session

    # --- model -> acquisition -> optimiser -------------------------------------------------------

    def fit(self, data: TrainingData) -> dict[str, Any]:
        """The model: a fitted GP per modelled objective (none for ``qlognehvi``: BoTorch fits its own)."""
        if self.acquisition == "qlognehvi":
            return {}
        return self.models.fit(data.terms, data.targets)

    def believe(self, models: dict[str, Any], data: TrainingData, pending: list[Term]
                ) -> tuple[dict[str, Any], list[Term]]:
        """Kriging believer: ``models`` conditioned on the ``pending`` terms not observed; returns
        them and those terms."""
        if self.acquisition == "qlognehvi":  # X_pending: sampled jointly by BoTorch
            observed = set(data.terms)
            return models, [p for p in dict.fromkeys(pending) if p not in observed]
        return self.models.believe(models, data.terms, data.targets, pending)

    def acquire(self, models: Mapping[str, Any], data: TrainingData, fake: list[Term], rng: Any
                ) -> tuple[Callable[[list[Term]], np.ndarray], list[Term], bool]:
        """The acquisition: ``(scorer, optimiser seeds best first, log scale?)``."""
        admissible = self._admissible if self.constraints.pre else None
        if len(self.objectives) == 1:
            (k,) = self.objectives
            values = data.targets[k]
            scorer = ei_scorer(models[k], self.acquisition, math.log(min(values)), self.xi, admissible)
            seeds = [data.terms[i] for i in np.argsort(values)]  # EI over the best *real* observation
            return scorer, seeds, self.acquisition == "log_ei"
        from algebraic_nas.search.pareto import nsga2_order

        seeds = [data.terms[i] for i in nsga2_order(data.y_obs)]
        mask = admissible or (lambda cands: np.ones(len(cands), dtype=bool))
        if self.acquisition == "qlognehvi":
            from algebraic_nas.search.strategies.banat.qlognehvi import qlognehvi_acquisition

            score = qlognehvi_acquisition(self.grammar, data.terms, data.objectives, self.objectives, fake,
                                          self.config.mc_samples, seed=rng.randrange(2**31))
            return (lambda cands: np.where(mask(cands), score(cands), -math.inf)), seeds, True
        k = len(self.modelled)
        z = normal_draws(self.config.mc_samples, k, rng.randrange(2**31)) if k else np.zeros((1, 0))
        return ehvi_scorer(models, self.space, data.y_obs, fake, z, mask), seeds, True

    def optimise(self, score: Callable[[list[Term]], np.ndarray], seeds: list[Term], exclude: set[Term], rng: Any,
                 log_scale: bool, local: bool = False) -> Term:
        """The optimiser: the best term by ``score`` that is not in ``exclude`` (``local``: the
        short search of a batch's later members, seeded with the best candidates so far)."""
        t1 = time.perf_counter()
        optimiser = self.local_optimiser if local else self.optimiser
        result = optimiser.optimise(score, seeds, exclude, rng, log_scale=log_scale)
        self.last.optimise_time_s += time.perf_counter() - t1
        self.last.results.append(result)
        log.debug("%s (%s): n=%d (+%d pending), %d generations, %d scored, best %.4g", self.name, self.acquisition,
                  self.last.n_train, self.last.n_fake, result.generations, result.n_scored, result.value)
        return result.term

    def _admissible(self, candidates: list[Term]) -> np.ndarray:
        """``(N,)`` whether each candidate is within the pre-training bounds (not recorded: scored only)."""
        return np.array([not self.constraints.violated_before_training(t) for t in candidates], dtype=bool)


MOBANAT = BANAT  # the name multi-objective BANAT had
