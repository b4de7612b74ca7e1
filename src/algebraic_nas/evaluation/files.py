"""Readers for the on-disk dataset formats. Nothing is ever downloaded.

* CIFAR-10 / CIFAR-100 "python version" pickles: dicts with ``data`` (N, 3072) uint8 in
  channel-major order (R plane, G plane, B plane, each row-major 32×32) and ``labels``
  (CIFAR-10) or ``fine_labels`` (CIFAR-100); keys may be bytes (Python 2 pickles).
* NAS-Bench-201's ImageNet16 pickles (``train_data_batch_1`` … ``_10``, ``val_data``): dicts
  with ``data`` (N, 768) uint8 in the same layout at 16×16 and ``labels`` in 1..1000.
* CVPR-NAS 2021 ``.npy`` arrays: ``{train,valid,test}_x.npy`` float32 (N, 3, H, W) and
  ``{train,valid,test}_y.npy`` integer labels (N,).

Every problem raises :class:`DatasetError` (or :class:`DatasetFileNotFoundError`) naming the file.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Sequence

import numpy as np

from algebraic_nas.errors import AlgebraicNASError


class DatasetError(AlgebraicNASError, ValueError):
    """A dataset file is malformed or the dataset is misconfigured."""


class DatasetFileNotFoundError(DatasetError, FileNotFoundError):
    """A dataset file that must exist locally is missing."""


def find_dir(root: Path, candidates: Sequence[str], first_file: str, dataset: str) -> Path:
    """The first ``root/candidate`` directory holding ``first_file``; a clear error otherwise."""
    tried = [root / c if c else root for c in candidates]
    for d in tried:
        if (d / first_file).is_file():
            return d
    where = ", ".join(str(d / first_file) for d in tried)
    raise DatasetFileNotFoundError(
        f"dataset {dataset!r}: expected file {first_file!r} in one of: {where}. "
        f"Datasets are never downloaded; put the files there or set data_root "
        f"(argument, config `data_root`, or the ALGEBRAIC_NAS_DATA environment variable)."
    )


def require_file(path: Path, dataset: str) -> Path:
    if not path.is_file():
        raise DatasetFileNotFoundError(f"dataset {dataset!r}: expected file {str(path)!r}, which does not exist")
    return path


def _load_pickle(path: Path, dataset: str) -> dict:
    require_file(path, dataset)
    try:
        with open(path, "rb") as f:
            obj = pickle.load(f, encoding="bytes")
    except Exception as exc:  # truncated or not a pickle at all
        raise DatasetError(f"dataset {dataset!r}: cannot read pickle {str(path)!r}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(obj, dict):
        raise DatasetError(f"dataset {dataset!r}: {str(path)!r} holds a {type(obj).__name__}, expected a dict")
    # Python-2 pickles have bytes keys; normalise to str.
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}


def read_image_pickle(path: Path, dataset: str, label_key: str, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x uint8 (N, 3, R, R), y int64 (N,))`` from one CIFAR- or ImageNet16-style pickle."""
    d = _load_pickle(path, dataset)
    for key in ("data", label_key):
        if key not in d:
            raise DatasetError(f"dataset {dataset!r}: {str(path)!r} has no key {key!r} (keys: {sorted(d)})")
    data = np.asarray(d["data"])
    labels = np.asarray(d[label_key])
    per_image = 3 * resolution * resolution
    if data.ndim != 2 or data.shape[1] != per_image:
        raise DatasetError(
            f"dataset {dataset!r}: {str(path)!r} key 'data' has shape {data.shape}, expected (N, {per_image})"
        )
    if labels.shape != (data.shape[0],):
        raise DatasetError(
            f"dataset {dataset!r}: {str(path)!r} has {labels.shape} labels for {data.shape[0]} images"
        )
    x = data.astype(np.uint8, copy=False).reshape(-1, 3, resolution, resolution)
    return x, labels.astype(np.int64)


def read_npy_split(directory: Path, split: str, dataset: str, channels: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x float32 (N, C, R, R), y int64 (N,))`` from ``{split}_x.npy`` and ``{split}_y.npy``."""
    xs = []
    for suffix in ("x", "y"):
        path = require_file(directory / f"{split}_{suffix}.npy", dataset)
        try:
            xs.append(np.load(path, allow_pickle=False))
        except Exception as exc:
            raise DatasetError(f"dataset {dataset!r}: cannot read {str(path)!r}: {type(exc).__name__}: {exc}") from exc
    x, y = xs
    xpath = directory / f"{split}_x.npy"
    if x.ndim != 4 or x.shape[1:] != (channels, resolution, resolution):
        raise DatasetError(
            f"dataset {dataset!r}: {str(xpath)!r} has shape {x.shape}, expected (N, {channels}, {resolution}, {resolution})"
        )
    if y.reshape(-1).shape != (x.shape[0],):
        raise DatasetError(
            f"dataset {dataset!r}: {str(directory / f'{split}_y.npy')!r} has shape {y.shape}, expected ({x.shape[0]},)"
        )
    if not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.mod(y, 1) == 0):
            raise DatasetError(f"dataset {dataset!r}: {str(directory / f'{split}_y.npy')!r} holds non-integer labels")
    return x.astype(np.float32, copy=False), y.reshape(-1).astype(np.int64)
