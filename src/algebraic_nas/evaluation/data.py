"""Datasets as tensors with fixed search / validation / test splits (REFERENCE §6).

| name | input | classes | train / valid / test |
| --- | --- | --- | --- |
| ``cifar10`` | 3×32×32 | 10 | 25k / the other 25k of the training set / test 10k |
| ``cifar100`` | 3×32×32 | 100 | training 50k / half of the test set / the other half |
| ``imagenet16-120`` | 3×16×16 | 120 | training (labels 1–120) / half of ``val_data`` / other half |
| ``addnist`` | 3×28×28 | 20 | the given ``train`` / ``valid`` / ``test`` ``.npy`` files |
| ``cifartile`` | 3×64×64 | 4 | the given ``train`` / ``valid`` / ``test`` ``.npy`` files |
| ``digits`` | 1×8×8 | 10 | embedded (scikit-learn): 1078 / 360 / 359, see ``embedded.py`` |
| ``clutterdigits`` | 1×8×8 | 10 | embedded, derived from ``digits``: 1200 / 1000 / 1000, see ``embedded.py`` |

The halves are class-balanced and fixed (a per-class permutation from ``SPLIT_SEED``): every run
of every strategy sees the same split. NAS-Bench-201 ships its own split files; they are not
available offline, so these splits are equivalent in kind, not index-identical.

Files are looked up under the data root (the ``data_root`` argument, else the
``ALGEBRAIC_NAS_DATA`` environment variable, else ``./data``) in the usual sub-directories
(``cifar-10-batches-py``, ``cifar-100-python``, ``ImageNet16``, ``addnist``, ``cifartile``) or in
the root itself. Loaded datasets are cached per process (and device), so repeated evaluations in
one worker read the files once.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np
import torch

from algebraic_nas.assembly.shapes import InputSpec

from . import embedded
from .files import DatasetError, find_dir, read_image_pickle, read_npy_split, require_file

SPLIT_SEED = 0
DATA_ROOT_ENV = "ALGEBRAIC_NAS_DATA"


@dataclass
class Split:
    """``x``: (N, C, R, R), uint8 (0–255) or float32; ``y``: (N,) int64 class indices."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def to(self, device: Union[str, torch.device]) -> "Split":
        return Split(self.x.to(device), self.y.to(device))


@dataclass
class ImageDataset:
    """Three splits plus what the trainer needs to turn ``x`` into network input.

    Input = ``(x.float() / scale - mean) / std`` per channel (``scale`` is 255 for uint8 data,
    1 otherwise; normalisation only when the protocol asks for it).
    """

    name: str
    channels: int
    resolution: int
    classes: int
    train: Split
    valid: Split
    test: Split
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def scale(self) -> float:
        return 255.0 if self.train.x.dtype == torch.uint8 else 1.0

    @property
    def spec(self) -> InputSpec:
        """``InputSpec(channels, resolution, classes)``: what a network for this dataset accepts and predicts."""
        return InputSpec(self.channels, self.resolution, self.classes)

    def to(self, device: Union[str, torch.device]) -> "ImageDataset":
        return replace(self, train=self.train.to(device), valid=self.valid.to(device), test=self.test.to(device))

    def nbytes(self) -> int:
        return sum(s.x.element_size() * s.x.nelement() + 8 * len(s) for s in (self.train, self.valid, self.test))


@dataclass(frozen=True)
class DatasetInfo:
    """One row of the dataset table: the input spec, known without loading, and the loader."""

    channels: int
    resolution: int
    classes: int
    loader: Callable[[Optional[Path]], ImageDataset]
    embedded: bool = False

    @property
    def spec(self) -> InputSpec:
        """``InputSpec(channels, resolution, classes)``: what a network for this dataset accepts and predicts."""
        return InputSpec(self.channels, self.resolution, self.classes)


def default_data_root(data_root: Union[str, Path, None] = None) -> Path:
    """``data_root`` if given, else ``$ALGEBRAIC_NAS_DATA``, else ``./data``."""
    if data_root is not None:
        return Path(data_root).expanduser()
    return Path(os.environ.get(DATA_ROOT_ENV, "data")).expanduser()


# ---------------------------------------------------------------------------------------- splits


