"""Continuing from a checkpoint is training straight through; a checkpoint that cannot be
continued from makes the evaluation retrain, saying why."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from algebraic_nas.evaluation import evaluate, evaluate_model
from algebraic_nas.evaluation.checkpoint import FORMAT_VERSION, CheckpointError, load_checkpoint

from .conftest import tiny_cnn
from .test_trainer import HNB201_TERM as HNB201_SMALL

QUICK = {"progress": "none"}


def _weights(path: str) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def test_continuing_2_to_4_epochs_gives_the_weights_of_4_epochs_straight(tmp_path: Path) -> None:
    straight = evaluate_model(tiny_cnn, "digits", "quick", seed=5, overrides={**QUICK, "epochs": 4},
                              checkpoint_out=str(tmp_path / "straight.pt"))
    first = evaluate_model(tiny_cnn, "digits", "quick", seed=5,
                           overrides={**QUICK, "epochs": 2, "schedule_epochs": 4},
                           checkpoint_out=str(tmp_path / "half.pt"))
    second = evaluate_model(tiny_cnn, "digits", "quick", seed=5,
                            overrides={**QUICK, "epochs": 4, "schedule_epochs": 4},
                            checkpoint_in=first.checkpoint, checkpoint_out=str(tmp_path / "resumed.pt"))
    assert first.ok and second.ok and straight.ok
    assert first.epochs == first.epochs_trained == 2
    assert second.continued_from == first.checkpoint and second.retrain_reason == ""
    assert second.epochs == 4 and second.epochs_trained == 2  # two epochs of compute, not four
    a, b = _weights(straight.checkpoint), _weights(second.checkpoint)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert second.train_losses == straight.train_losses  # the history continues too
    assert second.valid_error == straight.valid_error and second.test_error == straight.test_error
    # the schedule is the 4-epoch one: stopping at 2 is not the same as training 2 epochs
    short = evaluate_model(tiny_cnn, "digits", "quick", seed=5, overrides={**QUICK, "epochs": 2})
    assert short.train_losses[1] != first.train_losses[1]


def test_a_real_hnb201_term_continues_exactly(tmp_path: Path) -> None:
    fid = {**QUICK, "schedule_epochs": 2}
    straight = evaluate(HNB201_SMALL, "hnb201", "digits", "quick", seed=1, overrides={**fid, "epochs": 2},
                        checkpoint_out=str(tmp_path / "a.pt"))
    one = evaluate(HNB201_SMALL, "hnb201", "digits", "quick", seed=1, overrides={**fid, "epochs": 1},
                   checkpoint_out=str(tmp_path / "b.pt"))
    two = evaluate(HNB201_SMALL, "hnb201", "digits", "quick", seed=1, overrides={**fid, "epochs": 2},
                   checkpoint_in=one.checkpoint, checkpoint_out=str(tmp_path / "c.pt"))
    assert two.continued_from == one.checkpoint and two.epochs_trained == 1
    a, c = _weights(straight.checkpoint), _weights(two.checkpoint)
    assert all(torch.equal(a[k], c[k]) for k in a)
    saved = torch.load(two.checkpoint, weights_only=True)
    assert saved["term"] == HNB201_SMALL and saved["grammar"] == "hnb201" and saved["dataset"] == "digits"
    assert saved["seed"] == 1 and saved["epochs_done"] == 2 and saved["protocol"]["epochs"] == 2
    assert {"optimizer", "format_version"} <= saved.keys()


@pytest.mark.parametrize("problem", ["missing", "corrupt", "other seed", "other protocol"])
def test_a_checkpoint_that_cannot_be_continued_from_falls_back_to_retraining(tmp_path: Path, problem: str) -> None:
    fid = {**QUICK, "schedule_epochs": 2}
    first = evaluate_model(tiny_cnn, "digits", "quick", seed=2, overrides={**fid, "epochs": 1},
                           checkpoint_out=str(tmp_path / "one.pt"))
    path, seed, overrides = first.checkpoint, 2, {**fid, "epochs": 2}
    if problem == "missing":
        Path(path).unlink()
    elif problem == "corrupt":
        Path(path).write_bytes(b"not a checkpoint")
    elif problem == "other seed":
        seed = 3
    else:
        overrides["lr"] = 0.05
    rec = evaluate_model(tiny_cnn, "digits", "quick", seed=seed, overrides=overrides, checkpoint_in=path)
    assert rec.ok and rec.continued_from is None and rec.epochs_trained == rec.epochs == 2
    expected = {"missing": "does not exist", "corrupt": "unreadable", "other seed": "seed",
                "other protocol": "lr"}[problem]
    assert expected in rec.retrain_reason
    assert rec.to_dict()["retrain_reason"] == rec.retrain_reason


def test_load_checkpoint_names_what_differs(tmp_path: Path) -> None:
    rec = evaluate_model(tiny_cnn, "digits", "quick", seed=0, overrides={**QUICK, "epochs": 1},
                         checkpoint_out=str(tmp_path / "x.pt"))
    assert load_checkpoint(rec.checkpoint, dataset="digits", seed=0).epochs_done == 1
    with pytest.raises(CheckpointError, match="dataset 'digits', not 'clutterdigits'"):
        load_checkpoint(rec.checkpoint, dataset="clutterdigits")


def test_schedule_epochs_below_epochs_is_a_failed_evaluation_naming_the_key() -> None:
    rec = evaluate_model(tiny_cnn, "digits", "quick", overrides={**QUICK, "epochs": 3, "schedule_epochs": 2})
    assert rec.outcome == "failed" and "schedule_epochs" in rec.reason


def test_a_checkpoint_of_the_previous_format_is_refused_saying_why(tmp_path: Path) -> None:
    """Format 1 predates one generator graph per instance (NAGO): its term builds another network now."""
    fid = {**QUICK, "schedule_epochs": 2}
    first = evaluate_model(tiny_cnn, "digits", "quick", seed=2, overrides={**fid, "epochs": 1},
                           checkpoint_out=str(tmp_path / "one.pt"))
    data = torch.load(first.checkpoint, weights_only=True)
    assert data["format_version"] == FORMAT_VERSION == 2
    torch.save({**data, "format_version": 1}, first.checkpoint)
    with pytest.raises(CheckpointError, match="format_version 1, expected 2: .*independent graph per instance"):
        load_checkpoint(first.checkpoint)
    rec = evaluate_model(tiny_cnn, "digits", "quick", seed=2, overrides={**fid, "epochs": 2},
                         checkpoint_in=first.checkpoint)
    assert rec.ok and rec.continued_from is None and rec.epochs_trained == 2
    assert "format_version 1" in rec.retrain_reason
