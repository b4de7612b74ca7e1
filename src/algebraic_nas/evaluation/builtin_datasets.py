"""The built-in datasets (table in :mod:`.data`): their loaders, registered through
:func:`~.data.register_dataset` like any user dataset.

Files are data, read through the safe loaders of :mod:`.files` (never unpickled as code, never
downloaded); where they are is one table (``_LAYOUTS``), used by the loaders and by the check a
search runs before it starts (``check_files``); ``digits`` and ``clutterdigits`` are embedded
(:mod:`.embedded`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np

from . import embedded
from .data import (
    DatasetInfo,
    ImageDataset,
    check_labels,
    default_data_root,
    make_split,
    register_dataset,
    stratified_split,
)
from .files import DatasetError, check_npy_split, find_dir, read_image_pickle, read_npy_split, require_file


# NAS-Bench-201's normalisation constants (pixel statistics of the training sets, /255).
_CIFAR10_MEAN = (125.3 / 255, 123.0 / 255, 113.9 / 255)
_CIFAR10_STD = (63.0 / 255, 62.1 / 255, 66.7 / 255)
_CIFAR100_MEAN = (129.3 / 255, 124.1 / 255, 112.4 / 255)
_CIFAR100_STD = (68.2 / 255, 65.4 / 255, 70.4 / 255)
_IMAGENET16_MEAN = (122.68 / 255, 116.66 / 255, 104.01 / 255)
_IMAGENET16_STD = (63.22 / 255, 61.26 / 255, 65.09 / 255)


# Where each dataset's files are: the candidate sub-directories of the data root (tried in
# order; "" is the root itself) and the files the loader reads, the first one locating the
# directory. One table for the loaders and for the check a search runs before it starts.
_NPY_FILES = [f"{s}_{xy}.npy" for s in ("train", "valid", "test") for xy in ("x", "y")]
_LAYOUTS: dict[str, tuple[list[str], list[str]]] = {
    "cifar10": (["cifar-10-batches-py", "cifar10", "cifar-10", ""], [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]),
    "cifar100": (["cifar-100-python", "cifar100", "cifar-100", ""], ["train", "test"]),
    "imagenet16-120": (["ImageNet16", "ImageNet16-120", "imagenet16-120", "imagenet16", ""],
                       [f"train_data_batch_{i}" for i in range(1, 11)] + ["val_data"]),
    "addnist": (["addnist", "ADDNIST", "Addnist", ""], _NPY_FILES),
    "cifartile": (["cifartile", "CIFARTILE", "Cifartile", ""], _NPY_FILES),
}


def dataset_dir(name: str, root: Optional[Path]) -> Path:
    """The directory holding every file of dataset ``name`` under the data root ``root``;
    :class:`DatasetFileNotFoundError` naming the first missing file otherwise (reads nothing)."""
    candidates, files = _LAYOUTS[name]
    d = find_dir(default_data_root(root), candidates, files[0], name)
    for f in files[1:]:  # report every missing file by name before reading any
        require_file(d / f, name)
    return d


# How the check before a search validates each dataset's files: with the loaders' own safe
# readers (a pickle naming a forbidden global, a truncated file or a wrong shape fails there, not
# in every evaluation); one pickle at a time is held, .npy images are memory-mapped.
_VALIDATE: dict[str, tuple[str, int, int]] = {  # name -> (label key or "npy", channels, resolution)
    "cifar10": ("labels", 3, 32), "cifar100": ("fine_labels", 3, 32), "imagenet16-120": ("labels", 3, 16),
    "addnist": ("npy", 3, 28), "cifartile": ("npy", 3, 64),
}


def _check(name: str) -> Callable[[Path], Path]:
    def check(root: Path) -> Path:
        d = dataset_dir(name, root)  # every missing file named before any is read
        label_key, channels, resolution = _VALIDATE[name]
        if label_key == "npy":
            for split in ("train", "valid", "test"):
                check_npy_split(d, split, name, channels, resolution)
        else:
            for f in _LAYOUTS[name][1]:
                read_image_pickle(d / f, name, label_key, resolution)
        return d

    return check


def _load_cifar10(root: Optional[Path]) -> ImageDataset:
    name = "cifar10"
    d = dataset_dir(name, root)
    parts = [read_image_pickle(d / f"data_batch_{i}", name, "labels", 32) for i in range(1, 6)]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    xt, yt = read_image_pickle(d / "test_batch", name, "labels", 32)
    check_labels(y, 10, name, str(d))
    check_labels(yt, 10, name, str(d / "test_batch"))
    train_idx, valid_idx = stratified_split(y, (0.5, 0.5))
    return ImageDataset(name, 3, 32, 10, make_split(x, y, train_idx), make_split(x, y, valid_idx), make_split(xt, yt),
                        _CIFAR10_MEAN, _CIFAR10_STD)


def _load_cifar100(root: Optional[Path]) -> ImageDataset:
    name = "cifar100"
    d = dataset_dir(name, root)
    x, y = read_image_pickle(d / "train", name, "fine_labels", 32)
    xt, yt = read_image_pickle(d / "test", name, "fine_labels", 32)
    check_labels(y, 100, name, str(d / "train"))
    check_labels(yt, 100, name, str(d / "test"))
    valid_idx, test_idx = stratified_split(yt, (0.5, 0.5))
    return ImageDataset(name, 3, 32, 100, make_split(x, y), make_split(xt, yt, valid_idx), make_split(xt, yt, test_idx),
                        _CIFAR100_MEAN, _CIFAR100_STD)


def _load_imagenet16_120(root: Optional[Path]) -> ImageDataset:
    name = "imagenet16-120"
    d = dataset_dir(name, root)
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
    return ImageDataset(name, 3, 16, 120, make_split(x, y), make_split(xv, yv, valid_idx), make_split(xv, yv, test_idx),
                        _IMAGENET16_MEAN, _IMAGENET16_STD)


def _npy_loader(name: str, channels: int, resolution: int, classes: int) -> Callable[[Optional[Path]], ImageDataset]:
    def load(root: Optional[Path]) -> ImageDataset:
        d = dataset_dir(name, root)
        splits = {}
        for s in ("train", "valid", "test"):
            x, y = read_npy_split(d, s, name, channels, resolution)
            check_labels(y, classes, name, str(d / f"{s}_y.npy"))
            splits[s] = (x, y)
        return ImageDataset.from_arrays(name, classes, **splits)

    return load


def _embedded_loader(make: Callable[[], dict[str, tuple[np.ndarray, np.ndarray]]], name: str, classes: int):
    def load(root: Optional[Path]) -> ImageDataset:
        return ImageDataset.from_arrays(name, classes, **make())

    return load


_FILES = "local files under data_root (never downloaded)"


def register_builtin_datasets() -> None:
    """Register the built-in datasets (what importing :mod:`algebraic_nas.evaluation` does)."""
    register_dataset("cifar10", DatasetInfo(3, 32, 10, _load_cifar10, check_files=_check("cifar10")),
                     aliases=("cifar-10",), doc=f"CIFAR-10, {_FILES}")
    register_dataset("cifar100", DatasetInfo(3, 32, 100, _load_cifar100, check_files=_check("cifar100")),
                     aliases=("cifar-100",), doc=f"CIFAR-100, {_FILES}")
    register_dataset("imagenet16-120",
                     DatasetInfo(3, 16, 120, _load_imagenet16_120, check_files=_check("imagenet16-120")),
                     aliases=("imagenet16", "imagenet16_120", "imagenet-16-120"), doc=f"ImageNet16-120, {_FILES}")
    register_dataset("addnist", DatasetInfo(3, 28, 20, _npy_loader("addnist", 3, 28, 20), check_files=_check("addnist")),
                     doc=f"AddNIST, {_FILES}")
    register_dataset("cifartile",
                     DatasetInfo(3, 64, 4, _npy_loader("cifartile", 3, 64, 4), check_files=_check("cifartile")),
                     doc=f"CIFARTile, {_FILES}")
    register_dataset("digits", DatasetInfo(*embedded.DIGITS_SPEC, _embedded_loader(embedded.digits_splits, "digits", 10),
                                           embedded=True),
                     doc="embedded offline default: scikit-learn's bundled 8x8 digits (no files needed)")
    register_dataset("clutterdigits",
                     DatasetInfo(*embedded.CLUTTER_SPEC,
                                 _embedded_loader(embedded.clutterdigits_splits, "clutterdigits", 10), embedded=True),
                     doc="embedded, harder: a digit under a faint distractor digit and noise (no files needed)")