def stratified_split(y: np.ndarray, fractions: tuple[float, ...], seed: int = SPLIT_SEED) -> list[np.ndarray]:
    """Split indices of ``y`` into ``len(fractions)`` parts with (nearly) the same class proportions.

    Each example gets the key ``(random rank within its class + 0.5) / class size``; sorting by
    it interleaves the classes evenly, and cutting the sorted order at the cumulative fractions
    gives parts whose total sizes follow ``fractions`` exactly (rounded) and whose per-class
    counts differ from the ideal by less than one. Deterministic in (``y``, ``fractions``,
    ``seed``); each part is returned sorted.
    """
    y = np.asarray(y)
    rng = np.random.RandomState(seed)
    key = np.empty(len(y), dtype=np.float64)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        key[idx[rng.permutation(len(idx))]] = (np.arange(len(idx)) + 0.5) / len(idx)
    tiebreak = rng.permutation(len(y))
    order = np.lexsort((tiebreak, key))
    bounds = np.cumsum((0.0,) + tuple(fractions))
    cuts = np.round(bounds / bounds[-1] * len(y)).astype(int)
    return [np.sort(order[cuts[i]:cuts[i + 1]]) for i in range(len(fractions))]


def _split(x: np.ndarray, y: np.ndarray, idx: Optional[np.ndarray] = None) -> Split:
    if idx is not None:
        x, y = x[idx], y[idx]
    return Split(torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64)))


def _mean_std(x: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of float images ``x`` (N, C, R, R); a zero std becomes 1."""
    xf = x.astype(np.float64)
    mean = xf.mean(axis=(0, 2, 3))
    std = xf.std(axis=(0, 2, 3))
    std = np.where(std > 0, std, 1.0)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)


def _check_labels(y: np.ndarray, classes: int, dataset: str, where: str) -> None:
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise DatasetError(f"dataset {dataset!r}: labels in {where} span [{y.min()}, {y.max()}], expected 0..{classes - 1}")


# --------------------------------------------------------------------------------------- loaders

# NAS-Bench-201's normalisation constants (pixel statistics of the training sets, /255).
_CIFAR10_MEAN = (125.3 / 255, 123.0 / 255, 113.9 / 255)
_CIFAR10_STD = (63.0 / 255, 62.1 / 255, 66.7 / 255)
_CIFAR100_MEAN = (129.3 / 255, 124.1 / 255, 112.4 / 255)
_CIFAR100_STD = (68.2 / 255, 65.4 / 255, 70.4 / 255)
_IMAGENET16_MEAN = (122.68 / 255, 116.66 / 255, 104.01 / 255)
_IMAGENET16_STD = (63.22 / 255, 61.26 / 255, 65.09 / 255)


def _load_cifar10(root: Optional[Path]) -> ImageDataset:
    name = "cifar10"
    d = find_dir(default_data_root(root), ["cifar-10-batches-py", "cifar10", "cifar-10", ""], "data_batch_1", name)
    parts = [read_image_pickle(d / f"data_batch_{i}", name, "labels", 32) for i in range(1, 6)]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    xt, yt = read_image_pickle(d / "test_batch", name, "labels", 32)
    _check_labels(y, 10, name, str(d))
    _check_labels(yt, 10, name, str(d / "test_batch"))
    train_idx, valid_idx = stratified_split(y, (0.5, 0.5))
    return ImageDataset(name, 3, 32, 10, _split(x, y, train_idx), _split(x, y, valid_idx), _split(xt, yt),
                        _CIFAR10_MEAN, _CIFAR10_STD)


def _load_cifar100(root: Optional[Path]) -> ImageDataset:
    name = "cifar100"
    d = find_dir(default_data_root(root), ["cifar-100-python", "cifar100", "cifar-100", ""], "train", name)
    x, y = read_image_pickle(d / "train", name, "fine_labels", 32)
    xt, yt = read_image_pickle(d / "test", name, "fine_labels", 32)
    _check_labels(y, 100, name, str(d / "train"))
    _check_labels(yt, 100, name, str(d / "test"))
    valid_idx, test_idx = stratified_split(yt, (0.5, 0.5))
    return ImageDataset(name, 3, 32, 100, _split(x, y), _split(xt, yt, valid_idx), _split(xt, yt, test_idx),
                        _CIFAR100_MEAN, _CIFAR100_STD)


def _load_imagenet16_120(root: Optional[Path]) -> ImageDataset:
    name = "imagenet16-120"
    d = find_dir(default_data_root(root), ["ImageNet16", "ImageNet16-120", "imagenet16-120", "imagenet16", ""],
                 "train_data_batch_1", name)
    for i in range(1, 11):  # report every missing batch by name before reading any
        require_file(d / f"train_data_batch_{i}", name)
    require_file(d / "val_data", name)
    xs, ys = [], []
    for i in range(1, 11):
        xi, yi = read_image_pickle(d / f"train_data_batch_{i}", name, "labels", 16)
        keep = (yi >= 1) & (yi <= 120)  # ImageNet16-120 = the first 120 of the 1000 classes (labels 1-based)
        xs.append(xi[keep])
        ys.append(yi[keep] - 1)
    x, y = np.concatenate(xs), np.concatenate(ys)
    xv, yv = read_image_pickle(d / "val_data", name, "labels", 16)
    keep = (yv >= 1) & (yv <= 120)
    xv, yv = xv[keep], yv[keep] - 1
    if len(y) == 0 or len(yv) == 0:
        raise DatasetError(f"dataset {name!r}: no images with labels 1..120 in {str(d)!r}")
    valid_idx, test_idx = stratified_split(yv, (0.5, 0.5))
    return ImageDataset(name, 3, 16, 120, _split(x, y), _split(xv, yv, valid_idx), _split(xv, yv, test_idx),
                        _IMAGENET16_MEAN, _IMAGENET16_STD)


def _from_splits(name: str, channels: int, resolution: int, classes: int,
                 splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> ImageDataset:
    """A dataset from float arrays per split, normalised with the training split's own statistics."""
    mean, std = _mean_std(splits["train"][0])
    return ImageDataset(name, channels, resolution, classes, *(_split(*splits[s]) for s in ("train", "valid", "test")),
                        mean, std)


def _npy_loader(name: str, channels: int, resolution: int, classes: int) -> Callable[[Optional[Path]], ImageDataset]:
    def load(root: Optional[Path]) -> ImageDataset:
        d = find_dir(default_data_root(root), [name, name.upper(), name.capitalize(), ""], "train_x.npy", name)
        splits = {}
        for s in ("train", "valid", "test"):
            x, y = read_npy_split(d, s, name, channels, resolution)
            _check_labels(y, classes, name, str(d / f"{s}_y.npy"))
            splits[s] = (x, y)
        return _from_splits(name, channels, resolution, classes, splits)

    return load


def _embedded_loader(make: Callable[[], dict[str, tuple[np.ndarray, np.ndarray]]], name: str, classes: int):
    def load(root: Optional[Path]) -> ImageDataset:
        splits = make()
        x0 = splits["train"][0]
        return _from_splits(name, x0.shape[1], x0.shape[2], classes, splits)

    return load


DATASETS: dict[str, DatasetInfo] = {
    "cifar10": DatasetInfo(3, 32, 10, _load_cifar10),
    "cifar100": DatasetInfo(3, 32, 100, _load_cifar100),
    "imagenet16-120": DatasetInfo(3, 16, 120, _load_imagenet16_120),
    "addnist": DatasetInfo(3, 28, 20, _npy_loader("addnist", 3, 28, 20)),
    "cifartile": DatasetInfo(3, 64, 4, _npy_loader("cifartile", 3, 64, 4)),
    "digits": DatasetInfo(*embedded.DIGITS_SPEC, _embedded_loader(embedded.digits_splits, "digits", 10), embedded=True),
    "clutterdigits": DatasetInfo(*embedded.CLUTTER_SPEC, _embedded_loader(embedded.clutterdigits_splits, "clutterdigits", 10),
                                 embedded=True),
}

_ALIASES = {"cifar-10": "cifar10", "cifar-100": "cifar100", "imagenet16": "imagenet16-120",
            "imagenet16_120": "imagenet16-120", "imagenet-16-120": "imagenet16-120"}


def dataset_names() -> list[str]:
    return sorted(DATASETS)


def canonical_name(name: str) -> str:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(dataset_names())}")
    return key


