"""The executor registry: a name → (factory, config dataclass), the same way as strategies.

A factory takes ``(config, n_workers)`` and returns an :class:`Executor`. Shipped:
``inprocess``, ``local`` (a Dask ``LocalCluster`` made here), ``dask`` (an existing scheduler
at ``address``), ``auto``, which picks one of the first three, decided here only, and the batch
systems ``slurm`` and ``pbs`` (dask-jobqueue; ``script`` prints their job script and ``remote``
says that workers run on other machines). The Hydra config group
``executor`` is generated from this registry (``search/config/schema.py``)::

    @register_executor("mine", config=MyExecutorConfig)
    def _mine(config, n_workers): return MyExecutor(...)

Registering a name twice warns and the later registration wins.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.executors.base import Executor
from algebraic_nas.search.executors.jobqueue import check_jobqueue
from algebraic_nas.search.executors.pbs import PBSConfig, pbs_executor, pbs_options, pbs_script
from algebraic_nas.search.executors.slurm import SlurmConfig, slurm_executor, slurm_options, slurm_script
from algebraic_nas.search.executors.tls import client_security
from algebraic_nas.registry import Registry, doc_line
from algebraic_nas.search.config.settings import resolve_config

Factory = Callable[[Any, int], Executor]


@dataclass
class InProcessConfig:
    """In-process: ``threads`` = torch threads per evaluation (``null``: 1)."""

    threads: Optional[int] = None


@dataclass
class DaskConfig:
    """Dask: ``address`` of an existing scheduler (``dask``; with ``auto`` it selects ``dask``);
    ``threads``: torch threads per evaluation (``null``: 1; use more workers rather than more
    threads: on a shared CPU, two threads per small network were 20x slower than one);
    ``gpus``: GPU ids handed out one per local worker (``null``: all visible);
    ``memory_limit`` per local worker; ``start_timeout_s`` to wait for workers;
    ``evaluations_per_gpu``: local workers sharing one GPU (n_workers <= GPUs x this);
    ``gpu_headroom_mb``: free GPU memory a shared evaluation needs to start beside others (less:
    it waits and runs alone; one that runs out of memory while sharing is retried alone);
    ``tls_ca_file`` / ``tls_cert`` / ``tls_key``: the client's PEM files for a ``tls://``
    ``address`` (a plain ``tcp://`` one on a non-loopback interface is warned about);
    ``dashboard_port``: the local cluster's dashboard on 127.0.0.1:PORT (null: none)."""

    address: Optional[str] = None
    threads: Optional[int] = None
    gpus: Optional[List[str]] = None
    memory_limit: str = "auto"
    start_timeout_s: float = 120.0
    evaluations_per_gpu: int = 1
    gpu_headroom_mb: float = 2048.0
    tls_ca_file: Optional[str] = None
    tls_cert: Optional[str] = None
    tls_key: Optional[str] = None
    dashboard_port: Optional[int] = None


@dataclass(frozen=True)
class ExecutorEntry:
    name: str
    factory: Factory
    config: type
    doc: str = ""
    script: Optional[Callable[[Any], str]] = None  # the job script it would submit (batch systems)
    remote: bool = False  # workers may run on other machines (a GPU there need not exist here)
    check: Optional[Callable[[Any, int], None]] = None  # (config, n_workers): ConfigError before a search starts


EXECUTOR_REGISTRY: Registry[ExecutorEntry] = Registry("executor", key="executor.kind")


def register_executor(name: str, factory: Optional[Factory] = None, config: type = InProcessConfig, doc: str = "",
                      script: Optional[Callable[[Any], str]] = None, remote: bool = False,
                      check: Optional[Callable[[Any, int], None]] = None) -> Any:
    """Register ``factory(config, n_workers) -> Executor`` under ``name`` with its config
    dataclass (also usable as a decorator: ``factory`` omitted); ``script(config)``: the job
    script it would submit (``algebraic-nas cluster-script``); ``remote``: workers may run on
    other machines; ``check(config, n_workers)`` raises ``ConfigError`` for settings that cannot
    work, before the search writes anything."""

    def add(f: Factory) -> Factory:
        if not dataclasses.is_dataclass(config):
            raise ConfigError(f"executor {name!r}: config must be a dataclass, not {config!r}")
        line = doc_line(f, doc)
        EXECUTOR_REGISTRY.add(name, ExecutorEntry(name, f, config, line, script, remote, check))
        return f

    return add if factory is None else add(factory)


# the registered names (sorted), their entries, and one entry by name or alias (ConfigError if unknown)
list_executors = EXECUTOR_REGISTRY.names
executor_entries = EXECUTOR_REGISTRY.entries
get_executor = EXECUTOR_REGISTRY.get


def make_executor(kind: str, n_workers: int = 1, config: Any = None, **settings: Any) -> Executor:
    """The executor ``kind`` for ``n_workers`` workers; ``settings`` are fields of its config
    (``address="tcp://host:8786"``) replacing those of ``config``."""
    entry = get_executor(kind)
    return entry.factory(resolve_config(entry.config, config, settings, where="executor"), int(n_workers))


# --- the shipped executors -------------------------------------------------------------------


@register_executor("inprocess", config=InProcessConfig)
def _inprocess(config: Any, n_workers: int) -> Executor:
    """One evaluation at a time in the driver's process."""
    from algebraic_nas.search.executors.inprocess import InProcessExecutor

    if n_workers > 1:
        raise ConfigError("the in-process executor runs one evaluation at a time: use executor=local for n_workers > 1")
    return InProcessExecutor()


def _dask_options(config: Any) -> dict:
    options: dict[str, Any] = {"start_timeout": float(config.start_timeout_s),
                               "evaluations_per_gpu": int(config.evaluations_per_gpu),
                               "gpu_headroom_mb": float(config.gpu_headroom_mb)}
    if config.gpus is not None:
        options["gpus"] = [str(g) for g in config.gpus]
    return options


def _local_check(config: Any, n_workers: int) -> None:
    """The local workers fit the GPU slots (GPUs x evaluations_per_gpu; no GPUs: any number)."""
    from algebraic_nas.evaluation.devices import assign_gpus, visible_gpus

    gpus = visible_gpus() if config.gpus is None else [str(g) for g in config.gpus]
    assign_gpus(int(n_workers), gpus, int(config.evaluations_per_gpu))


@register_executor("local", config=DaskConfig, check=_local_check)
def _local(config: Any, n_workers: int) -> Executor:
    """A Dask LocalCluster: n_workers processes, 1 thread each, one GPU each where GPUs exist."""
    from algebraic_nas.search.executors.dask import DaskExecutor

    return DaskExecutor(n_workers=n_workers, memory_limit=config.memory_limit, dashboard_port=config.dashboard_port,
                        **_dask_options(config))


@register_executor("dask", config=DaskConfig, remote=True)
def _dask(config: Any, n_workers: int) -> Executor:
    """An existing Dask scheduler at executor.address (n_workers=0: as many slots as it has workers)."""
    from algebraic_nas.search.executors.dask import DaskExecutor

    if not config.address:
        raise ConfigError("executor=dask needs executor.address (the scheduler, e.g. tls://host:8786)")
    return DaskExecutor(n_workers=n_workers, address=config.address, security=client_security(config.address, config),
                        **_dask_options(config))


def auto_kind(n_workers: int, address: Optional[str]) -> str:
    """What ``auto`` means: ``dask`` with an address, ``inprocess`` for one worker, ``local`` otherwise."""
    if address:
        return "dask"
    return "inprocess" if n_workers <= 1 else "local"


def _auto_check(config: Any, n_workers: int) -> None:
    if auto_kind(n_workers, config.address) == "local":
        _local_check(config, n_workers)


@register_executor("auto", config=DaskConfig, check=_auto_check)
def _auto(config: Any, n_workers: int) -> Executor:
    """In-process with n_workers=1, a local Dask cluster of n_workers processes otherwise (dask with an address)."""
    return get_executor(auto_kind(n_workers, config.address)).factory(config, n_workers)


def _slurm_check(config: Any, n_workers: int) -> None:
    check_jobqueue(config, n_workers, slurm_options)


def _pbs_check(config: Any, n_workers: int) -> None:
    check_jobqueue(config, n_workers, pbs_options)


@register_executor("slurm", config=SlurmConfig, script=slurm_script, remote=True, check=_slurm_check)
def _slurm(config: Any, n_workers: int) -> Executor:
    """SLURM jobs of single-threaded Dask workers (dask-jobqueue), one per GPU or core of a job."""
    return slurm_executor(config, n_workers)


@register_executor("pbs", config=PBSConfig, script=pbs_script, remote=True, check=_pbs_check)
def _pbs(config: Any, n_workers: int) -> Executor:
    """PBS jobs of single-threaded Dask workers (dask-jobqueue), one per GPU or core of a job."""
    return pbs_executor(config, n_workers)
