"""Parameter count, forward FLOPs and output shape of a built network.

FLOP convention: torch's own counter (:class:`torch.utils.flop_counter.FlopCounterMode`) on one
sample in eval mode: convolutions, linear layers and matrix products only, one multiply-add = 2
FLOPs; normalisation, activations, pooling and additions are not counted. NB201's "FLOPs" are
multiply-adds, i.e. ``flops / 2`` (reported as ``macs``).

Counting with ``FlopCounterMode`` intercepts every operator in Python (about 1 ms each on a
2-core CPU: 4.5 s for a NAGO network of 1,650 convolutions whose plain forward takes 0.3 s), so
:func:`network_stats` counts analytically with forward hooks on the convolution and linear
modules, the same formulas as torch's counter, whenever every leaf module is one it knows (torch's
convolutions, linear layers, norms, activations, pooling, and the project's own modules, which
call no matrix product outside them). A network with another leaf module (a user's primitive
that may call ``F.conv2d`` or a matrix product itself) is counted by ``FlopCounterMode``.
"""

from __future__ import annotations

import math
from typing import Any, Union

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .shapes import InputSpec

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
# leaf modules without convolutions or matrix products (FlopCounterMode counts none of their work)
_NO_FLOPS = (
    nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.Identity, nn.Flatten,
    nn.ReLU, nn.ReLU6, nn.Hardswish, nn.Mish, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.LeakyReLU, nn.ELU,
    nn.Hardsigmoid, nn.Softmax,
    nn.modules.pooling._AvgPoolNd, nn.modules.pooling._MaxPoolNd,
    nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd,
    nn.modules.dropout._DropoutNd, nn.Upsample, nn.ZeroPad2d, nn.ConstantPad2d,
    nn.ModuleList, nn.ModuleDict, nn.Sequential,  # containers left empty (e.g. a pruned edge list)
)
_OWN_PREFIX = "algebraic_nas."


def count_params(net: nn.Module) -> int:
    """Exact number of parameters (NB201 convention: every parameter tensor element, buffers excluded)."""
    return sum(p.numel() for p in net.parameters())


def countable_by_hooks(net: nn.Module) -> bool:
    """Whether every leaf module is a convolution, a linear layer, a FLOP-free torch module or one
    of the project's own (so hooks on convolutions and linear layers count what torch's counter does)."""
    for module in net.modules():
        if next(module.children(), None) is not None:
            continue
        if isinstance(module, _CONVS + (nn.Linear,) + _NO_FLOPS):
            continue
        if type(module).__module__.startswith(_OWN_PREFIX):
            continue
        return False
    return True


def _conv_flops(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    """torch's convolution formula: 2 x output elements x (input channels per group) x kernel size."""
    weight = module.weight
    return 2 * output.numel() * weight.shape[1] * math.prod(weight.shape[2:])


def _linear_flops(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    """torch's matrix-product formula: 2 x (rows of the input) x in_features x out_features."""
    return 2 * output.numel() * module.in_features


def _forward_with_hooks(net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """One forward pass of ``x``; returns ``(output, FLOPs)`` counted by module hooks."""
    total = [0]
    handles = []
    for module in net.modules():
        rule = _conv_flops if isinstance(module, _CONVS) else _linear_flops if isinstance(module, nn.Linear) else None
        if rule is not None:
            def hook(m: nn.Module, inputs: tuple, output: torch.Tensor, rule=rule) -> None:
                total[0] += rule(m, inputs, output)
            handles.append(module.register_forward_hook(hook))
    try:
        y = net(x)
    finally:
        for h in handles:
            h.remove()
    return y, total[0]


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
        with torch.no_grad():
            if countable_by_hooks(net):
                y, flops = _forward_with_hooks(net, x)
            else:
                counter = FlopCounterMode(display=False)
                with counter:
                    y = net(x)
                flops = int(counter.get_total_flops())
    finally:
        net.train(was_training)
    return {"params": count_params(net), "flops": int(flops), "macs": int(flops) // 2, "output_shape": list(y.shape)}
