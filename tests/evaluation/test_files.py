"""Each on-disk format written small into a temporary root and read back through the real loaders."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from algebraic_nas.evaluation import DatasetError, DatasetFileNotFoundError, get_dataset, get_dataset_spec

pytestmark = pytest.mark.usefixtures("fresh_cache")


def _images(n: int, res: int, labels: np.ndarray) -> np.ndarray:
    """(n, 3*res*res) uint8 whose first red pixel encodes the label (to check the layout)."""
    x = np.random.RandomState(0).randint(0, 256, size=(n, 3 * res * res)).astype(np.uint8)
    x[:, 0] = labels  # R plane, row 0, column 0
    x[:, res * res] = 7  # G plane, row 0, column 0
    return x


def _dump(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(obj, f)


def _write_cifar10(root: Path, per_batch: int = 8) -> None:
    d = root / "cifar-10-batches-py"
    for i in range(1, 6):
        y = (np.arange(per_batch) + 2 * i) % 10  # with 8 per batch: every class 4 times in all
        # bytes keys, as in the real (Python 2) pickles
        _dump(d / f"data_batch_{i}", {b"data": _images(per_batch, 32, y), b"labels": list(y)})
    y = np.arange(10) % 10
    _dump(d / "test_batch", {b"data": _images(10, 32, y), b"labels": list(y)})


def test_cifar10_search_split(tmp_path: Path) -> None:
    _write_cifar10(tmp_path, per_batch=8)
    ds = get_dataset("cifar10", tmp_path)
    assert ds.spec == (3, 32, 10) == get_dataset_spec("cifar10")
    # 40 training images: 20 train / 20 valid (class-balanced halves), test untouched
    assert len(ds.train) == len(ds.valid) == 20 and len(ds.test) == 10
    assert ds.train.x.shape == (20, 3, 32, 32) and str(ds.train.x.dtype) == "torch.uint8"
    for split in (ds.train, ds.valid, ds.test):  # channel-major layout: pixel (R,0,0) is the label
        assert (split.x[:, 0, 0, 0].long() == split.y).all()
        assert (split.x[:, 1, 0, 0] == 7).all()
    all_labels = sorted(ds.train.y.tolist() + ds.valid.y.tolist())
    assert all_labels == sorted(list(range(10)) * 4)
    assert sorted(ds.train.y.tolist()) == sorted(ds.valid.y.tolist())  # balanced per class
    # the split is fixed: loading again gives the same partition
    from algebraic_nas.evaluation import clear_cache

    clear_cache()
    again = get_dataset("cifar10", tmp_path)
    assert (again.train.x == ds.train.x).all()


def test_cifar100_validates_on_half_the_test_set(tmp_path: Path) -> None:
    d = tmp_path / "cifar-100-python"
    y = np.arange(30) % 100
    _dump(d / "train", {"data": _images(30, 32, y), "fine_labels": list(y), "coarse_labels": list(y % 20)})
    yt = np.repeat(np.arange(5), 4)
    _dump(d / "test", {"data": _images(20, 32, yt), "fine_labels": list(yt)})
    ds = get_dataset("cifar100", tmp_path)
    assert ds.classes == 100 and len(ds.train) == 30
    assert len(ds.valid) == len(ds.test) == 10
    assert sorted(ds.valid.y.tolist()) == sorted(ds.test.y.tolist()) == sorted(np.repeat(np.arange(5), 2).tolist())


def test_imagenet16_120_keeps_first_120_classes(tmp_path: Path) -> None:
    d = tmp_path / "ImageNet16"
    for i in range(1, 11):
        labels = np.array([1, 120, 121, 1000, 60, 2])  # 1-based; 121 and 1000 are dropped
        _dump(d / f"train_data_batch_{i}", {"data": _images(6, 16, labels % 256), "labels": list(labels), "mean": 0})
    vl = np.array([1, 1, 5, 5, 300, 120, 120])
    _dump(d / "val_data", {"data": _images(7, 16, vl % 256), "labels": list(vl)})
    ds = get_dataset("imagenet16-120", tmp_path)
    assert ds.spec == (3, 16, 120)
    assert len(ds.train) == 40 and ds.train.x.shape[1:] == (3, 16, 16)
    assert set(ds.train.y.tolist()) == {0, 119, 59, 1}  # shifted to 0-based
    assert len(ds.valid) + len(ds.test) == 6 and sorted(ds.valid.y.tolist()) == [0, 4, 119]


@pytest.mark.parametrize("name,res,classes", [("addnist", 28, 20), ("cifartile", 64, 4)])
def test_cvprnas_npy(tmp_path: Path, name: str, res: int, classes: int) -> None:
    d = tmp_path / name
    d.mkdir()
    rng = np.random.RandomState(0)
    sizes = {"train": 6, "valid": 3, "test": 4}
    for split, n in sizes.items():
        np.save(d / f"{split}_x.npy", rng.rand(n, 3, res, res).astype(np.float32))
        np.save(d / f"{split}_y.npy", (np.arange(n) % classes).astype(np.int64))
    ds = get_dataset(name, tmp_path)
    assert ds.spec == (3, res, classes) == get_dataset_spec(name)
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (6, 3, 4)
    assert np.allclose(ds.train.x.numpy(), np.load(d / "train_x.npy"))
    assert ds.scale == 1.0


def test_missing_file_names_it_and_where(tmp_path: Path) -> None:
    with pytest.raises(DatasetFileNotFoundError) as err:
        get_dataset("cifar10", tmp_path)
    msg = str(err.value)
    assert "data_batch_1" in msg and str(tmp_path / "cifar-10-batches-py") in msg
    # a later batch missing is named by its full path
    _write_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_4").unlink()
    with pytest.raises(DatasetFileNotFoundError, match="data_batch_4"):
        get_dataset("cifar10", tmp_path)


def test_missing_npy_split(tmp_path: Path) -> None:
    d = tmp_path / "addnist"
    d.mkdir()
    np.save(d / "train_x.npy", np.zeros((2, 3, 28, 28), np.float32))
    np.save(d / "train_y.npy", np.zeros(2, np.int64))
    with pytest.raises(DatasetFileNotFoundError, match="valid_x.npy"):
        get_dataset("addnist", tmp_path)


def test_malformed_files(tmp_path: Path) -> None:
    d = tmp_path / "cifar-10-batches-py"
    _write_cifar10(tmp_path)
    (d / "data_batch_2").write_bytes(b"this is not a pickle")
    with pytest.raises(DatasetError, match="data_batch_2"):
        get_dataset("cifar10", tmp_path)
    _dump(d / "data_batch_2", {"data": np.zeros((4, 100), np.uint8), "labels": [0, 1, 2, 3]})
    with pytest.raises(DatasetError, match=r"data_batch_2.*\(N, 3072\)"):
        get_dataset("cifar10", tmp_path)
    _dump(d / "data_batch_2", {"images": 1})
    with pytest.raises(DatasetError, match="no key 'data'"):
        get_dataset("cifar10", tmp_path)

    n = tmp_path / "cifartile"
    n.mkdir()
    for split in ("train", "valid", "test"):
        np.save(n / f"{split}_x.npy", np.zeros((2, 3, 32, 32), np.float32))  # wrong resolution
        np.save(n / f"{split}_y.npy", np.zeros(2, np.int64))
    with pytest.raises(DatasetError, match=r"train_x.npy.*\(N, 3, 64, 64\)"):
        get_dataset("cifartile", tmp_path)


def test_labels_out_of_range(tmp_path: Path) -> None:
    d = tmp_path / "cifartile"
    d.mkdir()
    for split in ("train", "valid", "test"):
        np.save(d / f"{split}_x.npy", np.zeros((2, 3, 64, 64), np.float32))
        np.save(d / f"{split}_y.npy", np.array([0, 4]))
    with pytest.raises(DatasetError, match="labels"):
        get_dataset("cifartile", tmp_path)


def test_data_root_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_cifar10(tmp_path / "elsewhere")
    monkeypatch.setenv("ALGEBRAIC_NAS_DATA", str(tmp_path / "elsewhere"))
    assert len(get_dataset("cifar10").train) == 20


def test_unknown_dataset() -> None:
    with pytest.raises(ValueError, match="dataset.name='mnist': not a registered dataset; known:.*cifar10"):
        get_dataset_spec("mnist")


@pytest.mark.parametrize("name,protocol", [("cifar10", "nb201"), ("addnist", "cvprnas")])
def test_protocols_run_end_to_end_on_file_data(tmp_path: Path, name: str, protocol: str) -> None:
    """uint8 pickles (scaling, crop, flip, normalisation) and float .npy data both train."""
    from algebraic_nas.evaluation import evaluate_model

    from .conftest import tiny_cnn

    if name == "cifar10":
        _write_cifar10(tmp_path)
    else:
        d = tmp_path / name
        d.mkdir()
        for split in ("train", "valid", "test"):
            np.save(d / f"{split}_x.npy", np.random.RandomState(1).rand(8, 3, 28, 28).astype(np.float32))
            np.save(d / f"{split}_y.npy", np.arange(8) % 20)
    rec = evaluate_model(tiny_cnn, name, protocol, data_root=str(tmp_path),
                         overrides={"epochs": 2, "batch_size": 8, "progress": "none"})
    assert rec.outcome == "ok", rec.reason
    assert rec.dataset == name and rec.protocol == protocol and len(rec.train_losses) == 2
    assert 0.0 <= rec.valid_error <= 1.0 and 0.0 <= rec.test_error <= 1.0
