"""Dataset pickles are data, not code: the restricted unpickler reads what CIFAR and ImageNet16
files hold (numpy arrays and scalars, lists, bytes or str keys, every pickle protocol) and refuses
anything that would import something else, before it runs."""

from __future__ import annotations

import builtins
import importlib
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from algebraic_nas.evaluation import DatasetError, get_dataset
from algebraic_nas.evaluation.files import load_data_pickle

pytestmark = pytest.mark.usefixtures("fresh_cache")


class _Runs:
    """Unpickling this calls ``func(*args)`` (what a hostile pickle does)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


# what a hostile pickle might call; each must be refused without being called
HOSTILE = [
    (os.system, "os.system"),
    (subprocess.call, "subprocess.call"),
    (builtins.eval, "builtins.eval"),
    (builtins.exec, "builtins.exec"),
    (builtins.getattr, "builtins.getattr"),
    (builtins.__import__, "builtins.__import__"),
    (importlib.import_module, "importlib.import_module"),
    (pickle.loads, "pickle.loads"),
    (np.load, "numpy.load"),
]


def test_a_crafted_cifar_pickle_in_the_data_root_does_not_run_its_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    payload = {b"data": _Runs(os.system, f"touch {marker}"), b"labels": [0]}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (d / name).write_bytes(pickle.dumps(payload, protocol=2))
    with pytest.raises(DatasetError, match=r"refused to read pickle .*data_batch_1.*system"):
        get_dataset("cifar10", tmp_path)
    assert not marker.exists()


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("func, name", HOSTILE, ids=[n for _, n in HOSTILE])
def test_every_hostile_global_is_refused_at_every_protocol(tmp_path: Path, func, name: str, protocol: int) -> None:
    path = tmp_path / "val_data"
    path.write_bytes(pickle.dumps({"data": _Runs(func, "print('ran')"), "labels": []}, protocol=protocol))
    with pytest.raises(pickle.UnpicklingError, match=r"which a dataset file never contains"):
        load_data_pickle(path)


_ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.uint8, np.int64, np.float32, np.float64]),
    shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
)


@settings(max_examples=60, deadline=None)
@given(data=_ARRAYS, labels=st.lists(st.integers(0, 999), max_size=6), protocol=st.integers(0, pickle.HIGHEST_PROTOCOL),
       bytes_keys=st.booleans())
def test_what_dataset_files_hold_round_trips(tmp_path_factory, data, labels, protocol, bytes_keys) -> None:
    key = (lambda k: k.encode()) if bytes_keys else (lambda k: k)
    obj = {key("data"): data, key("labels"): [np.int64(v) for v in labels], key("mean"): data.mean() if data.size else 0.0,
           key("batch_label"): b"training batch 1 of 5", key("filenames"): [b"a.png", "b.png"]}
    path = tmp_path_factory.mktemp("p") / "batch"
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    back = load_data_pickle(path)
    assert np.array_equal(back[key("data")], data, equal_nan=data.dtype.kind == "f")
    assert back[key("data")].dtype == data.dtype
    assert [int(v) for v in back[key("labels")]] == labels
    assert back[key("filenames")] == [b"a.png", "b.png"]
