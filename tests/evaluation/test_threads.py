"""One documented CPU thread default for ``evaluate`` and for searches (issue 15): an evaluation
runs with the protocol's ``cpu_threads``, else one thread (``DEFAULT_CPU_THREADS``), whatever the
caller's setting, and gives the caller's setting back."""

from __future__ import annotations

import pytest
import torch

from algebraic_nas.evaluation import evaluate_model

from .conftest import tiny_cnn


@pytest.mark.parametrize("cpu_threads, expected", [(None, 1), (2, 2)])
def test_an_evaluation_runs_with_the_documented_thread_count_and_restores_the_callers(cpu_threads, expected) -> None:
    seen = []

    def factory(spec):
        seen.append(torch.get_num_threads())
        return tiny_cnn(spec)

    old = torch.get_num_threads()
    torch.set_num_threads(3)  # the caller's own setting
    try:
        rec = evaluate_model(factory, "digits", {"name": "tiny", "cpu_threads": cpu_threads})
        assert rec.ok, rec.reason
        assert seen and set(seen) == {expected}  # the counting build and the training builds
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(old)
