"""The strategy contract: everything the driver, the checkpoint keeper and the report ask of a
search strategy, declared on :class:`Strategy`.

A strategy is told every finished evaluation (``observe(result)``) and asked for new
proposals (``propose(pending, n)``) with the proposals still under evaluation (``pending``), so
that it can take them into account (BANAT: Kriging believer) and never propose one of them
again. The driver owns the loop, the store, the workers and the checkpoint keeper; a strategy
only decides *what* to evaluate next, and at which fidelity. What else the search reads from a
strategy is declared here too: ``fidelity``, ``propose_ahead``, ``continues``,
``live_checkpoints()``, ``incumbent()``, ``multi_objective``/``objectives``, ``constraints`` and
the random state a resumed run restores (``random_state()``/``set_random_state()``).

Objectives: every strategy has ``objectives`` (registered objective names, each minimised;
default ``("valid_error",)``) and ``constraints`` (upper bounds). A strategy whose class says
``multi_objective = True`` (random search, evolution, BANAT) takes one or more objectives and
any bounds; with the default single objective and no bound it behaves as a single-objective
strategy always did. Candidates over a pre-training bound (``params``, ``flops``) are rejected
before they are proposed (:meth:`Strategy.admit`, recorded in :attr:`Strategy.rejected`).

Each strategy has a config dataclass (``config_class``) next to it: its fields are the
strategy's settings and their defaults are the only defaults (the Hydra config group is
generated from it, see ``strategies/registry.py``).
"""

from __future__ import annotations

import base64
import dataclasses
import math
import random
from abc import ABC, abstractmethod
from array import array
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, Optional, Sequence, Union

import numpy as np

from algebraic_nas.errors import ConfigError
from algebraic_nas.grammar.canonical_values import canonical_set
from algebraic_nas.grammar.term import Term
from algebraic_nas.search.config.objectives import DEFAULT_OBJECTIVES, TERM_STATISTICS, parse_constraints, parse_objectives
from algebraic_nas.search.config.settings import resolve_config
from algebraic_nas.search.feasibility import Constraints, TermStats
from algebraic_nas.search.incumbent import observation_incumbent
from algebraic_nas.search.proposal import Proposal, Result, as_proposal, fidelity_key

PendingItem = Union[Proposal, Term]


@dataclass
class StrategyConfig:
    """Settings of a strategy without any (random search)."""


@dataclass(frozen=True)
class Observation:
    """A finished evaluation as a strategy keeps it: the result and its position in
    evaluation order (0 = first to finish; regularized evolution ages by it)."""

    result: Result
    order: int

    @property
    def term(self) -> Term:
        return self.result.term

    @property
    def error(self) -> Optional[float]:
        """The validation error, ``None`` when the evaluation failed."""
        return self.result.error

    @property
    def failed(self) -> bool:
        return self.result.failed


def record_error(record: Any) -> Optional[float]:
    """The validation error of an evaluation record (object or dict), ``None`` when it failed."""
    get = record.get if isinstance(record, Mapping) else (lambda k, d=None: getattr(record, k, d))
    if get("outcome", None) != "ok":
        return None
    try:
        err = float(get("valid_error", None))
    except (TypeError, ValueError):
        return None
    return err if math.isfinite(err) else None


MAX_REJECTIONS = 1000  # a random term is drawn at most this many times per proposal


def pack_rng(rng: random.Random) -> dict:
    """A JSON-safe copy of a ``random.Random``'s state (the Mersenne Twister words base64-packed)."""
    version, words, gauss = rng.getstate()
    return {"version": version, "mt": base64.b64encode(array("L", words).tobytes()).decode("ascii"), "gauss": gauss}


def unpack_rng(rng: random.Random, state: Mapping[str, Any]) -> None:
    """Restore ``rng`` to a state :func:`pack_rng` made."""
    words = array("L")
    words.frombytes(base64.b64decode(state["mt"]))
    rng.setstate((int(state["version"]), tuple(words), state.get("gauss")))


