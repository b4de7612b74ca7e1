"""Offline datasets built from scikit-learn's bundled digits (no files, no downloads).

``digits``: the 1797 8×8 grey images of ``sklearn.datasets.load_digits`` (pixel values 0–16,
scaled to [0, 1]), shape (N, 1, 8, 8), 10 classes. Fixed stratified split 60 / 20 / 20 %
(``data.stratified_split`` with seed 0: classes interleaved in a seeded random order, cut at
60 % and 80 %): 1078 train, 360 valid, 359 test, every class within one example of its share.

``clutterdigits``: see :func:`clutterdigits_splits`.
"""

from __future__ import annotations

import functools

import numpy as np

DIGITS_SPEC = (1, 8, 10)
DIGITS_FRACTIONS = (0.6, 0.2, 0.2)
SPLIT_SEED = 0


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]  # (1797, 1, 8, 8) in [0, 1]
    return x, d.target.astype(np.int64)


def _digit_split_indices() -> list[np.ndarray]:
    from .data import stratified_split

    return stratified_split(_digits()[1], DIGITS_FRACTIONS, SPLIT_SEED)


def digits_splits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train"|"valid"|"test": (x float32 (N,1,8,8), y int64 (N,))}``."""
    x, y = _digits()
    return {name: (x[idx], y[idx]) for name, idx in zip(("train", "valid", "test"), _digit_split_indices())}


CLUTTER_SPEC = (1, 8, 10)
CLUTTER_SIZES = {"train": 1200, "valid": 1000, "test": 1000}
CLUTTER_SEED = 1
CLUTTER_DISTRACTOR = 0.3
CLUTTER_NOISE = 0.1


def clutterdigits_splits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``clutterdigits``: a digit under a faint distractor digit and noise, 1×8×8, 10 classes.

    Each example is built from two images of the same ``digits`` split (so no source image is
    shared between train, valid and test): the target, shifted by a random offset in
    {-1, 0, 1}² (zero fill), plus ``CLUTTER_DISTRACTOR`` × a distractor image of a different
    class with its own shift, plus Gaussian noise of standard deviation ``CLUTTER_NOISE``,
    clipped to [0, 1]. The label is the target's class. Sizes: 1200 train, 1000 valid, 1000
    test; fully determined by ``CLUTTER_SEED`` (``numpy.random.RandomState``).

    Why: it is harder than ``digits`` at about the same cost per evaluation. Measured with
    ``benchmarks/bench_evaluation.py`` (16 sampled ``hnb201`` networks × 2 seeds, ``quick``
    protocol, one CPU thread): validation error best 0.14 / median 0.54 (``digits``: 0.04 /
    0.18), standard deviation across networks 0.23 against 0.03 across seeds, Spearman rank
    correlation between the two seeds 0.94; 5–7 CPU seconds per evaluation on a busy 2-core
    machine (``digits``: 4.7). It ranks networks much as ``digits`` does (Spearman 0.95) but
    its errors do not saturate, so good architectures stay distinguishable. Compositional
    tasks on the same budget (two digits as channels, label = their sum) stayed at chance for
    every network, so they cannot rank architectures.
    """
    x, y = _digits()
    rng = np.random.RandomState(CLUTTER_SEED)
    out = {}
    for name, idx in zip(("train", "valid", "test"), _digit_split_indices()):
        n = CLUTTER_SIZES[name]
        target = idx[rng.randint(0, len(idx), n)]
        # A distractor of another class, so that the label is unambiguous.
        others = {c: idx[y[idx] != c] for c in range(10)}
        distractor = np.array([others[c][k % len(others[c])] for c, k in
                               zip(y[target], rng.randint(0, 1 << 30, n))])
        img = _shifted(x[target, 0], rng) + CLUTTER_DISTRACTOR * _shifted(x[distractor, 0], rng)
        img = np.clip(img + rng.normal(0.0, CLUTTER_NOISE, img.shape), 0.0, 1.0)
        out[name] = (img[:, None].astype(np.float32), y[target].astype(np.int64))
    return out


def _shifted(images: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """Each (H, W) image of ``images`` (N, H, W) moved by a random offset in {-1, 0, 1}², zero fill."""
    n, h, w = images.shape
    out = np.zeros_like(images)
    offsets = rng.randint(-1, 2, size=(n, 2))
    for i, (dy, dx) in enumerate(offsets):
        out[i, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            images[i, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out
