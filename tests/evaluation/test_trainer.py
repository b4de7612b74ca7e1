"""Training works, is seeded, and every failure becomes a recorded outcome instead of an exception."""

from __future__ import annotations

import json
import logging
import pickle

import pytest
import torch
import torch.nn as nn

from algebraic_nas.evaluation import EvaluationRecord, evaluate, evaluate_model

from .conftest import tiny_cnn

FAST = {"epochs": 3, "progress": "none"}

# A small hnb201 term: NB201-like residual cells (x + block(block(x))), 15 cells, two downs.
_B = "Linear3(relu, conv3x3, batch)"
_CELL = f"Cell({_B}, zero, zero, id, {_B}, zero)"
_C = f"Linear2({_CELL}, {_CELL})"
HNB201_TERM = f"Linear3(Linear3({_C}, {_C}, Linear2({_CELL}, down)), Linear3({_C}, {_C}, Linear2({_CELL}, down)), Linear3({_C}, {_C}, {_CELL}))"


def test_tiny_cnn_learns_digits() -> None:
    rec = evaluate_model(tiny_cnn, "digits", "quick", overrides={"epochs": 6, "progress": "none"})
    assert rec.outcome == "ok", rec.reason
    assert len(rec.train_losses) == rec.epochs == 6
    assert rec.train_losses[-1] < 0.7 * rec.train_losses[0]
    assert rec.valid_error < 0.5 and rec.test_error < 0.5  # chance is 0.9
    assert rec.params == sum(p.numel() for p in tiny_cnn(type("S", (), {"channels": 1, "classes": 10})).parameters())
    assert rec.flops > 0 and rec.wall_time_s >= rec.train_time_s > 0 and rec.peak_memory_mb > 0
    assert rec.device == "cpu" and rec.micro_batch == 32 and rec.config["epochs"] == 6


def test_real_hnb201_network_learns_digits() -> None:
    rec = evaluate(HNB201_TERM, "hnb201", "digits", "quick", seed=0, overrides={"epochs": 2, "progress": "none"})
    assert rec.outcome == "ok", rec.reason
    assert rec.term == HNB201_TERM and rec.grammar == "hnb201"
    assert rec.train_losses[1] < rec.train_losses[0]
    assert rec.valid_error < 0.4  # chance 0.9; about 0.1 in practice
    assert rec.params > 100_000 and rec.flops > 1_000_000


def test_same_seed_same_run_other_seed_other_run() -> None:
    a = evaluate_model(tiny_cnn, "digits", "quick", seed=3, overrides={"epochs": 1, "progress": "none"})
    b = evaluate_model(tiny_cnn, "digits", "quick", seed=3, overrides={"epochs": 1, "progress": "none"})
    c = evaluate_model(tiny_cnn, "digits", "quick", seed=4, overrides={"epochs": 1, "progress": "none"})
    assert a.train_losses == b.train_losses and a.valid_error == b.valid_error
    assert a.train_losses != c.train_losses


def test_global_rng_is_untouched() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    evaluate_model(tiny_cnn, "digits", "quick", overrides={"epochs": 1, "progress": "none"})
    assert torch.equal(torch.rand(3), expected)


def test_divergence_from_a_huge_learning_rate() -> None:
    rec = evaluate_model(tiny_cnn, "digits", "quick", overrides={"lr": 1e6, "epochs": 3, "progress": "none",
                                                                 "divergence_check_every": 1})
    assert (rec.outcome, rec.reason) == ("failed", "diverged")
    assert rec.valid_error is None and rec.epochs < 3


class _NaNAfter(nn.Module):
    """Returns NaN logits from the ``after``-th forward call on."""

    def __init__(self, spec, after: int = 5) -> None:
        super().__init__()
        self.net, self.calls, self.after = tiny_cnn(spec), 0, after

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        y = self.net(x)
        return y * float("nan") if self.calls >= self.after else y


def test_divergence_from_nan_outputs() -> None:
    rec = evaluate_model(_NaNAfter, "digits", "quick", overrides=FAST)
    assert (rec.outcome, rec.reason) == ("failed", "diverged")
    json.dumps(rec.to_dict())  # NaN losses become null: still valid JSON
    assert rec.to_dict()["train_losses"][-1] is None


class _OOMAbove(nn.Module):
    """Raises CUDA's out-of-memory error for batches larger than ``limit``."""

    def __init__(self, spec, limit: int) -> None:
        super().__init__()
        self.net, self.limit = tiny_cnn(spec), limit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (simulated)")
        return self.net(x)


def test_oom_retries_with_gradient_accumulation() -> None:
    # eval batches are large too, so they must also shrink on OOM
    rec = evaluate_model(lambda s: _OOMAbove(s, limit=16), "digits", "quick", overrides={**FAST, "epochs": 2})
    assert rec.outcome == "ok", rec.reason
    assert rec.micro_batch == 16 and rec.config["batch_size"] == 32
    assert rec.valid_error < 0.9


