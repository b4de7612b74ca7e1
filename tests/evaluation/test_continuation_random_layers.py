"""Continuing from a checkpoint equals training straight through also for networks whose training
draws from the global torch random stream: a Dropout layer, and the drop path that DARTS networks
apply (protocol ``drop_path``). The checkpoint must carry that stream (``TrainState.torch_rng``);
without it the continued epochs draw other masks and end at other weights."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
import torch
import torch.nn as nn

from algebraic_nas.assembly import build_network
from algebraic_nas.evaluation import evaluate_model
from algebraic_nas.grammar import load_grammar


def dropout_cnn(spec) -> nn.Module:
    """A small CNN with a Dropout(0.5) before its classifier (~5k parameters)."""
    return nn.Sequential(
        nn.Conv2d(spec.channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, stride=2, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5), nn.Linear(32, spec.classes),
    )


def small_darts_factory() -> Callable:
    g = load_grammar("small_darts.ebnf", text='%import "darts.ebnf"\n%start NET\nWIDTH ::= 4\nLAYERS ::= 3\n')
    term = g.sample(0)
    return lambda spec: build_network(term, spec)


def _weights(path: str) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def _straight_and_continued(factory: Callable, tmp_path: Path, **options) -> tuple:
    base = {"progress": "none", "schedule_epochs": 4, **options}
    straight = evaluate_model(factory, "digits", "quick", seed=3, overrides={**base, "epochs": 4},
                              checkpoint_out=str(tmp_path / "straight.pt"))
    half = evaluate_model(factory, "digits", "quick", seed=3, overrides={**base, "epochs": 2},
                          checkpoint_out=str(tmp_path / "half.pt"))
    # something else draws from the global stream between the two halves (another evaluation in
    # the same worker, a sampler): the continuation must not depend on it
    torch.rand(1000)
    rest = evaluate_model(factory, "digits", "quick", seed=3, overrides={**base, "epochs": 4},
                          checkpoint_in=half.checkpoint, checkpoint_out=str(tmp_path / "rest.pt"))
    assert straight.ok and half.ok and rest.ok, (straight.error, half.error, rest.error)
    assert rest.continued_from == half.checkpoint and rest.epochs_trained == 2
    return straight, rest


def test_a_dropout_network_continues_exactly(tmp_path: Path) -> None:
    straight, rest = _straight_and_continued(dropout_cnn, tmp_path)
    a, b = _weights(straight.checkpoint), _weights(rest.checkpoint)
    differing = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differing, f"continued weights differ from straight-through ones in {differing}"
    assert rest.train_losses == straight.train_losses


def test_a_darts_network_with_drop_path_continues_exactly(tmp_path: Path) -> None:
    # drop path rises as 0.3 * epoch / 4: the continued epochs 2 and 3 drop with p = 0.15 and 0.225
    straight, rest = _straight_and_continued(small_darts_factory(), tmp_path, drop_path=0.3)
    a, b = _weights(straight.checkpoint), _weights(rest.checkpoint)
    differing = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differing, f"continued weights differ from straight-through ones in {differing[:5]}"
    assert rest.train_losses == straight.train_losses


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_dropout_network_continues_exactly_on_cuda(tmp_path: Path) -> None:
    # on a GPU the masks come from the CUDA generator: the checkpoint carries it too (cuda_rng)
    base = {"progress": "none", "schedule_epochs": 4}
    kw = dict(dataset="digits", protocol="quick", seed=3, device="cuda")
    straight = evaluate_model(dropout_cnn, overrides={**base, "epochs": 4}, checkpoint_out=str(tmp_path / "s.pt"), **kw)
    half = evaluate_model(dropout_cnn, overrides={**base, "epochs": 2}, checkpoint_out=str(tmp_path / "h.pt"), **kw)
    torch.cuda.manual_seed(12345)  # something else used the CUDA stream in between
    rest = evaluate_model(dropout_cnn, overrides={**base, "epochs": 4}, checkpoint_in=half.checkpoint,
                          checkpoint_out=str(tmp_path / "r.pt"), **kw)
    assert straight.ok and half.ok and rest.ok and rest.continued_from == half.checkpoint
    a, b = _weights(straight.checkpoint), _weights(rest.checkpoint)
    assert all(torch.equal(a[k], b[k]) for k in a)
