"""Pareto fronts, hypervolume, sorting and crowding against hand-computed cases (search/pareto.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from algebraic_nas.search.pareto import (
    HypervolumeImprovement,
    crowding_distance,
    front_table,
    hypervolume,
    hypervolume_trace,
    non_dominated_sort,
    nsga2_order,
    objective_matrix,
    pareto_mask,
    reference_point,
    transform,
)

# minimised; (2, 2) twice, (3, 3) dominated by (2, 2)
Y = np.array([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0], [3.0, 3.0], [2.0, 2.0]])


def test_front_keeps_every_non_dominated_point_and_ties():
    assert pareto_mask(Y).tolist() == [True, True, True, False, True]
    assert pareto_mask(Y, deduplicate=True).tolist() == [True, True, True, False, False]


def test_a_point_with_a_missing_objective_is_never_on_the_front():
    y = np.array([[1.0, 1.0], [0.0, math.nan]])
    assert pareto_mask(y).tolist() == [True, False]
    assert non_dominated_sort(y).tolist() == [0, 1]


def test_non_dominated_sorting_peels_fronts():
    y = np.array([[1, 3], [3, 1], [2, 4], [4, 2], [5, 5]], dtype=float)
    assert non_dominated_sort(y).tolist() == [0, 0, 1, 1, 2]


def test_hypervolume_of_a_staircase():
    # boxes [1,5]x[4,5], [2,5]x[2,5], [4,5]x[1,5]: by x-strips 1*1 + 2*3 + 1*4 = 11
    assert hypervolume(Y, [5.0, 5.0]) == pytest.approx(11.0)
    assert hypervolume(Y[:1], [5.0, 5.0]) == pytest.approx(4.0)
    # a point not better than the reference point in every objective adds nothing
    assert hypervolume(np.array([[6.0, 0.0]]), [5.0, 5.0]) == 0.0
    assert hypervolume(np.zeros((0, 2)), [5.0, 5.0]) == 0.0


def test_hypervolume_in_three_dimensions():
    # boxes [0,2]x[1,2]x[1,2] (2) and [1,2]x[0,2]x[1,2] (2) overlap in [1,2]x[1,2]x[1,2] (1)
    y = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])
    ref = [2.0, 2.0, 2.0]
    a, b = 2 * 1 * 1, 1 * 2 * 1
    overlap = 1 * 1 * 1
    assert hypervolume(y, ref) == pytest.approx(a + b - overlap)


def test_hypervolume_improvement_matches_the_volume_added():
    hvi = HypervolumeImprovement(Y[:3], [5.0, 5.0])
    got = hvi(np.array([[1.5, 1.5], [5.0, 5.0], [0.0, 0.0], [3.0, 3.0]]))
    base = hypervolume(Y[:3], [5, 5])
    for p, g in zip([[1.5, 1.5], [5.0, 5.0], [0.0, 0.0], [3.0, 3.0]], got):
        assert g == pytest.approx(hypervolume(np.vstack([Y[:3], p]), [5, 5]) - base)
    assert got.tolist() == pytest.approx([2.25, 0.0, 14.0, 0.0])
    # batched: (S, N, m) -> (S, N)
    assert hvi(np.zeros((3, 2, 2))).shape == (3, 2)
    # nothing observed yet: the box between the point and the reference point
    assert HypervolumeImprovement(np.zeros((0, 2)), [5.0, 5.0])(np.array([[1.0, 2.0]])).tolist() == [12.0]


def test_hypervolume_trace_counts_only_feasible_points():
    trace = hypervolume_trace(Y, [5.0, 5.0], feasible=[True, True, False, True, True])
    assert trace.tolist() == pytest.approx([4.0, 10.0, 10.0, 10.0, 10.0])


def test_crowding_distance_and_nsga2_order():
    front = np.array([[0.0, 4.0], [1.0, 2.0], [3.0, 1.0], [4.0, 0.0]])
    d = crowding_distance(front)
    assert math.isinf(d[0]) and math.isinf(d[3])
    # point 1: (3 - 0)/4 + (4 - 1)/4 = 1.5; point 2: (4 - 1)/4 + (2 - 0)/4 = 1.25
    assert d[1:3].tolist() == pytest.approx([1.5, 1.25])
    y = np.vstack([front, [[5.0, 5.0]]])
    order = nsga2_order(y)
    assert set(order[:2].tolist()) == {0, 3} and order[2:].tolist() == [1, 2, 4]


def test_reference_point_rule():
    assert reference_point(Y).tolist() == pytest.approx([4.3, 4.3])  # nadir 4 + 0.1 * (4 - 1)
    assert reference_point(np.array([[2.0, 0.0], [2.0, 1.0]])).tolist() == pytest.approx([2.2, 1.1])


def test_objective_space_is_log10_for_sizes_and_linear_for_errors():
    assert transform("params", [1e3, 1e6]).tolist() == pytest.approx([3.0, 6.0])
    assert transform("valid_error", [0.25]).tolist() == [0.25]
    y = objective_matrix([{"valid_error": 0.1, "params": 100.0}, {"valid_error": 0.2}], ["valid_error", "params"])
    assert y[0].tolist() == pytest.approx([0.1, 2.0]) and math.isnan(y[1, 1])


def test_front_table_sorted_by_the_first_objective():
    objs = [{"valid_error": 0.3, "params": 10.0}, {"valid_error": 0.1, "params": 50.0}, {"valid_error": 0.4, "params": 60.0}]
    mask = pareto_mask(objective_matrix(objs, ["valid_error", "params"]))
    rows = front_table(["valid_error", "params"], objs, [{"id": i} for i in range(3)], mask)
    assert [r["id"] for r in rows] == [1, 0]
