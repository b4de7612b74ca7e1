"""Batch-system executors through dask-jobqueue: the settings shared by ``executor=slurm`` and
``executor=pbs``, the job's shape, and the cluster handed to :class:`DaskExecutor`.

The driver (and the Dask scheduler inside it) stays on the login/submit node; every job runs
``workers_per_job`` single-threaded Dask workers, each one evaluation at a time:

* with GPUs (``gpus_per_job`` = G): G x ``evaluations_per_gpu`` workers, each bound to one of the
  job's GPUs at start (``evaluation.devices.bind_worker_gpu``, through the worker preload
  ``algebraic_nas.search.executors.preload``);
* without: one worker per core (``cores // threads``).

The number of jobs is ``jobs``, or ``ceil(n_workers / workers_per_job)``, or adaptive between
``adaptive_min_jobs`` and ``adaptive_max_jobs``. A worker that loses its scheduler exits, also
in the middle of an evaluation (see ``preload.py``; one that cannot reach it gives up after
``death_timeout_s``), and so does its job: a driver killed with ``kill -9`` leaves no job running. A job that is cancelled or preempted loses its workers; Dask runs their
evaluations again on the other workers (and on replacements in adaptive mode).

Scheduler, workers and client talk TLS with mutual authentication unless ``tls`` is false
(``tls.py``: a temporary certificate per search, or the user's); the HTTP servers of scheduler
and workers listen on loopback only, the dashboard is served only with ``dashboard_port``.
"""

from __future__ import annotations

import logging
import math
import os
import shlex
import time
from dataclasses import dataclass, field
from typing import Any, List, Optional

from algebraic_nas.errors import ConfigError
from algebraic_nas.evaluation.devices import HEADROOM_ENV, PER_GPU_ENV, WORKERS_PER_JOB_ENV
from algebraic_nas.search.config.plugins import ENV_VAR as PLUGINS_ENV
from algebraic_nas.search.executors.jobspec import batch_memory, python_lines, walltime_hms
from algebraic_nas.search.executors.tls import SearchSecurity, placeholder_security, scheduler_http

log = logging.getLogger(__name__)

PRELOAD = "algebraic_nas.search.executors.preload"
PLACEHOLDER_SCHEDULER = "SCHEDULER:8786"  # in a printed job script: the driver fills it in


@dataclass
class JobQueueConfig:
    """A batch job of Dask workers (SLURM or PBS), all settings per job:

    ``queue``: partition (SLURM) / queue (PBS) (null: the site's default); ``account``: charged
    account (null: none); ``cores`` booked; ``memory`` booked (``"16GB"``); ``walltime``
    (``"HH:MM:SS"``; a job ends at it, its running evaluations run again elsewhere);
    ``gpus_per_job`` (0: CPU only); ``evaluations_per_gpu``: workers sharing one GPU;
    ``gpu_headroom_mb``: free GPU memory a shared evaluation needs to start beside others (less:
    it waits and runs alone); ``jobs``: a fixed number of jobs (null: ``n_workers`` / workers per
    job, rounded up); ``adaptive_min_jobs`` / ``adaptive_max_jobs``: scale between them with the
    queue of evaluations instead (both set, minimum >= 1); ``death_timeout_s``: a worker without its scheduler
    this long exits, ending its job; ``start_timeout_s``: how long to wait for the first worker
    (queueing included); ``job_directives``: extra directive lines without the prefix
    (``["--constraint=a100"]`` for SLURM, ``["-l place=scatter"]`` for PBS); ``prologue``: shell
    lines before the workers start (``["module load cuda", "source ~/venv/bin/activate"]``);
    ``python``: the interpreter on the compute nodes (null: this one); ``interface``: the network
    interface of workers and scheduler (``"ib0"``; null: the default route); ``local_directory``:
    worker scratch space; ``log_directory``: where job output goes (null: the batch system's
    default, the submit directory; created 0700); ``threads``: torch threads per evaluation (null: 1);
    ``tls``: TLS with mutual authentication between driver and workers (default; false: plain
    TCP, reachable by every job on the cluster); ``tls_ca_file`` / ``tls_cert`` / ``tls_key``:
    your PEM files (null: a temporary certificate per search, written 0600 into a 0700
    directory inside ``tls_directory``, null: the run directory, and deleted at the end);
    ``dashboard_port``: serve Dask's dashboard on 127.0.0.1:PORT (null: none; reach it through
    an SSH tunnel)."""

    queue: Optional[str] = None
    account: Optional[str] = None
    cores: int = 1
    memory: str = "4GB"
    walltime: str = "01:00:00"
    gpus_per_job: int = 0
    evaluations_per_gpu: int = 1
    gpu_headroom_mb: float = 2048.0
    jobs: Optional[int] = None
    adaptive_min_jobs: Optional[int] = None
    adaptive_max_jobs: Optional[int] = None
    death_timeout_s: float = 60.0
    start_timeout_s: float = 600.0
    job_directives: List[str] = field(default_factory=list)
    prologue: List[str] = field(default_factory=list)
    python: Optional[str] = None
    interface: Optional[str] = None
    local_directory: Optional[str] = None
    log_directory: Optional[str] = None
    threads: Optional[int] = None
    tls: bool = True
    tls_ca_file: Optional[str] = None
    tls_cert: Optional[str] = None
    tls_key: Optional[str] = None
    tls_directory: Optional[str] = None
    dashboard_port: Optional[int] = None


