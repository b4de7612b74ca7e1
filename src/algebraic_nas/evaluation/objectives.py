"""Objectives: what an evaluation measures about a network, as a registry.

Every evaluation fills ``record.objectives`` (``{name: value}``) with every registered objective
it could measure; the search hands that mapping to the strategy, the store and the report. A
new objective is one registration::

    from algebraic_nas.evaluation import register_objective

    def depth(ctx):  # ctx: a MeasureContext; return a number (None: not measured)
        return sum(1 for m in ctx.network.modules() if isinstance(m, torch.nn.Conv2d))

    register_objective("conv_layers", depth, unit="count")

Built-ins:

=================  ========  =========  ====================================================
name               unit      measured   what
=================  ========  =========  ====================================================
``valid_error``    fraction  trained    validation error after training
``params``         count     built      trainable parameters (``record.params``)
``flops``          FLOPs     built      forward FLOPs of one example (``record.flops``)
``latency_ms``     ms        built      median forward time of one batch (see below)
``peak_memory_mb`` MiB       trained    the trainer's peak memory (``record.peak_memory_mb``)
=================  ========  =========  ====================================================

Objectives with ``needs_training=False`` are measured on the freshly built (untrained) network
before training, so a run that diverges still has them; the others after a successful training
only. A measurement that raises or returns ``None``/NaN is left out and logged; it never fails
the evaluation.

``latency_ms``: the median over a few timed forward passes (after a warm-up) of one batch of
``protocol.latency_batch_size`` zero inputs, on the evaluation device, in eval mode, without
gradients, fp32, with the protocol's CPU thread count; CUDA is synchronised around each pass.
The default batch of 1 is the latency of serving one input (what a deployment trade-off is
about, and the cheapest to measure); a larger batch measures throughput-bound time instead.
Weights do not change the forward time, so the untrained network is timed.
"""

from __future__ import annotations

import logging
import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch
import torch.nn as nn

from algebraic_nas.assembly.shapes import InputSpec
from algebraic_nas.errors import ConfigError
from algebraic_nas.registry import Registry
from algebraic_nas.threads import torch_threads

from .protocols import Protocol
from .record import EvaluationRecord

log = logging.getLogger("algebraic_nas.evaluation")

LATENCY_WARMUP = 2  # untimed passes first: allocator, cuDNN algorithm choice, lazy init
LATENCY_REPEATS = 10  # at most this many timed passes...
LATENCY_BUDGET_S = 0.25  # ...and no more once the timed passes took this long (at least 3)
LATENCY_MIN_REPEATS = 3


@dataclass
class MeasureContext:
    """What a measurement may look at.

    ``record``: the evaluation so far (``params``/``flops`` set; after training also the
    errors, times and ``peak_memory_mb``); ``network``: the freshly built, untrained network (on
    the CPU, possibly moved by an earlier measurement) for objectives measured before training,
    ``None`` after training; ``spec``: its ``InputSpec(channels, resolution, classes)``;
    ``device``: the evaluation device; ``protocol``: the protocol in force (overrides applied).
    """

    record: EvaluationRecord
    network: Optional[nn.Module]
    spec: InputSpec
    device: torch.device
    protocol: Protocol


Measure = Callable[[MeasureContext], Optional[float]]


@dataclass(frozen=True)
class Objective:
    """A registered objective: ``measure(ctx) -> value`` in ``unit``; ``direction`` ``"min"``
    or ``"max"`` (which way is better); ``needs_training``: measured after training."""

    name: str
    measure: Measure
    unit: str
    direction: str = "min"
    needs_training: bool = False
    doc: str = ""


OBJECTIVE_REGISTRY: Registry[Objective] = Registry("objective", key="objective")


def register_objective(name: str, measure: Measure, *, unit: str, direction: str = "min",
                       needs_training: bool = False, doc: str = "") -> Objective:
    """Register ``measure`` as the objective ``name`` (see the module docstring); registering a
    name again warns and replaces it. Returns the registered :class:`Objective`."""
    if direction not in ("min", "max"):
        raise ConfigError(f"objective {name!r}: direction must be 'min' or 'max', not {direction!r}")
    if not callable(measure):
        raise TypeError(f"objective {name!r}: measure must be callable, not {type(measure).__name__}")
    line = doc or ((getattr(measure, "__doc__", None) or "").strip().splitlines() or [""])[0]
    objective = Objective(name, measure, unit, direction, needs_training, line)
    OBJECTIVE_REGISTRY.add(name, objective, stacklevel=3)
    return objective


def objective_names() -> list[str]:
    """The registered objectives, sorted."""
    return OBJECTIVE_REGISTRY.names()


def get_objective(name: str) -> Objective:
    """The registered objective ``name`` (``ConfigError`` naming the known ones otherwise)."""
    return OBJECTIVE_REGISTRY.get(name)


def measure_objectives(ctx: MeasureContext, trained: bool) -> dict[str, float]:
    """The values of the registered objectives with ``needs_training == trained`` that could be
    measured (finite numbers); a failing measurement is logged and left out."""
    values: dict[str, float] = {}
    for objective in OBJECTIVE_REGISTRY.entries():
        if objective.needs_training != trained:
            continue
        try:
            value = objective.measure(ctx)
        except Exception as exc:  # noqa: BLE001 - an objective never fails the evaluation
            log.warning("objective %r not measured: %s: %s", objective.name, type(exc).__name__, exc)
            continue
        if value is None or isinstance(value, bool) or not math.isfinite(float(value)):
            log.info("objective %r not measured (value %r)", objective.name, value)
            continue
        values[objective.name] = float(value)
    return values


# ------------------------------------------------------------------------------------- built-ins


def _valid_error(ctx: MeasureContext) -> Optional[float]:
    """validation error after training (fraction)"""
    return ctx.record.valid_error


def _params(ctx: MeasureContext) -> Optional[float]:
    """trainable parameters"""
    return ctx.record.params


def _flops(ctx: MeasureContext) -> Optional[float]:
    """forward FLOPs of one example"""
    return ctx.record.flops


def _peak_memory_mb(ctx: MeasureContext) -> Optional[float]:
    """peak memory of training (CUDA allocation on a GPU, process RSS on a CPU)"""
    return ctx.record.peak_memory_mb


def latency_ms(ctx: MeasureContext) -> float:
    """median forward time of one batch of protocol.latency_batch_size inputs (ms)"""
    if ctx.network is None:
        raise ValueError("latency needs the network")
    device = ctx.device
    net = ctx.network.to(device).eval()
    c, r = ctx.spec.channels, ctx.spec.resolution
    x = torch.zeros(ctx.protocol.latency_batch_size, c, r, r, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda *_: None)
    times: list[float] = []
    with torch.no_grad(), torch_threads(ctx.protocol.cpu_threads):
        for _ in range(LATENCY_WARMUP):
            net(x)
        sync(device)
        while len(times) < LATENCY_REPEATS and (len(times) < LATENCY_MIN_REPEATS or sum(times) < LATENCY_BUDGET_S):
            start = time.perf_counter()
            net(x)
            sync(device)
            times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def register_builtin_objectives() -> None:
    """Register the built-in objectives (what importing :mod:`algebraic_nas.evaluation` does)."""
    register_objective("valid_error", _valid_error, unit="fraction", needs_training=True)
    register_objective("params", _params, unit="count")
    register_objective("flops", _flops, unit="FLOPs")
    register_objective("latency_ms", latency_ms, unit="ms")
    register_objective("peak_memory_mb", _peak_memory_mb, unit="MiB", needs_training=True)
