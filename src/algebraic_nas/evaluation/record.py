"""`EvaluationRecord`: the outcome of training and testing one architecture, as plain data.

Records travel between processes (Dask workers → the search driver) and into the SQLite store,
so every field is a JSON-friendly Python value: ``to_dict()`` / ``from_dict()`` round-trip.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional

OK = "ok"
FAILED = "failed"


@dataclass
class EvaluationRecord:
    """One evaluation of ``term`` on ``dataset`` under ``protocol`` with ``seed``.

    Errors are fractions in [0, 1] (``None`` when the run failed before they were measured);
    ``train_losses`` holds the mean training cross-entropy of each completed epoch (nats),
    ``epoch_times_s`` the seconds each took, ``valid_errors`` the validation error after each
    (only with the protocol's ``eval_every_epoch``); ``micro_batch`` is the batch actually run
    per forward pass (smaller than the protocol's after an out-of-memory retry); ``config`` is
    the full protocol used (overrides applied);
    ``params`` is the number of trainable parameters, ``flops`` the forward FLOPs of one
    example as reported by the assembler (``network_stats``); times are seconds, memory MiB
    (peak CUDA allocation on a GPU, the process's peak resident set size on the CPU).
    ``outcome`` is ``"ok"`` or ``"failed"``; ``reason`` says why it failed (``"diverged"``,
    ``"out of memory"``, or ``"<ExceptionType>: <message>"``), ``""`` when ok.
    ``objectives`` maps every registered objective that was measured to its value
    (``valid_error``, ``params``, ``flops``, ``latency_ms``, ``peak_memory_mb``, plus any
    registered by the user; see :mod:`.objectives`): what a search optimises.

    Checkpoints (multi-fidelity): ``checkpoint`` is the file the trained state was saved to
    (``None``: not saved); ``continued_from`` the checkpoint training continued from (``None``:
    trained from scratch), ``retrain_reason`` why a checkpoint given was not continued from
    (missing, unreadable, of another run; ``""`` otherwise); ``epochs`` counts all epochs the
    network was trained, ``epochs_trained`` those this evaluation computed (the compute it cost).
    """

    term: str
    grammar: str
    dataset: str
    protocol: str
    seed: int
    outcome: str = OK
    reason: str = ""
    valid_error: Optional[float] = None
    test_error: Optional[float] = None
    train_losses: list[float] = field(default_factory=list)
    params: Optional[int] = None
    flops: Optional[int] = None
    wall_time_s: float = 0.0
    train_time_s: float = 0.0
    peak_memory_mb: Optional[float] = None
    device: str = "cpu"
    epochs: int = 0
    micro_batch: Optional[int] = None
    valid_errors: list[float] = field(default_factory=list)
    epoch_times_s: list[float] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    objectives: dict[str, float] = field(default_factory=dict)
    checkpoint: Optional[str] = None
    continued_from: Optional[str] = None
    retrain_reason: str = ""
    epochs_trained: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome == OK

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (non-finite numbers become ``None``)."""
        d = dataclasses.asdict(self)
        for key in ("train_losses", "valid_errors"):
            d[key] = [_finite_or_none(v) for v in d[key]]
        for key in ("valid_error", "test_error"):
            d[key] = None if d[key] is None else _finite_or_none(d[key])
        d["objectives"] = {k: v for k, v in d["objectives"].items() if _finite_or_none(v) is not None}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], strict: bool = False) -> "EvaluationRecord":
        """Inverse of :meth:`to_dict`. Keys that are no field (e.g. a store's ``eval_id``) are
        ignored, or an error with ``strict=True``; missing optional fields take their defaults."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown and strict:
            raise ValueError(f"EvaluationRecord.from_dict: unknown field(s) {sorted(unknown)}")
        d = {k: v for k, v in d.items() if k in names}
        for key in ("train_losses", "valid_errors"):
            d[key] = [float("nan") if v is None else float(v) for v in d.get(key, [])]
        d["objectives"] = {str(k): float(v) for k, v in (d.get("objectives") or {}).items()}
        return cls(**d)


def _finite_or_none(v: float) -> Optional[float]:
    return float(v) if math.isfinite(v) else None
