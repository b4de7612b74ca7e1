"""Proposals with a fidelity and results with objectives, end to end through the driver, the
store and the report (toy grammar, in-process executor)."""

from __future__ import annotations

import csv
import json
from typing import Sequence

from algebraic_nas.search.driver import Budget, Driver
from algebraic_nas.search.executors import InProcessExecutor
from algebraic_nas.search.proposal import Proposal, Result
from algebraic_nas.search.report import make_report
from algebraic_nas.search.store import Store
from algebraic_nas.search.strategies import RandomSearch
from algebraic_nas.search.worker import EvaluationTask, run_task
from search_fakes import ToyGrammar, make

SETTINGS = EvaluationTask(grammar="toy8", dataset="none", protocol={"name": "quick"}, overrides={"lr": 0.1},
                          function="search_fakes:fidelity_toy_evaluate")


def test_proposals_are_values_keyed_by_term_and_fidelity():
    t = make("aaaaaaaa")
    assert Proposal(t, {"epochs": 4}) == Proposal(t, {"epochs": 4})
    assert len({Proposal(t), Proposal(t, {}), Proposal(t, {"epochs": 4})}) == 2
    assert Proposal(t).key != Proposal(t, {"epochs": 4}).key and Proposal(t).full_fidelity


def test_a_result_carries_every_measured_objective():
    record = {"outcome": "ok", "valid_error": 0.2, "params": 10, "flops": 20, "latency_ms": 1.5,
              "peak_memory_mb": float("nan"), "test_error": 0.3}
    r = Result.from_record(make("aaaaaaab"), record)
    assert r.objectives == {"valid_error": 0.2, "params": 10, "flops": 20, "latency_ms": 1.5}
    assert r.error == 0.2 and not r.failed and r.proposal == Proposal(make("aaaaaaab"))
    failed = Result.from_record(Proposal(make("b" * 8)), {"outcome": "failed", "reason": "diverged", "params": 10})
    assert failed.failed and failed.error is None and failed.reason == "diverged"
    assert failed.objectives == {"params": 10}


def test_a_task_takes_its_fidelity_and_checkpoint_from_the_proposal():
    task = SETTINGS.for_proposal(7, Proposal(make("aaaaaaab"), {"epochs": 2}, checkpoint="/tmp/ckpt.pt"))
    assert task.eval_id == 7 and task.term == "S(a, a, a, a, a, a, a, b)"
    assert task.overrides == {"lr": 0.1, "epochs": 2} and SETTINGS.overrides == {"lr": 0.1}
    record = run_task(task)
    assert record["overrides"] == {"lr": 0.1, "epochs": 2} and record["checkpoint_in"] == "/tmp/ckpt.pt"


class TwoFidelities(RandomSearch):
    """Proposes each new term at 2 epochs, then the same term again at full fidelity."""

    def __init__(self, grammar):
        super().__init__(grammar, seed=0)
        self.results: list[Result] = []
        self._promote: list = []

    def propose(self, pending: Sequence = (), n: int = 1) -> list[Proposal]:
        out = []
        for _ in range(n):
            if self._promote:
                t = self._promote.pop(0)
                self.seen.add(Proposal(t).key)
                out.append(Proposal(t))
            else:
                self.fidelity = {"epochs": 2}
                out += super().propose(pending, 1)
                self.fidelity = {}
        return out

    def observe(self, result, record=None):
        super().observe(result, record)
        self.results.append(result)
        if result.fidelity:
            self._promote.append(result.term)


def test_the_same_term_runs_at_two_fidelities_and_the_best_is_named_at_full_fidelity(tmp_path):
    g = ToyGrammar()
    strategy = TwoFidelities(g)
    with Store(tmp_path) as store:
        Driver(g, strategy, InProcessExecutor(), store, SETTINGS, Budget(evaluations=6)).run()
        rows = store.rows()
    assert [r.fidelity for r in rows] == [{"epochs": 2}, {}] * 3
    assert [r.term for r in rows[0::2]] == [r.term for r in rows[1::2]]  # same term, two fidelities
    assert [r.result["overrides"] for r in rows[:2]] == [{"lr": 0.1, "epochs": 2}, {"lr": 0.1}]
    # the strategy observed results with objectives, at their fidelity
    assert [dict(r.fidelity) for r in strategy.results] == [{"epochs": 2}, {}] * 3
    assert all(set(r.objectives) == {"valid_error", "params", "flops", "latency_ms"} for r in strategy.results)

    info = make_report(tmp_path, draw=False)
    full = [r for r in rows if not r.fidelity and r.status == "done"]
    assert min(r.valid_error for r in rows if r.status == "done") < min(r.valid_error for r in full)  # low fidelity looks better
    assert info["best"]["id"] == min(full, key=lambda r: r.valid_error).id and info["best"]["fidelity"] == {}
    assert info["best"]["objectives"]["latency_ms"] == 1.5
    with open(tmp_path / "report" / "evaluations.csv") as f:
        lines = list(csv.DictReader(f))
    assert [json.loads(x["fidelity"]) for x in lines] == [{"epochs": 2}, {}] * 3
    assert {"latency_ms", "peak_memory_mb", "params", "flops"} <= set(lines[0]) and lines[0]["latency_ms"] == "1.5"


def test_resume_restores_proposals_with_their_fidelity(tmp_path):
    g = ToyGrammar()
    with Store(tmp_path) as store:
        lost = store.add(str(make("abababab")), "manual", fidelity={"epochs": 2})
        store.mark_running(lost)
    strategy = RandomSearch(g, seed=0)
    with Store(tmp_path) as store:
        Driver(g, strategy, InProcessExecutor(), store, SETTINGS, Budget(evaluations=2)).run()
        row = store.get(lost)
    assert row.status == "done" and row.result["overrides"] == {"lr": 0.1, "epochs": 2}
    # seen at 2 epochs, so the same term may still be proposed at full fidelity
    assert (make("abababab"), '{"epochs":2}') in strategy.seen and (make("abababab"), "{}") not in strategy.seen
