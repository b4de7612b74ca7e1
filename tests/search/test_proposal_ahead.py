"""Proposer: how many proposals it computes ahead, and that ready ones are handed out without
waiting for the computation in progress."""

from __future__ import annotations

import threading

from algebraic_nas.grammar.term import Term
from algebraic_nas.search.proposal import Proposal, Result
from algebraic_nas.search.proposer import Proposer
from algebraic_nas.search.strategies.base import Strategy


class CountingStrategy(Strategy):
    """Proposes leaf terms t0, t1, ...; a call blocks while ``gate`` is cleared."""

    name = "counting"
    propose_ahead = True

    def __init__(self) -> None:
        super().__init__(grammar=None)
        self.gate = threading.Event()
        self.gate.set()
        self.calls: list[tuple[int, int]] = []  # (n asked, pending given)

    def propose(self, pending=(), n=1):
        self.gate.wait(10)
        self.calls.append((n, len(pending)))
        return [self._made(Term("S", 0, f"t{self.n_proposed}")) for _ in range(n)]


def test_ahead_count_follows_finish_rate_and_batch_time():
    p = Proposer(CountingStrategy(), slots=16, batch_size=2)
    try:
        assert p.expected_takes() == 0.0 and p.low_water() == 1
        assert p.ahead_count() == 2  # nothing known: the batch size
        p._finished_at.extend([0.1 * k for k in range(11)])  # 10 evaluations finished per second
        p.last_batch = (4, 0.5)  # the last call took 0.5 s: 5 proposals taken meanwhile
        assert p.low_water() == 6
        assert p.ahead_count() == 11  # about two calls' worth
        assert p.ahead_count(limit=3) == 3  # the budget
        p.last_batch = (4, 5.0)
        assert p.ahead_count() == 16  # never more than one per worker
    finally:
        p.close()


def test_take_hands_out_ready_proposals_while_the_next_batch_is_computed():
    s = CountingStrategy()
    p = Proposer(s, slots=4)
    try:
        assert p.prefetch([], 3)
        first = p.take([], 1)  # waits for the computation: nothing was ready
        assert len(first) == 1 and p.n_ready == 2
        s.gate.clear()  # the next computation blocks
        p._finished_at.extend([0.0, 0.1, 0.2, 0.3])  # fast finishes: the low-water mark rises above 2
        p.last_batch = (3, 1.0)
        assert p.prefetch([first[0].proposal], 2)
        got = p.take([], 2)  # the two ready ones, without waiting for the blocked computation
        assert [str(r.proposal.term) for r in got] == ["t1", "t2"]
        s.gate.set()
        more = p.take([], 1)
        assert len(more) == 1 and str(more[0].proposal.term) == "t3"
        # the blocked computation saw the proposal in flight and the two ready ones as pending
        assert s.calls[1] == (2, 3)
        p.observe(Result(first[0].proposal, {"outcome": "ok", "valid_error": 0.5}))
    finally:
        p.close()
    assert p.strategy_cpu_s > 0.0