class Strategy(ABC):
    """Base class: keeps the observations and the ``(term, fidelity)`` keys already proposed.

    Args:
        grammar: the search space (a ``Grammar``).
        config: the strategy's ``config_class`` instance (or a mapping of its fields; ``None``:
            the defaults).
        seed: seeds the strategy's random number generator.
        network_seed: the seed networks are built with (the evaluation seed).
        objectives: registered objective names, each minimised (default ``["valid_error"]``);
            more than one, or bounds, only for a class with ``multi_objective = True``.
        constraints: upper bounds: a mapping ``{name: bound}`` or ``"name <= bound"`` strings.
        dataset: the dataset networks are built for (sizes the pre-training ``params``/``flops``).
        **settings: fields of the config to replace (``population_size=6``).
    """

    name: str = "strategy"
    config_class: ClassVar[type] = StrategyConfig
    #: the fidelity new proposals are made at (``{}``: full); multi-fidelity strategies vary it
    fidelity: Mapping[str, Any] = {}
    #: whether the driver may compute this strategy's next proposal while the workers train (on a
    #: background thread that owns the strategy): for slow proposals (BANAT); fast ones keep False.
    #: A strategy that proposes ahead is never read from the driver's thread except through calls
    #: the proposer makes, so it must not ``continue`` training (``live_checkpoints`` is read directly).
    propose_ahead: bool = False
    #: whether proposals continue the training of an earlier evaluation from its checkpoint
    #: (Hyperband's promotions): the run then saves checkpoints even with ``checkpoints=none``
    continues: bool = False
    #: whether the class takes several ``objectives`` and ``constraints`` (random search, evolution,
    #: BANAT); ``False``: the validation error only, without bounds (Hyperband, BOHB)
    multi_objective: ClassVar[bool] = False

    def __init__(self, grammar: Any, config: Any = None, seed: int = 0, *, network_seed: int = 0,
                 objectives: Any = None, constraints: Any = None, dataset: str = "digits", **settings: Any) -> None:
        self.grammar = grammar
        # the seed networks are built with (the evaluation seed): generator topologies draw their
        # graphs from it, so a model-based strategy must see the same graphs that are trained
        self.network_seed = int(network_seed)
        self.config = resolve_config(self.config_class, config, settings, where="strategy")
        self.rng = random.Random(seed)
        self.observations: list[Observation] = []
        # (term, fidelity text) evaluated, failed or proposed: never proposed again
        self.seen: set[tuple[Term, str]] = set()
        self.n_proposed = 0  # proposals made, marked or observed without having been made here
        #: the objective names, each minimised (the first decides the incumbent)
        self.objectives: tuple[str, ...] = parse_objectives(objectives)
        bounds = parse_constraints(constraints)
        if not self.multi_objective and (self.objectives != DEFAULT_OBJECTIVES or bounds):
            what = f"objectives={list(self.objectives)}" if self.objectives != DEFAULT_OBJECTIVES else "constraints"
            raise ConfigError(f"strategy {self.name!r} minimises the validation error only; {what} needs random, "
                              "evolution or banat (or mo_random, mo_evolution, mo_banat)")
        self.dataset = dataset
        # one cache of computed params/FLOPs for the bounds and the objectives, only where one needs it
        computed = any(k in TERM_STATISTICS for k in self.objectives) or any(b.pre_training for b in bounds)
        need_flops = "flops" in self.objectives or any(b.name == "flops" for b in bounds)
        #: parameters/FLOPs of terms, computed by building the untrained network (``None``: not needed)
        self.stats: Optional[TermStats] = (
            TermStats(dataset, self.network_seed, flops=need_flops, prune=getattr(grammar, "prune", "paths"))
            if computed else None)
        #: the search's bounds, checked on candidates before training and on results after
        self.constraints = Constraints(bounds, stats=self.stats)

    # --- what the driver calls -------------------------------------------------------------------

    def observe(self, result: Union[Result, Proposal, Term], record: Any = None) -> None:
        """Tell the strategy an evaluation finished: ``observe(result)``, or the older form
        ``observe(term_or_proposal, record)`` with an evaluation record (object or dict). A
        failed evaluation is observed too (``error=None``). On resume the driver replays the
        finished evaluations in the order they finished."""
        if not isinstance(result, Result):
            result = Result.from_record(result, record if record is not None else {})
        if result.proposal.key not in self.seen:
            self.n_proposed += 1  # observed on resume without having been proposed here
        self.seen.add(result.proposal.key)
        self.observations.append(Observation(result, len(self.observations)))

    def mark_proposed(self, proposal: PendingItem) -> None:
        """Note a proposal made elsewhere (e.g. re-queued on resume) so it is not proposed again."""
        self.seen.add(as_proposal(proposal).key)
        self.n_proposed += 1

    @abstractmethod
    def propose(self, pending: Sequence[PendingItem] = (), n: int = 1) -> list[Proposal]:
        """Return ``n`` new proposals, none of them evaluated, proposed or in ``pending`` (at
        the same fidelity); bare terms in ``pending`` are full-fidelity proposals. Each proposal
        may carry a ``note`` (how it was chosen, stored with its row) and the strategy's random
        state after it (``state``: what a resumed run restores, :meth:`stamp`)."""

    def set_budget(self, evaluations: Optional[int]) -> None:
        """Told by the driver before the first proposal of a session: the run's evaluation budget
        (all sessions together; ``None``: no limit). BANAT sizes its initial design by it."""

    def live_checkpoints(self) -> set[str]:
        """Checkpoint paths a later proposal may still continue from (kept by the checkpoint
        keeper whatever the policy); only strategies that ``continue`` training have any."""
        return set()

    def incumbent(self) -> Optional[Observation]:
        """The best observation (:func:`algebraic_nas.search.incumbent.incumbent`: the lowest
        first objective at the highest fidelity reached, on the front for several objectives)."""
        if self.objectives == DEFAULT_OBJECTIVES and not self.constraints:
            return observation_incumbent(self.observations)
        from algebraic_nas.search.pareto import transform  # botorch: imported late

        return observation_incumbent(self.observations, self.objectives,
                                     feasible=lambda o: self.constraints.feasible(o.result.objectives),
                                     orient=lambda k, v: float(transform(k, [v])[0]))

    def random_state(self) -> dict:
        """The state of every random number generator the strategy's proposals depend on (JSON-safe)."""
        return {"rng": pack_rng(self.rng)}

    def set_random_state(self, state: Mapping[str, Any]) -> None:
        """Restore a state :meth:`random_state` returned (a resumed run proposes what the
        uninterrupted one would have)."""
        unpack_rng(self.rng, state["rng"])

    def stamp(self, proposal: Proposal, note: str = "") -> Proposal:
        """``proposal`` with ``note`` and the strategy's random state now (after making it)."""
        return dataclasses.replace(proposal, note=note or proposal.note, state=self.random_state())

    # --- objectives and bounds -------------------------------------------------------------------

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
        from algebraic_nas.search.pareto import objective_matrix  # botorch: imported late

        obs = self.usable() if observations is None else observations
        return objective_matrix([o.result.objectives for o in obs], self.objectives)

    def front(self) -> list[Observation]:
        """The observations on the Pareto front of :meth:`usable`."""
        from algebraic_nas.search.pareto import pareto_mask

        obs = self.usable()
        mask = pareto_mask(self.points(obs))
        return [o for o, on in zip(obs, mask) if on]

    def admit(self, term: Term) -> bool:
        """Whether ``term`` satisfies the pre-training bounds (a rejection is recorded)."""
        return self.constraints.admit(term)

    # --- helpers -----------------------------------------------------------------------------

    @property
    def successes(self) -> list[Observation]:
        return [o for o in self.observations if not o.failed]

    def _excluded(self, pending: Sequence[Proposal], fidelity: Optional[Mapping[str, Any]] = None) -> set[Term]:
        """Terms not to propose at ``fidelity`` (default: the strategy's): those seen or pending at it,
        compared by canonical form where generators ignore some values (issue 10: equivalent networks
        are evaluated once; ``grammar/canonical_values.py``)."""
        key = fidelity_key(self.fidelity if fidelity is None else fidelity)
        out = canonical_set(self.grammar, (t for t, k in self.seen if k == key))
        out.update(p.term for p in pending if fidelity_key(p.fidelity) == key)
        return out

    def _made(self, term: Term, note: str = "") -> Proposal:
        """Record ``term`` as proposed at the strategy's fidelity; returns its stamped proposal."""
        p = Proposal(term, self.fidelity)
        self.seen.add(p.key)
        self.n_proposed += 1
        return self.stamp(p, note)

    def _propose_each(self, pending: Sequence[PendingItem], n: int, one: Callable[[set[Term]], Term]) -> list[Proposal]:
        """``n`` proposals of terms from ``one(exclude)``, each added to ``exclude`` and ``seen``
        as it is made (``exclude`` starts as the terms seen or pending at this fidelity)."""
        exclude = self._excluded([as_proposal(p) for p in pending])
        out: list[Proposal] = []
        for _ in range(n):
            t = one(exclude)
            exclude.add(t)
            out.append(self._made(t))
        return out

    def _new_random(self, exclude: set[Term], tries: int = 1000) -> Term:
        """A random term not in ``exclude`` (the space is assumed far larger than the budget)."""
        for _ in range(tries):
            t = self.grammar.sample(self.rng)
            if t not in exclude:
                return t
        raise RuntimeError(f"no new term found in {tries} samples: the search space looks exhausted")

    def _new_feasible(self, exclude: set[Term]) -> Term:
        """A random term not in ``exclude`` that satisfies the pre-training bounds (without
        bounds: :meth:`_new_random`)."""
        for _ in range(MAX_REJECTIONS):
            t = self._new_random(exclude)
            if self.admit(t):
                return t
            exclude.add(t)  # not drawn again in this proposal
        bounds = ", ".join(str(b) for b in self.constraints.pre)
        raise ConfigError(f"constraints: none of {MAX_REJECTIONS} random terms satisfies {bounds}; loosen the bounds")
