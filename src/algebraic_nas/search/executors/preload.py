"""The Dask worker preload of batch jobs (``dask worker --preload algebraic_nas.search.executors.preload``):
before any evaluation, each worker process of a job keeps only its own GPU visible
(``evaluation.devices.bind_worker_gpu``)."""

from __future__ import annotations

import logging
from typing import Any

from algebraic_nas.evaluation.devices import bind_worker_gpu

log = logging.getLogger(__name__)


def dask_setup(worker: Any) -> None:
    """Called by Dask in the worker process when it starts."""
    gpu = bind_worker_gpu(str(worker.name))
    if gpu is not None:
        log.info("worker %s uses GPU %s", worker.name, gpu)
