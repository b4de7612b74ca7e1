"""The strategy interface shared by every search strategy.

A strategy is told every finished evaluation (``observe(result)``) and asked for new
proposals (``propose(pending, n)``) with the proposals still under evaluation (``pending``), so
that it can take them into account (BANAT: Kriging believer) and never propose one of them
again. The driver owns the loop, the store and the workers; a strategy only decides *what* to
evaluate next, and at which fidelity.

Each strategy has a config dataclass (``config_class``) next to it: its fields are the
strategy's settings and their defaults are the only defaults (the Hydra config group is
generated from it, see ``strategies/registry.py``).
"""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping, Optional, Sequence, Union

from algebraic_nas.grammar.canonical_values import canonical_set
from algebraic_nas.grammar.term import Term
from algebraic_nas.search.proposal import Proposal, Result, as_proposal, fidelity_key
from algebraic_nas.search.settings import resolve_config

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


class Strategy(ABC):
    """Base class: keeps the observations and the ``(term, fidelity)`` keys already proposed.

    Args:
        grammar: the search space (a ``Grammar``).
        config: the strategy's ``config_class`` instance (or a mapping of its fields; ``None``:
            the defaults).
        seed: seeds the strategy's random number generator.
        **settings: fields of the config to replace (``population_size=6``).
    """

    name: str = "strategy"
    config_class: ClassVar[type] = StrategyConfig
    # the fidelity this strategy proposes at ({}: full); multi-fidelity strategies vary it
    fidelity: Mapping[str, Any] = {}
    # whether the driver may compute this strategy's next proposal while the workers train (on a
    # background thread that owns the strategy): for slow proposals (BANAT); fast ones keep False
    propose_ahead: bool = False
    # removes checkpoints nobody will continue from after each observation (set by the runner;
    # see search/checkpoints.py); None: checkpoints are left alone
    checkpoint_keeper: Any = None

    def __init__(self, grammar: Any, config: Any = None, seed: int = 0, *, network_seed: int = 0,
                 **settings: Any) -> None:
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

    def observe(self, result: Union[Result, Proposal, Term], record: Any = None) -> None:
        """Tell the strategy an evaluation finished: ``observe(result)``, or the older form
        ``observe(term_or_proposal, record)`` with an evaluation record (object or dict). A
        failed evaluation is observed too (``error=None``)."""
        if not isinstance(result, Result):
            result = Result.from_record(result, record if record is not None else {})
        if result.proposal.key not in self.seen:
            self.n_proposed += 1  # observed on resume without having been proposed here
        self.seen.add(result.proposal.key)
        self.observations.append(Observation(result, len(self.observations)))
        if self.checkpoint_keeper is not None:
            self.checkpoint_keeper.update(self)

    def mark_proposed(self, proposal: PendingItem) -> None:
        """Note a proposal made elsewhere (e.g. re-queued on resume) so it is not proposed again."""
        self.seen.add(as_proposal(proposal).key)
        self.n_proposed += 1

    @abstractmethod
    def propose(self, pending: Sequence[PendingItem] = (), n: int = 1) -> list[Proposal]:
        """Return ``n`` new proposals, none of them evaluated, proposed or in ``pending`` (at
        the same fidelity); bare terms in ``pending`` are full-fidelity proposals."""

    # --- helpers -----------------------------------------------------------------------------

    @property
    def successes(self) -> list[Observation]:
        return [o for o in self.observations if not o.failed]

    def incumbent(self) -> Optional[Observation]:
        ok = self.successes
        return min(ok, key=lambda o: o.error) if ok else None

    def _excluded(self, pending: Sequence[Proposal], fidelity: Optional[Mapping[str, Any]] = None) -> set[Term]:
        """Terms not to propose at ``fidelity`` (default: the strategy's): those seen or pending at it,
        compared by canonical form where generators ignore some values (issue 10: equivalent networks
        are evaluated once; ``grammar/canonical_values.py``)."""
        key = fidelity_key(self.fidelity if fidelity is None else fidelity)
        out = canonical_set(self.grammar, (t for t, k in self.seen if k == key))
        out.update(p.term for p in pending if fidelity_key(p.fidelity) == key)
        return out

    def _made(self, term: Term) -> Proposal:
        """Record ``term`` as proposed at the strategy's fidelity; returns its proposal."""
        p = Proposal(term, self.fidelity)
        self.seen.add(p.key)
        self.n_proposed += 1
        return p

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
