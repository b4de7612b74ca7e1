"""The Dask worker preload of batch jobs (``dask worker --preload algebraic_nas.search.executors.preload``).

* At start, each worker process of a job keeps only its own GPU visible
  (``evaluation.devices.bind_worker_gpu``), before CUDA is initialised.
* At close, a worker still running an evaluation exits at once. Dask would otherwise wait for
  the evaluation to finish (``executor_wait``), and a worker whose driver was killed would keep
  its job, and the GPU, busy for up to an evaluation's length. Whatever ran there is of no use
  any more: the driver is gone (it re-queues unfinished evaluations when resumed), or, when the
  job was cancelled or preempted, the scheduler has already handed the evaluation to another
  worker. The nanny was told to close before this runs, so the process is not restarted.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from algebraic_nas.evaluation.devices import bind_worker_gpu

log = logging.getLogger(__name__)


def dask_setup(worker: Any) -> None:
    """Called by Dask in the worker process when it starts."""
    gpu = bind_worker_gpu(str(worker.name))
    if gpu is not None:
        log.info("worker %s uses GPU %s", worker.name, gpu)


def dask_teardown(worker: Any) -> None:
    """Called by Dask while the worker closes (after it told its nanny to close)."""
    executing = getattr(getattr(worker, "state", None), "executing_count", 0)
    if executing:
        log.warning("worker %s closes with %d evaluation(s) running: exiting now", worker.name, executing)
        logging.shutdown()
        os._exit(0)
