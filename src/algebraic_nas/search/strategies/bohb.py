"""BOHB with BANAT's model: asynchronous Hyperband whose new terms come from a graph GP.

As BOHB (Falkner et al. 2018) fits its KDE on the largest budget with enough observations, the
bottom-rung proposals here come from BANAT (:mod:`.banat`) fitted on the results of the
**highest rung that has at least** ``min_points`` **succeeded evaluations**: its GP on log
validation error (kernel ``auto``: hWL for spaces of structures such as ``hnb201``, the value
kernel for generator spaces such as ``nago_hnag``, both where terms have both), log-EI maximised
by the evolutionary optimiser, and the Kriging believer for every term under evaluation (at any
rung: their posterior mean at the model's rung stands in for the missing result). Until some
rung has ``min_points`` results, and for a ``random_fraction`` of proposals (BOHB's ρ = 1/3,
which keeps Hyperband's guarantees), new terms are random. Promotions are Hyperband's
(:class:`~algebraic_nas.search.strategies.hyperband.Hyperband`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Optional

from algebraic_nas.errors import ConfigError
from algebraic_nas.grammar.term import Term
from algebraic_nas.search.proposal import Proposal
from algebraic_nas.search.strategies.banat import BANAT, BanatConfig
from algebraic_nas.search.strategies.base import Observation, pack_rng, unpack_rng
from algebraic_nas.search.strategies.hyperband import Hyperband, HyperbandConfig
from algebraic_nas.search.strategies.registry import register_strategy

log = logging.getLogger(__name__)


@dataclass
class BohbConfig(HyperbandConfig):
    """Hyperband's settings plus the model's.

    min_points: succeeded evaluations a rung needs before the model is fitted on it.
    random_fraction: share of new terms drawn at random even when a model exists (BOHB's 1/3).
    model: BANAT's settings (kernel, acquisition, evolution, surrogate); ``n_initial`` is unused
        (``min_points`` decides when the model starts).
    """

    min_points: int = 6
    random_fraction: float = 1 / 3
    model: BanatConfig = field(default_factory=BanatConfig)


@register_strategy("bohb", config=BohbConfig)
class BOHB(Hyperband):
    """BOHB: asynchronous Hyperband with BANAT proposals fitted on the highest rung with enough results."""

    name = "bohb"
    config_class = BohbConfig
    propose_ahead = False  # promotions are instant; the driver serialises calls (interfaces.md)

    def __init__(self, grammar: Any, config: Any = None, seed: int = 0, *, network_seed: int = 0,
                 surrogate_factory: Any = None, **settings: Any) -> None:
        super().__init__(grammar, config, seed, network_seed=network_seed, **settings)
        c = self.config
        if not isinstance(c.min_points, int) or isinstance(c.min_points, bool) or c.min_points < 2:
            raise ConfigError(f"strategy.min_points={c.min_points!r}: must be an integer >= 2 (a GP needs two)")
        if not 0.0 <= float(c.random_fraction) <= 1.0:
            raise ConfigError(f"strategy.random_fraction={c.random_fraction!r}: must be between 0 and 1")
        model = c.model if isinstance(c.model, BanatConfig) else BanatConfig(**dict(c.model or {}))
        # the model proposes only when asked (min_points decides), so no initial design of its own
        model = BanatConfig(**{**vars(model), "n_initial": 0})
        self.model = BANAT(grammar, config=model, seed=self.rng.randrange(2**31), network_seed=network_seed,
                           surrogate_factory=surrogate_factory)
        self.model_rung: Optional[int] = None  # the rung the last model-based term was fitted on

    def model_data(self) -> tuple[Optional[int], list[Observation]]:
        """The highest rung with at least ``min_points`` succeeded results, and its observations."""
        for rung in range(len(self.rungs) - 1, -1, -1):
            obs = [t.results[rung] for t in self.trials.values() if rung in t.results]
            if sum(o.error is not None for o in obs) >= self.config.min_points:
                return rung, obs
        return None, []

    def _new_term(self, exclude: set[Term], pending: list[Proposal], rung: int) -> Term:
        self.model_rung = None
        model_rung, obs = self.model_data()
        if model_rung is None or self.rng.random() < float(self.config.random_fraction):
            return self._new_random(exclude)
        try:  # the model sees this rung's results only, as if they were full-fidelity evaluations
            term, from_model = self.model.propose_on(obs, [q.term for q in pending], exclude)
        except Exception as exc:  # a numerical failure of the GP must not stop the search
            log.warning("BOHB model proposal failed (%s: %s); proposing a random term", type(exc).__name__, exc)
            return self._new_random(exclude)
        if from_model:
            self.model_rung = model_rung
        return term

    def random_state(self) -> dict:
        """Hyperband's generator and the model's (its optimiser draws from its own)."""
        return {**super().random_state(), "model": pack_rng(self.model.rng)}

    def set_random_state(self, state: Any) -> None:
        super().set_random_state(state)
        if "model" in state:
            unpack_rng(self.model.rng, state["model"])
