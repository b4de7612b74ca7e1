"""An objective registered with ``direction="max"`` (an accuracy, a throughput) is maximised:
fronts, sorting and hypervolume see it negated, so the highest value is the best one."""

from __future__ import annotations

import numpy as np
import pytest

from algebraic_nas.evaluation import register_objective
from algebraic_nas.evaluation.objectives import OBJECTIVE_REGISTRY
from algebraic_nas.search.pareto import nsga2_order, objective_matrix, pareto_mask, transform


@pytest.fixture
def maximised():
    """``acc_test`` (a fraction) and ``throughput_test`` (images/s), both maximised; a maximised
    objective is negated and never put on a log scale."""
    register_objective("acc_test", lambda ctx: 0.0, unit="fraction", direction="max")
    register_objective("throughput_test", lambda ctx: 0.0, unit="images/s", direction="max")
    yield
    OBJECTIVE_REGISTRY.remove("acc_test")
    OBJECTIVE_REGISTRY.remove("throughput_test")


def test_a_maximised_objective_is_negated(maximised):
    assert transform("acc_test", [0.9, 0.5]).tolist() == [-0.9, -0.5]
    assert transform("throughput_test", [100.0, 2000.0]).tolist() == [-100.0, -2000.0]


def test_the_front_keeps_high_accuracy_not_low(maximised):
    # A is better than C in both (lower error, higher accuracy); B trades error for accuracy
    objs = [{"valid_error": 0.1, "acc_test": 0.90},   # A
            {"valid_error": 0.2, "acc_test": 0.95},   # B: the most accurate
            {"valid_error": 0.3, "acc_test": 0.50}]   # C: dominated by A
    y = objective_matrix(objs, ["valid_error", "acc_test"])
    assert pareto_mask(y).tolist() == [True, True, False]
    assert nsga2_order(y)[-1] == 2  # C is ranked last


def test_the_fastest_network_is_on_the_front(maximised):
    objs = [{"valid_error": 0.1, "throughput_test": 100.0},
            {"valid_error": 0.1, "throughput_test": 5000.0}]  # as accurate, 50 times faster
    y = objective_matrix(objs, ["valid_error", "throughput_test"])
    assert pareto_mask(y).tolist() == [False, True]
