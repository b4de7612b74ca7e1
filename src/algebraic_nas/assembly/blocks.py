"""Building blocks of the other shipped grammars: DARTS operations and cell preprocessing, Liu et
al.'s hierarchical-cell primitives, MobileNet blocks, Auto-DeepLab's resolution transitions and
NAGO's stage transitions.

All factories follow :mod:`.registry`'s convention ``factory(shape, *args, **attrs) -> module``
(``shape`` the per-sample input ``(C, H, W)``); ``stride=2`` comes from a reduction-cell template.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

import torch
from torch import nn

from .primitives import FactorizedReduce, ReLUConvBN
from .registry import register_primitive
from .shapes import Shape

if TYPE_CHECKING:
    from algebraic_nas.grammar.term import Term


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


@register_primitive("darts_preprocess",
                    out_shape=lambda s, divisor=4, channels=None: Shape(channels or s.c // divisor, s.h, s.w))
def darts_preprocess(shape: Shape, divisor: int = 4, channels: int | None = None) -> nn.Module:
    """DARTS cell input preprocessing ``ReLU-Conv1×1-BN``, C → ``channels`` (the cell's node width),
    or C → C / ``divisor`` when ``channels`` is not given (the one-input ``Darts`` block)."""
    if channels is None and shape.c % divisor:
        raise ValueError(f"a DARTS cell needs input channels divisible by {divisor}, got {shape.c}")
    return ReLUConvBN(shape.c, channels or shape.c // divisor, 1, 1, 0)


@register_primitive("darts_factorized_reduce", out_shape=lambda s, channels: _strided(s, 2, channels))
def darts_factorized_reduce(shape: Shape, channels: int) -> nn.Module:
    """DARTS's ``preprocess0`` after a reduction cell: ``FactorizedReduce`` C → ``channels``, stride 2."""
    return FactorizedReduce(shape.c, channels)


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


# --- Liu et al. (2018) hierarchical-cell primitives -------------------------------------------------


@register_primitive("max_pool")
def max_pool(shape: Shape) -> nn.Module:
    """3×3 max-pooling, stride 1, padding 1."""
    return nn.MaxPool2d(3, stride=1, padding=1)


class ConvBNReLU(nn.Sequential):
    """Liu et al.'s convolution: ``Conv → BN → ReLU`` (``separable``: depthwise then pointwise 1×1)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1,
                 separable: bool = False) -> None:
        layers: list[nn.Module] = []
        if separable:
            layers += [nn.Conv2d(c_in, c_in, kernel, stride, kernel // 2, groups=c_in, bias=False),
                       nn.Conv2d(c_in, c_out, 1, bias=False)]
        else:
            layers.append(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False))
        layers += [nn.BatchNorm2d(c_out), nn.ReLU(inplace=False)]
        super().__init__(*layers)


@register_primitive("sep_conv3x3")
def sep_conv3x3(shape: Shape) -> nn.Module:
    """Liu et al.'s 3×3 separable convolution of C channels: depthwise 3×3, pointwise 1×1, BN, ReLU."""
    return ConvBNReLU(shape.c, shape.c, 3, separable=True)


@register_primitive("conv1x1_bn_relu")
def conv1x1_bn_relu(shape: Shape) -> nn.Module:
    """Liu et al.'s 1×1 convolution followed by BN and ReLU (``conv1x1`` is the bare convolution)."""
    return ConvBNReLU(shape.c, shape.c, 1)


@register_primitive("dconv3x3_bn_relu")
def dconv3x3_bn_relu(shape: Shape) -> nn.Module:
    """Liu et al.'s 3×3 depthwise convolution followed by BN and ReLU (``dconv3x3`` is the bare one)."""
    return ConvBNReLU(shape.c, shape.c, 3, groups=shape.c)


# --- MobileNet / MnasNet factorised blocks ---------------------------------------------------------


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: ``x · sigmoid(W2 relu(W1 gap(x)))`` with ``hidden`` units."""

    def __init__(self, c: int, hidden: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(c, hidden, 1)
        self.expand = nn.Conv2d(hidden, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.expand(torch.relu(self.reduce(s))))


def _se(c: int, c_ref: int, ratio: float) -> list[nn.Module]:
    """An SE module on ``c`` channels squeezing to ``max(1, int(c_ref · ratio))``, none for ratio 0."""
    return [SqueezeExcite(c, max(1, int(c_ref * ratio)))] if ratio > 0 else []


class MobileLayer(nn.Module):
    """One layer of a MobileNet block, ``c_in → c_out`` with ``stride``; optional identity residual.

    ``kind``: ``"Conv"`` (k×k conv-BN-ReLU, SE), ``"DConv"`` (depthwise separable: depthwise k×k-BN-
    ReLU, SE, pointwise 1×1-BN), ``"MBConv"`` (inverted bottleneck: 1×1 expand ×e-BN-ReLU, depthwise
    k×k-BN-ReLU, SE, 1×1 project-BN; MobileNetV2 / MnasNet). SE squeezes to ``c_in · se_ratio``.
    The residual is added when ``skip`` and the shapes allow it (stride 1, ``c_in == c_out``).
    """

    def __init__(self, kind: str, c_in: int, c_out: int, stride: int, kernel: int, se_ratio: float,
                 expand: int = 1, skip: bool = False) -> None:
        super().__init__()
        pad = kernel // 2
        if kind == "Conv":
            layers = [nn.Conv2d(c_in, c_out, kernel, stride, pad, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                      *_se(c_out, c_in, se_ratio)]
        elif kind == "DConv":
            layers = [nn.Conv2d(c_in, c_in, kernel, stride, pad, groups=c_in, bias=False), nn.BatchNorm2d(c_in),
                      nn.ReLU(), *_se(c_in, c_in, se_ratio),
                      nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        elif kind == "MBConv":
            mid = c_in * expand
            layers = []
            if expand != 1:
                layers += [nn.Conv2d(c_in, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU()]
            layers += [nn.Conv2d(mid, mid, kernel, stride, pad, groups=mid, bias=False), nn.BatchNorm2d(mid),
                       nn.ReLU(), *_se(mid, c_in, se_ratio),
                       nn.Conv2d(mid, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        else:
            raise ValueError(f"unknown MobileNet layer type {kind!r} (Conv, DConv or MBConv)")
        self.body = nn.Sequential(*layers)
        self.residual = bool(skip and stride == 1 and c_in == c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


#: (channels, layers, stride) of the reference stages: block i of the term is stage i. The first
#: three are the grammar's suggestion (MobileNetV2/MnasNet widths), later ones MnasNet's.
MOBILE_REFERENCE: tuple[tuple[int, int, int], ...] = ((24, 2, 2), (40, 3, 2), (80, 4, 2), (112, 2, 1), (160, 3, 2), (320, 1, 1))


def _layer_spec(layer: Union[str, Term]) -> tuple[str, tuple]:
    """``("MBConv", (5, 6, 0.25))`` from the LAYER argument term."""
    from .graph import leaf_args

    if isinstance(layer, str):  # a nullary layer terminal: defaults
        return layer, ()
    t = layer.resolve()
    return t.symbol, leaf_args(t)


def _layer_kwargs(kind: str, args: tuple) -> dict:
    if kind in ("Conv", "DConv"):
        kernel, se = (args + (3, 0.0)[len(args):])[:2]
        return dict(kernel=int(kernel), se_ratio=float(se))
    if kind == "MBConv":
        kernel, expand, se = (args + (3, 6, 0.0)[len(args):])[:3]
        return dict(kernel=int(kernel), expand=int(expand), se_ratio=float(se))
    raise ValueError(f"unknown MobileNet layer type {kind!r} (Conv, DConv or MBConv)")


def _block_plan(layer, skip: str, fsize: float, nlayers: int, index: int):
    if index >= len(MOBILE_REFERENCE):
        raise ValueError(f"block {index} has no reference stage (the reference has {len(MOBILE_REFERENCE)})")
    channels, layers, stride = MOBILE_REFERENCE[index]
    if skip not in ("skip", "noskip"):
        raise ValueError(f"SKIP must be 'skip' or 'noskip', got {skip!r}")
    c_out = max(1, round(channels * float(fsize)))
    n = max(1, layers + int(nlayers))
    kind, args = _layer_spec(layer)
    return kind, _layer_kwargs(kind, args), c_out, n, stride, skip == "skip"


def _block_shape(shape: Shape, layer, skip, fsize, nlayers, index: int = 0) -> Shape:
    _, _, c_out, _, stride, _ = _block_plan(layer, skip, fsize, nlayers, index)
    return _strided(shape, stride, c_out)


@register_primitive("Block", out_shape=_block_shape, positional=True)
def block(shape: Shape, layer, skip: str, fsize: float, nlayers: int, index: int = 0) -> nn.Module:
    """MobileNet block ``Block(LAYER, SKIP, FSIZE, NLAYERS)``, the ``index``-th block of the term.

    Stage ``index`` of :data:`MOBILE_REFERENCE` gives (channels, layers, stride): the block has
    ``max(1, layers + NLAYERS)`` layers of type LAYER with ``round(channels · FSIZE)`` output
    channels; the first has the stage's stride, and SKIP adds identity residuals where shapes allow.
    """
    kind, kw, c_out, n, stride, skip_on = _block_plan(layer, skip, fsize, nlayers, index)
    layers = [MobileLayer(kind, shape.c if i == 0 else c_out, c_out, stride if i == 0 else 1, skip=skip_on, **kw)
              for i in range(n)]
    return nn.Sequential(*layers)


for _kind in ("Conv", "DConv", "MBConv"):
    # The layer terminals used on their own: one C → C layer (stride 1) with an identity residual.
    register_primitive(_kind, lambda s, *a, _k=_kind: MobileLayer(_k, s.c, s.c, 1, skip=True, **_layer_kwargs(_k, a)))


# --- NAGO stage transitions (Ru et al. 2020) ---------------------------------------------------------


def _transition_shape(shape: Shape, down: int = 2, ratio: float = 2.0) -> Shape:
    return Shape(max(1, round(shape.c * float(ratio))), -(-shape.h // int(down)), -(-shape.w // int(down)))


@register_primitive("nago_transition", out_shape=_transition_shape)
def nago_transition(shape: Shape, down: int = 2, ratio: float = 2.0) -> nn.Module:
    """Into a later NAGO stage: average pooling by ``down`` (ceil mode), then 1×1 conv + BN to
    ``round(C · ratio)`` channels (the stages' channel ratio)."""
    out = _transition_shape(shape, down, ratio)
    layers: list[nn.Module] = []
    if int(down) > 1:
        layers.append(nn.AvgPool2d(int(down), stride=int(down), ceil_mode=True))
    layers += [nn.Conv2d(shape.c, out.c, 1, bias=False), nn.BatchNorm2d(out.c)]
    return nn.Sequential(*layers)
