"""Built-in merge modules: how a template node combines its incoming branches.

``"sum"`` (the default) adds the branches, which must have equal shapes; the executor runs it by
accumulating branch by branch (peak memory), the module here is its reference. ``"concat"``
concatenates along channels in edge order; the branches must agree in height and width.
Each module maps a list of tensors ``[(N, C_i, H, W)]`` to one tensor.
"""

from __future__ import annotations

import torch
from torch import nn

from algebraic_nas.grammar.topology_template import CONCAT, SUM

from .registry import register_merge
from .shapes import Shape


class Sum(nn.Module):
    """``[(N, C, H, W)] * k → (N, C, H, W)``: elementwise sum."""

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return y


class Concat(nn.Module):
    """``[(N, C_i, H, W)] → (N, ΣC_i, H, W)``: channel concatenation in branch order."""

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(xs, dim=1)


def _sum_shape(shapes: list[Shape]) -> Shape:
    if any(s != shapes[0] for s in shapes):
        raise ValueError("summed branches must have equal shapes")
    return shapes[0]


def _concat_shape(shapes: list[Shape]) -> Shape:
    if any(s[1:] != shapes[0][1:] for s in shapes):
        raise ValueError("concatenated branches must have equal height and width")
    return Shape(sum(s.c for s in shapes), shapes[0].h, shapes[0].w)


register_merge(SUM, lambda shapes: Sum(), _sum_shape)
register_merge(CONCAT, lambda shapes: Concat(), _concat_shape)
