"""What a worker runs: one evaluation, described by a picklable :class:`EvaluationTask`.

The task names the evaluation function by import path (default
``algebraic_nas.evaluation:evaluate``), so Dask ships only plain data to the workers and a user
can plug in their own objective. Whatever happens inside, :func:`run_task` returns a record as a
dict: an exception becomes an evaluation with ``outcome="failed"`` and the traceback's last
line as the reason, so one bad architecture never stops a search.
"""

from __future__ import annotations

import importlib
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

DEFAULT_FUNCTION = "algebraic_nas.evaluation:evaluate"


@dataclass(frozen=True)
class EvaluationTask:
    """One evaluation to run: the arguments of ``evaluate`` plus bookkeeping."""

    eval_id: int
    term: str
    grammar: str
    dataset: str = "digits"
    protocol: Union[str, dict] = "quick"
    seed: int = 0
    device: str = "auto"
    data_root: Optional[str] = None
    overrides: dict = field(default_factory=dict)
    function: str = DEFAULT_FUNCTION
    threads: Optional[int] = None  # torch.set_num_threads in the worker (None: leave it)


def import_object(path: str) -> Callable[..., Any]:
    """``"package.module:name"`` (or ``"package.module.name"``) → the object."""
    if ":" in path:
        module, _, name = path.partition(":")
    else:
        module, _, name = path.rpartition(".")
    if not module or not name:
        raise ValueError(f"not an import path of the form 'package.module:function': {path!r}")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def resolve_device(device: str) -> str:
    """``"auto"`` → ``"cuda"`` when a GPU is visible to this process, else ``"cpu"``."""
    if device != "auto":
        return device
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # a custom objective without torch
        return "cpu"


def worker_name() -> str:
    """Who ran the evaluation: the Dask worker name (or host:pid in-process) and its GPU."""
    try:
        from distributed import get_worker

        name = str(get_worker().name)
    except (ImportError, ValueError):
        name = "local"
    name = f"{name}@{socket.gethostname()}:{os.getpid()}"
    gpu = os.environ.get("CUDA_VISIBLE_DEVICES")
    return f"{name} gpu={gpu}" if gpu not in (None, "") else name


def _to_dict(record: Any) -> dict:
    if isinstance(record, dict):
        return dict(record)
    if hasattr(record, "to_dict"):
        return record.to_dict()
    raise TypeError(f"the evaluation function returned {type(record).__name__}, not a record")


def run_task(task: EvaluationTask) -> dict:
    """Run one evaluation; always returns a record dict with ``worker`` and ``eval_id`` added."""
    start = time.time()
    try:
        if task.threads:
            import torch

            torch.set_num_threads(int(task.threads))
        fn = import_object(task.function)
        record = _to_dict(
            fn(
                term=task.term,
                grammar=task.grammar,
                dataset=task.dataset,
                protocol=task.protocol,
                seed=task.seed,
                device=resolve_device(task.device),
                data_root=task.data_root,
                overrides=dict(task.overrides),
            )
        )
    except Exception as exc:  # noqa: BLE001 - any failure is a failed evaluation, never a crash
        tb = traceback.format_exc(limit=5)
        record = {
            "term": task.term,
            "outcome": "failed",
            "reason": f"{type(exc).__name__}: {exc}",
            "traceback": tb,
            "wall_time_s": time.time() - start,
        }
    record["worker"] = worker_name()
    record["eval_id"] = task.eval_id
    return record
