"""Executors: where evaluations run (a registry of them: ``executors/registry.py``).

* :class:`InProcessExecutor` — one evaluation at a time in the driver's process;
* :class:`DaskExecutor` — Dask workers: a local cluster, a scheduler address, or an existing
  ``Client`` / cluster object passed in;
* ``slurm`` / ``pbs`` — Dask workers in batch jobs (``jobqueue.py``), over TLS (``tls.py``).

The run directory is made private to its user (``privacy.py``).
"""

from algebraic_nas.search.executors.base import Executor, Finished
from algebraic_nas.search.executors.dask import DaskExecutor, _local_cluster, visible_gpus
from algebraic_nas.search.executors.inprocess import InProcessExecutor
from algebraic_nas.search.executors.privacy import private_run_dir
from algebraic_nas.search.executors.registry import (
    DaskConfig,
    ExecutorEntry,
    InProcessConfig,
    auto_kind,
    executor_entries,
    get_executor,
    list_executors,
    make_executor,
    register_executor,
)

__all__ = [
    "DaskConfig", "DaskExecutor", "Executor", "ExecutorEntry", "Finished", "InProcessConfig", "InProcessExecutor",
    "auto_kind", "executor_entries", "get_executor", "list_executors", "make_executor",
    "private_run_dir", "register_executor", "visible_gpus", "_local_cluster",
]