def get_dataset_spec(name: str) -> InputSpec:
    """``InputSpec(channels, resolution, classes)`` of a dataset, without loading any data.

    Raises :class:`ValueError` naming the known datasets for an unknown ``name``.
    """
    return DATASETS[canonical_name(name)].spec


def get_dataset(name: str, data_root: Union[str, Path, None] = None, device: Union[str, torch.device] = "cpu") -> ImageDataset:
    """The dataset ``name`` with its three splits as tensors on ``device`` (cached per process).

    Raises :class:`ValueError` for an unknown name, :class:`DatasetFileNotFoundError` naming the
    expected file for a missing one, :class:`DatasetError` for a malformed one.
    """
    key = canonical_name(name)
    info = DATASETS[key]
    root = None if info.embedded else str(default_data_root(data_root).resolve())
    return _cached(key, root, str(torch.device(device)))


@functools.lru_cache(maxsize=4)
def _cached(key: str, root: Optional[str], device: str) -> ImageDataset:
    if device != "cpu":
        return _cached(key, root, "cpu").to(device)
    info = DATASETS[key]
    ds = info.loader(Path(root) if root is not None else None)
    if ds.spec != info.spec:  # guards the cheap spec table
        raise DatasetError(f"dataset {key!r}: loaded shape {ds.spec} differs from the declared {info.spec}")
    return ds


def clear_cache() -> None:
    """Forget cached datasets (frees their memory, e.g. GPU copies)."""
    _cached.cache_clear()
