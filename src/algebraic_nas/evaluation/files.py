"""Readers for the on-disk dataset formats. Nothing is ever downloaded.

* CIFAR-10 / CIFAR-100 "python version" pickles: dicts with ``data`` (N, 3072) uint8 in
  channel-major order (R plane, G plane, B plane, each row-major 32×32) and ``labels``
  (CIFAR-10) or ``fine_labels`` (CIFAR-100); keys may be bytes (Python 2 pickles).
* NAS-Bench-201's ImageNet16 pickles (``train_data_batch_1`` … ``_10``, ``val_data``): dicts
  with ``data`` (N, 768) uint8 in the same layout at 16×16 and ``labels`` in 1..1000.
* CVPR-NAS 2021 ``.npy`` arrays: ``{train,valid,test}_x.npy`` float32 (N, 3, H, W) and
  ``{train,valid,test}_y.npy`` integer labels (N,).

Every problem raises :class:`DatasetError` (or :class:`DatasetFileNotFoundError`) naming the file.

Pickles are data, not code: they are read by :class:`DataUnpickler`, which admits only the
globals those files contain (numpy array, dtype and scalar reconstruction, a few builtin
container types); a pickle that names anything else (``os.system``, ``builtins.eval``, ...) is
refused before that object is even imported, so nothing in it runs.
"""

from __future__ import annotations

import builtins
import importlib
import pickle
from pathlib import Path
from typing import Any, Sequence

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


# (module, name) a dataset pickle may name. Modules as written by numpy 1 (numpy.core) and 2
# (numpy._core); "__builtin__" is Python 2's builtins. Nothing here can run code: these build
# arrays, dtypes, scalars and plain containers from data.
_NUMPY_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),  # protocol 5
}
_SAFE_BUILTINS = frozenset({"set", "frozenset", "bytearray", "bytes", "complex", "slice", "range"})
_BUILTIN_MODULES = ("builtins", "__builtin__")


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle named a global outside :class:`DataUnpickler`'s allowed set."""


class DataUnpickler(pickle.Unpickler):
    """An unpickler for dataset files: only numpy arrays, dtypes and scalars, plain containers
    and ``_codecs.encode`` (how protocol-2 pickles store bytes) may be reconstructed."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_GLOBALS:
            if module.startswith("numpy.core."):  # numpy >= 2 moved numpy.core to numpy._core
                try:
                    return getattr(importlib.import_module("numpy._core" + module[len("numpy.core"):]), name)
                except (ImportError, AttributeError):
                    pass
            return getattr(importlib.import_module(module), name)
        if module in _BUILTIN_MODULES and name in _SAFE_BUILTINS:
            return getattr(builtins, name)
        if (module, name) == ("_codecs", "encode"):
            import _codecs

            return _codecs.encode
        raise UnsafePickleError(f"it names {module}.{name}, which a dataset file never contains")


def load_data_pickle(path: Path) -> Any:
    """The object in the pickle at ``path``, read with :class:`DataUnpickler` (``bytes``
    encoding for Python-2 strings)."""
    with open(path, "rb") as f:
        return DataUnpickler(f, encoding="bytes").load()


def _load_pickle(path: Path, dataset: str) -> dict:
    require_file(path, dataset)
    try:
        obj = load_data_pickle(path)
    except UnsafePickleError as exc:
        raise DatasetError(f"dataset {dataset!r}: refused to read pickle {str(path)!r}: {exc}") from None
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
    x, y = _open_npy_split(directory, split, dataset, channels, resolution, mmap=False)
    return x.astype(np.float32, copy=False), y.reshape(-1).astype(np.int64)


def check_npy_split(directory: Path, split: str, dataset: str, channels: int, resolution: int) -> None:
    """Raise what :func:`read_npy_split` would for this split, reading only the arrays' headers
    and the labels (the images are memory-mapped, not loaded)."""
    _open_npy_split(directory, split, dataset, channels, resolution, mmap=True)


def _open_npy_split(directory: Path, split: str, dataset: str, channels: int, resolution: int,
                    mmap: bool) -> tuple[np.ndarray, np.ndarray]:
    """The split's ``(x, y)`` arrays as stored, shapes and labels checked (``mmap``: memory-mapped)."""
    xs = []
    for suffix in ("x", "y"):
        path = require_file(directory / f"{split}_{suffix}.npy", dataset)
        try:
            xs.append(np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None))
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
    return x, y
