"""What a search checks once before it starts (issue 15): a dataset's files are all there (named
when missing, before any is read) and each opens with the loader's safe reader (issue 23), and a
space's sampled terms build (issue 10)."""

from __future__ import annotations

import os
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from algebraic_nas.errors import ConfigError
from algebraic_nas.evaluation import DatasetError, DatasetFileNotFoundError
from algebraic_nas.evaluation.data import check_dataset_files
from algebraic_nas.evaluation.evaluate import check_buildable
from algebraic_nas.grammar import GrammarError, load_grammar
from algebraic_nas.search.config import check_config

CIFAR10 = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def test_every_missing_file_is_named_before_anything_is_read(tmp_path: Path) -> None:
    with pytest.raises(DatasetFileNotFoundError, match=r"expected file 'data_batch_1' in one of: .*cifar-10-batches-py"):
        check_dataset_files("cifar10", tmp_path)
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    for name in CIFAR10[:-1]:
        (d / name).write_bytes(b"not a pickle: the missing file is named before this is read")
    with pytest.raises(DatasetFileNotFoundError, match=r"test_batch"):
        check_dataset_files("cifar10", tmp_path)
    (d / "test_batch").write_bytes(b"")
    # all there: now each is opened with the loader's reader (an alias names the same dataset)
    with pytest.raises(DatasetError, match=r"cannot read pickle .*data_batch_1"):
        check_dataset_files("cifar-10", tmp_path)
    _write_cifar10(d)
    check_dataset_files("cifar-10", tmp_path)


class _Runs:
    """Unpickling this calls ``func(*args)`` (what a hostile pickle does)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _write_cifar10(d: Path, hostile: str = "") -> None:
    """Tiny CIFAR-10-format pickles (4 images each); ``hostile``: that file's data runs a command."""
    rng = np.random.default_rng(0)
    for name in CIFAR10:
        data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
        payload = {b"data": _Runs(os.system, "true") if name == hostile else data, b"labels": [0, 1, 2, 3]}
        (d / name).write_bytes(pickle.dumps(payload, protocol=2))


def test_a_pickle_the_loader_refuses_fails_the_check_before_the_search(tmp_path: Path) -> None:
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    _write_cifar10(d, hostile="data_batch_3")
    with pytest.raises(DatasetError, match=r"refused to read pickle .*data_batch_3.*names posix\.system"):
        check_dataset_files("cifar10", tmp_path)
    config = {"grammar": {"name": "hnb201"}, "dataset": {"name": "cifar10", "data_root": str(tmp_path)},
              "protocol": {"name": "tiny"}, "strategy": {"name": "random"}, "budget": {"evaluations": 1}}
    with pytest.raises(ConfigError, match=r"^dataset\.name='cifar10': .*refused to read pickle .*data_batch_3"):
        check_config(config)


def test_npy_files_are_checked_for_shape_without_loading_the_images(tmp_path: Path) -> None:
    d = tmp_path / "addnist"
    d.mkdir()
    shapes = {"train": (2, 3, 28, 28), "valid": (2, 3, 28, 28), "test": (3, 3, 28, 28)}
    for split, shape in shapes.items():
        np.save(d / f"{split}_x.npy", np.zeros(shape, np.float32))
        np.save(d / f"{split}_y.npy", np.arange(shape[0]))
    check_dataset_files("addnist", tmp_path)
    np.save(d / "valid_x.npy", np.zeros((2, 3, 27, 28), np.float32))
    with pytest.raises(DatasetError, match=r"valid_x\.npy' has shape \(2, 3, 27, 28\), expected \(N, 3, 28, 28\)"):
        check_dataset_files("addnist", tmp_path)


def test_npy_datasets_name_each_missing_split(tmp_path: Path) -> None:
    d = tmp_path / "addnist"
    d.mkdir()
    for split in ("train", "valid"):
        for xy in ("x", "y"):
            (d / f"{split}_{xy}.npy").write_bytes(b"")
    with pytest.raises(DatasetFileNotFoundError, match=r"test_x\.npy"):
        check_dataset_files("addnist", tmp_path)


def test_embedded_datasets_need_no_files(tmp_path: Path) -> None:
    check_dataset_files("digits", tmp_path / "nothing here")
    check_dataset_files("clutterdigits", tmp_path / "nothing here")


def test_a_space_whose_terminal_has_no_implementation_cannot_be_built(tmp_path: Path) -> None:
    path = tmp_path / "mystery.ebnf"
    path.write_text("NET ::= Linear2(OP, OP)\nOP  ::= mystery_op | other_mystery\n")
    # before sampling anything: the grammar's file, line and column of the first unknown terminal
    with pytest.raises(GrammarError, match=r"mystery\.ebnf:2:9: unknown primitive mystery_op") as caught:
        check_buildable(load_grammar(str(path)), "digits")
    assert "also " + str(tmp_path / "mystery.ebnf") + ":2:22: unknown primitive other_mystery" in str(caught.value)


@pytest.mark.parametrize("grammar", ["hnb201", "toy", "nb201_cell"])
def test_a_buildable_space_passes_and_leaves_the_callers_random_state(grammar: str) -> None:
    torch.manual_seed(5)
    expected = torch.rand(1)
    torch.manual_seed(5)
    g = load_grammar(grammar)
    term = check_buildable(g, "cifar10", seed=3)
    assert term == g.sample(random.Random(3))  # the first sampled term builds: it is returned
    assert torch.equal(torch.rand(1), expected)
