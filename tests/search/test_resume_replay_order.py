"""On resume the driver replays the stored results into the strategy in the order they finished,
not the order they were proposed: regularized evolution ages its population by finishing order,
so a resumed search must see the same population as the one that was interrupted."""

from __future__ import annotations

import time

from algebraic_nas.search.driver import Budget, Driver
from algebraic_nas.search.executors import InProcessExecutor
from algebraic_nas.search.store import Store
from algebraic_nas.search.strategies import RegularizedEvolution
from algebraic_nas.search.worker import EvaluationTask
from search_fakes import ToyGrammar, make

SETTINGS = EvaluationTask(grammar="toy8", dataset="none", protocol={"name": "quick"},
                          function="search_fakes:toy_evaluate")


def test_resume_replays_results_in_finishing_order(tmp_path):
    words = ["aaaaaaaa", "bbbbbbbb", "cccccccc", "dddddddd", "abababab"]
    finish_order = [2, 0, 4, 1, 3]  # asynchronous workers: the third proposal finished first
    with Store(tmp_path) as store:
        ids = [store.add(str(make(w)), "evolution") for w in words]
        for k in finish_order:
            store.mark_running(ids[k])
        for k in finish_order:
            time.sleep(0.01)  # distinct finishing times
            record = {"outcome": "failed", "reason": "x"} if k == 1 else {"outcome": "ok", "valid_error": 0.1 * (k + 1)}
            store.finish(ids[k], record)
    g = ToyGrammar()
    strategy = RegularizedEvolution(g, population_size=3, sample_size=2, seed=0)
    with Store(tmp_path) as store:
        driver = Driver(g, strategy, InProcessExecutor(), store, SETTINGS, Budget(evaluations=5))
        assert driver.resume() == 5
    seen = [o.term for o in strategy.observations]
    assert seen == [make(words[k]) for k in finish_order]
    # the population is the three most recently *finished*: proposals 5, 2 (failed) and 4
    assert [o.term for o in strategy.population] == [make(words[k]) for k in (4, 1, 3)]
    assert [o.failed for o in strategy.population] == [False, True, False]
