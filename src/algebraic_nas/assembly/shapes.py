"""Tensor shapes seen by the assembler: per-sample feature-map shapes and dataset input specs.

Torch-free, so that :mod:`algebraic_nas.assembly.graph` (imported by the surrogate) stays light.
"""

from __future__ import annotations

from typing import NamedTuple


class Shape(NamedTuple):
    """Per-sample shape of a feature map: ``c`` channels, ``h`` × ``w`` pixels (no batch axis)."""

    c: int
    h: int
    w: int

    def __str__(self) -> str:
        return f"{self.c}×{self.h}×{self.w}"


class InputSpec(NamedTuple):
    """What a network is built for: input ``channels``, square ``resolution`` (pixels) and ``classes``."""

    channels: int
    resolution: int
    classes: int

    @property
    def shape(self) -> Shape:
        return Shape(self.channels, self.resolution, self.resolution)
