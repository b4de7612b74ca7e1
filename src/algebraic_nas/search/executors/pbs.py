"""``executor=pbs``: Dask workers in PBS Pro / OpenPBS jobs (dask-jobqueue's ``PBSCluster``).

The job asks for one chunk, ``-l select=1:ncpus=C:mem=M[:ngpus=G]``, unless ``resource_spec``
is given (then exactly that); ``queue`` and ``account`` become ``-q`` and ``-A``. PBS does not
export the submitter's environment: put what the workers need (modules, the Python environment)
in ``prologue``; ``ALGEBRAIC_NAS_PLUGINS`` and ``PYTHONPATH`` are exported by the job itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from algebraic_nas.search.executors.jobqueue import (
    JobQueueConfig,
    cluster_options,
    job_script,
    make_jobqueue_executor,
)
from algebraic_nas.search.executors.jobspec import memory_figure


@dataclass
class PBSConfig(JobQueueConfig):
    """PBS: the settings of ``JobQueueConfig`` (``queue`` is the queue) plus ``resource_spec``
    (``-l`` resource line replacing the generated ``select=1:ncpus=..:mem=..:ngpus=..``)."""

    resource_spec: Optional[str] = None


def _pbs_memory(memory: str) -> str:
    amount, unit = memory_figure(memory)  # the user's figure, 1024-based as PBS counts: 32GB -> 32GB
    return f"{amount}{unit}B"


def pbs_options(config: PBSConfig) -> dict[str, Any]:
    """dask-jobqueue ``PBSCluster`` keyword arguments for ``config``."""
    options = cluster_options(config)
    spec = config.resource_spec
    if spec is None:
        cores = max(int(config.cores), options["processes"])  # at least one per worker
        spec = f"select=1:ncpus={cores}:mem={_pbs_memory(config.memory)}"
        if config.gpus_per_job:
            spec += f":ngpus={int(config.gpus_per_job)}"
    options["resource_spec"] = spec
    return options


def pbs_executor(config: PBSConfig, n_workers: int) -> Any:
    from dask_jobqueue import PBSCluster

    return make_jobqueue_executor(PBSCluster, pbs_options(config), config, n_workers)


def pbs_script(config: PBSConfig) -> str:
    from dask_jobqueue.pbs import PBSJob

    return job_script(PBSJob, pbs_options(config), config)
