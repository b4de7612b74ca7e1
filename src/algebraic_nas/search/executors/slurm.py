"""``executor=slurm``: Dask workers in SLURM jobs (dask-jobqueue's ``SLURMCluster``).

GPUs are requested per job as ``--gres=gpu[:TYPE]:G`` (``gpu_directive: gres``, the default),
``--gpus-per-task=[TYPE:]G`` (``gpus-per-task``; the job is one task) or ``--gpus=[TYPE:]G``
(``gpus``); SLURM sets ``CUDA_VISIBLE_DEVICES`` in the job and the job's workers split those GPUs.
``cores`` are booked with ``--cpus-per-task``; the other settings are :class:`JobQueueConfig`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.executors.jobqueue import (
    JobQueueConfig,
    cluster_options,
    job_script,
    make_jobqueue_executor,
)
from algebraic_nas.search.executors.jobspec import memory_figure

GPU_DIRECTIVES = ("gres", "gpus-per-task", "gpus")


@dataclass
class SlurmConfig(JobQueueConfig):
    """SLURM: the settings of ``JobQueueConfig`` (``queue`` is the partition) plus
    ``gpu_directive`` (``gres`` | ``gpus-per-task`` | ``gpus``: how ``gpus_per_job`` is asked
    for) and ``gpu_type`` (``"a100"``: that GPU model; null: any)."""

    gpu_directive: str = "gres"
    gpu_type: Optional[str] = None


def gpu_directive(config: SlurmConfig) -> Optional[str]:
    """The ``#SBATCH`` option asking for the job's GPUs (``None`` without GPUs)."""
    if not config.gpus_per_job:
        return None
    n, t = int(config.gpus_per_job), config.gpu_type
    if config.gpu_directive == "gres":
        return f"--gres=gpu:{t}:{n}" if t else f"--gres=gpu:{n}"
    if config.gpu_directive in ("gpus-per-task", "gpus"):
        return f"--{config.gpu_directive}={t}:{n}" if t else f"--{config.gpu_directive}={n}"
    raise ConfigError(f"executor.gpu_directive={config.gpu_directive!r}: must be one of {', '.join(GPU_DIRECTIVES)}")


def slurm_options(config: SlurmConfig) -> dict[str, Any]:
    """dask-jobqueue ``SLURMCluster`` keyword arguments for ``config``."""
    options = cluster_options(config)
    # booked cores, at least one per worker (Dask's own `cores` is the worker count)
    options["job_cpu"] = max(int(config.cores), options["processes"])
    options["job_mem"] = "".join(map(str, memory_figure(config.memory)))  # the user's figure: 32GB -> 32G
    gpu = gpu_directive(config)
    if gpu is not None:
        options["job_extra_directives"] = [gpu] + options["job_extra_directives"]
    return options


def slurm_executor(config: SlurmConfig, n_workers: int) -> Any:
    from dask_jobqueue import SLURMCluster

    return make_jobqueue_executor(SLURMCluster, slurm_options(config), config, n_workers)


def slurm_script(config: SlurmConfig) -> str:
    from dask_jobqueue.slurm import SLURMJob

    return job_script(SLURMJob, slurm_options(config), config)
