"""Proposals off the critical path: the strategy lives on one background thread.

The driver never calls the strategy itself during a search; it goes through a :class:`Proposer`.
For a strategy whose ``propose_ahead`` is true (BANAT: a proposal takes seconds), every call
(``observe``, ``propose``) runs on one daemon thread in the order the driver
made it, so the strategy stays a single-threaded object, and the driver asks for the next
proposal as soon as the workers are busy (:meth:`Proposer.prefetch`, with the evaluations in
flight as ``pending``: Kriging believer). When a worker is free the proposal is usually ready
and the worker restarts at once; otherwise the driver waits for it (:attr:`Proposer.waited_s`).

How many to compute ahead (:meth:`Proposer.ahead_count`): the workers take proposals at the rate
evaluations finish; a computation of q proposals takes the last call's time t. A new one starts
once fewer are ready than the workers will take during t (plus one), for about twice that many
(at least the driver's ``batch_size``, at most one per worker), with the evaluations in flight
and the proposals already ready as pending. A model-based strategy proposes a batch for little
more than one proposal (``surrogate/batch.py``), so large batches keep many workers busy.

A proposal computed ahead is only a proposal: nothing is stored until the driver takes it for a
worker (:meth:`Proposer.take`). Those never taken (a wall-time stop) are returned by
:meth:`Proposer.close` to be logged as discarded; the strategy keeps them as proposed, so they are
not proposed again in this session.

For a fast strategy (``propose_ahead`` false: random search, evolution, Hyperband) there is no
thread: the calls run directly in the driver, when a worker is free (the synchronous path).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from algebraic_nas.search.proposal import Proposal, Result
from algebraic_nas.search.strategies.base import Strategy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ready:
    """A proposal computed by the strategy and not yet handed to a worker.

    ``propose_time_s``: the strategy's time for it, in seconds (a batch's time shared evenly)."""

    proposal: Proposal
    propose_time_s: float


class StrategyThread:
    """One daemon thread running calls in submission order (a daemon: a proposal still being
    computed never keeps the interpreter alive after an interrupt)."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        """Queue ``fn(*args, **kwargs)``; its future holds the value or the exception."""
        future: Future = Future()
        self._calls.put((future, fn, args, kwargs))
        return future

    def _loop(self) -> None:
        while True:
            item = self._calls.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(exc)

    def close(self, wait: bool = True) -> None:
        """Stop after the calls queued so far (``wait``: until they ran)."""
        self._calls.put(None)
        if wait:
            self._thread.join()


def _timed_propose(proposer: "Proposer", pending: list[Proposal], n: int) -> list[Ready]:
    t0, c0 = time.perf_counter(), time.thread_time()
    proposals = proposer.strategy.propose(pending=pending, n=n)
    wall = time.perf_counter() - t0
    proposer.strategy_cpu_s += time.thread_time() - c0
    proposer.last_batch = (len(proposals), wall)
    each = wall / max(1, len(proposals))
    return [Ready(p, each) for p in proposals]


def _timed_observe(proposer: "Proposer", result: Result) -> None:
    c0 = time.thread_time()
    proposer.strategy.observe(result)
    proposer.strategy_cpu_s += time.thread_time() - c0


class Proposer:
    """The driver's access to the strategy.

    Args:
        strategy: the search strategy (owned by this object while the search runs).
        ahead: compute proposals on a background thread before a worker asks for them
            (default: the strategy's ``propose_ahead``).
        slots: the workers the proposals are for (the most computed ahead at once).
        batch_size: the fewest proposals computed ahead per strategy call.
    """

    def __init__(self, strategy: Strategy, ahead: Optional[bool] = None, slots: int = 1, batch_size: int = 1) -> None:
        self.strategy = strategy
        self.ahead = bool(getattr(strategy, "propose_ahead", False) if ahead is None else ahead)
        self.slots = max(1, int(slots))
        self.batch_size = max(1, int(batch_size))
        self._thread = StrategyThread(f"strategy-{strategy.name}") if self.ahead else None
        self._ready: list[Ready] = []
        self._computing: Optional[Future] = None  # proposals being computed ahead
        self._calls: list[Future] = []  # observe calls not yet known to be done
        self.waited_s = 0.0  # time the driver waited for a proposal (with workers free)
        self.strategy_cpu_s = 0.0  # CPU time of the strategy's calls (its thread's)
        self.last_batch: tuple[int, float] = (0, 0.0)  # (proposals, wall seconds) of the last propose call
        self._finished_at: deque = deque(maxlen=max(8, 2 * self.slots))  # when recent evaluations finished

    def _run(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn`` on the strategy thread (ahead) or now (synchronous); returns a done or
        pending future."""
        if self._thread is not None:
            return self._thread.call(fn, *args)
        future: Future = Future()
        future.set_result(fn(*args))  # an exception propagates at once, as without a proposer
        return future

    def _check(self) -> None:
        """Re-raise the first exception of an earlier observe call."""
        still = []
        for f in self._calls:
            if f.done():
                f.result()
            else:
                still.append(f)
        self._calls = still

    def observe(self, result: Result) -> None:
        """Tell the strategy an evaluation finished (queued behind any proposal in progress)."""
        self._check()
        self._finished_at.append(time.monotonic())
        self._calls.append(self._run(_timed_observe, self, result))

    @property
    def n_ready(self) -> int:
        """Proposals computed and not yet taken."""
        return len(self._ready)

    def expected_takes(self) -> float:
        """Proposals the workers will take while the next batch is computed: the recent rate of
        finished evaluations (per second) times the last propose call's wall time (0 before
        either is known)."""
        times = self._finished_at
        if len(times) < 3 or times[-1] <= times[0]:
            return 0.0
        rate = (len(times) - 1) / (times[-1] - times[0])
        return rate * self.last_batch[1]

    def low_water(self) -> int:
        """Below this many ready proposals a new computation starts: the workers' expected
        takes during one computation, plus one (1 before the rates are known)."""
        return math.ceil(self.expected_takes()) + 1

    def ahead_count(self, limit: Optional[int] = None) -> int:
        """How many proposals to compute ahead now (0: none): once fewer are ready than the
        workers will take during one computation (plus one), enough for about two computations'
        worth, at least ``batch_size``, at most ``slots`` and ``limit`` (what the budget still
        allows beyond the ready ones)."""
        f = self.expected_takes()
        if self.n_ready >= self.low_water():
            return 0
        n = max(self.batch_size, math.ceil(2 * f) + 1 - self.n_ready)
        n = min(n, self.slots)
        return n if limit is None else max(0, min(n, limit))

    def prefetch(self, pending: Sequence[Proposal], n: int) -> bool:
        """Start computing ``n`` proposals on the background thread, with ``pending`` (the
        evaluations in flight, and the proposals ready) as pending; nothing happens without
        ``ahead``, with ``n < 1``, while proposals are being computed or while at least
        :meth:`low_water` are ready. Returns whether it started."""
        if not self.ahead or n < 1 or self._computing is not None or self.n_ready >= self.low_water():
            return False
        self._check()
        known = list(pending) + [r.proposal for r in self._ready]
        self._computing = self._run(_timed_propose, self, known, int(n))
        return True

    def take(self, pending: Sequence[Proposal], n: int) -> list[Ready]:
        """Up to ``n`` proposals for free workers: those computed ahead first (waiting for the
        computation in progress only if too few are ready), the rest computed now in one
        strategy call. ``pending``: the evaluations in flight. The strategy's exceptions propagate."""
        self._check()
        t0 = time.perf_counter()
        if self._computing is not None and (len(self._ready) < n or self._computing.done()):
            computing, self._computing = self._computing, None
            self._ready.extend(computing.result())
        out, self._ready = self._ready[:n], self._ready[n:]
        if len(out) < n:
            known = list(pending) + [r.proposal for r in out + self._ready]
            out += self._run(_timed_propose, self, known, n - len(out)).result()
        self.waited_s += time.perf_counter() - t0
        self._check()  # the calls queued before these proposals have run by now
        return out

    def close(self, wait: bool = True) -> list[Proposal]:
        """Stop the background thread (``wait``: after the queued calls, a proposal in progress
        included, have run) and return the proposals computed and never taken (discarded)."""
        unused = [r.proposal for r in self._ready]
        self._ready = []
        computing, self._computing = self._computing, None
        if self._thread is not None:
            self._thread.close(wait=wait)
            self._thread = None
        if computing is not None and computing.done() and computing.exception() is None:
            unused += [r.proposal for r in computing.result()]
        if wait:
            self._check()
        return unused
