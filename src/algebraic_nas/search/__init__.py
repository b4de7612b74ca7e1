"""Search: proposals and results (``Proposal``, ``Result``), strategies (a registry: random
search, regularized evolution, BANAT), acquisition, the asynchronous driver, the SQLite results
store and the executors (a registry).

    python -m algebraic_nas.search grammar=hnb201 strategy=banat n_workers=2
    algebraic-nas report RUN_DIR

From Python::

    from algebraic_nas.search import run_search
    run_search({"grammar": {"name": "hnb201"}, ...}, "runs/a")
"""

from algebraic_nas.search.driver import Budget, Driver, SearchResult
from algebraic_nas.search.executors import (
    DaskExecutor,
    Executor,
    InProcessExecutor,
    list_executors,
    make_executor,
    register_executor,
)
from algebraic_nas.search.proposal import OBJECTIVES, Proposal, Result
from algebraic_nas.search.store import Row, Store
from algebraic_nas.search.strategies import (
    BANAT,
    RandomSearch,
    RegularizedEvolution,
    Strategy,
    list_strategies,
    make_strategy,
    register_strategy,
)
from algebraic_nas.search.worker import EvaluationTask, run_task


def run_search(*args, **kwargs):
    """See :func:`algebraic_nas.search.runner.run_search`."""
    from algebraic_nas.search.runner import run_search as _run

    return _run(*args, **kwargs)


__all__ = [
    "BANAT", "Budget", "DaskExecutor", "Driver", "EvaluationTask", "Executor", "InProcessExecutor", "OBJECTIVES",
    "Proposal", "RandomSearch", "RegularizedEvolution", "Result", "Row", "SearchResult", "Store", "Strategy",
    "list_executors", "list_strategies", "make_executor", "make_strategy", "register_executor", "register_strategy",
    "run_search", "run_task",
]
