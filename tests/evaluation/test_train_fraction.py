"""The training-data fraction as a fidelity: a stratified, nested share of the training split;
validated like every protocol field; continuation across fractions refused, saying why; and a
multi-fidelity strategy on it refuses continuation in its config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from algebraic_nas.errors import ConfigError
from algebraic_nas.evaluation import evaluate_model
from algebraic_nas.evaluation.data import get_dataset, stratified_split, training_subset
from algebraic_nas.evaluation.protocols import get_protocol
from algebraic_nas.grammar import load_grammar

from .conftest import tiny_cnn

QUICK = {"progress": "none", "epochs": 1, "schedule_epochs": 2}


def test_subsets_are_stratified_nested_and_sized() -> None:
    train = get_dataset("digits").train
    y = train.y.numpy()
    quarter, half = training_subset(train, 0.25), training_subset(train, 0.5)
    assert len(quarter) == round(0.25 * len(train)) and len(half) == round(0.5 * len(train))
    counts, share = np.bincount(quarter.y.numpy(), minlength=10), np.bincount(y, minlength=10) * 0.25
    assert np.all(np.abs(counts - share) < 1.0 + 1e-9)  # within one example per class
    rows = {tuple(r) for r in half.x.reshape(len(half), -1).tolist()}
    assert all(tuple(r) in rows for r in quarter.x.reshape(len(quarter), -1).tolist())  # nested
    assert training_subset(train, 1.0) is train
    assert len(training_subset(train, 1e-6)) == 1


def test_stratified_split_is_unchanged_by_the_shared_order() -> None:
    y = np.repeat(np.arange(3), [5, 7, 9])
    parts = stratified_split(y, (0.6, 0.4), seed=0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(len(y)))
    assert [len(p) for p in parts] == [round(0.6 * 21), 21 - round(0.6 * 21)]


@pytest.mark.parametrize("bad", [0.0, -0.5, 1.5])
def test_out_of_range_fractions_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="train_fraction"):
        get_protocol("quick", train_fraction=bad)


def test_training_on_a_fraction_runs_and_another_fraction_is_not_continued(tmp_path: Path) -> None:
    half = evaluate_model(tiny_cnn, "digits", "quick", seed=4, overrides={**QUICK, "train_fraction": 0.5},
                          checkpoint_out=str(tmp_path / "half.pt"))
    full = evaluate_model(tiny_cnn, "digits", "quick", seed=4, overrides=QUICK)
    assert half.ok and full.ok and half.valid_error != full.valid_error
    rec = evaluate_model(tiny_cnn, "digits", "quick", seed=4,
                         overrides={**QUICK, "epochs": 2, "train_fraction": 1.0}, checkpoint_in=half.checkpoint)
    assert rec.ok and rec.continued_from is None and rec.epochs_trained == 2
    assert "train_fraction" in rec.retrain_reason


def test_hyperband_on_the_fraction_refuses_continuation_and_proposes_fractions() -> None:
    from algebraic_nas.search.strategies import make_strategy

    grammar = load_grammar("nb201_cell")
    with pytest.raises(ConfigError, match="epochs"):
        make_strategy("hyperband", grammar, fidelity_key="train_fraction", min_fidelity=0.25, max_fidelity=1.0,
                      integer=False, continue_training=True)
    s = make_strategy("hyperband", grammar, fidelity_key="train_fraction", min_fidelity=0.25, max_fidelity=1.0,
                      integer=False, continue_training=False, eta=2)
    (p,) = s.propose()
    assert set(p.fidelity) == {"train_fraction"} and 0.25 <= p.fidelity["train_fraction"] <= 1.0