def _positive_int(key: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"executor.{key}={value!r}: must be an integer >= {minimum}")
    return value


def workers_per_job(config: JobQueueConfig) -> int:
    """Dask workers (evaluation slots) per job: GPUs x evaluations per GPU, else cores / threads."""
    gpus = _positive_int("gpus_per_job", config.gpus_per_job, 0)
    per_gpu = _positive_int("evaluations_per_gpu", config.evaluations_per_gpu)
    cores = _positive_int("cores", config.cores)
    if gpus:
        return gpus * per_gpu
    threads = _positive_int("threads", config.threads) if config.threads is not None else 1
    if threads > cores:
        raise ConfigError(f"executor.threads={threads}: more than executor.cores={cores} booked per job")
    return cores // threads


def job_counts(config: JobQueueConfig, n_workers: int) -> tuple[Optional[int], Optional[tuple[int, int]], int]:
    """``(jobs, adaptive (min, max) or None, evaluation slots)`` for ``n_workers`` requested."""
    per_job = workers_per_job(config)
    lo, hi = config.adaptive_min_jobs, config.adaptive_max_jobs
    if (lo is None) != (hi is None):
        raise ConfigError("executor.adaptive_min_jobs and executor.adaptive_max_jobs: set both (adaptive) or neither")
    if lo is not None:
        if config.jobs is not None:
            raise ConfigError(f"executor.jobs={config.jobs}: set either jobs or adaptive_min_jobs/adaptive_max_jobs")
        _positive_int("adaptive_min_jobs", lo, 1)  # the search always has work: at least one job
        if _positive_int("adaptive_max_jobs", hi) < lo:
            raise ConfigError(f"executor.adaptive_max_jobs={hi}: less than adaptive_min_jobs={lo}")
        return None, (lo, hi), hi * per_job
    if config.jobs is not None:
        jobs = _positive_int("jobs", config.jobs)
        return jobs, None, jobs * per_job
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ConfigError(f"n_workers={n_workers!r}: must be an integer >= 1 (or set executor.jobs)")
    return math.ceil(n_workers / per_job), None, n_workers


def _worker_environment(config: JobQueueConfig) -> list[str]:
    """Prologue lines: what each worker of the job needs to know (GPU sharing, its plugins)."""
    env = {
        WORKERS_PER_JOB_ENV: str(workers_per_job(config)),
        PER_GPU_ENV: str(config.evaluations_per_gpu),
        HEADROOM_ENV: str(config.gpu_headroom_mb),
        "OMP_NUM_THREADS": str(config.threads or 1),
    }
    for name in (PLUGINS_ENV, "PYTHONPATH"):  # PBS does not export the submitter's environment
        if os.environ.get(name):
            env[name] = os.environ[name]
    return [f"export {k}={shlex.quote(v)}" for k, v in env.items()]


def check_jobqueue(config: JobQueueConfig, n_workers: int, options: Any) -> None:
    """Every setting of a batch-system executor checked before a search writes anything
    (``options(config)`` builds the cluster's keyword arguments: GPU directive, death timeout)."""
    job_counts(config, n_workers)
    options(config)


def cluster_options(config: JobQueueConfig) -> dict[str, Any]:
    """Keyword arguments common to dask-jobqueue's cluster and job classes."""
    if config.death_timeout_s is None or float(config.death_timeout_s) <= 0:
        raise ConfigError(f"executor.death_timeout_s={config.death_timeout_s!r}: must be seconds > 0")
    port = config.dashboard_port
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536):
        raise ConfigError(f"executor.dashboard_port={port!r}: a TCP port (0: any free one) or null (no dashboard)")
    n = workers_per_job(config)
    python, choose_python = python_lines(config.python, list(config.prologue))
    options: dict[str, Any] = dict(
        cores=n,  # Dask threads in the job: one per worker process
        processes=n,
        memory=batch_memory(config.memory),  # 1024-based, as the batch systems count
        walltime=walltime_hms(config.walltime),
        account=config.account,
        queue=config.queue,
        death_timeout=float(config.death_timeout_s),
        job_extra_directives=list(config.job_directives),
        job_script_prologue=list(config.prologue) + choose_python + _worker_environment(config),
        # workers serve their HTTP diagnostics on loopback only
        worker_extra_args=["--preload", PRELOAD, "--dashboard-address", "127.0.0.1:0"],
        job_name="algebraic-nas",
        python=python,
        # the scheduler's HTTP server (always started by Dask) on loopback; the dashboard only when asked
        scheduler_options={"dashboard": port is not None,
                           "dashboard_address": f"127.0.0.1:{port if port is not None else 0}"},
    )
    for key in ("interface", "local_directory", "log_directory"):
        if getattr(config, key) is not None:
            options[key] = getattr(config, key)
    return options


