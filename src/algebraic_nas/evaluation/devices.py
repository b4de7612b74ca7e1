"""Which torch device an evaluation runs on: the one ``resolve_device`` of the project, and
which GPU each worker process gets.

The search worker resolves ``"auto"`` with it too (``str(resolve_device("auto"))``), so a task
and the evaluation it runs agree on the device.

GPUs per worker: every worker process sees one GPU through ``CUDA_VISIBLE_DEVICES``
(:func:`assign_gpus`: worker i gets ``gpus[i % len(gpus)]``; with ``evaluations_per_gpu = k``,
up to k workers share one). A local Dask cluster sets it per worker; in a SLURM/PBS job the
workers of the job split the job's GPUs at start (:func:`bind_worker_gpu`, run by the worker
preload). Evaluations sharing a GPU (k > 1) hold a shared lock on it (a file lock per physical
GPU, so it also works across jobs on one node); one whose GPU lacks the free-memory headroom,
or which ran out of memory while sharing, runs again holding it exclusively: alone
(:func:`run_sharing_gpu`).
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence, Union

import torch

from algebraic_nas.errors import ConfigError

# set on worker processes by the executors (local cluster: per worker; jobs: in the job script)
PER_GPU_ENV = "ALGEBRAIC_NAS_EVALUATIONS_PER_GPU"
HEADROOM_ENV = "ALGEBRAIC_NAS_GPU_HEADROOM_MB"
WORKERS_PER_JOB_ENV = "ALGEBRAIC_NAS_WORKERS_PER_JOB"
OOM_MARK = "out of memory"  # evaluate's reason for an out-of-memory failure (trainer.OUT_OF_MEMORY is this)


def resolve_device(device: Union[str, torch.device] = "auto") -> torch.device:
    """``"auto"`` → ``cuda`` when a GPU is visible to this process, else ``cpu``; other names as given.

    Raises :class:`RuntimeError` for a CUDA device when CUDA is not available (rather than
    failing later, inside the first ``.to(device)``).
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {str(device)!r} requested but CUDA is not available")
    return dev


def describe_device(dev: torch.device) -> str:
    """``"cuda:0 (NVIDIA H100 ...)"`` for a GPU (its index and name), ``str(dev)`` otherwise."""
    if dev.type == "cuda":
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        return f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    return str(dev)


# --- GPUs per worker ---------------------------------------------------------------------------


def visible_gpus() -> list[str]:
    """GPU ids this process may hand out: ``CUDA_VISIBLE_DEVICES`` if set (SLURM sets it for
    the GPUs of a job), else ``0..n-1`` for the GPUs torch sees."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    return [str(i) for i in range(torch.cuda.device_count())]


def assign_gpus(n_workers: int, gpus: Sequence[str], per_gpu: int = 1) -> list[str]:
    """The GPU id of each of ``n_workers`` workers: worker i gets ``gpus[i % len(gpus)]``, so at
    most ``per_gpu`` workers share one; ``""`` (no GPU) for every worker when ``gpus`` is empty.

    Raises :class:`ConfigError` when ``n_workers > len(gpus) * per_gpu`` (more workers than
    GPU slots: raise ``executor.evaluations_per_gpu`` or lower ``n_workers``)."""
    if int(per_gpu) < 1:
        raise ConfigError(f"executor.evaluations_per_gpu={per_gpu!r}: must be an integer >= 1")
    gpus = [str(g) for g in gpus]
    if not gpus:
        return [""] * n_workers
    if n_workers > len(gpus) * per_gpu:
        raise ConfigError(
            f"n_workers={n_workers}: more workers than GPU slots ({len(gpus)} GPUs {','.join(gpus)} x "
            f"executor.evaluations_per_gpu={per_gpu}); raise evaluations_per_gpu or lower n_workers"
        )
    return [gpus[i % len(gpus)] for i in range(n_workers)]


def worker_index(name: str, workers_per_job: int) -> int:
    """A worker's index inside its job: Dask names the processes of ``dask worker --nworkers N``
    ``NAME-0 .. NAME-(N-1)`` (a single process keeps ``NAME``: index 0)."""
    if workers_per_job <= 1:
        return 0
    m = re.search(r"-(\d+)$", str(name))
    if m is None:
        raise ValueError(f"worker name {name!r} has no '-INDEX' suffix ({workers_per_job} workers per job)")
    return int(m.group(1))


def bind_worker_gpu(worker_name: str) -> Optional[str]:
    """In a worker process of a batch job: keep only this worker's GPU in ``CUDA_VISIBLE_DEVICES``
    (before CUDA is initialised); returns it (``None``: the job has no GPU)."""
    n = int(os.environ.get(WORKERS_PER_JOB_ENV, "1"))
    gpus = visible_gpus()
    if not gpus:
        return None
    per_gpu = int(os.environ.get(PER_GPU_ENV, "1"))
    gpu = assign_gpus(n, gpus, per_gpu)[worker_index(worker_name, n)]
    os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    return gpu


def gpu_label() -> Optional[str]:
    """Which GPU this process runs on, for the evaluation record: ``"GPU 3 (NVIDIA H100 ...,
    GPU-uuid)"`` (3: the id in ``CUDA_VISIBLE_DEVICES``); ``None`` without CUDA."""
    if not torch.cuda.is_available():
        return None
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "0").split(",")[0] or "0"
    return f"GPU {visible} ({torch.cuda.get_device_name(0)}, {_gpu_uuid()})"


