"""What a search checks once before it starts (issue 15): a dataset's files are all there (named
when missing, nothing read), and a space's sampled terms build (issue 10)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from algebraic_nas.evaluation import DatasetFileNotFoundError
from algebraic_nas.evaluation.data import check_dataset_files
from algebraic_nas.evaluation.evaluate import check_buildable
from algebraic_nas.grammar import GrammarError, load_grammar

CIFAR10 = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def test_every_missing_file_is_named_before_anything_is_read(tmp_path: Path) -> None:
    with pytest.raises(DatasetFileNotFoundError, match=r"expected file 'data_batch_1' in one of: .*cifar-10-batches-py"):
        check_dataset_files("cifar10", tmp_path)
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    for name in CIFAR10[:-1]:
        (d / name).write_bytes(b"not a pickle: a check must not read it")
    with pytest.raises(DatasetFileNotFoundError, match=r"test_batch"):
        check_dataset_files("cifar10", tmp_path)
    (d / "test_batch").write_bytes(b"")
    check_dataset_files("cifar-10", tmp_path)  # all there (an alias names the same dataset); none was read


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
