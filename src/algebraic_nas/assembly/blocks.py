"""Building blocks of the other shipped grammars: DARTS operations and cell preprocessing, Liu et
al.'s hierarchical-cell primitives, MobileNet blocks and Auto-DeepLab's resolution transitions.

All factories follow :mod:`.registry`'s convention ``factory(shape, *args, **attrs) -> module``
(``shape`` the per-sample input ``(C, H, W)``); ``stride=2`` comes from a reduction-cell template.
"""

from __future__ import annotations

import math
from typing import Union

import torch
from torch import nn

from .primitives import ReLUConvBN
from .registry import register_primitive
from .shapes import Shape


def _strided(shape: Shape, stride: int, c: int | None = None) -> Shape:
    """Output shape of a 'same'-padded operation with ``stride`` (ceil division)."""
    return Shape(shape.c if c is None else c, -(-shape.h // stride), -(-shape.w // stride))


def _check_stride(stride: int) -> int:
    if stride not in (1, 2):
        raise ValueError(f"stride must be 1 or 2, got {stride}")
    return stride


# --- DARTS operations (Liu, Simonyan, Yang 2019), C → C ---------------------------------------------


class SepConv(nn.Sequential):
    """DARTS separable convolution: (ReLU, depthwise k×k, pointwise 1×1, BN) twice; the first has the stride."""

    def __init__(self, c: int, kernel: int, stride: int = 1) -> None:
        pad = kernel // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel, stride=stride, padding=pad, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel, stride=1, padding=pad, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )


class DilConv(nn.Sequential):
    """DARTS dilated separable convolution: ReLU, depthwise k×k with dilation 2, pointwise 1×1, BN."""

    def __init__(self, c: int, kernel: int, stride: int = 1, dilation: int = 2) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, kernel, stride=stride, padding=dilation * (kernel // 2), dilation=dilation,
                      groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )


def _register_darts_ops() -> None:
    for k in (3, 5):
        register_primitive(f"sep_conv_{k}x{k}", lambda s, stride=1, k=k: (SepConv(s.c, k, _check_stride(stride)), _strided(s, stride)))
        register_primitive(f"dil_conv_{k}x{k}", lambda s, stride=1, k=k: (DilConv(s.c, k, _check_stride(stride)), _strided(s, stride)))
    register_primitive("max_pool_3x3", lambda s, stride=1: (nn.MaxPool2d(3, stride=_check_stride(stride), padding=1), _strided(s, stride)))
    register_primitive("avg_pool_3x3", lambda s, stride=1: (
        nn.AvgPool2d(3, stride=_check_stride(stride), padding=1, count_include_pad=False), _strided(s, stride)))
    register_primitive("conv_7x1_1x7", lambda s, stride=1: (nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(s.c, s.c, (1, 7), stride=(1, _check_stride(stride)), padding=(0, 3), bias=False),
        nn.Conv2d(s.c, s.c, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
        nn.BatchNorm2d(s.c)), _strided(s, stride)))


_register_darts_ops()


@register_primitive("darts_preprocess", out_shape=lambda s, divisor=4: Shape(s.c // divisor, s.h, s.w))
def darts_preprocess(shape: Shape, divisor: int = 4) -> nn.Module:
    """DARTS cell input preprocessing ``ReLU-Conv1×1-BN``, C → C / ``divisor`` (the cell's node width)."""
    if shape.c % divisor:
        raise ValueError(f"a DARTS cell needs input channels divisible by {divisor}, got {shape.c}")
    return ReLUConvBN(shape.c, shape.c // divisor, 1, 1, 0)


# --- Auto-DeepLab resolution transitions ------------------------------------------------------------


class Upsample2x(nn.Module):
    """Bilinear ×2 upsampling, then ``ReLU-Conv1×1-BN`` halving the channels."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.proj = ReLUConvBN(c, c // 2, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.proj(x)


@register_primitive("adl_up", out_shape=lambda s: Shape(s.c // 2, 2 * s.h, 2 * s.w))
def adl_up(shape: Shape) -> nn.Module:
    """Auto-DeepLab's up transition: resolution ×2, channels ÷2."""
    if shape.c < 2:
        raise ValueError(f"cannot halve {shape.c} channel(s)")
    return Upsample2x(shape.c)


@register_primitive("adl_down", out_shape=lambda s: _strided(s, 2, 2 * s.c))
def adl_down(shape: Shape) -> nn.Module:
    """Auto-DeepLab's down transition: ``ReLU-Conv3×3(stride 2)-BN``, resolution ÷2, channels ×2."""
    return ReLUConvBN(shape.c, 2 * shape.c, 3, 2, 1)
