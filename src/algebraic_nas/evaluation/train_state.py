"""The state of a training run that a checkpoint keeps, so that the run can be continued exactly.

:func:`capture_state` takes it after an epoch (as CPU tensors, so a checkpoint written on a GPU
machine is read anywhere); :func:`restore_state` puts it into a freshly built model, optimiser and
data-order generator (the trainer then goes on at epoch ``epochs_done`` of the same schedule).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Optional

import torch
import torch.nn as nn

log = logging.getLogger("algebraic_nas.evaluation")


@dataclass
class TrainState:
    """Everything needed to continue a run exactly: ``model`` and ``optimizer`` state dicts,
    ``epochs_done``, the random streams (``generator``: the shuffle/augmentation generator's
    state; ``torch_rng`` / ``cuda_rng``: the global ones, e.g. for dropout) and the per-epoch
    history so far (losses in nats, errors as fractions, times in seconds)."""

    model: dict
    optimizer: dict
    epochs_done: int
    generator: torch.Tensor
    torch_rng: torch.Tensor
    cuda_rng: Optional[torch.Tensor] = None
    train_losses: list[float] = field(default_factory=list)
    valid_errors: list[float] = field(default_factory=list)
    epoch_times_s: list[float] = field(default_factory=list)


def restore_state(state: TrainState, model: nn.Module, optimizer: torch.optim.Optimizer, gen: torch.Generator,
                  device: torch.device) -> int:
    """Load ``state`` into a freshly built run (weights, optimiser, random streams); returns the
    epoch to go on from."""
    model.load_state_dict(state.model)
    optimizer.load_state_dict(state.optimizer)  # moves the momentum buffers to the parameters' device
    try:
        gen.set_state(state.generator)
    except (RuntimeError, TypeError, ValueError):
        # saved on another device type (a CPU generator's state does not fit a CUDA one): the run
        # goes on with a stream of its own, seeded from the epochs done, so it is not bit-identical
        log.info("the checkpoint's data-order stream does not fit a %s generator: reseeded", gen.device.type)
        gen.manual_seed(1_000_003 * (state.epochs_done + 1))
    torch.set_rng_state(state.torch_rng)
    if device.type == "cuda" and state.cuda_rng is not None:
        torch.cuda.set_rng_state(state.cuda_rng, device)
    return state.epochs_done


def _cpu(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", copy=True)
    if isinstance(x, dict):
        return {k: _cpu(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_cpu(v) for v in x)
    return x


def capture_state(model: nn.Module, optimizer: torch.optim.Optimizer, gen: torch.Generator, device: torch.device,
                  epochs_done: int, train_losses: list[float], valid_errors: list[float],
                  epoch_times_s: list[float]) -> TrainState:
    """The run's state now, as CPU tensors, with its per-epoch history."""
    return TrainState(
        model=_cpu(model.state_dict()), optimizer=_cpu(optimizer.state_dict()), epochs_done=int(epochs_done),
        generator=gen.get_state(), torch_rng=torch.get_rng_state(),
        cuda_rng=torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        train_losses=list(train_losses), valid_errors=list(valid_errors), epoch_times_s=list(epoch_times_s),
    )
