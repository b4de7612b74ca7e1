"""Search: strategies (random search, regularized evolution, BANAT), acquisition, the
asynchronous driver, the SQLite results store and the executors.

    python -m algebraic_nas.search grammar=hnb201 strategy=banat n_workers=2
    algebraic-nas report RUN_DIR

From Python::

    from algebraic_nas.search import run_search
    run_search({"grammar": {"name": "hnb201"}, ...}, "runs/a")
"""

from algebraic_nas.search.driver import Budget, Driver, EvaluationSettings, SearchResult
from algebraic_nas.search.executors import DaskExecutor, Executor, InProcessExecutor, make_executor
from algebraic_nas.search.store import Row, Store
from algebraic_nas.search.strategies import (
    BANAT,
    STRATEGIES,
    RandomSearch,
    RegularizedEvolution,
    Strategy,
    make_strategy,
)
from algebraic_nas.search.worker import EvaluationTask, run_task


def run_search(*args, **kwargs):
    """See :func:`algebraic_nas.search.runner.run_search`."""
    from algebraic_nas.search.runner import run_search as _run

    return _run(*args, **kwargs)


__all__ = [
    "BANAT", "Budget", "DaskExecutor", "Driver", "EvaluationSettings", "EvaluationTask", "Executor",
    "InProcessExecutor", "RandomSearch", "RegularizedEvolution", "Row", "STRATEGIES", "SearchResult", "Store",
    "Strategy", "make_executor", "make_strategy", "run_search", "run_task",
]
