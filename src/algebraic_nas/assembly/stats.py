"""Parameter count, forward FLOPs and output shape of a built network.

FLOP convention: torch's own counter (:class:`torch.utils.flop_counter.FlopCounterMode`) on one
sample in eval mode: convolutions, linear layers and matrix products only, one multiply-add = 2
FLOPs; normalisation, activations, pooling and additions are not counted. NB201's "FLOPs" are
multiply-adds, i.e. ``flops / 2`` (reported as ``macs``).
"""

from __future__ import annotations

from typing import Any, Union

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .shapes import InputSpec


def count_params(net: nn.Module) -> int:
    """Exact number of parameters (NB201 convention: every parameter tensor element, buffers excluded)."""
    return sum(p.numel() for p in net.parameters())


def network_stats(net: nn.Module, spec: Union[InputSpec, tuple[int, int, int]]) -> dict[str, Any]:
    """``{"params": int, "flops": int, "macs": int, "output_shape": list[int]}`` for one sample.

    ``output_shape`` includes the batch axis of 1 (``[1, classes]`` for a full network).
    """
    spec = InputSpec(*spec)
    p = next(iter(net.parameters()), None)
    device = p.device if p is not None else torch.device("cpu")
    x = torch.zeros(1, spec.channels, spec.resolution, spec.resolution, device=device)
    was_training = net.training
    net.eval()
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            y = net(x)
    finally:
        net.train(was_training)
    flops = int(counter.get_total_flops())
    return {"params": count_params(net), "flops": flops, "macs": flops // 2, "output_shape": list(y.shape)}
