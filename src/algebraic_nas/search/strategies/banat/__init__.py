"""BANAT, the model-based strategy for one or several objectives: model (:mod:`.model`) ->
acquisition (:mod:`.acquisition`, :mod:`.qlognehvi`) -> optimiser (:mod:`.optimiser`), put
together in :mod:`.strategy`. ``banat``, ``banat_wl`` and ``mo_banat`` are its registered names."""

from __future__ import annotations

from algebraic_nas.search.strategies.banat.model import _pinned_graph_cache
from algebraic_nas.search.strategies.banat.optimiser import EvolutionaryOptimiser, EvolutionConfig, OptimiserResult
from algebraic_nas.search.strategies.banat.strategy import (
    BANAT,
    MOBANAT,
    BanatConfig,
    ProposalInfo,
    TrainingData,
)

MOBanatConfig = BanatConfig  # the name multi-objective BANAT's settings had

__all__ = [
    "BANAT", "MOBANAT", "BanatConfig", "EvolutionConfig", "EvolutionaryOptimiser", "MOBanatConfig",
    "OptimiserResult", "ProposalInfo", "TrainingData", "_pinned_graph_cache",
]
