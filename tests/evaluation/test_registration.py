"""Extension is registration: a dataset, a protocol and an objective registered here are usable
by name everywhere (``evaluate``, the search's config groups), and registering twice warns."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch.nn as nn

from algebraic_nas.errors import ConfigError
from algebraic_nas.evaluation import (
    EvaluationRecord,
    ImageDataset,
    InputSpec,
    dataset_names,
    evaluate,
    evaluate_model,
    get_dataset_spec,
    get_protocol,
    objective_names,
    protocol_names,
    register_dataset,
    register_objective,
    register_protocol,
)
from algebraic_nas.evaluation.data import DATASET_REGISTRY
from algebraic_nas.evaluation.objectives import OBJECTIVE_REGISTRY
from algebraic_nas.evaluation.protocols import PROTOCOL_REGISTRY

from .conftest import tiny_cnn

TOY_TERM = "Linear(conv, id, fc)"  # the toy grammar: a conv, identity, classifier
BUILTIN_OBJECTIVES = {"valid_error", "params", "flops", "latency_ms", "peak_memory_mb"}


def _random_blobs(root) -> ImageDataset:
    """3 classes of 2×6×6 images, each class a different mean brightness: learnable in one epoch."""
    rng = np.random.RandomState(0)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.randint(0, 3, n)
        x = rng.normal(0, 0.3, (n, 2, 6, 6)).astype(np.float32) + y[:, None, None, None].astype(np.float32)
        return x, y

    return ImageDataset.from_arrays("blobs_test", 3, train=split(96), valid=split(48), test=split(48))


@pytest.fixture
def blobs(fresh_cache):
    register_dataset("blobs_test", _random_blobs, spec=InputSpec(2, 6, 3), aliases=("blobs-test",))
    yield "blobs_test"
    DATASET_REGISTRY.remove("blobs_test")


@pytest.fixture
def short_protocol():
    register_protocol("short_test", base="quick", epochs=2, batch_size=16, progress="none")
    yield "short_test"
    PROTOCOL_REGISTRY.remove("short_test")


def test_a_dataset_registered_here_is_trainable_by_evaluate(blobs, short_protocol) -> None:
    assert "blobs_test" in dataset_names()
    assert get_dataset_spec("blobs-test") == get_dataset_spec("BLOBS_TEST") == (2, 6, 3)  # alias, any case
    rec = evaluate(TOY_TERM, "toy", blobs, short_protocol)
    assert rec.outcome == "ok", rec.reason
    assert rec.dataset == "blobs_test" and rec.epochs == 2
    assert rec.valid_error < 0.5  # chance is 2/3


def test_a_loader_without_its_spec_is_refused() -> None:
    with pytest.raises(ConfigError, match="spec=InputSpec"):
        register_dataset("nospec_test", _random_blobs)
    assert "nospec_test" not in dataset_names()


def test_a_declared_spec_that_the_data_contradicts_fails_the_evaluation(fresh_cache) -> None:
    register_dataset("wrongspec_test", _random_blobs, spec=InputSpec(1, 6, 3))
    try:
        rec = evaluate_model(tiny_cnn, "wrongspec_test", "tiny")
        assert rec.outcome == "failed" and "differs from the declared" in rec.reason
    finally:
        DATASET_REGISTRY.remove("wrongspec_test")


def test_a_protocol_registered_here_is_usable_by_name(short_protocol) -> None:
    assert "short_test" in protocol_names()
    p = get_protocol(short_protocol)
    assert (p.name, p.epochs, p.batch_size, p.lr) == ("short_test", 2, 16, get_protocol("quick").lr)
    assert get_protocol({"name": short_protocol, "epochs": 1}).epochs == 1
    rec = evaluate_model(tiny_cnn, "digits", short_protocol)
    assert rec.outcome == "ok" and rec.protocol == "short_test" and rec.epochs == 2 and rec.micro_batch == 16
    with pytest.raises(ValueError, match="unknown protocol field"):
        register_protocol("bad_test", epoch=3)
    assert "bad_test" not in protocol_names()


def test_registering_a_name_twice_warns_at_the_callers_line_and_the_later_one_wins(blobs, short_protocol) -> None:
    with pytest.warns(UserWarning, match="dataset 'blobs_test' registered again") as w:
        register_dataset("blobs_test", _random_blobs, spec=InputSpec(2, 6, 3))
    assert w[0].filename == __file__
    with pytest.warns(UserWarning, match="protocol 'short_test' registered again") as w:
        register_protocol("short_test", base="quick", epochs=3)
    assert w[0].filename == __file__ and get_protocol("short_test").epochs == 3
    register_objective("twice_test", lambda ctx: 1.0, unit="count")
    try:
        with pytest.warns(UserWarning, match="objective 'twice_test' registered again") as w:
            register_objective("twice_test", lambda ctx: 2.0, unit="count")
        assert w[0].filename == __file__
    finally:
        OBJECTIVE_REGISTRY.remove("twice_test")


def test_unknown_names_name_the_key_and_the_known_names() -> None:
    with pytest.raises(ConfigError, match=r"dataset.name='mnist': not a registered dataset; known: addnist, cifar10"):
        get_dataset_spec("mnist")
    with pytest.raises(ConfigError, match=r"protocol.name='fast': not a registered protocol; known: cvprnas, nb201, quick"):
        get_protocol("fast")


def test_the_builtin_objectives_are_all_measured_on_digits() -> None:
    assert BUILTIN_OBJECTIVES <= set(objective_names())
    rec = evaluate_model(tiny_cnn, "digits", "tiny", overrides={"progress": "none"})
    assert rec.outcome == "ok", rec.reason
    assert BUILTIN_OBJECTIVES <= set(rec.objectives)
    o = rec.objectives
    assert (o["valid_error"], o["params"], o["flops"], o["peak_memory_mb"]) == (
        rec.valid_error, rec.params, rec.flops, rec.peak_memory_mb)  # the fields as they were, kept
    assert 0 < o["latency_ms"] < 1000 * rec.wall_time_s


def test_an_objective_registered_here_appears_in_the_record_and_a_failing_one_is_left_out() -> None:
    def conv_layers(ctx):
        return sum(isinstance(m, nn.Conv2d) for m in ctx.network.modules())

    def broken(ctx):
        raise RuntimeError("no such counter")

    def train_steps(ctx):
        return ctx.record.epochs * math.ceil(1078 / ctx.protocol.batch_size)

    register_objective("conv_layers_test", conv_layers, unit="count")
    register_objective("broken_test", broken, unit="count")
    register_objective("steps_test", train_steps, unit="count", needs_training=True, direction="max")
    try:
        rec = evaluate_model(tiny_cnn, "digits", "tiny")
        assert rec.outcome == "ok" and rec.objectives["conv_layers_test"] == 2.0
        assert rec.objectives["steps_test"] == 34.0 and "broken_test" not in rec.objectives
        # a run that fails in training keeps the objectives known before training, not the others
        failed = evaluate_model(tiny_cnn, "digits", "tiny", overrides={"lr": 1e30})
        assert failed.outcome == "failed" and failed.reason == "diverged"
        assert {"conv_layers_test", "params", "flops", "latency_ms"} <= set(failed.objectives)
        assert not {"steps_test", "valid_error", "peak_memory_mb"} & set(failed.objectives)
    finally:
        for name in ("conv_layers_test", "broken_test", "steps_test"):
            OBJECTIVE_REGISTRY.remove(name)
    with pytest.raises(ConfigError, match="direction"):
        register_objective("sideways_test", conv_layers, unit="count", direction="up")


def test_objectives_round_trip_and_old_records_load() -> None:
    rec = EvaluationRecord("t", "g", "digits", "quick", 0, valid_error=0.25,
                           objectives={"valid_error": 0.25, "latency_ms": 1.5, "bad": float("nan")})
    d = rec.to_dict()
    assert d["objectives"] == {"valid_error": 0.25, "latency_ms": 1.5}
    assert EvaluationRecord.from_dict(d).objectives == d["objectives"]
    del d["objectives"]  # stored before objectives existed
    old = EvaluationRecord.from_dict(d, strict=False)
    assert old.objectives == {} and old.valid_error == 0.25


def test_the_search_takes_the_records_objectives() -> None:
    from algebraic_nas.search.proposal import objectives_of

    rec = {"outcome": "ok", "valid_error": 0.5, "params": 10, "objectives": {"valid_error": 0.5, "mine": 3.0}}
    assert objectives_of(rec) == {"valid_error": 0.5, "mine": 3.0}
    assert objectives_of({"outcome": "ok", "valid_error": 0.5, "params": 10}) == {"valid_error": 0.5, "params": 10.0}
    assert objectives_of({**rec, "outcome": "failed"}) == {"mine": 3.0}
