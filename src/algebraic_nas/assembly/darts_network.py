"""DARTS's ``NetworkCIFAR`` for a ``DartsCIFAR(C, L, NORMAL, REDUCE)`` term (Liu et al., ICLR 2019; github.com/quark0/darts).

``build_network`` hands such a term to :func:`build_darts_network`, which differs from the
generic ``stem → body → head`` only where DARTS does:

* stem ``Conv3×3(channels → 3C, bias=False) + BN(3C)`` (``C`` read from the term);
* body: the term's DAG (:mod:`algebraic_nas.grammar.topology_darts`), run by the usual executor;
* head ``global average pool → Linear(C_out, classes)`` (no BN/ReLU before the pool);
* optional auxiliary head (DARTS's ``AuxiliaryHeadCIFAR``) on the output of cell ``2L//3``:
  ``ReLU → AvgPool5×5(stride 3) → Conv1×1(→128) → BN → ReLU → Conv2×2(→768) → BN → ReLU →
  Linear(768, classes)``; it lives in the body's ``darts_aux_tap`` module and computes
  :attr:`DartsNetwork.auxiliary_logits` in training mode only;
* optional drop path (:meth:`DartsNetwork.set_drop_path`): in training, each cell operation's
  output (not the identities, not the preprocessing) is zeroed per sample with probability p and
  scaled by ``1 / (1 - p)``.

DARTS counts parameters without the auxiliary head (``utils.count_parameters_in_MB`` skips it);
:func:`darts_param_count` does the same.
"""

from __future__ import annotations

from typing import Optional, Union

import torch
from torch import nn

from algebraic_nas.grammar.term import Term
from algebraic_nas.grammar.topology import argument_values
from algebraic_nas.grammar.topology_darts import AUX_TAP, DARTS_NETWORK, STEM_MULTIPLIER, darts_network_template

from .network import NETWORK_BUILDERS, Network, build_body
from .registry import AssemblyError, register_primitive
from .shapes import InputSpec, Shape

#: Body operations that are not cell operations (no drop path on them).
_NOT_CELL_OPS = ("darts_preprocess", "darts_factorized_reduce", AUX_TAP)
#: The feature map size DARTS's auxiliary head is made for (its pooling and 2×2 conv give 1×1).
AUX_RESOLUTION = 8


class AuxiliaryHeadCIFAR(nn.Module):
    """DARTS's auxiliary classifier on an ``(N, C, 8, 8)`` feature map → ``(N, classes)``."""

    def __init__(self, c: int, classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),  # 8×8 → 2×2
            nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),  # 2×2 → 1×1
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class AuxiliaryTap(nn.Module):
    """Identity on ``(N, C, H, W)``; with a ``head``, also computes ``logits`` from its input in training."""

    def __init__(self, shape: Shape) -> None:
        super().__init__()
        self.in_shape = shape
        self.head: Optional[nn.Module] = None
        self.logits: Optional[torch.Tensor] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.head is not None:
            self.logits = self.head(x)
        return x


register_primitive(AUX_TAP, AuxiliaryTap)


def darts_width_layers(term: Term) -> tuple[int, int]:
    """``(C, L)`` of a ``DartsCIFAR`` term."""
    _, values = argument_values(term.resolve())
    try:
        darts_network_template(values)
    except ValueError as e:
        raise AssemblyError(f"{e}: '{term}'") from None
    return int(values[0]), int(values[1])