def _gpu_uuid() -> str:
    # the physical identity: in two SLURM jobs on one node each may see its GPU as "0"
    uuid = getattr(torch.cuda.get_device_properties(0), "uuid", None)
    return f"GPU-{uuid}" if uuid is not None else os.environ.get("CUDA_VISIBLE_DEVICES", "0")


@contextmanager
def gpu_slot(gpu: str, exclusive: bool, lock_dir: Optional[str] = None) -> Iterator[None]:
    """Hold GPU ``gpu`` shared (with other evaluations) or exclusively (alone), across processes
    of one machine. A waiting exclusive holder blocks new shared ones (a gate lock taken first),
    so an evaluation retried alone is not starved by a stream of shared ones."""
    base = Path(lock_dir or tempfile.gettempdir()) / f"algebraic_nas-gpu-{re.sub(r'[^A-Za-z0-9_.-]', '_', gpu)}"
    with open(f"{base}.gate", "a+") as gate, open(f"{base}.lock", "a+") as lock:
        fcntl.flock(gate, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        finally:
            fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def is_oom_record(record: dict) -> bool:
    """Whether a failed evaluation record failed for lack of (GPU) memory."""
    return record.get("outcome") == "failed" and OOM_MARK in str(record.get("reason", "")).lower()


def share_gpu(call: Callable[[], dict], gpu: str, per_gpu: int, free_mb: Callable[[], float], headroom_mb: float,
              lock_dir: Optional[str] = None, release: Callable[[], Any] = lambda: None) -> dict:
    """Run ``call`` (one evaluation → its record) on GPU ``gpu`` shared by up to ``per_gpu``
    evaluations: shared when ``free_mb()`` (MiB free on the GPU) is at least ``headroom_mb``,
    else alone; an evaluation that ran out of memory while sharing runs again alone (after
    ``release()``, which frees cached memory). The record gets ``gpu_shared_by`` (``per_gpu``)
    and, when it ran alone, ``ran_alone`` (why)."""
    alone = None
    if free_mb() < headroom_mb:
        alone = f"less than {headroom_mb:g} MiB free on the GPU when it started"
    with gpu_slot(gpu, exclusive=alone is not None, lock_dir=lock_dir):
        record = call()
    if alone is None and is_oom_record(record):
        release()
        alone = f"ran out of memory sharing the GPU ({record.get('reason')}); evaluated again alone"
        with gpu_slot(gpu, exclusive=True, lock_dir=lock_dir):
            record = call()
    record["gpu_shared_by"] = per_gpu
    if alone is not None:
        record["ran_alone"] = alone
    return record


def run_sharing_gpu(call: Callable[[], dict]) -> dict:
    """What a worker runs an evaluation through: :func:`share_gpu` when this worker shares its
    GPU (``ALGEBRAIC_NAS_EVALUATIONS_PER_GPU`` > 1 and CUDA available), else ``call()``; the
    record says which GPU ran it (``gpu``, see :func:`gpu_label`)."""
    per_gpu = int(os.environ.get(PER_GPU_ENV, "1") or 1)
    if per_gpu <= 1 or not torch.cuda.is_available():
        record = call()
    else:
        headroom = float(os.environ.get(HEADROOM_ENV, "0") or 0)
        record = share_gpu(call, _gpu_uuid(), per_gpu, lambda: torch.cuda.mem_get_info()[0] / 2**20, headroom,
                           release=torch.cuda.empty_cache)
    label = gpu_label()
    if label is not None:
        record["gpu"] = label
    return record
