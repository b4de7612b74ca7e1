"""DARTS's auxiliary head and drop path as protocol options (issue 14): they act in training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algebraic_nas.assembly import InputSpec, build_network
from algebraic_nas.evaluation import ImageDataset, get_protocol
from algebraic_nas.evaluation.trainer import train
from algebraic_nas.grammar import load_grammar

SPEC = InputSpec(3, 32, 4)


def small_darts():
    g = load_grammar("small_darts.ebnf", text='%import "darts.ebnf"\n%start NET\nWIDTH ::= 4\nLAYERS ::= 3\n')
    return g.sample(0)


def data() -> ImageDataset:
    rng = np.random.default_rng(0)
    split = lambda n: (rng.normal(size=(n, 3, 32, 32)).astype(np.float32), np.arange(n) % 4)  # noqa: E731
    return ImageDataset.from_arrays("noise32", 4, train=split(32), valid=split(16), test=split(16))


def run(**options):
    term, built = small_darts(), []

    def factory():
        torch.manual_seed(0)
        built.append(build_network(term, SPEC))
        return built[-1]

    proto = get_protocol("tiny", epochs=2, batch_size=16, crop_padding=0, progress="none", **options)
    result = train(factory, data(), proto, seed=0)
    assert result.outcome == "ok"
    return built[-1], result


def test_auxiliary_head_is_added_and_trained_only_when_weighted():
    plain, _ = run()
    assert plain.tap.head is None
    net, result = run(auxiliary_weight=0.4)
    assert net.tap.head is not None
    torch.manual_seed(0)
    fresh = build_network(small_darts(), SPEC)
    fresh.enable_auxiliary()
    trained, initial = net.tap.head.classifier.weight, fresh.tap.head.classifier.weight
    assert trained.shape == initial.shape and not torch.equal(trained, initial)  # its loss reached it
    assert result.train_losses[0] > 0


def test_drop_path_rises_linearly_over_the_epochs():
    net, _ = run(drop_path=0.2)
    assert net.drop_path_prob == pytest.approx(0.2 * 1 / 2)  # the last epoch (0-based 1 of 2)
    plain, _ = run()
    assert plain.drop_path_prob == 0.0


def test_protocol_checks_the_options():
    with pytest.raises(ValueError, match="drop_path must be in"):
        get_protocol("tiny", drop_path=1.0)
    with pytest.raises(ValueError, match="auxiliary_weight must be a number >= 0"):
        get_protocol("tiny", auxiliary_weight=-1.0)
