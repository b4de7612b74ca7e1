"""The strategy interface shared by random search, regularized evolution and BANAT.

A strategy is told every finished evaluation (``observe``) and asked for new terms
(``propose``) with the terms still under evaluation (``pending``), so that it can take them into
account (BANAT: Kriging believer) and never propose one of them again. The driver owns the loop,
the store and the workers; a strategy only decides *what* to evaluate next.
"""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

from algebraic_nas.grammar.term import Term


@dataclass(frozen=True)
class Observation:
    """A finished evaluation as a strategy sees it: ``error`` is the validation error, or
    ``None`` when the evaluation failed."""

    term: Term
    error: Optional[float]
    order: int  # position in evaluation order (0 = first to finish): regularized evolution ages by it

    @property
    def failed(self) -> bool:
        return self.error is None


def record_error(record: Any) -> Optional[float]:
    """The validation error of an evaluation record (object or dict), ``None`` when it failed."""
    get = record.get if isinstance(record, Mapping) else (lambda k, d=None: getattr(record, k, d))
    if get("outcome", None) != "ok":
        return None
    err = get("valid_error", None)
    try:
        err = float(err)
    except (TypeError, ValueError):
        return None
    return err if math.isfinite(err) else None


class Strategy(ABC):
    """Base class: keeps the observations and the set of terms already proposed.

    Args:
        grammar: the search space (a ``Grammar``).
        seed: seeds the strategy's random number generator.
    """

    name: str = "strategy"

    def __init__(self, grammar: Any, seed: int = 0) -> None:
        self.grammar = grammar
        self.rng = random.Random(seed)
        self.observations: list[Observation] = []
        self.seen: set[Term] = set()  # evaluated, failed or proposed: never proposed again

    def observe(self, term: Term, record: Any) -> None:
        """Tell the strategy that ``term`` finished with ``record`` (an ``EvaluationRecord`` or
        its dict); a failed evaluation is observed too (``error=None``)."""
        self.seen.add(term)
        self.observations.append(Observation(term, record_error(record), len(self.observations)))

    def mark_proposed(self, term: Term) -> None:
        """Note a term proposed elsewhere (e.g. re-queued on resume) so it is not proposed again."""
        self.seen.add(term)

    @abstractmethod
    def propose(self, pending: Sequence[Term] = (), n: int = 1) -> list[Term]:
        """Return ``n`` new terms, none of them evaluated, pending or in ``pending``."""

    # --- helpers -----------------------------------------------------------------------------

    @property
    def successes(self) -> list[Observation]:
        return [o for o in self.observations if not o.failed]

    def incumbent(self) -> Optional[Observation]:
        ok = self.successes
        return min(ok, key=lambda o: o.error) if ok else None

    def _propose_each(self, pending: Sequence[Term], n: int, one: Callable[[set[Term]], Term]) -> list[Term]:
        """``n`` terms from ``one(exclude)``, each added to ``exclude`` and ``seen`` as it is made
        (``exclude`` starts as ``seen`` and ``pending``)."""
        exclude = self.seen | set(pending)
        out: list[Term] = []
        for _ in range(n):
            t = one(exclude)
            exclude.add(t)
            self.seen.add(t)
            out.append(t)
        return out

    def _new_random(self, exclude: set[Term], tries: int = 1000) -> Term:
        """A random term not in ``exclude`` (the space is assumed far larger than the budget)."""
        for _ in range(tries):
            t = self.grammar.sample(self.rng)
            if t not in exclude:
                return t
        raise RuntimeError(f"no new term found in {tries} samples: the search space looks exhausted")
