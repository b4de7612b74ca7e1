"""The asynchronous search driver: one loop that owns the strategy, the store and the executor.

    resume (replay finished rows into the strategy in the order they finished, re-queue lost
        ones, restore the strategy's random state stored with the last proposal)
    loop:
        fill every free worker slot (re-queued proposals first, then the strategy's proposals,
            with the proposals under evaluation passed as ``pending``); each task is the run's
            settings made for one proposal (its fidelity merged into the protocol overrides)
        start computing the next proposal(s) while the workers train (``propose_ahead``)
        wait for the next finished evaluation(s)  -> store (committed)
            -> strategy.observe(Result with every measured objective)
            -> checkpoint keeper (removes the checkpoints the policy does not keep)
    until the evaluation budget is reached (all finished) or the wall-time budget is spent
    log (and store) the search overhead: the share of the workers' time not spent evaluating

Workers are refilled one by one as soon as each evaluation ends, never in synchronous rounds.
With ``propose_ahead`` (BANAT's default) the strategy lives on a background thread
(``search/proposer.py``) and a free worker takes the proposal computed while it trained; a
proposal computed ahead is stored only when a worker takes it, and never beyond the evaluation
budget. With the in-process executor the training runs in the driver's process and shares the
interpreter lock with the proposal thread: the proposal uses the training's lock-free time (torch
kernels) and slows the training down somewhat, so the evaluation times absorb part of the
proposal's and the overhead figure understates the cost; compare wall time per evaluation
(``python -m benchmarks overhead`` does). ``executor=local`` trains in a worker process instead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.checkpoints import CheckpointKeeper
from algebraic_nas.search.executors import Executor
from algebraic_nas.search.overhead import SessionTime, evaluation_seconds, record_session, utilisation_phases
from algebraic_nas.search.progress import Progress, Status
from algebraic_nas.search.proposal import Proposal, Result
from algebraic_nas.search.proposer import Proposer
from algebraic_nas.search.store import STRATEGY_STATE, Row, Store
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
    time: Optional[SessionTime] = None  # where this session's time went (search overhead)


class Driver:
    """Args:
    grammar: the ``Grammar`` (parses stored terms on resume).
    strategy: proposes terms.
    executor: runs evaluations.
    store: the run's store.
    settings: how every proposal is evaluated: the run-wide ``EvaluationTask`` (no term yet).
    budget: when to stop.
    batch_size: the fewest proposals computed ahead per strategy call (BANAT's b). The driver
        asks for one proposal per free worker, and computes ahead as many as the workers will
        take while the next batch is computed (``search/proposer.py``).
    progress: the live display (``None``: none).
    propose_ahead: compute proposals while the workers train (``None``: the strategy's
        ``propose_ahead``; ``False``: the synchronous path, a proposal when a worker is free).
    checkpoint_keeper: removes the checkpoints the run's policy does not keep, after every
        finished evaluation (``None``: checkpoints are left alone).
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
        propose_ahead: Optional[bool] = None,
        checkpoint_keeper: Optional[CheckpointKeeper] = None,
    ) -> None:
        self.grammar = grammar
        self.strategy = strategy
        self.executor = executor
        self.store = store
        self.settings = settings
        self.budget = budget
        self.batch_size = max(1, int(batch_size))
        self.progress = progress or Progress("none")
        self.propose_ahead = propose_ahead
        self.checkpoint_keeper = checkpoint_keeper
        self.on_result: list[Callable[[Row], None]] = []  # called with each row this session finishes (live report)
        self.proposer: Optional[Proposer] = None  # made by run(), after the resume
        self.pending: dict[int, Proposal] = {}  # eval id -> proposal, submitted and not finished
        self._requeue: list[Row] = []
        self._session_done = 0
        self._session_start = 0.0
        self._elapsed_at_start = 0.0
        self._eval_s = 0.0  # evaluation time of this session's finished evaluations
        self._spans: list[tuple[float, float]] = []  # (start, end) epoch seconds of each, for the steady state
        self._session_epoch = 0.0

    # --- resume ----------------------------------------------------------------------------------

    def resume(self) -> int:
        """Replay the stored finished evaluations into the strategy in the order they finished
        (the order it saw them: regularized evolution ages by it), queue the unfinished ones for
        evaluation, and restore the strategy's random state after the last stored proposal, so
        that the resumed run proposes what the uninterrupted one would have (with deterministic
        evaluations); returns the number replayed."""
        check_stored_settings(self.store, self.settings)
        finished = self.store.rows(status=("done", "failed"), order="finished")
        for row in finished:
            record = row.result or {"outcome": "ok" if row.status == "done" else "failed", "valid_error": row.valid_error}
            self._observe(Result.from_record(self._proposal(row), record, eval_id=row.id))
        self._requeue = self.store.requeue_unfinished()
        for row in self._requeue:
            self.strategy.mark_proposed(self._proposal(row))
        state = self.store.get_meta(STRATEGY_STATE)
        if state is not None:
            try:
                self.strategy.set_random_state(state)
            except (KeyError, TypeError, ValueError) as exc:  # another strategy's, or an older layout
                log.warning("the stored random state of the strategy cannot be restored (%s): the resumed run "
                            "draws new random numbers", exc)
        if finished or self._requeue:
            log.info("resuming: %d finished evaluations kept, %d to evaluate again", len(finished), len(self._requeue))
        return len(finished)

    def _observe(self, result: Result) -> None:
        """The strategy observes ``result`` (through the proposer once it runs), then the checkpoint keeper."""
        if self.proposer is not None:
            self.proposer.observe(result)
        else:
            self.strategy.observe(result)
        if self.checkpoint_keeper is not None:
            self.checkpoint_keeper.update(result, self.strategy)

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

    def _left(self, finished: int) -> Optional[int]:
        """Evaluations the budget still allows beyond those finished and in flight (``None``: no limit)."""
        if self.budget.evaluations is None:
            return None
        return self.budget.evaluations - finished - self.executor.in_flight()

    def _fill(self, finished: int) -> bool:
        """Submit work to every free slot, then start computing the next proposals ahead;
        returns whether anything was submitted."""
        assert self.proposer is not None
        submitted = False
        while self.executor.in_flight() < self.executor.slots and self._may_submit(finished):
            if self._requeue:
                row = self._requeue.pop(0)
                batch = [(row.id, self._proposal(row))]
            else:
                free = self.executor.slots - self.executor.in_flight()
                n = free  # one strategy call for every free worker: a batch shares its model fit
                left = self._left(finished)
                if left is not None:
                    n = min(n, left)
                batch = [
                    (self.store.add(str(r.proposal.term), self.strategy.name, propose_time_s=r.propose_time_s,
                                    fidelity=r.proposal.fidelity, checkpoint=r.proposal.checkpoint,
                                    note=r.proposal.note, strategy_state=r.proposal.state), r.proposal)
                    for r in self.proposer.take(list(self.pending.values()), n)
                ]
            for eval_id, proposal in batch:
                self.pending[eval_id] = proposal
                self.store.mark_running(eval_id)
                self.executor.submit(self.settings.for_proposal(eval_id, proposal))
                submitted = True
        self._prefetch(finished)
        return submitted

    def _prefetch(self, finished: int) -> None:
        """With ``propose_ahead``: start computing the proposals the next free worker will take
        (the evaluations in flight pending), only if the budget will let it run them."""
        assert self.proposer is not None
        if self._requeue or not self._may_submit(finished):
            return
        left = self._left(finished)
        n = self.proposer.ahead_count(None if left is None else left - self.proposer.n_ready)
        self.proposer.prefetch(list(self.pending.values()), n)

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
        self._session_start, self._session_epoch = time.monotonic(), time.time()
        self.resume()
        self.strategy.set_budget(self.budget.evaluations)
        self.proposer = Proposer(self.strategy, self.propose_ahead, slots=self.executor.slots,
                                 batch_size=self.batch_size)
        last_beat = time.monotonic()
        clean = False
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
                    self._finish(task.eval_id, record)
                announce = bool(results)
                if not results:
                    self.progress.update(self._status(), event=False)
                if time.monotonic() - last_beat > 10.0:
                    self.store.heartbeat()
                    last_beat = time.monotonic()
                if self.budget.wall_time_s is not None and self.elapsed() >= self.budget.wall_time_s:
                    self._abandon_running()
                    break
            clean = True
        finally:
            # after an error or an interrupt, a proposal in progress is left to its daemon thread
            unused = self.proposer.close(wait=clean)
            if unused:
                log.info("%d proposal(s) computed ahead and never evaluated: discarded (not stored)", len(unused))
            self.store.heartbeat()
            self.progress.update(self._status())
            self.progress.close()
        spent = self._session_time()
        record_session(self.store, spent)
        log.info(spent.line())
        s = self.store.summary()
        return SearchResult(best=s.best, counts=s.counts, elapsed_s=self.elapsed(),
                            evaluations_this_session=self._session_done, time=spent)

    def _finish(self, eval_id: int, record: Mapping[str, Any]) -> None:
        """A finished evaluation: stored (committed), observed by the strategy, then the checkpoint
        keeper and the ``on_result`` hooks; its time counted for the overhead."""
        row = self.store.finish(eval_id, record, worker=record.get("worker"))
        proposal = self.pending.pop(eval_id, None) or self._proposal(row)
        self._observe(Result.from_record(proposal, record, eval_id=eval_id))
        self._session_done += 1
        for hook in self.on_result:
            hook(row)
        took = evaluation_seconds(record, row.started_at, row.finished_at)
        self._eval_s += took
        self._spans.append((row.finished_at - took, row.finished_at) if row.finished_at else (0.0, 0.0))
        if row.status == "failed":
            log.warning("evaluation %d failed: %s", row.id, row.error)

    def _abandon_running(self) -> None:
        """The wall-time budget is spent: running evaluations are cancelled and left ``pending``
        (evaluated again by a resumed run with a larger budget)."""
        abandoned = self.executor.cancel_all()
        if abandoned:
            self.store.mark_pending([t.eval_id for t in abandoned])
            for t in abandoned:
                self.pending.pop(t.eval_id, None)
            log.info("wall-time budget spent: %d running evaluations abandoned", len(abandoned))

    def _session_time(self) -> SessionTime:
        """Where this session's time went (the search overhead)."""
        assert self.proposer is not None
        return SessionTime(
            wall_s=time.monotonic() - self._session_start, slots=self.executor.slots, eval_s=self._eval_s,
            proposal_wait_s=self.proposer.waited_s, evaluations=self._session_done, propose_ahead=self.proposer.ahead,
            steady=utilisation_phases(self._spans, self.executor.slots, self._session_epoch)["steady"],
            strategy_cpu_s=self.proposer.strategy_cpu_s,
        )