def test_accumulated_micro_batches_match_the_full_batch() -> None:
    """Without batch statistics, accumulation over micro-batches reproduces the full-batch run."""

    def no_bn(spec):
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))

    # no augmentation either: crop offsets are drawn per micro-batch, so they would differ
    settings = {"epochs": 1, "progress": "none", "lr": 0.05, "crop_padding": 0}
    full = evaluate_model(no_bn, "digits", "quick", overrides=settings)
    micro = evaluate_model(lambda s: _OOMAboveGeneric(no_bn(s), 8), "digits", "quick", overrides=settings)
    assert micro.micro_batch == 8
    assert micro.train_losses[0] == pytest.approx(full.train_losses[0], rel=1e-4)


class _OOMAboveGeneric(nn.Module):
    def __init__(self, net: nn.Module, limit: int) -> None:
        super().__init__()
        self.net, self.limit = net, limit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] > self.limit:
            raise torch.cuda.OutOfMemoryError("simulated")
        return self.net(x)


def test_oom_gives_up_after_the_smallest_micro_batch() -> None:
    rec = evaluate_model(lambda s: _OOMAboveGeneric(tiny_cnn(s), 1), "digits", "quick", overrides=FAST)
    assert (rec.outcome, rec.reason) == ("failed", "out of memory")
    assert rec.micro_batch == 4  # 32 -> 16 -> 8 -> 4 (min_micro_batch), then it gives up
    # an out-of-memory error while building or measuring the network is recorded the same way
    rec = evaluate_model(lambda s: _OOMAbove(s, limit=0), "digits", "quick", overrides=FAST)
    assert (rec.outcome, rec.reason) == ("failed", "out of memory")


class _Broken(nn.Module):
    def __init__(self, spec) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("shapes do not agree at node 7")


def test_any_exception_is_a_failed_record() -> None:
    rec = evaluate_model(_Broken, "digits", "quick", overrides=FAST)
    assert rec.outcome == "failed" and rec.reason == "ValueError: shapes do not agree at node 7"

    def bad_factory(spec):
        raise RuntimeError("cannot build")

    assert evaluate_model(bad_factory, "digits", "quick").reason == "RuntimeError: cannot build"


def test_evaluate_never_raises_for_bad_input() -> None:
    bad_term = evaluate("Linear3(conv3x3)", "hnb201", "digits", "quick", overrides=FAST)
    assert bad_term.outcome == "failed" and "TermError" in bad_term.reason
    assert "not a registered dataset" in evaluate(HNB201_TERM, "hnb201", "mnist", "quick").reason
    assert "unknown protocol field" in evaluate(HNB201_TERM, "hnb201", "digits", "quick", overrides={"epoch": 1}).reason
    assert "protocol must be" in evaluate(HNB201_TERM, "hnb201", "digits", 3).reason  # type: ignore[arg-type]
    assert "seed must be an int" in evaluate(HNB201_TERM, "hnb201", "digits", "quick", seed="0").reason  # type: ignore[arg-type]
    missing = evaluate(HNB201_TERM, "hnb201", "cifar10", "nb201", data_root="/nonexistent/root")
    assert missing.outcome == "failed" and "data_batch_1" in missing.reason and "/nonexistent/root" in missing.reason
    if not torch.cuda.is_available():
        assert "CUDA is not available" in evaluate(HNB201_TERM, "hnb201", "digits", "quick", device="cuda").reason


def test_record_round_trip_and_pickling() -> None:
    rec = evaluate_model(tiny_cnn, "digits", {"name": "quick", "epochs": 1}, overrides={"progress": "none", "eval_every_epoch": True})
    assert rec.protocol == "quick" and rec.epochs == 1 and len(rec.valid_errors) == 1
    assert rec.valid_errors[0] == rec.valid_error
    d = json.loads(json.dumps(rec.to_dict()))
    assert EvaluationRecord.from_dict(d) == rec
    assert pickle.loads(pickle.dumps(rec)) == rec
    assert EvaluationRecord.from_dict({**d, "eval_id": 7, "worker": "w1"}) == rec  # a store's extra keys
    with pytest.raises(ValueError, match="unknown field"):
        EvaluationRecord.from_dict({**d, "colour": "red"}, strict=True)
    pickle.dumps((evaluate, HNB201_TERM, "hnb201", "digits", "quick", 0, "cpu", None, {"epochs": 1}))


def test_progress_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="algebraic_nas.evaluation"):
        evaluate_model(tiny_cnn, "digits", "quick", overrides={"epochs": 2, "progress": "log"})
    lines = [r.getMessage() for r in caplog.records if "epoch" in r.getMessage()]
    assert len(lines) == 2 and "epoch 2/2 loss" in lines[1]


def test_progress_bar(capsys: pytest.CaptureFixture) -> None:
    evaluate_model(tiny_cnn, "digits", "quick", overrides={"epochs": 2, "progress": "bar"})
    assert "epoch" in capsys.readouterr().err


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_bf16_channels_last() -> None:
    rec = evaluate(HNB201_TERM, "hnb201", "digits", "quick", device="cuda",
                   overrides={"epochs": 2, "bf16": True, "channels_last": True, "progress": "none"})
    assert rec.outcome == "ok", rec.reason
    assert rec.device.startswith("cuda") and rec.valid_error < 0.5 and rec.peak_memory_mb > 0
