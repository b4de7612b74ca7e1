"""``resolve_device``: the one place that turns a device name (or ``"auto"``) into a torch device."""

from __future__ import annotations

import pytest
import torch

from algebraic_nas.evaluation import resolve_device
from algebraic_nas.evaluation.devices import describe_device
from algebraic_nas.search import worker


def test_auto_is_cuda_exactly_when_a_gpu_is_visible():
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device() == resolve_device("auto")


def test_named_devices_pass_through():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert describe_device(torch.device("cpu")) == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_without_a_gpu_is_an_error_naming_the_device():
    with pytest.raises(RuntimeError, match="'cuda:1'.*not available"):
        resolve_device("cuda:1")


def test_the_search_worker_uses_the_same_function():
    assert worker.resolve_device is resolve_device
