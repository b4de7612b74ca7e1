"""Built-in merge modules: how a template node combines its incoming branches.

``"sum"`` (the default) adds the branches, which must have equal shapes; the executor runs it by
accumulating branch by branch (peak memory), the module here is its reference. ``"concat"``
concatenates along channels in edge order; the branches must agree in height and width.
Each module maps a list of tensors ``[(N, C_i, H, W)]`` to one tensor.

NAGO's merges (Ru et al. 2020; the generator topologies use them) first *align* the branches:
each is average-pooled to the smallest resolution and, where its width differs from the widest
branch, projected by a 1×1 convolution + BN; the node then has the widest width ``C`` at the
smallest resolution ``(H, W)``:

* ``wsum`` — NAGO's SUM: ``Σ g_i · x_i`` with a learnable gain ``g_i`` per branch (initially 1);
* ``cat`` — NAGO's CAT: channel concatenation, then a 1×1 convolution + BN back to ``C`` (so that
  widths do not compound along a graph);
* ``attention`` — NAGO's ATTENTION: ``Σ a_i · x_i`` with ``a = softmax_i(w · GAP(x_i) + b)``, per sample;
* ``mean`` — the average (the outputs of a generated graph).
"""

from __future__ import annotations

from typing import Sequence

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


# --- NAGO's merges ------------------------------------------------------------------------------


def aligned_shape(shapes: Sequence[Shape]) -> Shape:
    """The shape NAGO's merges produce: the widest width at the smallest resolution."""
    return Shape(max(s.c for s in shapes), min(s.h for s in shapes), min(s.w for s in shapes))


def _aligner(shape: Shape, target: Shape) -> nn.Module:
    steps: list[nn.Module] = []
    if (shape.h, shape.w) != (target.h, target.w):
        steps.append(nn.AdaptiveAvgPool2d((target.h, target.w)))
    if shape.c != target.c:
        steps += [nn.Conv2d(shape.c, target.c, 1, bias=False), nn.BatchNorm2d(target.c)]
    return nn.Sequential(*steps) if steps else nn.Identity()


class Aligned(nn.Module):
    """Base of NAGO's merges: ``k`` branches of ``shapes`` → ``k`` tensors ``(N, C, H, W)`` of :func:`aligned_shape`."""

    def __init__(self, shapes: Sequence[Shape]) -> None:
        super().__init__()
        self.out_shape = aligned_shape(shapes)
        self.align = nn.ModuleList(_aligner(s, self.out_shape) for s in shapes)

    def aligned(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        return [a(x) for a, x in zip(self.align, xs)]


class WeightedSum(Aligned):
    """NAGO's SUM: ``[(N, C_i, H_i, W_i)] * k → (N, C, H, W)``, ``Σ g_i · align(x_i)``."""

    def __init__(self, shapes: Sequence[Shape]) -> None:
        super().__init__(shapes)
        self.gain = nn.Parameter(torch.ones(len(shapes)))

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        y = None
        for g, x in zip(self.gain, self.aligned(xs)):
            y = g * x if y is None else y + g * x
        return y


class Mean(Aligned):
    """``[(N, C_i, H_i, W_i)] * k → (N, C, H, W)``: the average of the aligned branches."""

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(self.aligned(xs)).mean(dim=0)


class ConcatProject(Aligned):
    """NAGO's CAT: ``[(N, C_i, H_i, W_i)] * k → (N, C, H, W)``: concatenation, then 1×1 conv + BN to ``C``."""

    def __init__(self, shapes: Sequence[Shape]) -> None:
        super().__init__(shapes)
        c = self.out_shape.c
        self.project = nn.Sequential(nn.Conv2d(len(shapes) * c, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return self.project(torch.cat(self.aligned(xs), dim=1))


class AttentionSum(Aligned):
    """NAGO's ATTENTION: ``[(N, C_i, H_i, W_i)] * k → (N, C, H, W)``, weights softmax over branches per sample."""

    def __init__(self, shapes: Sequence[Shape]) -> None:
        super().__init__(shapes)
        self.score = nn.Linear(self.out_shape.c, 1)

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        stacked = torch.stack(self.aligned(xs))  # (k, N, C, H, W)
        weights = torch.softmax(self.score(stacked.mean(dim=(3, 4))), dim=0)  # (k, N, 1)
        return (weights[..., None, None] * stacked).sum(dim=0)


for _name, _module in (("wsum", WeightedSum), ("mean", Mean), ("cat", ConcatProject), ("attention", AttentionSum)):
    register_merge(_name, _module, aligned_shape)
