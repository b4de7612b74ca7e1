"""Search: the run's configuration (``config/``: composed by Hydra, checked once into a
``RunConfig``), proposals and results (``Proposal``, ``Result``), strategies (a registry: random
search, regularized evolution, BANAT, Hyperband, BOHB), the asynchronous driver, the SQLite
results store and the executors (a registry).

    python -m algebraic_nas.search grammar=hnb201 strategy=banat n_workers=2
    algebraic-nas report RUN_DIR

From Python::

    from algebraic_nas.search import check_config, run_search
    rc = check_config({"grammar": {"name": "hnb201"}, ...})   # a RunConfig, or a ConfigError naming the key
    run_search(rc, "runs/a")                                  # (run_search also takes the dict itself)
"""

import importlib
from typing import Any

# Imported on first use, so that a light module of the package (config.plugins, config.settings)
# imports without the driver, the executors (Dask) and the strategies (torch): the grammar
# commands of the CLI load plugins and stay torch-free.
_EXPORTS = {
    "Budget": "driver", "Driver": "driver", "SearchResult": "driver",
    "DaskExecutor": "executors", "Executor": "executors", "InProcessExecutor": "executors",
    "list_executors": "executors", "make_executor": "executors", "register_executor": "executors",
    "OBJECTIVES": "proposal", "Proposal": "proposal", "Result": "proposal",
    "Row": "store", "Store": "store",
    "BANAT": "strategies", "RandomSearch": "strategies", "RegularizedEvolution": "strategies", "Strategy": "strategies",
    "list_strategies": "strategies", "make_strategy": "strategies", "register_strategy": "strategies",
    "EvaluationTask": "worker", "run_task": "worker",
    "RunConfig": "config.run_config", "check_config": "config.run_config",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run_search(*args, **kwargs):
    """See :func:`algebraic_nas.search.runner.run_search`."""
    from algebraic_nas.search.runner import run_search as _run

    return _run(*args, **kwargs)


__all__ = [
    "BANAT", "Budget", "DaskExecutor", "Driver", "EvaluationTask", "Executor", "InProcessExecutor", "OBJECTIVES",
    "Proposal", "RandomSearch", "RegularizedEvolution", "Result", "Row", "RunConfig", "SearchResult", "Store", "Strategy",
    "check_config",
    "list_executors", "list_strategies", "make_executor", "make_strategy", "register_executor", "register_strategy",
    "run_search", "run_task",
]
