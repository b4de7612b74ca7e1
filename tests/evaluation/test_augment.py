"""On-device batch augmentation: crops are shifted windows of the zero-padded image, flips mirror."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from algebraic_nas.evaluation.augment import BatchTransform, random_crop, random_flip


@settings(max_examples=25, deadline=None)
@given(b=st.integers(1, 6), c=st.integers(1, 3), h=st.integers(2, 9), pad=st.integers(1, 4), seed=st.integers(0, 99))
def test_crop_is_a_window_of_the_padded_image(b: int, c: int, h: int, pad: int, seed: int) -> None:
    x = torch.rand(b, c, h, h) + 1.0  # strictly positive, so padding (0) is recognisable
    out = random_crop(x, pad, torch.Generator().manual_seed(seed))
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (pad,) * 4)
    for i in range(b):
        windows = [(dy, dx) for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)
                   if torch.equal(padded[i, :, dy:dy + h, dx:dx + h], out[i])]
        assert windows, "every crop must be one window of the padded image"


def test_crops_differ_per_example_and_are_seeded() -> None:
    x = torch.rand(64, 1, 8, 8) + 1.0
    x[:] = x[0]  # identical examples: differences come from the offsets alone
    a = random_crop(x, 2, torch.Generator().manual_seed(0))
    b = random_crop(x, 2, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    assert len({tuple(t.flatten().tolist()) for t in a}) > 10


def test_flip_mirrors_about_half() -> None:
    x = torch.arange(400 * 4, dtype=torch.float32).view(400, 1, 1, 4)
    out = random_flip(x, torch.Generator().manual_seed(1))
    flipped = (out == x.flip(3)).all(dim=(1, 2, 3))
    kept = (out == x).all(dim=(1, 2, 3))
    assert bool((flipped | kept).all())
    assert 150 < int(flipped.sum()) < 250


def test_transform_scales_then_normalises() -> None:
    x = torch.full((2, 3, 4, 4), 255, dtype=torch.uint8)
    t = BatchTransform(scale=255.0, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    out = t(x, train=False)
    assert out.dtype == torch.float32 and torch.allclose(out, torch.full_like(out, 2.0))
    # with augmentation the padded border is black *before* normalisation: (0 - 0.5) / 0.25 = -2
    t = BatchTransform(scale=255.0, mean=(0.5,) * 3, std=(0.25,) * 3, padding=3)
    out = t(x[:1].expand(50, 3, 4, 4), train=True, generator=torch.Generator().manual_seed(0))
    assert set(out.unique().tolist()) == {-2.0, 2.0}
