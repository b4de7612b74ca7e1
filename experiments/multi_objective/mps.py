"""Memory per sample (NAGO's "MPS"), measured without a GPU, as a plugin objective.

``memory_per_sample_mb``: the bytes of the tensors a training-mode forward pass saves for the
backward pass (activations; parameters excluded, a storage shared by several saved tensors
counted once), for a batch of ``BATCH`` random inputs, divided by the batch size, in MiB. This is
what grows with the batch in training memory, so it is the per-sample slope of the GPU memory NAGO
reports, minus the allocator's rounding. On the CPU the trainer's ``peak_memory_mb`` is the
process's peak RSS, not the network's, hence this measurement. It is deterministic given the term
and the network seed, needs no training, and is measured on a copy of the untrained network (its
batch-norm statistics and the caller's random state are left alone).

    ALGEBRAIC_NAS_PLUGINS=mps PYTHONPATH=experiments/multi_objective python -m algebraic_nas.search \\
        strategy=mo_banat 'objectives=[valid_error,memory_per_sample_mb]' ...
"""

from __future__ import annotations

import copy
from typing import Any, Optional

import torch

from algebraic_nas.evaluation import register_objective

BATCH = 4
NAME = "memory_per_sample_mb"


def memory_per_sample_mb(net: torch.nn.Module, channels: int, resolution: int, batch: int = BATCH) -> float:
    """Saved-for-backward bytes per sample of one training forward pass (MiB)."""
    net = copy.deepcopy(net).train()
    params = {p.untyped_storage().data_ptr() for p in net.parameters()}
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        if s.data_ptr() not in params:
            storages[s.data_ptr()] = max(storages.get(s.data_ptr(), 0), s.nbytes())
        return t

    with torch.random.fork_rng(devices=[]), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        x = torch.randn(batch, channels, resolution, resolution)
        net(x).sum()
    return sum(storages.values()) / batch / 2**20


def _measure(ctx: Any) -> Optional[float]:
    """activation memory saved for backward per training sample (MiB)"""
    if ctx.network is None:
        return None
    return memory_per_sample_mb(ctx.network.cpu(), ctx.spec.channels, ctx.spec.resolution)


register_objective(NAME, _measure, unit="MiB")
