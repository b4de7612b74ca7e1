"""The Pareto report's pieces: the scatter matrix for three objectives, the CSV column, the printed front."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from algebraic_nas.search.report.pareto import add_pareto_column, format_front, objectives_argument, plot_front


def test_scatter_matrix_for_three_objectives_and_a_pair_plot(tmp_path):
    pts = np.array([[0.1, 1e3, 5.0], [0.2, 1e5, 1.0], [0.3, 2e5, 9.0]])
    on = np.array([True, True, False])
    plot_front(["valid_error", "params", "latency_ms"], pts, on, tmp_path / "m.png")
    plot_front(["valid_error", "params"], pts[:, :2], on, tmp_path / "p.png")
    assert (tmp_path / "m.png").stat().st_size > 0 and (tmp_path / "p.png").stat().st_size > 0


def test_pareto_column_marks_front_off_front_and_ineligible_rows(tmp_path):
    path = tmp_path / "evaluations.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([["id", "term"], ["1", "a"], ["2", "b"], ["3", "c"]])
    add_pareto_column(path, {1: 1, 2: 0})
    add_pareto_column(path, {1: 1, 2: 0})  # a second report run does not add a second column
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows == [["id", "term", "pareto"], ["1", "a", "1"], ["2", "b", "0"], ["3", "c", ""]]


def test_printed_front_lists_terms_and_rejections():
    section = {"objectives": ["valid_error", "params"], "n_eligible": 4, "hypervolume": 0.5,
               "rejected_before_training": 3,
               "front": [{"id": 2, "term": "Linear(conv, id, fc)", "valid_error": 0.1, "params": 5000.0}]}
    lines = format_front(section)
    assert "1 of 4 evaluations" in lines[0] and "3 candidates over a bound rejected before training" in lines[0]
    assert lines[1] == "    #2: valid_error 0.1, params 5000: Linear(conv, id, fc)"
    assert format_front(None) == []


def test_objectives_argument_is_checked_while_parsing():
    import argparse

    assert objectives_argument("valid_error, flops") == ["valid_error", "flops"]
    with pytest.raises(argparse.ArgumentTypeError, match=r"--objectives\[0\]='size'"):
        objectives_argument("size")
