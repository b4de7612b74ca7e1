"""Datasets as tensors with fixed search / validation / test splits (NAS-Bench-201's for CIFAR and ImageNet16-120), and the
dataset registry.

A dataset is registered once (:func:`register_dataset`: a loader plus its input spec) and then
named everywhere: ``evaluate(..., dataset=NAME)``, ``dataset=NAME`` on the search command line.
The built-ins (loaders in :mod:`.builtin_datasets`):

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
from typing import Callable, Iterable, Mapping, Optional, Union

import numpy as np
import torch

from algebraic_nas.assembly.shapes import InputSpec
from algebraic_nas.errors import ConfigError
from algebraic_nas.registry import Registry

from .files import DatasetError

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

    @classmethod
    def from_arrays(cls, name: str, classes: int, train: tuple[np.ndarray, np.ndarray],
                    valid: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> "ImageDataset":
        """A dataset from ``(x, y)`` arrays per split: ``x`` (N, C, R, R) float32 or uint8,
        ``y`` (N,) class indices in ``0..classes-1``; normalised with the training split's own
        per-channel statistics (of ``x / 255`` for uint8)."""
        splits = {"train": train, "valid": valid, "test": test}
        for s, (x, y) in splits.items():
            if x.ndim != 4 or x.shape[2] != x.shape[3] or len(x) != len(y):
                raise DatasetError(f"dataset {name!r}: {s} x must be (N, C, R, R) with N labels, got {x.shape}, {len(y)}")
            check_labels(np.asarray(y), classes, name, s)
        x0 = train[0]
        mean, std = _mean_std(x0 / 255.0 if x0.dtype == np.uint8 else x0)
        return cls(name, x0.shape[1], x0.shape[2], classes, *(make_split(*splits[s]) for s in ("train", "valid", "test")),
                   mean, std)


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset: the input spec, known without loading, and the loader
    (``loader(data_root)``; ``embedded`` ones need no files and get ``None``); ``doc``: one line;
    ``check_files(data_root)``: raises :class:`DatasetFileNotFoundError` naming the first missing
    file before reading any, or :class:`DatasetError` naming a file the loader would refuse (a
    search calls it once, before it starts; ``None``: no check)."""

    channels: int
    resolution: int
    classes: int
    loader: Callable[[Optional[Path]], ImageDataset]
    embedded: bool = False
    doc: str = ""
    check_files: Optional[Callable[[Path], object]] = None

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
    counts differ from the ideal by less than one per cut (a part between two cuts: less than
    two). Deterministic in (``y``, ``fractions``,
    ``seed``); each part is returned sorted.
    """
    y = np.asarray(y)
    order = _stratified_order(y, seed)
    bounds = np.cumsum((0.0,) + tuple(fractions))
    cuts = np.round(bounds / bounds[-1] * len(y)).astype(int)
    return [np.sort(order[cuts[i]:cuts[i + 1]]) for i in range(len(fractions))]


def _stratified_order(y: np.ndarray, seed: int) -> np.ndarray:
    """All indices of ``y`` (N,) in an order that interleaves the classes evenly: each example's
    key is ``(random rank within its class + 0.5) / class size``; ties broken at random."""
    rng = np.random.RandomState(seed)
    key = np.empty(len(y), dtype=np.float64)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        key[idx[rng.permutation(len(idx))]] = (np.arange(len(idx)) + 0.5) / len(idx)
    tiebreak = rng.permutation(len(y))
    return np.lexsort((tiebreak, key))


def training_subset(split: Split, fraction: float, seed: int = SPLIT_SEED) -> Split:
    """The first ``round(fraction * N)`` examples (at least one) of ``split`` in the stratified
    order of :func:`stratified_split`: class proportions kept to within one example per class,
    and nested (a smaller fraction's examples are all in a larger one's), so that the training-
    data fraction can be a fidelity. ``fraction`` 1 returns ``split`` itself."""
    if not 0 < fraction <= 1:
        raise ValueError(f"train_fraction must be in (0, 1], got {fraction!r}")
    if fraction == 1:
        return split
    order = _stratified_order(split.y.cpu().numpy(), seed)
    keep = np.sort(order[:max(1, round(fraction * len(split)))])
    idx = torch.from_numpy(keep).to(split.y.device)
    return Split(split.x[idx], split.y[idx])


def make_split(x: np.ndarray, y: np.ndarray, idx: Optional[np.ndarray] = None) -> Split:
    """The :class:`Split` of arrays ``x`` (N, C, R, R) and ``y`` (N,), or of their rows ``idx``."""
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


def check_labels(y: np.ndarray, classes: int, dataset: str, where: str) -> None:
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise DatasetError(f"dataset {dataset!r}: labels in {where} span [{y.min()}, {y.max()}], expected 0..{classes - 1}")


# -------------------------------------------------------------------------------------- registry

DATASET_REGISTRY: Registry[DatasetInfo] = Registry("dataset", key="dataset.name")
DATASETS: Mapping[str, DatasetInfo] = DATASET_REGISTRY.view()  # read-only, live: name -> DatasetInfo


def register_dataset(
    name: str,
    info_or_loader: Union[DatasetInfo, Callable[[Optional[Path]], ImageDataset]],
    *,
    spec: Optional[InputSpec] = None,
    aliases: Iterable[str] = (),
    doc: str = "",
) -> DatasetInfo:
    """Register a dataset under ``name`` (a config group option: ``dataset=NAME``).

    ``info_or_loader`` is a :class:`DatasetInfo`, or a loader ``load(data_root) -> ImageDataset``
    together with ``spec`` (its ``InputSpec(channels, resolution, classes)``, so networks can be
    built and counted without loading). ``data_root`` is a :class:`~pathlib.Path` (the
    ``data_root`` argument, ``$ALGEBRAIC_NAS_DATA`` or ``./data``). ``aliases`` are other names
    :func:`get_dataset` accepts (not listed); names are also matched case-insensitively.
    Registering a name again warns and replaces it. Returns the registered info.
    """
    if isinstance(info_or_loader, DatasetInfo):
        info = replace(info_or_loader, doc=doc or info_or_loader.doc)
    elif callable(info_or_loader):
        if spec is None:
            raise ConfigError(f"dataset {name!r}: a loader needs its spec=InputSpec(channels, resolution, classes)")
        info = DatasetInfo(*InputSpec(*spec), loader=info_or_loader, doc=doc)
    else:
        raise TypeError(f"dataset {name!r}: expected a DatasetInfo or a loader, not {type(info_or_loader).__name__}")
    DATASET_REGISTRY.add(name, info, aliases, stacklevel=3)
    _cached.cache_clear()  # a replaced dataset must not be served from the cache
    return info


def dataset_names() -> list[str]:
    """The registered datasets, sorted (aliases not included)."""
    return DATASET_REGISTRY.names()


def canonical_name(name: str) -> str:
    """The registered name of ``name`` (itself, an alias, or either in another case);
    :class:`~algebraic_nas.errors.ConfigError` (a ``ValueError``) naming the known datasets."""
    key = name.strip()
    if key not in DATASET_REGISTRY and key.lower() in DATASET_REGISTRY:
        key = key.lower()
    try:
        return DATASET_REGISTRY.resolve(key)
    except ConfigError:
        raise ConfigError(f"dataset.name={name!r}: not a registered dataset; known: {', '.join(dataset_names())}") from None


def get_dataset_info(name: str) -> DatasetInfo:
    """The registered :class:`DatasetInfo` of ``name`` (see :func:`canonical_name`)."""
    return DATASET_REGISTRY.get(canonical_name(name))


def get_dataset_spec(name: str) -> InputSpec:
    """``InputSpec(channels, resolution, classes)`` of a dataset, without loading any data.

    Raises :class:`ValueError` naming the known datasets for an unknown ``name``.
    """
    return get_dataset_info(name).spec


def check_dataset_files(name: str, data_root: Union[str, Path, None] = None) -> None:
    """Fail now, naming the file, when dataset ``name``'s files are not under the data root (see
    :func:`default_data_root`) or one of them would be refused by its loader (a pickle naming a
    forbidden global, a truncated file, a wrong shape): the built-in datasets' checks open each file
    with the loaders' safe readers, one at a time, and keep nothing. Embedded datasets and those
    registered without ``check_files`` pass."""
    info = get_dataset_info(name)
    if not info.embedded and info.check_files is not None:
        info.check_files(default_data_root(data_root))


def get_dataset(name: str, data_root: Union[str, Path, None] = None, device: Union[str, torch.device] = "cpu") -> ImageDataset:
    """The dataset ``name`` with its three splits as tensors on ``device`` (cached per process).

    Raises :class:`ValueError` for an unknown name, :class:`DatasetFileNotFoundError` naming the
    expected file for a missing one, :class:`DatasetError` for a malformed one.
    """
    key = canonical_name(name)
    info = DATASET_REGISTRY.get(key)
    root = None if info.embedded else str(default_data_root(data_root).resolve())
    return _cached(key, root, str(torch.device(device)))


@functools.lru_cache(maxsize=4)
def _cached(key: str, root: Optional[str], device: str) -> ImageDataset:
    if device != "cpu":
        return _cached(key, root, "cpu").to(device)
    info = DATASET_REGISTRY.get(key)
    ds = info.loader(Path(root) if root is not None else None)
    if ds.spec != info.spec:  # guards the cheap spec table
        raise DatasetError(f"dataset {key!r}: loaded shape {ds.spec} differs from the declared {info.spec}")
    return ds


def clear_cache() -> None:
    """Forget cached datasets (frees their memory, e.g. GPU copies)."""
    _cached.cache_clear()
