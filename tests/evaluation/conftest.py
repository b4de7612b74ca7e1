"""Shared fixtures: one torch thread, a tiny fixed CNN factory, a fresh dataset cache."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from algebraic_nas.evaluation import clear_cache


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


def tiny_cnn(spec) -> nn.Module:
    """Conv-BN-ReLU ×2 (one strided), global pooling, linear: ~5k parameters, trains on digits in < 1 s."""
    return nn.Sequential(
        nn.Conv2d(spec.channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, stride=2, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, spec.classes),
    )
