"""Offline datasets built from scikit-learn's bundled digits (no files, no downloads).

``digits``: the 1797 8×8 grey images of ``sklearn.datasets.load_digits`` (pixel values 0–16,
scaled to [0, 1]), shape (N, 1, 8, 8), 10 classes. Fixed stratified split 60 / 20 / 20 %
(per-class permutation with ``numpy.random.RandomState(0)``): 1077 train, 360 valid, 360 test.

``addigits``: see :func:`addigits_splits`.
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


ADDIGITS_SPEC = (2, 8, 10)
ADDIGITS_SIZES = {"train": 4000, "valid": 1000, "test": 1000}
ADDIGITS_SEED = 1


def addigits_splits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Placeholder being tuned."""
    x, y = _digits()
    rng = np.random.RandomState(ADDIGITS_SEED)
    out = {}
    for name, idx in zip(("train", "valid", "test"), _digit_split_indices()):
        n = ADDIGITS_SIZES[name]
        a = idx[rng.randint(0, len(idx), n)]
        b = idx[rng.randint(0, len(idx), n)]
        xx = np.concatenate([x[a], x[b]], axis=1)
        yy = (y[a] + y[b]) % 10
        out[name] = (xx.astype(np.float32), yy.astype(np.int64))
    return out
