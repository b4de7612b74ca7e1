"""Built-in primitives (nullary terminals): Schrodi et al.'s App. C (the paper's Table 1) and NB201's cell ops.

Every factory takes the per-sample input :class:`Shape` ``(C, H, W)`` and returns an ``nn.Module``
mapping ``(N, C, H, W)`` to ``(N, C', H', W')``; only ``down`` changes the shape here. ``zero`` is
never built (the graph drops it) and ``id`` is executed as a plain reference.
"""

from __future__ import annotations

import torch
from torch import nn

from .registry import register_primitive
from .shapes import Shape


def _half(n: int) -> int:
    return (n + 1) // 2


# --- hnb201 (Schrodi et al., App. C) --------------------------------------------------------------


@register_primitive("id", aliases=("skip_connect",))
def identity(shape: Shape, stride: int = 1) -> nn.Module:
    """Identity; DARTS's ``skip_connect`` with ``stride=2`` is a factorized reduction instead."""
    if stride == 1:
        return nn.Identity()
    return FactorizedReduce(shape.c, shape.c), Shape(shape.c, _half(shape.h), _half(shape.w))


@register_primitive("avg_pool")
def avg_pool(shape: Shape) -> nn.Module:
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


@register_primitive("conv1x1")
def conv1x1(shape: Shape) -> nn.Module:
    return nn.Conv2d(shape.c, shape.c, 1, padding=0, bias=False)


@register_primitive("conv3x3")
def conv3x3(shape: Shape) -> nn.Module:
    return nn.Conv2d(shape.c, shape.c, 3, padding=1, bias=False)


@register_primitive("dconv3x3")
def dconv3x3(shape: Shape) -> nn.Module:
    """Depthwise 3×3 convolution, no pointwise convolution after it (as in the reference)."""
    return nn.Conv2d(shape.c, shape.c, 3, padding=1, groups=shape.c, bias=False)


@register_primitive("relu")
def relu(shape: Shape) -> nn.Module:
    return nn.ReLU(inplace=False)


@register_primitive("hardswish")
def hardswish(shape: Shape) -> nn.Module:
    return nn.Hardswish(inplace=False)


@register_primitive("mish")
def mish(shape: Shape) -> nn.Module:
    return nn.Mish(inplace=False)


@register_primitive("batch")
def batch(shape: Shape) -> nn.Module:
    return nn.BatchNorm2d(shape.c)


@register_primitive("instance")
def instance(shape: Shape) -> nn.Module:
    return nn.InstanceNorm2d(shape.c, affine=True)


@register_primitive("layer")
def layer(shape: Shape) -> nn.Module:
    """LayerNorm over (C, H, W), created eagerly from the propagated shape: 2·C·H·W parameters."""
    return nn.LayerNorm([shape.c, shape.h, shape.w], elementwise_affine=True)


class ReLUConvBN(nn.Sequential):
    """NB201/DARTS ``ReLU → Conv2d(bias=False) → BatchNorm2d``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0,
                 dilation: int = 1, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class ResNetBasicBlock(nn.Module):
    """NB201's reduction block ``down``: C → 2C channels, stride 2.

    ``ReLU-Conv3×3(s2)-BN → ReLU-Conv3×3-BN`` plus the shortcut ``AvgPool(2, 2) → Conv1×1(C, 2C)``,
    summed. The pool uses ``ceil_mode`` so that odd resolutions agree with the strided conv
    (identical to NB201 for even resolutions, the only ones NB201 meets).
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 2) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0, ceil_mode=True),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.downsample(x)


@register_primitive("down", out_shape=lambda s: Shape(2 * s.c, _half(s.h), _half(s.w)))
def down(shape: Shape) -> nn.Module:
    return ResNetBasicBlock(shape.c, 2 * shape.c, 2)


# --- NB201 cell operations (NB201's own names) -----------------------------------------------------


@register_primitive("nor_conv_3x3")
def nor_conv_3x3(shape: Shape) -> nn.Module:
    return ReLUConvBN(shape.c, shape.c, 3, 1, 1)


@register_primitive("nor_conv_1x1")
def nor_conv_1x1(shape: Shape) -> nn.Module:
    return ReLUConvBN(shape.c, shape.c, 1, 1, 0)


class FactorizedReduce(nn.Module):
    """DARTS's stride-2 shortcut: ``ReLU``, two offset stride-2 1×1 convolutions concatenated, BN."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        a = self.conv_1(x)
        # The offset path sees x shifted by one pixel; pad odd sizes so both halves agree.
        b = self.conv_2(nn.functional.pad(x[:, :, 1:, 1:], (0, x.shape[3] % 2, 0, x.shape[2] % 2)))
        return self.bn(torch.cat([a, b], dim=1))


# --- toy grammar (the paper's running example: conv, id, fc) ---------------------------------------


@register_primitive("conv")
def conv(shape: Shape) -> nn.Module:
    """The toy grammar's ``conv``: a ReLU-Conv3×3-BN layer (NB201 style), C → C."""
    return ReLUConvBN(shape.c, shape.c, 3, 1, 1)


@register_primitive("fc")
def fc(shape: Shape) -> nn.Module:
    """The toy grammar's ``fc``: a fully connected layer over channels at every pixel (1×1 conv with bias).

    A true flattening linear layer would change the shape and could not be summed with the
    other branches the toy grammar allows next to it.
    """
    return nn.Conv2d(shape.c, shape.c, 1, bias=True)
