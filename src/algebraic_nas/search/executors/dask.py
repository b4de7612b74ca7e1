"""The Dask executor: evaluations on Dask workers.

Where the workers come from: a ``distributed.LocalCluster`` of N worker processes with one
thread each (one GPU each where GPUs exist, through ``CUDA_VISIBLE_DEVICES``) made here; an
existing scheduler given by its address; or an existing ``distributed.Client`` or cluster object
passed in (``LocalCluster``, ``dask_jobqueue.SLURMCluster``, ...: anything ``Client(cluster)``
accepts). Start external workers with one thread each (``--nthreads 1``) so that each runs one
evaluation at a time. Finished futures arrive through ``distributed.as_completed``, so the
driver refills a worker as soon as it is free. The executor closes only what it created.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional

from algebraic_nas.errors import ConfigError
from algebraic_nas.evaluation.devices import HEADROOM_ENV, PER_GPU_ENV, assign_gpus, visible_gpus
from algebraic_nas.search.executors.base import Executor, Finished
from algebraic_nas.search.executors.tls import scheduler_http
from algebraic_nas.search.worker import EvaluationTask, run_task

log = logging.getLogger(__name__)


def _local_cluster(n_workers: int, gpus: list[str], memory_limit: Any, silence_logs: int, per_gpu: int = 1,
                   headroom_mb: float = 0.0, dashboard_port: Optional[int] = None) -> Any:
    """A ``LocalCluster`` of ``n_workers`` single-threaded worker processes; worker i sees only
    GPU ``gpus[i % len(gpus)]`` (none when ``gpus`` is empty), up to ``per_gpu`` workers per GPU
    (``ConfigError`` when ``n_workers`` exceeds the GPU slots; see ``evaluation.devices``).
    Scheduler and workers listen on 127.0.0.1 only; the dashboard is served (on 127.0.0.1) only
    with a ``dashboard_port``."""
    from distributed import LocalCluster

    assign_gpus(n_workers, gpus, per_gpu)  # checks the GPU slots

    class _PerWorkerEnvCluster(LocalCluster):
        # LocalCluster gives every worker the same options; scale() asks new_worker_spec() for
        # each new worker, which is where each one gets its own CUDA_VISIBLE_DEVICES
        _gpus: list[str] = []
        _count = 0

        def new_worker_spec(self) -> dict:
            spec = super().new_worker_spec()
            out = {}
            for name, s in spec.items():
                opts = dict(s["options"])
                env = dict(opts.get("env") or {})
                env.setdefault("OMP_NUM_THREADS", "1")
                if self._gpus:
                    env["CUDA_VISIBLE_DEVICES"] = self._gpus[type(self)._count % len(self._gpus)]
                    env[PER_GPU_ENV], env[HEADROOM_ENV] = str(per_gpu), str(headroom_mb)
                else:
                    env["CUDA_VISIBLE_DEVICES"] = ""
                type(self)._count += 1
                opts["env"] = env
                out[name] = {**s, "options": opts}
            return out

    _PerWorkerEnvCluster._gpus = list(gpus)
    with scheduler_http(dashboard_port):
        cluster = _PerWorkerEnvCluster(
            n_workers=0,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None if dashboard_port is None else f"127.0.0.1:{dashboard_port}",
            # without a dashboard, the HTTP server Dask always starts takes any free port (not 8787)
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"} if dashboard_port is None else None,
            memory_limit=memory_limit,
            silence_logs=silence_logs,
        )
    cluster.scale(n_workers)
    return cluster


class DaskExecutor(Executor):
    """Evaluates on Dask workers.

    Args:
        n_workers: workers of the local cluster; with ``address`` or ``client``, the number of
            tasks kept in flight (``0``: the number of workers the scheduler has when we connect).
        address: an existing scheduler (``"tls://host:8786"``; a plain ``tcp://`` one on a
            non-loopback interface is warned about: anyone reaching it can run code on the workers).
        gpus: GPU ids for the local workers (``None``: all visible GPUs, ``[]``: none).
        memory_limit: per-worker memory limit of the local cluster (Dask syntax, ``"auto"``).
        start_timeout: seconds to wait for the workers to come up.
        client: an existing ``distributed.Client``, or a cluster object (``LocalCluster``,
            ``dask_jobqueue.SLURMCluster``, ...) to connect a client to; neither is closed here.
        evaluations_per_gpu: local workers sharing one GPU (k; ``n_workers`` <= GPUs x k).
        gpu_headroom_mb: free GPU memory (MiB) a shared evaluation needs to start beside others.
        owns: the ``client`` passed in (and its cluster) is this executor's: :meth:`close` closes
            it (a batch-system cluster made for the search: closing cancels its jobs).
        security: ``distributed.security.Security`` for connecting to ``address`` (TLS).
        dashboard_port: the local cluster's dashboard on 127.0.0.1:PORT (``None``: no dashboard).
        on_close: called once the executor closed (e.g. deleting a temporary certificate).

    With neither ``address`` nor ``client``, a local cluster is started (and closed by :meth:`close`).
    """

    def __init__(
        self,
        n_workers: int = 2,
        address: Optional[str] = None,
        gpus: Optional[list[str]] = None,
        memory_limit: Any = "auto",
        start_timeout: float = 120.0,
        client: Any = None,
        evaluations_per_gpu: int = 1,
        gpu_headroom_mb: float = 0.0,
        owns: bool = False,
        security: Any = None,
        dashboard_port: Optional[int] = None,
        on_close: Optional[Callable[[], None]] = None,
    ) -> None:
        from distributed import Client, as_completed

        self.cluster = None  # a cluster this executor started (closed with it)
        self._owns_client = True
        self._on_close = on_close
        if client is not None or address:
            if isinstance(client, Client):
                self.client, self._owns_client = client, owns
                if owns:
                    self.cluster = getattr(client, "cluster", None)
            else:  # a cluster object (its own life cycle) or an address
                self.client = Client(client if client is not None else address, timeout=start_timeout,
                                     security=security)
            info = self.client.scheduler_info()
            self.slots = n_workers if n_workers > 0 else max(1, len(info.get("workers", {})))
            if n_workers > 0:
                self.client.wait_for_workers(1, timeout=start_timeout)
            address = address or info.get("address")
        else:
            if n_workers < 1:
                raise ConfigError("a local Dask cluster needs n_workers >= 1")
            self.gpus = visible_gpus() if gpus is None else list(gpus)
            # the scheduler lives in this process: keep its INFO chatter out of the search log
            # (Hydra sets the root logger to INFO)
            logging.getLogger("distributed").setLevel(logging.WARNING)
            self.cluster = _local_cluster(n_workers, self.gpus, memory_limit, logging.WARNING,
                                          per_gpu=evaluations_per_gpu, headroom_mb=gpu_headroom_mb,
                                          dashboard_port=dashboard_port)
            if dashboard_port is not None:
                log.info("Dask dashboard: %s (local only; from another machine: ssh -L PORT:localhost:PORT)",
                         self.cluster.dashboard_link)
            self.client = Client(self.cluster, timeout=start_timeout)
            self.client.wait_for_workers(n_workers, timeout=start_timeout)
            self.slots = n_workers
        self.address = address
        self._as_completed = as_completed(with_results=False)
        self._tasks: dict[str, EvaluationTask] = {}

    def describe(self) -> str:
        where = self.address or "local cluster"
        gpus = getattr(self, "gpus", None)
        return f"Dask ({self.slots} workers, {where}{', GPUs ' + ','.join(gpus) if gpus else ''})"

    def submit(self, task: EvaluationTask) -> None:
        # pure=False: the same term submitted again (a re-queued evaluation) must run again
        future = self.client.submit(run_task, task, pure=False, key=f"evaluate-{task.eval_id}-{time.time_ns()}")
        self._tasks[future.key] = task
        self._as_completed.add(future)

    def wait(self, timeout: Optional[float] = None) -> list[Finished]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._as_completed.has_ready():
            if self._as_completed.is_empty():
                return []
            if deadline is not None and time.monotonic() >= deadline:
                return []
            time.sleep(0.05)
        out: list[Finished] = []
        for future in self._as_completed.next_batch(block=False):
            task = self._tasks.pop(future.key)
            try:
                record = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker (KilledWorker) fails one evaluation
                record = {"term": task.term, "outcome": "failed", "reason": f"{type(exc).__name__}: {exc}", "worker": "dask"}
            out.append((task, record))
        return out

    def in_flight(self) -> int:
        return len(self._tasks)

    def cancel_all(self) -> list[EvaluationTask]:
        futures = list(self._as_completed.futures) if hasattr(self._as_completed, "futures") else []
        tasks = list(self._tasks.values())
        if futures:
            self.client.cancel(futures)
        self._as_completed.clear()
        self._tasks.clear()
        return tasks

    def close(self) -> None:
        # cancel what is still ours on a client we do not own; close only what we created
        try:
            if self._owns_client:
                self.client.close()
            elif self._tasks:
                self.cancel_all()
        finally:
            try:
                if self.cluster is not None:
                    self.cluster.close()
            finally:
                if self._on_close is not None:
                    self._on_close()
                    self._on_close = None
