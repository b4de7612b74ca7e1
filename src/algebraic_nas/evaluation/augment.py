"""Batch preprocessing on the training device: scale, random crop, flip, normalise.

Everything works on a whole batch at once with per-example random numbers from a
``torch.Generator``, so augmentation costs a few tensor ops per batch instead of a Python loop
per image, and a GPU never waits for CPU workers.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F


class BatchTransform:
    """Turns a stored batch ``x`` (B, C, H, W; uint8 or float) into network input (float32).

    ``train=True`` applies the augmentation: random crop of the original size from the image
    zero-padded by ``padding`` pixels on every side (one offset pair per example), then a
    horizontal flip with probability 0.5 per example when ``flip``. Padding happens before
    normalisation, so padded pixels are black, as with torchvision's ``RandomCrop`` on images.
    Normalisation: ``(x / scale - mean) / std`` per channel, when ``mean``/``std`` are given.
    """

    def __init__(
        self,
        scale: float = 1.0,
        mean: Optional[Sequence[float]] = None,
        std: Optional[Sequence[float]] = None,
        padding: int = 0,
        flip: bool = False,
        device: torch.device | str = "cpu",
    ) -> None:
        self.scale = float(scale)
        self.padding = int(padding)
        self.flip = bool(flip)
        self.mean = self.std = None
        if mean is not None and std is not None:
            self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
            self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, -1, 1, 1)

    def __call__(self, x: torch.Tensor, train: bool, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        x = x.float()
        if self.scale != 1.0:
            x = x / self.scale
        if train and self.padding > 0:
            x = random_crop(x, self.padding, generator)
        if train and self.flip:
            x = random_flip(x, generator)
        if self.mean is not None:
            x = (x - self.mean.to(x.device)) / self.std.to(x.device)
        return x


def random_crop(x: torch.Tensor, padding: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Per-example random crop of size (H, W) from ``x`` zero-padded by ``padding``: (B,C,H,W) → same."""
    b, c, h, w = x.shape
    padded = F.pad(x, (padding, padding, padding, padding))
    offsets = torch.randint(0, 2 * padding + 1, (2, b), generator=generator, device=_gen_device(generator, x))
    offsets = offsets.to(x.device)
    rows = (offsets[0].view(b, 1) + torch.arange(h, device=x.device).view(1, h))  # (B, H)
    cols = (offsets[1].view(b, 1) + torch.arange(w, device=x.device).view(1, w))  # (B, W)
    # Gather rows then columns: two cheap index_select-like gathers on the padded batch.
    out = padded.gather(2, rows.view(b, 1, h, 1).expand(b, c, h, w + 2 * padding))
    return out.gather(3, cols.view(b, 1, 1, w).expand(b, c, h, w))


def random_flip(x: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Mirror each example left-right with probability 0.5: (B,C,H,W) → same."""
    mask = torch.rand(x.shape[0], generator=generator, device=_gen_device(generator, x)) < 0.5
    return torch.where(mask.to(x.device).view(-1, 1, 1, 1), x.flip(3), x)


def _gen_device(generator: Optional[torch.Generator], x: torch.Tensor) -> torch.device:
    return generator.device if generator is not None else x.device
