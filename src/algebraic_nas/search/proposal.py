"""What a strategy proposes and what it observes: :class:`Proposal` and :class:`Result`.

A proposal is a term plus a *fidelity*: protocol overrides such as ``{"epochs": 4}`` (``{}`` is
full fidelity: the run's protocol as configured) and optionally a checkpoint to continue
training from. Hyperband-like strategies propose the same term at several fidelities, so a
strategy's memory of what it proposed is keyed by ``(term, fidelity)`` (:attr:`Proposal.key`).

A result is a finished evaluation as the strategy sees it: the proposal, the objectives
measured (``valid_error``, ``params``, ``flops``, ``latency_ms``, ``peak_memory_mb`` where the
record has them), the outcome and the full evaluation record (SMAC3's ``TrialInfo`` /
``TrialValue`` are the model).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

from algebraic_nas.grammar.term import Term

# the measurements a result carries as objectives, when the evaluation record has them
OBJECTIVES = ("valid_error", "params", "flops", "latency_ms", "peak_memory_mb")
FULL_FIDELITY: Mapping[str, Any] = {}


def fidelity_key(fidelity: Optional[Mapping[str, Any]]) -> str:
    """The canonical text of a fidelity (sorted JSON; ``"{}"`` for full fidelity): what the
    store keeps and what proposals are compared by."""
    return json.dumps(dict(fidelity or {}), sort_keys=True, separators=(",", ":"), default=str)


def fidelity_rank(fidelity: Optional[Mapping[str, Any]]) -> tuple:
    """A sort key, higher = closer to full fidelity: ``{}`` ranks above everything, other
    fidelities by their numeric values (fidelities of one run vary the same keys, e.g.
    ``epochs``: ``{"epochs": 4} < {"epochs": 8}``)."""
    if not fidelity:
        return (1,)
    values = tuple(float(v) if isinstance(v, (int, float)) else 0.0 for _, v in sorted(fidelity.items()))
    return (0, values)


def finite_or_none(x: Any) -> Optional[float]:
    """``x`` as a finite float, ``None`` when it is missing, not a number, NaN or infinite."""
    if isinstance(x, bool):
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def objectives_of(record: Mapping[str, Any]) -> dict[str, float]:
    """The objectives an evaluation record measured: its ``objectives`` mapping (filled by the
    evaluation package's objective registry), or for a record without one (stored before it
    existed, or from a user's evaluation function) the fields named in :data:`OBJECTIVES`;
    finite values only, ``valid_error`` only when the evaluation succeeded."""
    measured = record.get("objectives")
    source = measured if isinstance(measured, Mapping) else {name: record.get(name) for name in OBJECTIVES}
    out: dict[str, float] = {}
    for name, raw in source.items():
        value = finite_or_none(raw)
        if value is not None:
            out[str(name)] = value
    if record.get("outcome") != "ok":
        out.pop("valid_error", None)
    return out


@dataclass(frozen=True, eq=True)
class Proposal:
    """A term to evaluate at a fidelity.

    Args:
        term: the architecture.
        fidelity: protocol overrides for this evaluation (``{}``: full fidelity); treat it as
            read-only.
        checkpoint: a model checkpoint (path) to continue training from, or ``None``.
        note: how the strategy chose it (``"initial design 3/10, random"``; stored with its row).
        state: the strategy's random state right after making it (JSON-safe; the store keeps the
            last one so that a resumed run restores it). Neither is compared nor hashed.
    """

    term: Term
    fidelity: Mapping[str, Any] = field(default_factory=dict)
    checkpoint: Optional[str] = None
    note: str = field(default="", compare=False)
    state: Optional[Mapping[str, Any]] = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fidelity", dict(self.fidelity or {}))  # a private copy

    def __hash__(self) -> int:  # the fidelity is a dict: hash its canonical text
        return hash((self.term, fidelity_key(self.fidelity), self.checkpoint))

    @property
    def key(self) -> tuple[Term, str]:
        """``(term, fidelity text)``: what a strategy never proposes twice."""
        return self.term, fidelity_key(self.fidelity)

    @property
    def full_fidelity(self) -> bool:
        return not self.fidelity


def as_proposal(item: Union["Proposal", Term]) -> "Proposal":
    """A proposal as is; a bare term as its full-fidelity proposal."""
    return item if isinstance(item, Proposal) else Proposal(item)


@dataclass(frozen=True)
class Result:
    """A finished evaluation as a strategy observes it.

    Args:
        proposal: what was evaluated.
        objectives: measured objectives (see :data:`OBJECTIVES`); ``valid_error`` is present
            exactly when the evaluation succeeded.
        outcome: ``"ok"`` or ``"failed"``.
        reason: why it failed (``None`` when ok).
        record: the full evaluation record (a dict).
        eval_id: the store's row id, when the driver ran it.
    """

    proposal: Proposal
    objectives: Mapping[str, float] = field(default_factory=dict)
    outcome: str = "ok"
    reason: Optional[str] = None
    record: Mapping[str, Any] = field(default_factory=dict)
    eval_id: Optional[int] = None

    @classmethod
    def from_record(cls, proposal: Union[Proposal, Term], record: Any, eval_id: Optional[int] = None) -> "Result":
        """The result of ``proposal`` from an evaluation record (a dict or an object with
        ``to_dict()``/attributes); a record without a finite ``valid_error`` is a failure."""
        if not isinstance(record, Mapping):
            record = record.to_dict() if hasattr(record, "to_dict") else dict(vars(record))
        objectives = objectives_of(record)
        ok = "valid_error" in objectives
        reason = None if ok else str(record.get("reason") or record.get("error") or "evaluation failed")
        return cls(as_proposal(proposal), objectives, "ok" if ok else "failed", reason, dict(record), eval_id)

    @property
    def term(self) -> Term:
        return self.proposal.term

    @property
    def fidelity(self) -> Mapping[str, Any]:
        return self.proposal.fidelity

    @property
    def failed(self) -> bool:
        return self.outcome != "ok"

    @property
    def error(self) -> Optional[float]:
        """The validation error, ``None`` when the evaluation failed."""
        return None if self.failed else self.objectives.get("valid_error")
