"""The asynchronous driver with the in-process executor on a synthetic objective."""

from __future__ import annotations

import time

import pytest

from algebraic_nas.search.driver import Budget, Driver
from algebraic_nas.search.executors import Executor, InProcessExecutor
from algebraic_nas.search.store import Store
from algebraic_nas.search.strategies import RandomSearch, RegularizedEvolution
from algebraic_nas.search.worker import EvaluationTask, run_task
from search_fakes import ToyGrammar, toy_error

SETTINGS = EvaluationTask(grammar="toy8", dataset="none", protocol={"name": "quick"},
                              function="search_fakes:toy_evaluate")


def run(tmp_path, budget, strategy=None, executor=None, settings=SETTINGS, seed=0):
    g = ToyGrammar()
    strategy = strategy or RandomSearch(g, seed=seed)
    with Store(tmp_path) as store:
        return Driver(g, strategy, executor or InProcessExecutor(), store, settings, budget).run(), strategy


def test_runs_the_budget_and_stores_everything(tmp_path):
    result, strategy = run(tmp_path, Budget(evaluations=12))
    with Store(tmp_path, readonly=True) as s:
        rows = s.rows()
    assert len(rows) == 12 and all(r.finished for r in rows)
    assert len({r.term for r in rows}) == 12
    assert result.best.valid_error == min(r.valid_error for r in rows if r.status == "done")
    assert all(r.valid_error == pytest.approx(toy_error(r.term)) for r in rows if r.status == "done")
    assert len(strategy.observations) == 12


def test_a_failing_evaluation_does_not_stop_the_search(tmp_path):
    # evolution around S(d, d, ...) terms: the objective raises for them
    g = ToyGrammar()
    strategy = RegularizedEvolution(g, population_size=4, sample_size=2, seed=0)
    from search_fakes import make

    strategy.observe(make("ddaaaaaa"), {"outcome": "ok", "valid_error": 0.01})  # a good parent to mutate
    budget = Budget(evaluations=20)
    settings = EvaluationTask(grammar="toy8", function="search_fakes:toy_evaluate")
    with Store(tmp_path) as store:
        # the failing terms are proposed as re-queued rows, so they are certain to be evaluated
        for w in ("ddbbbbbb", "ddcccccc"):
            store.add(str(make(w)), "manual")
        result = Driver(g, strategy, InProcessExecutor(), store, settings, budget).run()
        rows = store.rows()
    failed = [r for r in rows if r.status == "failed"]
    assert len(failed) >= 2 and all("synthetic failure" in r.error for r in failed)
    assert result.counts["done"] + result.counts["failed"] == 20
    assert any(o.failed for o in strategy.observations)


def test_run_task_turns_exceptions_into_failed_records():
    rec = run_task(EvaluationTask(eval_id=3, term="S(d, d, a, a, a, a, a, a)", grammar="toy8",
                                  function="search_fakes:toy_evaluate"))
    assert rec["outcome"] == "failed" and "RuntimeError: synthetic failure" in rec["reason"]
    assert rec["eval_id"] == 3 and rec["worker"]
    rec = run_task(EvaluationTask(eval_id=4, term="x", grammar="toy8", function="no.such.module:f"))
    assert rec["outcome"] == "failed" and "ModuleNotFoundError" in rec["reason"]


def test_resume_keeps_finished_and_reevaluates_unfinished(tmp_path):
    run(tmp_path, Budget(evaluations=5))
    with Store(tmp_path) as s:  # simulate a crash: two proposals lost while running / pending
        before = {r.id: (r.term, r.valid_error, r.finished_at) for r in s.rows()}
        lost = [s.add("S(b, b, b, b, b, b, b, b)", "random"), s.add("S(c, c, c, c, c, c, c, c)", "random")]
        s.mark_running(lost[0])
    result, strategy = run(tmp_path, Budget(evaluations=9), seed=1)
    with Store(tmp_path, readonly=True) as s:
        rows = {r.id: r for r in s.rows()}
    assert all((rows[i].term, rows[i].valid_error, rows[i].finished_at) == v for i, v in before.items())
    assert all(rows[i].status == "done" for i in lost)
    assert rows[lost[0]].attempts == 2
    assert len(rows) == 9 and result.evaluations_this_session == 4
    # the strategy saw the earlier evaluations: no duplicates across sessions
    assert len({r.term for r in rows.values()}) == 9
    assert len(strategy.observations) == 9


