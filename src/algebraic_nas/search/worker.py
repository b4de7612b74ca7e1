"""What a worker runs: one evaluation, described by a picklable :class:`EvaluationTask`
(the run's settings made into one evaluation by ``for_proposal``).

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
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Union

from algebraic_nas.evaluation.devices import resolve_device, run_sharing_gpu
from algebraic_nas.search.config.plugins import load_plugins

DEFAULT_FUNCTION = "algebraic_nas.evaluation:evaluate"


@dataclass(frozen=True)
class EvaluationTask:
    """How an evaluation runs: the run-wide settings (the arguments of the evaluation function
    except the term) and, once made for a proposal (:meth:`for_proposal`), which evaluation it
    is. The one task type: the driver holds the run's settings as an ``EvaluationTask`` without
    a term and sends ``settings.for_proposal(eval_id, proposal)`` to a worker.

    ``overrides`` are protocol overrides (the run's, with the proposal's fidelity merged over
    them). Checkpoints: ``checkpoint`` is the proposal's checkpoint to continue from (passed to
    the evaluation function as ``checkpoint_in``), ``checkpoint_out`` where the evaluation saves
    its trained state (``checkpoint_dir/<eval_id>.pt`` when the run has a ``checkpoint_dir``,
    the run directory's ``checkpoints/``; ``None``: nothing saved); each is passed only when set,
    so evaluation functions without these arguments keep working.
    """

    grammar: str
    dataset: str = "digits"
    protocol: Union[str, dict] = "quick"
    seed: int = 0
    device: str = "auto"
    data_root: Optional[str] = None
    overrides: dict = field(default_factory=dict)
    function: str = DEFAULT_FUNCTION
    threads: Optional[int] = None  # torch.set_num_threads in the worker (None: leave it)
    eval_id: int = -1  # the store's row id (-1: settings, not yet an evaluation)
    term: str = ""
    checkpoint: Optional[str] = None
    checkpoint_dir: Optional[str] = None  # run-wide: where evaluations save checkpoints (None: nowhere)
    checkpoint_out: Optional[str] = None

    def for_proposal(self, eval_id: int, proposal: Any) -> "EvaluationTask":
        """The task of ``proposal`` (a ``Proposal``): its term, its fidelity merged over the
        run's overrides, its checkpoint, and where to save its own (:func:`checkpoint_path`)."""
        out = checkpoint_path(self.checkpoint_dir, eval_id) if self.checkpoint_dir else None
        return replace(
            self, eval_id=int(eval_id), term=str(proposal.term),
            overrides={**self.overrides, **dict(proposal.fidelity)}, checkpoint=proposal.checkpoint,
            checkpoint_out=out,
        )

    def identity(self) -> dict:
        """The settings a resumed run must share with the stored one (results are comparable)."""
        return {
            "grammar": self.grammar, "dataset": self.dataset, "protocol": self.protocol,
            "seed": self.seed, "overrides": self.overrides, "function": self.function,
        }


CHECKPOINT_DIR = "checkpoints"


def checkpoint_path(directory: Union[str, os.PathLike], eval_id: int) -> str:
    """The checkpoint file of evaluation ``eval_id``: ``directory/<eval_id>.pt`` (the run
    directory's layout is ``RUN_DIR/checkpoints/<eval_id>.pt``)."""
    return os.path.join(os.fspath(directory), f"{int(eval_id)}.pt")


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


def batch_job_id() -> Optional[str]:
    """The batch job running this worker: ``SLURM_JOB_ID`` or ``PBS_JOBID`` (``None`` outside one)."""
    return os.environ.get("SLURM_JOB_ID") or os.environ.get("PBS_JOBID") or None


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
        # A worker process (Dask) has its own registries: import the user's plugin modules there
        # too, so that their datasets, objectives, primitives and topologies exist where the
        # evaluation runs (the environment variable is inherited from the driver).
        load_plugins()
        fn = import_object(task.function)
        kwargs: dict[str, Any] = dict(
            term=task.term,
            grammar=task.grammar,
            dataset=task.dataset,
            protocol=task.protocol,
            seed=task.seed,
            device=str(resolve_device(task.device)),
            data_root=task.data_root,
            overrides=dict(task.overrides),
        )
        # only when set: evaluation functions without these arguments keep working
        if task.checkpoint is not None:
            kwargs["checkpoint_in"] = task.checkpoint
        if task.checkpoint_out is not None:
            kwargs["checkpoint_out"] = task.checkpoint_out
        record = run_sharing_gpu(lambda: _to_dict(fn(**kwargs)))  # shares/picks the GPU; says which
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
    record["job_id"] = batch_job_id()
    record["eval_id"] = task.eval_id
    return record
