"""The asynchronous search driver: one loop that owns the strategy, the store and the executor.

    resume (replay finished rows into the strategy, re-queue lost ones)
    loop:
        fill every free worker slot (re-queued proposals first, then the strategy's proposals,
            with the proposals under evaluation passed as ``pending``); each task is the run's
            settings made for one proposal (its fidelity merged into the protocol overrides)
        wait for the next finished evaluation(s)  -> store (committed)
            -> strategy.observe(Result with every measured objective)
    until the evaluation budget is reached (all finished) or the wall-time budget is spent

Workers are refilled one by one as soon as each evaluation ends, never in synchronous rounds.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.executors import Executor
from algebraic_nas.search.progress import Progress, Status
from algebraic_nas.search.proposal import Proposal, Result
from algebraic_nas.search.store import Row, Store
from algebraic_nas.search.strategies.base import Strategy
from algebraic_nas.search.worker import EvaluationTask

log = logging.getLogger(__name__)


# protocol fields that do not make results incomparable: a resumed run may change them
_UNCOMPARED = ("cpu_threads",)


def _comparable(identity: Mapping[str, Any]) -> dict:
    out = dict(identity)
    for key in ("protocol", "overrides"):
        if isinstance(out.get(key), Mapping):
            out[key] = {k: v for k, v in out[key].items() if k not in _UNCOMPARED}
    return out


def check_stored_settings(store: Store, settings: EvaluationTask) -> None:
    """A run directory holds one search: store the evaluation settings of ``settings`` if it
    has none, else raise :class:`~algebraic_nas.errors.ConfigError` naming every setting that
    differs (results under other settings are not comparable; the CPU thread count may change)."""
    stored = store.get_meta("evaluation")
    mine = settings.identity()
    if stored is None:
        store.set_meta("evaluation", mine)
        return
    a, b = _comparable(stored), _comparable(mine)
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    if diff:
        details = "; ".join(f"{k}: stored {stored.get(k)!r}, now {mine.get(k)!r}" for k in diff)
        raise ConfigError(
            f"{store.path} holds a search with different evaluation settings ({details}); "
            "use another run directory or the same settings to resume"
        )


@dataclass
class Budget:
    """When to stop: ``evaluations`` finished (done + failed, all sessions of the run together)
    and/or ``wall_time_s`` of search time (all sessions; the time between sessions does not
    count). ``None`` = no limit of that kind; at least one must be set."""

    evaluations: Optional[int] = None
    wall_time_s: Optional[float] = None

    def __post_init__(self) -> None:
        if self.evaluations is None and self.wall_time_s is None:
            raise ValueError("the budget needs evaluations and/or wall_time_s")


@dataclass
class SearchResult:
    """What a search ended with."""

    best: Optional[Row]
    counts: dict[str, int]
    elapsed_s: float
    evaluations_this_session: int


class Driver:
    """Args:
    grammar: the ``Grammar`` (parses stored terms on resume).
    strategy: proposes terms.
    executor: runs evaluations.
    store: the run's store.
    settings: how every proposal is evaluated: the run-wide ``EvaluationTask`` (no term yet).
    budget: when to stop.
    batch_size: at most this many proposals per strategy call (BANAT's b; with b = 1 every
        free worker triggers its own proposal with the others pending).
    progress: the live display (``None``: none).
    """

    def __init__(
        self,
        grammar: Any,
        strategy: Strategy,
        executor: Executor,
        store: Store,
        settings: EvaluationTask,
        budget: Budget,
        batch_size: int = 1,
        progress: Optional[Progress] = None,
    ) -> None:
        self.grammar = grammar
        self.strategy = strategy
        self.executor = executor
        self.store = store
        self.settings = settings
        self.budget = budget
        self.batch_size = max(1, int(batch_size))
        self.progress = progress or Progress("none")
        self.pending: dict[int, Proposal] = {}  # eval id -> proposal, submitted and not finished
        self._requeue: list[Row] = []
        self._session_done = 0
        self._session_start = 0.0
        self._elapsed_at_start = 0.0

    # --- resume ----------------------------------------------------------------------------------

    def resume(self) -> int:
        """Replay the stored finished evaluations into the strategy (in evaluation order) and
        queue the unfinished ones for evaluation; returns the number replayed."""
        check_stored_settings(self.store, self.settings)
        finished = self.store.rows(status=("done", "failed"), order="finished")
        for row in finished:
            record = row.result or {"outcome": "ok" if row.status == "done" else "failed", "valid_error": row.valid_error}
            self.strategy.observe(Result.from_record(self._proposal(row), record, eval_id=row.id))
        self._requeue = self.store.requeue_unfinished()
        for row in self._requeue:
            self.strategy.mark_proposed(self._proposal(row))
        if finished or self._requeue:
            log.info("resuming: %d finished evaluations kept, %d to evaluate again", len(finished), len(self._requeue))
        return len(finished)

    def _proposal(self, row: Row) -> Proposal:
        """The proposal a stored row was made for."""
        return Proposal(self.grammar.parse(row.term), row.fidelity, row.checkpoint)

    # --- the loop --------------------------------------------------------------------------------

    def elapsed(self) -> float:
        return self._elapsed_at_start + (time.monotonic() - self._session_start)

    def _finished(self) -> int:
        return self.store.summary().finished

    def _may_submit(self, finished: int) -> bool:
        b = self.budget
        if b.wall_time_s is not None and self.elapsed() >= b.wall_time_s:
            return False
        if b.evaluations is not None and finished + self.executor.in_flight() >= b.evaluations:
            return False
        return True

    def _fill(self, finished: int) -> bool:
        """Submit work to every free slot; returns whether anything was submitted."""
        submitted = False
        while self.executor.in_flight() < self.executor.slots and self._may_submit(finished):
            if self._requeue:
                row = self._requeue.pop(0)
                batch = [(row.id, self._proposal(row))]
            else:
                free = self.executor.slots - self.executor.in_flight()
                n = min(free, self.batch_size)
                if self.budget.evaluations is not None:
                    n = min(n, self.budget.evaluations - finished - self.executor.in_flight())
                t0 = time.perf_counter()
                proposals = self.strategy.propose(pending=list(self.pending.values()), n=n)
                dt = (time.perf_counter() - t0) / max(1, len(proposals))
                batch = [
                    (self.store.add(str(p.term), self.strategy.name, propose_time_s=dt, fidelity=p.fidelity,
                                    checkpoint=p.checkpoint), p)
                    for p in proposals
                ]
            for eval_id, proposal in batch:
                self.pending[eval_id] = proposal
                self.store.mark_running(eval_id)
                self.executor.submit(self.settings.for_proposal(eval_id, proposal))
                submitted = True
        return submitted

    def _status(self) -> Status:
        s = self.store.summary()
        remaining = None
        b = self.budget
        if b.evaluations is not None and self._session_done:
            per_eval = (time.monotonic() - self._session_start) / self._session_done
            # per_eval is wall time per finished evaluation: parallel workers are already in it
            remaining = max(0, b.evaluations - s.finished) * per_eval
        if b.wall_time_s is not None:
            left = max(0.0, b.wall_time_s - self.elapsed())
            remaining = left if remaining is None else min(remaining, left)
        return Status(
            done=s.finished, failed=s.counts.get("failed", 0), running=self.executor.in_flight(),
            total=b.evaluations, best=s.best.valid_error if s.best else None,
            elapsed=self.elapsed(), remaining=remaining,
        )

    def run(self) -> SearchResult:
        """Resume if there is anything to resume, then search until the budget is spent."""
        self.store.set_meta("strategy", self.strategy.name)
        self._elapsed_at_start = self.store.elapsed()
        self.store.start_session()
        self._session_start = time.monotonic()
        self.resume()
        last_beat = time.monotonic()
        try:
            announce = True  # show the status once the workers are refilled after an event
            while True:
                finished = self._finished()
                self._fill(finished)
                if announce:
                    self.progress.update(self._status())
                    announce = False
                if self.executor.in_flight() == 0:
                    break
                timeout = 1.0
                if self.budget.wall_time_s is not None:
                    timeout = min(timeout, max(0.0, self.budget.wall_time_s - self.elapsed()))
                results = self.executor.wait(timeout=timeout)
                for task, record in results:
                    row = self.store.finish(task.eval_id, record, worker=record.get("worker"))
                    proposal = self.pending.pop(task.eval_id, None) or self._proposal(row)
                    self.strategy.observe(Result.from_record(proposal, record, eval_id=task.eval_id))
                    self._session_done += 1
                    if row.status == "failed":
                        log.warning("evaluation %d failed: %s", row.id, row.error)
                announce = bool(results)
                if not results:
                    self.progress.update(self._status(), event=False)
                if time.monotonic() - last_beat > 10.0:
                    self.store.heartbeat()
                    last_beat = time.monotonic()
                if self.budget.wall_time_s is not None and self.elapsed() >= self.budget.wall_time_s:
                    abandoned = self.executor.cancel_all()
                    if abandoned:
                        # evaluated again by a resumed run with a larger budget
                        self.store.mark_pending([t.eval_id for t in abandoned])
                        for t in abandoned:
                            self.pending.pop(t.eval_id, None)
                        log.info("wall-time budget spent: %d running evaluations abandoned", len(abandoned))
                    break
        finally:
            self.store.heartbeat()
            self.progress.update(self._status())
            self.progress.close()
        s = self.store.summary()
        return SearchResult(best=s.best, counts=s.counts, elapsed_s=self.elapsed(), evaluations_this_session=self._session_done)