def test_resume_refuses_different_evaluation_settings(tmp_path):
    run(tmp_path, Budget(evaluations=2))
    other = EvaluationTask(grammar="toy8", dataset="other", function="search_fakes:toy_evaluate")
    with pytest.raises(ValueError, match="dataset"):
        run(tmp_path, Budget(evaluations=3), settings=other)


class ThreadedExecutor(Executor):
    """Two slots, evaluations finishing out of order (checks the asynchronous refill): an even id
    is held until the driver has submitted the evaluation after next (so it has recorded the odd
    one started beside it and refilled), or waits for it as the last one in flight. The order is
    waited for, not left to sleep lengths: a starved driver (mutation testing at load 25) saw
    0.5 s against 0.05 s come back in id order."""

    def __init__(self):
        import threading
        from concurrent.futures import ThreadPoolExecutor

        self.slots = 2
        self.pool = ThreadPoolExecutor(2)
        self.futures = {}
        self.max_in_flight = 0
        self.cond = threading.Condition()
        self.submitted = 0  # the highest eval id submitted
        self.released = False  # the driver waits for the last evaluations, or cancelled them

    def _hold(self, eval_id: int) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.submitted > eval_id + 1 or self.released, timeout=30)

    def submit(self, task):
        def job():
            time.sleep(0.05)
            if task.eval_id % 2 == 0:
                self._hold(task.eval_id)
            return run_task(task)

        with self.cond:
            self.submitted = max(self.submitted, task.eval_id)
            self.cond.notify_all()
        self.futures[self.pool.submit(job)] = task
        self.max_in_flight = max(self.max_in_flight, len(self.futures))

    def _release(self) -> None:
        with self.cond:
            self.released = True
            self.cond.notify_all()

    def wait(self, timeout=None):
        from concurrent.futures import FIRST_COMPLETED, wait

        if len(self.futures) <= 1:  # the driver refills before it waits: nothing more will come
            self._release()
        done, _ = wait(list(self.futures), timeout=timeout, return_when=FIRST_COMPLETED)
        return [(self.futures.pop(f), f.result()) for f in done]

    def in_flight(self):
        return len(self.futures)

    def cancel_all(self):
        tasks = list(self.futures.values())
        self.futures.clear()
        self._release()
        return tasks

    def close(self):
        self.pool.shutdown()


def test_asynchronous_refill_keeps_every_slot_busy(tmp_path):
    ex = ThreadedExecutor()
    proposals = []
    g = ToyGrammar()

    class Spy(RandomSearch):
        def propose(self, pending=(), n=1):
            proposals.append((len(pending), n))
            return super().propose(pending, n)

    run(tmp_path, Budget(evaluations=10), strategy=Spy(g), executor=ex)
    ex.close()
    assert ex.max_in_flight == 2
    # one strategy call asks for a proposal per free worker, with the busy ones' proposals pending
    # (at the start both workers at once; then mostly one finishes while the other is busy)
    # (never more than the two slots; the last one may ask for fewer: the budget is nearly spent)
    assert proposals[0] == (0, 2) and all(n >= 1 and p + n <= 2 for p, n in proposals)
    assert sum(n for _, n in proposals) == 10
    assert proposals.count((1, 1)) >= len(proposals) // 2
    with Store(tmp_path, readonly=True) as s:
        rows = s.rows(order="finished")
    assert [r.id for r in rows] != sorted(r.id for r in rows)  # finished out of order


def test_wall_time_budget_stops_and_leaves_abandoned_work_pending(tmp_path):
    settings = EvaluationTask(grammar="toy8", function="search_fakes:slow_toy_evaluate")
    ex = ThreadedExecutor()
    t0 = time.monotonic()
    # the first evaluation also pays the imports: measured on 2 loaded cores, a 1 s budget ended
    # with nothing done (1.1 s), a 2 s budget with 8 done and 2 abandoned (2.4 s)
    run(tmp_path, Budget(wall_time_s=3.0), executor=ex, settings=settings)
    ex.close()
    assert time.monotonic() - t0 < 3.0 + 3.0  # stopped: without the budget it would never end
    with Store(tmp_path, readonly=True) as s:
        statuses = [r.status for r in s.rows()]
    assert "done" in statuses and "running" not in statuses
