"""The base of the multi-objective strategies (``mo_random``, ``mo_evolution``, ``mo_banat``).

A multi-objective strategy gets the search's ``objectives`` (names of the evaluation objective
registry, each minimised) and ``constraints`` (upper bounds) as constructor keywords, the way
every strategy gets ``network_seed`` (``search/runner.py`` passes them to strategies whose class
says ``multi_objective = True``), plus ``dataset`` (its input spec sizes the networks whose
parameters and FLOPs are computed before training).

What it adds to :class:`~algebraic_nas.search.strategies.base.Strategy`:

* the observed points in objective space (:meth:`MOStrategy.points`: successful, feasible,
  full-fidelity evaluations with every objective measured), transformed for minimisation as
  :mod:`algebraic_nas.search.pareto` does, and the current front (:meth:`MOStrategy.front`);
* :meth:`MOStrategy.admit`: a candidate over a pre-training bound (``params``, ``flops``) is
  rejected before it is proposed, hence before anyone trains it; every rejection is kept in
  :attr:`MOStrategy.rejected` (the runner stores them in the run's store, meta key ``rejected``);
* :meth:`MOStrategy._new_feasible`: random terms that satisfy the pre-training bounds.
"""

from __future__ import annotations

from typing import Any, ClassVar, Optional, Sequence

import numpy as np

from algebraic_nas.errors import ConfigError
from algebraic_nas.grammar.term import Term
from algebraic_nas.search.constraints import Constraints, TermStats, parse_constraints, parse_objectives
from algebraic_nas.search.pareto import objective_matrix, pareto_mask
from algebraic_nas.search.strategies.base import Observation, Strategy

MAX_REJECTIONS = 1000  # a random term is drawn at most this many times per proposal


class MOStrategy(Strategy):
    """Base class of the multi-objective strategies.

    Args:
        grammar, config, seed, network_seed, **settings: as for every strategy.
        objectives: registered objective names (default ``["valid_error"]``).
        constraints: upper bounds: a mapping ``{name: bound}`` or ``"name <= bound"`` strings.
        dataset: the dataset networks are built for (for pre-training ``params``/``flops``).
    """

    multi_objective: ClassVar[bool] = True

    def __init__(self, grammar: Any, config: Any = None, seed: int = 0, *, network_seed: int = 0,
                 objectives: Any = None, constraints: Any = None, dataset: str = "digits", **settings: Any) -> None:
        super().__init__(grammar, config, seed, network_seed=network_seed, **settings)
        self.objectives = parse_objectives(objectives)
        bounds = parse_constraints(constraints)
        # one cache of computed params/FLOPs for the bounds and the objectives (FLOPs: only if used)
        need_flops = "flops" in self.objectives or any(b.name == "flops" for b in bounds)
        self.stats = TermStats(dataset, network_seed, flops=need_flops, prune=getattr(grammar, "prune", "paths"))
        self.constraints = Constraints(bounds, stats=self.stats)
        self.dataset = dataset

    # --- objective space -------------------------------------------------------------------------

    @property
    def rejected(self) -> list[dict]:
        """Candidates rejected before training (term, the bounds violated and the values)."""
        return self.constraints.rejected

    def usable(self) -> list[Observation]:
        """Successful full-fidelity observations that satisfy every bound and measured every objective."""
        return [o for o in self.successes
                if not o.result.fidelity and self.constraints.feasible(o.result.objectives)
                and all(k in o.result.objectives for k in self.objectives)]

    def points(self, observations: Optional[Sequence[Observation]] = None) -> np.ndarray:
        """``(n, m)`` objective values of ``observations`` (default :meth:`usable`), in the
        transformed, minimised space of :mod:`~algebraic_nas.search.pareto`."""
        obs = self.usable() if observations is None else observations
        return objective_matrix([o.result.objectives for o in obs], self.objectives)

    def front(self) -> list[Observation]:
        """The observations on the Pareto front of :meth:`usable`."""
        obs = self.usable()
        mask = pareto_mask(self.points(obs))
        return [o for o, on in zip(obs, mask) if on]

    # --- candidates ------------------------------------------------------------------------------

    def admit(self, term: Term) -> bool:
        """Whether ``term`` satisfies the pre-training bounds (a rejection is recorded)."""
        return self.constraints.admit(term)

    def _new_feasible(self, exclude: set[Term]) -> Term:
        """A random term not in ``exclude`` that satisfies the pre-training bounds."""
        for _ in range(MAX_REJECTIONS):
            t = self._new_random(exclude)
            if self.admit(t):
                return t
            exclude.add(t)  # not drawn again in this proposal
        bounds = ", ".join(str(b) for b in self.constraints.pre)
        raise ConfigError(f"constraints: none of {MAX_REJECTIONS} random terms satisfies {bounds}; loosen the bounds")