def _recording(cluster_cls: type) -> type:
    """``cluster_cls`` whose jobs keep the error of a failed submission (dask-jobqueue only logs
    it, and the search would wait for workers that never come)."""
    failures: list[BaseException] = []

    class Job(cluster_cls.job_cls):  # type: ignore[name-defined]
        async def start(self) -> None:
            try:
                await super().start()
            except Exception as exc:
                failures.append(exc)
                raise

    return type(cluster_cls.__name__, (cluster_cls,), {"job_cls": Job, "submit_failures": failures})


def start_cluster(cluster_cls: type, options: dict[str, Any], jobs: Optional[int],
                  adaptive: Optional[tuple[int, int]]) -> Any:
    """A dask-jobqueue cluster (its scheduler in this process), scaled to ``jobs`` or adaptive;
    ``cluster.submit_failures`` collects the errors of job submissions that failed."""
    logging.getLogger("distributed").setLevel(logging.WARNING)
    cluster = _recording(cluster_cls)(**options)
    try:
        if adaptive is not None:
            cluster.adapt(minimum_jobs=adaptive[0], maximum_jobs=adaptive[1])
        else:
            cluster.scale(jobs=jobs)
    except Exception:
        close_cluster(cluster)
        raise
    return cluster


def close_cluster(cluster: Any) -> None:
    """Close ``cluster`` (cancelling its jobs), also when some of its jobs were never submitted."""
    try:
        cluster.close()
    except AssertionError:  # distributed asserts every job started; a failed submission did not
        log.debug("closing a cluster with jobs that were never submitted", exc_info=True)


def wait_for_first_worker(cluster: Any, client: Any, timeout: float) -> None:
    """Wait until a worker of ``cluster`` connects (queueing included); :class:`ConfigError` with
    the batch system's message as soon as a submission failed, ``TimeoutError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if cluster.submit_failures:
            raise ConfigError(f"submitting a {type(cluster).__name__} job failed: {cluster.submit_failures[0]}")
        try:
            client.wait_for_workers(1, timeout=min(1.0, max(0.01, deadline - time.monotonic())))
            return
        except TimeoutError:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"no worker of the {type(cluster).__name__} joined within executor.start_timeout_s={timeout:g} s "
                    "(jobs still queued? see squeue/qstat and the job logs)"
                ) from None


def make_jobqueue_executor(cluster_cls: type, options: dict[str, Any], config: JobQueueConfig, n_workers: int) -> Any:
    """A :class:`DaskExecutor` over a new dask-jobqueue cluster; closing the executor cancels the jobs."""
    from distributed import Client

    from algebraic_nas.search.executors.dask import DaskExecutor

    jobs, adaptive, slots = job_counts(config, n_workers)
    if config.log_directory:  # job logs name the scheduler and workers: the user's only
        os.makedirs(os.path.expanduser(config.log_directory), mode=0o700, exist_ok=True)
    security = SearchSecurity(config) if config.tls else None
    if security is not None:  # the scheduler listens on tls:// only; the job script names the files
        options = {**options, "security": security.security, "protocol": "tls://"}
        log.info("driver and workers use TLS (%s)", security.origin)
    else:
        log.warning("executor.tls=false: the scheduler listens on plain TCP; any job on the cluster that reaches it "
                    "can run code as you and read or alter the search's results")
    client = cluster = None
    try:
        with scheduler_http(config.dashboard_port):
            cluster = start_cluster(cluster_cls, options, jobs, adaptive)
        client = Client(cluster)
        wait_for_first_worker(cluster, client, float(config.start_timeout_s))
        if config.dashboard_port is not None:
            log.info("Dask dashboard: %s (local only; from another machine: ssh -L PORT:localhost:PORT)",
                     cluster.dashboard_link)
        return DaskExecutor(n_workers=slots, client=client, owns=True,
                            on_close=security.close if security is not None else None)
    except BaseException:
        if client is not None:
            client.close()
        if cluster is not None:
            close_cluster(cluster)
        if security is not None:
            security.close()
        raise


def job_script(job_cls: type, options: dict[str, Any], config: JobQueueConfig) -> str:
    """The job script a cluster with ``options`` would submit (scheduler address a placeholder;
    with TLS, the certificate files the workers are given: paths only, the driver writes a
    temporary certificate when the search starts)."""
    opts = {k: v for k, v in options.items() if k not in ("job_name", "scheduler_options")}
    if config.tls:
        opts.update(security=placeholder_security(config), protocol="tls://")
    scheduler = ("tls://" if config.tls else "tcp://") + PLACEHOLDER_SCHEDULER
    return job_cls(scheduler=scheduler, name="algebraic-nas", job_name=options.get("job_name"), **opts).job_script()
