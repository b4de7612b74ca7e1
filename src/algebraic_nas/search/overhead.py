"""The "search overhead": the share of the workers' time not spent evaluating.

    overhead = (slots · wall − Σ evaluation times) / (slots · wall)

``wall`` is the driver's session time (resume, proposals the workers waited for, store writes,
the display; the report after the loop is not counted), ``slots`` the number of workers and an
evaluation's time the one its worker measured (the record's ``wall_time_s``; the store's
start-to-finish time when a record has none). Evaluations abandoned at a wall-time stop count
as overhead: their work is lost.

Each driver session appends its figures to the store's ``meta["search_time"]``; the report
shows the run's total (:func:`run_overhead`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping, Optional, Sequence

META_KEY = "search_time"


@dataclass
class SessionTime:
    """Where one driver session's time went (seconds).

    Args:
        wall_s: session wall time.
        slots: worker slots (the executor's).
        eval_s: sum of the evaluation times of the evaluations finished in the session.
        proposal_wait_s: time the driver waited for the strategy's proposals with a worker free.
        evaluations: evaluations finished in the session.
        propose_ahead: whether proposals were computed while the workers trained.
    """

    wall_s: float
    slots: int
    eval_s: float
    proposal_wait_s: float = 0.0
    evaluations: int = 0
    propose_ahead: bool = False
    steady: Optional[float] = None  # the workers' busy fraction in the steady state (utilisation_phases)
    strategy_cpu_s: float = 0.0  # CPU time of the strategy's calls (proposals, observations)
    cpu_s: float = 0.0  # CPU time of the driver's process in the session (the strategy's included)

    @property
    def overhead(self) -> Optional[float]:
        """The search overhead as a fraction (``None`` when no time passed)."""
        return overhead_fraction(self.wall_s * self.slots, self.eval_s)

    def as_dict(self) -> dict:
        return {**asdict(self), "overhead": self.overhead}

    def line(self) -> str:
        """One line for the log: ``search overhead 3.1 % (...)``; a session that finished no
        evaluation (a finished run relaunched) has no overhead figure of its own."""
        if not self.evaluations and not self.eval_s:
            return f"search overhead: no evaluation finished in this session (wall {self.wall_s:.1f} s)"
        steady = "" if self.steady is None else f"; steady state: workers {format_fraction(self.steady)} busy"
        return (
            f"search overhead {format_fraction(self.overhead)}{steady} (wall {self.wall_s:.1f} s x {self.slots} "
            f"worker{'s' if self.slots != 1 else ''}, evaluations {self.eval_s:.1f} s, waiting for proposals "
            f"{self.proposal_wait_s:.1f} s, proposals {'computed ahead' if self.propose_ahead else 'synchronous'})"
        )


def utilisation_phases(spans: Sequence[tuple[float, float]], slots: int, t0: float) -> dict:
    """Busy fractions of ``slots`` workers over the phases of a session from the evaluations'
    ``(start, end)`` times (seconds) and the session's start ``t0``: ``startup`` [t0, start of the
    ``slots``-th evaluation), ``steady`` [that, start of the last evaluation), ``drain`` [that,
    last end), ``total`` [t0, last end); each Σ overlap / (slots × phase length), ``None`` for
    an empty phase; with the phases' lengths (``*_s``). Start-up and drain are when workers wait
    for the first proposals or for nothing: the steady state is the figure a long run sees."""
    out: dict = {"total": None, "startup": None, "steady": None, "drain": None}
    if not spans:
        return out
    starts = sorted(a for a, _ in spans)
    end = max(b for _, b in spans)
    t_a, t_b = starts[min(slots, len(starts)) - 1], starts[-1]

    def busy(a: float, b: float) -> Optional[float]:
        if b <= a:
            return None
        return sum(max(0.0, min(e, b) - max(s, a)) for s, e in spans) / (slots * (b - a))

    return {"total": busy(t0, end), "startup": busy(t0, t_a), "steady": busy(t_a, t_b), "drain": busy(t_b, end),
            "startup_s": t_a - t0, "steady_s": t_b - t_a, "drain_s": end - t_b}


def overhead_fraction(slot_s: float, eval_s: float) -> Optional[float]:
    """``(slot_s − eval_s) / slot_s``; ``None`` when ``slot_s`` is not positive."""
    return (slot_s - eval_s) / slot_s if slot_s > 0 else None


def format_fraction(x: Optional[float]) -> str:
    return "?" if x is None else f"{100.0 * x:.1f} %"


def evaluation_seconds(record: Mapping[str, Any], started_at: Optional[float], finished_at: Optional[float]) -> float:
    """An evaluation's time: the record's ``wall_time_s``, else the store's start-to-finish time."""
    try:
        t = float(record.get("wall_time_s"))
        if t == t and t >= 0.0:
            return t
    except (TypeError, ValueError):
        pass
    if started_at is not None and finished_at is not None:
        return max(0.0, finished_at - started_at)
    return 0.0


def record_session(store: Any, session: SessionTime) -> None:
    """Append ``session`` to the store's ``meta["search_time"]``."""
    sessions = list(store.get_meta(META_KEY, []) or [])
    sessions.append(session.as_dict())
    store.set_meta(META_KEY, sessions)


def run_overhead(sessions: Sequence[Mapping[str, Any]]) -> Optional[dict]:
    """The run's figures over its recorded sessions (``None`` without any): total slot time,
    evaluation time, proposal waiting time and the overhead fraction."""
    if not sessions:
        return None
    slot_s = sum(float(s.get("wall_s", 0.0)) * int(s.get("slots", 1)) for s in sessions)
    eval_s = sum(float(s.get("eval_s", 0.0)) for s in sessions)
    return {
        "overhead": overhead_fraction(slot_s, eval_s),
        "slot_s": slot_s,
        "eval_s": eval_s,
        "proposal_wait_s": sum(float(s.get("proposal_wait_s", 0.0)) for s in sessions),
        "sessions": len(sessions),
    }
