"""The trainer: SGD on tensors kept on the device, with the failure modes turned into outcomes.

``train(model_factory, data, protocol, seed, device)`` returns a :class:`TrainResult`; it raises
only for bugs outside the run (the caller, ``evaluate``, turns any exception into a failed
record). Inside a run:

* a NaN or inf training loss ends it as ``failed`` / ``"diverged"`` (checked every
  ``protocol.divergence_check_every`` steps and at every epoch end: a check synchronises a GPU);
* a CUDA out-of-memory error restarts the run from scratch with half the micro-batch and
  gradient accumulation, so the effective batch and the number of optimiser steps stay those
  of the protocol; after ``max_oom_retries`` halvings (or below ``min_micro_batch``) it ends as
  ``failed`` / ``"out of memory"``.

Seeding: the model's initialisation, the epoch shuffles and the augmentation all come from
``seed`` (the global RNG is forked, so the caller's RNG state is untouched). On a CPU with a
fixed thread count two runs with the same seed give identical losses; on a GPU results are
seeded but cuDNN may pick non-deterministic kernels.

Stopping and continuing (multi-fidelity): ``stop_epoch`` ends a run after that many epochs of
the protocol's schedule (the learning rate follows the schedule of all ``protocol.epochs``), and
``keep_state=True`` returns the run's :class:`TrainState` (weights, optimiser, random streams,
epochs done); ``resume=state`` continues such a run. Training 2 epochs, keeping the state and
resuming to 4 gives the same weights as training 4 epochs straight through (CPU, same seed).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import random
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from algebraic_nas.threads import torch_threads

from .augment import BatchTransform
from .devices import OOM_MARK
from .data import ImageDataset, Split, training_subset
from .progress import EpochProgress
from .protocols import Protocol
from .train_state import TrainState, capture_state, restore_state
from .regularization import auxiliary_loss, set_drop_path, with_auxiliary_head

log = logging.getLogger("algebraic_nas.evaluation")

DIVERGED = "diverged"
OUT_OF_MEMORY = OOM_MARK  # one spelling: devices.is_oom_record reads it back

# Keep the dataset on the GPU when it needs at most this fraction of the free memory.
_ON_DEVICE_FRACTION = 0.3


class Diverged(Exception):
    """The training loss became NaN or inf."""


@dataclass
class TrainResult:
    """What one training run produced (errors are fractions, losses mean cross-entropy in nats)."""

    outcome: str = "ok"
    reason: str = ""
    valid_error: Optional[float] = None
    test_error: Optional[float] = None
    train_losses: list[float] = field(default_factory=list)
    valid_errors: list[float] = field(default_factory=list)
    epoch_times_s: list[float] = field(default_factory=list)
    epochs: int = 0
    micro_batch: Optional[int] = None
    train_time_s: float = 0.0
    peak_memory_mb: Optional[float] = None
    epochs_trained: int = 0  # epochs computed by this run (``epochs`` minus a resumed state's)
    state: Optional[TrainState] = None  # with keep_state=True: the state after the last epoch


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` is an out-of-memory error (CUDA's, or an allocator's RuntimeError)."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def train(
    model_factory: Callable[[], nn.Module],
    data: ImageDataset,
    protocol: Protocol,
    seed: int = 0,
    device: torch.device | str = "cpu",
    label: str = "",
    stop_epoch: Optional[int] = None,
    resume: Optional[TrainState] = None,
    keep_state: bool = False,
) -> TrainResult:
    """Train a fresh ``model_factory()`` on ``data.train``; measure error on ``valid`` and ``test``.

    ``model_factory`` is called once per attempt, inside the seeded region, and must return a
    new module each time (on the CPU; it is moved to ``device`` here). ``label`` names the run
    in progress output. ``stop_epoch`` (default ``protocol.epochs``) ends training after that
    many epochs of the schedule; ``resume`` continues from a :class:`TrainState` of the same
    model, seed and protocol (its ``epochs_done`` must not exceed the stop);
    ``keep_state`` puts the final state into the result.
    """
    stop = protocol.epochs if stop_epoch is None else int(stop_epoch)
    if not 0 <= stop <= protocol.epochs:
        raise ValueError(f"stop_epoch={stop}: must be between 0 and the protocol's epochs ({protocol.epochs})")
    if resume is not None and resume.epochs_done > stop:
        raise ValueError(f"cannot resume a state of {resume.epochs_done} epochs to stop at epoch {stop}")
    device = torch.device(device)
    micro = protocol.batch_size
    start = time.perf_counter()
    with torch_threads(protocol.cpu_threads):
        for attempt in range(protocol.max_oom_retries + 1):
            _reset_peak_memory(device)
            result = TrainResult(micro_batch=micro)
            try:
                _run(model_factory, data, protocol, seed, device, micro, result, label, stop, resume, keep_state)
            except Diverged:
                result.outcome, result.reason = "failed", DIVERGED
            except Exception as exc:
                if not is_oom(exc):
                    raise
                del exc
                _free_memory(device)
                smaller = micro // 2
                if attempt < protocol.max_oom_retries and smaller >= protocol.min_micro_batch:
                    log.info("%s: out of memory at micro-batch %d, retrying with %d", label or "run", micro, smaller)
                    micro = smaller
                    continue
                result.outcome, result.reason = "failed", OUT_OF_MEMORY
            break
    result.train_time_s = time.perf_counter() - start
    result.peak_memory_mb = _peak_memory_mb(device)
    return result


def _run(
    model_factory: Callable[[], nn.Module],
    data: ImageDataset,
    protocol: Protocol,
    seed: int,
    device: torch.device,
    micro: int,
    result: TrainResult,
    label: str,
    stop: int,
    resume: Optional[TrainState],
    keep_state: bool,
) -> None:
    cuda = device.type == "cuda"
    fork_devices = [device.index if device.index is not None else torch.cuda.current_device()] if cuda else []
    with torch.random.fork_rng(devices=fork_devices):
        _seed_everything(seed)
        model = with_auxiliary_head(model_factory(), protocol).to(device)
        if protocol.channels_last:
            model = model.to(memory_format=torch.channels_last)
        step_model: nn.Module = model
        if protocol.compile:
            mode = None if protocol.compile is True else protocol.compile
            step_model = torch.compile(model, mode=mode)  # type: ignore[assignment]

        # Data stays on the device when it fits; otherwise batches are indexed on the CPU and copied.
        train_split = training_subset(place_dataset(data, device).train, protocol.train_fraction)
        data_device = train_split.x.device
        gen = torch.Generator(device=data_device).manual_seed(seed)
        stats = (data.mean, data.std) if protocol.normalize else (None, None)
        transform = BatchTransform(data.scale, *stats, padding=protocol.crop_padding_for(data.resolution),
                                   flip=protocol.flip, device=device)
        optimizer = _optimizer(model, protocol)
        start_epoch = 0
        if resume is not None:
            start_epoch = restore_state(resume, model, optimizer, gen, device)
            result.train_losses, result.valid_errors = list(resume.train_losses), list(resume.valid_errors)
            result.epoch_times_s, result.epochs = list(resume.epoch_times_s), start_epoch
        autocast = _autocast(device, protocol)
        # A divergence check synchronises a GPU, so there only every few steps; on a CPU it is free.
        check_every = protocol.divergence_check_every if cuda else 1

        n = len(train_split)
        batch = min(protocol.batch_size, n)
        steps_per_epoch = math.ceil(n / batch)
        step = start_epoch * steps_per_epoch  # the schedule goes on where the state stopped
        progress = EpochProgress(stop, protocol.progress, label)
        try:
            for epoch in range(start_epoch, stop):
                epoch_start = time.perf_counter()
                model.train()
                set_drop_path(model, protocol, epoch)
                loss_sum = torch.zeros((), device=device)
                order = torch.randperm(n, generator=gen, device=data_device)
                for b in range(steps_per_epoch):
                    idx = order[b * batch:(b + 1) * batch]
                    _set_lr(optimizer, learning_rate(protocol, step, steps_per_epoch))
                    optimizer.zero_grad(set_to_none=True)
                    for chunk in idx.split(micro):
                        x = transform(train_split.x[chunk].to(device, non_blocking=True), train=True, generator=gen)
                        if protocol.channels_last:
                            x = x.contiguous(memory_format=torch.channels_last)
                        y = train_split.y[chunk].to(device, non_blocking=True)
                        with autocast:
                            logits = step_model(x)
                        loss = F.cross_entropy(logits.float(), y, label_smoothing=protocol.label_smoothing)
                        if protocol.auxiliary_weight:  # no extra autograd node per step without one
                            loss = loss + auxiliary_loss(model, y, protocol)
                        (loss * (len(chunk) / len(idx))).backward()
                        loss_sum += loss.detach() * len(chunk)
                    if protocol.grad_clip is not None:
                        nn.utils.clip_grad_norm_(model.parameters(), protocol.grad_clip)
                    optimizer.step()
                    step += 1
                    if step % check_every == 0 and not torch.isfinite(loss_sum):
                        result.train_losses.append(float("nan"))
                        raise Diverged()
                mean_loss = float(loss_sum) / n  # float(): also waits for the GPU, so the time is right
                result.train_losses.append(mean_loss)
                if not math.isfinite(mean_loss):
                    raise Diverged()
                result.epoch_times_s.append(time.perf_counter() - epoch_start)
                result.epochs = epoch + 1
                result.epochs_trained += 1
                if protocol.eval_every_epoch:
                    result.valid_errors.append(error_rate(step_model, data.valid, transform, device, protocol))
                progress.update(epoch + 1, mean_loss, result.valid_errors[-1] if result.valid_errors else None)
        finally:
            progress.close()
        if keep_state:  # before evaluating: eval draws no random numbers, but keep it exact anyway
            result.state = capture_state(model, optimizer, gen, device, result.epochs, result.train_losses,
                                         result.valid_errors, result.epoch_times_s)
        result.valid_error = (result.valid_errors[-1] if protocol.eval_every_epoch and result.valid_errors
                              else error_rate(step_model, data.valid, transform, device, protocol))
        result.test_error = error_rate(step_model, data.test, transform, device, protocol)


@torch.no_grad()
def error_rate(model: nn.Module, split: Split, transform: BatchTransform, device: torch.device, protocol: Protocol) -> float:
    """Fraction of ``split`` misclassified by ``model`` in eval mode (no augmentation).

    The evaluation batch is halved on an out-of-memory error, down to one example.
    """
    model.eval()
    n = len(split)
    if n == 0:
        return float("nan")
    batch = protocol.eval_batch_size
    autocast = _autocast(device, protocol)
    while True:
        try:
            wrong = torch.zeros((), dtype=torch.long, device=device)
            for start in range(0, n, batch):
                x = transform(split.x[start:start + batch].to(device, non_blocking=True), train=False)
                if protocol.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                y = split.y[start:start + batch].to(device, non_blocking=True)
                with autocast:
                    logits = model(x)
                wrong += (logits.argmax(dim=1) != y).sum()
            return float(wrong) / n
        except Exception as exc:
            if not is_oom(exc) or batch == 1:
                raise
            del exc
            _free_memory(device)
            batch = max(1, batch // 2)


def _autocast(device: torch.device, protocol: Protocol):
    """bf16 autocast on a GPU when the protocol asks for it, else a no-op context (reusable)."""
    if device.type == "cuda" and protocol.bf16:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _optimizer(model: nn.Module, protocol: Protocol) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    # foreach: one fused update over all (many, small) parameter tensors, also on the CPU where
    # torch would otherwise loop in Python.
    if protocol.optimizer == "sgd":
        return torch.optim.SGD(params, lr=protocol.lr, momentum=protocol.momentum, foreach=True,
                               nesterov=protocol.nesterov and protocol.momentum > 0, weight_decay=protocol.weight_decay)
    return torch.optim.AdamW(params, lr=protocol.lr, weight_decay=protocol.weight_decay, foreach=True)


def learning_rate(protocol: Protocol, step: int, steps_per_epoch: int) -> float:
    """The learning rate for optimiser step ``step`` (0-based).

    Cosine annealing from ``lr`` towards ``min_lr`` (reached after the last step): per
    iteration, the phase is ``step / (steps_per_epoch * epochs)``; per epoch, it is
    ``epoch / epochs`` and stays constant within an epoch.
    """
    if protocol.schedule == "constant" or protocol.epochs == 0:
        return protocol.lr
    if protocol.schedule_step == "iteration":
        phase = step / (steps_per_epoch * protocol.epochs)
    else:
        phase = (step // steps_per_epoch) / protocol.epochs
    return protocol.min_lr + 0.5 * (protocol.lr - protocol.min_lr) * (1.0 + math.cos(math.pi * phase))


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def fits_on_device(data: ImageDataset, device: torch.device | str) -> bool:
    """Whether ``data`` should live on ``device``: always on a CPU; on a GPU when it needs at
    most 30 % of the free memory (the rest is for the network's activations)."""
    device = torch.device(device)
    if device.type != "cuda" or data.train.x.device.type == "cuda":
        return True
    free, _total = torch.cuda.mem_get_info(device)
    return data.nbytes() <= _ON_DEVICE_FRACTION * free


def place_dataset(data: ImageDataset, device: torch.device | str) -> ImageDataset:
    """``data`` on ``device`` if it fits there (see :func:`fits_on_device`), else on the CPU."""
    target = torch.device(device) if fits_on_device(data, device) else torch.device("cpu")
    return data if data.train.x.device == target or (target.type == data.train.x.device.type == "cuda"
                                                     and target.index is None) else data.to(target)


def _reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    # ru_maxrss is in KiB on Linux (bytes on macOS): the process's peak, not this run's alone.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (2**20 if sys.platform == "darwin" else 2**10)


def _free_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