class DartsNetwork(Network):
    """DARTS's ``NetworkCIFAR``: images ``(N, channels, R, R)`` → logits ``(N, classes)``.

    ``auxiliary_logits`` holds the auxiliary head's logits of the last training-mode forward
    (``None`` without an auxiliary head or in eval mode).
    """

    def __init__(self, stem: nn.Module, body: nn.Module, head: nn.Module, spec: InputSpec, term: str,
                 base_channels: int) -> None:
        super().__init__(stem, body, head, spec, term, base_channels)
        self.drop_path_prob = 0.0
        self._drop_hooks: list = []
        # the index, not the module: a module attribute would register it twice in the state dict
        self._tap_index = body.labels.index(AUX_TAP) if AUX_TAP in body.labels else None

    @property
    def tap(self) -> Optional[AuxiliaryTap]:
        """The body's auxiliary tap (``None`` for a body without one)."""
        return None if self._tap_index is None else self.body.ops[self._tap_index]

    @property
    def auxiliary_logits(self) -> Optional[torch.Tensor]:
        return self.tap.logits if self.tap is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.tap is not None:
            self.tap.logits = None
        return self.head(self.body(self.stem(x)))

    def enable_auxiliary(self) -> None:
        """Add the auxiliary head (DARTS's ``AuxiliaryHeadCIFAR``) after cell ``2L//3``; it needs an
        8×8 feature map there (32×32 inputs). Adding it twice keeps the first."""
        tap = self.tap
        if tap is None:
            raise AssemblyError(f"no auxiliary head position in '{self.term}'")
        s = tap.in_shape
        if (s.h, s.w) != (AUX_RESOLUTION, AUX_RESOLUTION):
            raise AssemblyError(f"DARTS's auxiliary head needs an {AUX_RESOLUTION}×{AUX_RESOLUTION} feature map after cell "
                                f"2L//3, got {s.h}×{s.w} (inputs of {self.spec.resolution}×{self.spec.resolution})")
        if tap.head is None:
            tap.head = AuxiliaryHeadCIFAR(s.c, self.spec.classes)

    def set_drop_path(self, prob: float) -> None:
        """Drop path probability ``prob`` in ``[0, 1)`` for the following training-mode forwards."""
        if not 0.0 <= prob < 1.0:
            raise ValueError(f"drop path probability must be in [0, 1), got {prob}")
        self.drop_path_prob = float(prob)
        if prob > 0 and not self._drop_hooks:
            self._drop_hooks = [op.register_forward_hook(self._drop_path)
                                for op, label in zip(self.body.ops, self.body.labels) if label not in _NOT_CELL_OPS]

    def _drop_path(self, module: nn.Module, inputs: tuple, out: torch.Tensor) -> torch.Tensor:
        p = self.drop_path_prob
        if not self.training or p <= 0:
            return out
        keep = torch.empty(out.shape[0], 1, 1, 1, device=out.device, dtype=out.dtype).bernoulli_(1.0 - p)
        return out * keep / (1.0 - p)


def build_darts_network(term: Term, spec: Union[InputSpec, tuple[int, int, int]], base_channels: Optional[int] = None,
                        seed: int = 0, auxiliary: bool = False, **_: object) -> DartsNetwork:
    """DARTS's ``NetworkCIFAR`` of a ``DartsCIFAR(C, L, NORMAL, REDUCE)`` term for ``spec``.

    ``base_channels`` (the stem's width) must be ``3C`` when given; ``auxiliary`` adds the
    auxiliary head (it needs an 8×8 feature map after cell ``2L//3``, i.e. 32×32 inputs). The
    body is never pruned, whatever ``prune`` a caller passes (DARTS builds a cell's
    ``preprocess0`` even when no node reads it); a ``budget`` is ignored (C sets the width).
    """
    spec = InputSpec(*spec)
    width, _ = darts_width_layers(term)
    stem_width = STEM_MULTIPLIER * width
    if base_channels is not None and base_channels != stem_width:
        raise AssemblyError(f"the DARTS network's stem width is {STEM_MULTIPLIER}C = {stem_width} (C = {width} in the term), "
                            f"not base_channels={base_channels}")
    stem = nn.Sequential(nn.Conv2d(spec.channels, stem_width, 3, padding=1, bias=False), nn.BatchNorm2d(stem_width))
    body, out = build_body(term, Shape(stem_width, spec.resolution, spec.resolution), seed=seed, prune="none")
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(out.c, spec.classes))
    net = DartsNetwork(stem, body, head, spec, str(term), stem_width)
    if auxiliary:
        net.enable_auxiliary()
    return net


def darts_param_count(net: nn.Module) -> int:
    """Parameters as DARTS counts them: every parameter except the auxiliary head's."""
    tap = getattr(net, "tap", None)
    aux = {id(p) for p in tap.head.parameters()} if tap is not None and tap.head is not None else set()
    return sum(p.numel() for p in net.parameters() if id(p) not in aux)


NETWORK_BUILDERS.add(DARTS_NETWORK, build_darts_network)
