"""The report's incumbent plot shows every evaluation (issue 23.9) and a multi-objective run's
highlighted architecture is on the front (issue 23.7)."""

from __future__ import annotations

from algebraic_nas.search.report.pareto import front_incumbent
from algebraic_nas.search.report.plots import evaluation_points, plot_incumbent
from algebraic_nas.search.report.summary import incumbent_trace
from algebraic_nas.search.store import Row


def row(i: int, status: str = "done", error: float | None = None, params: float | None = None,
        fidelity: dict | None = None) -> Row:
    objectives = {} if error is None else {"valid_error": error, **({"params": params} if params else {})}
    return Row(id=i, term=f"t{i}", strategy="s", status=status, valid_error=error, finished_at=float(i),
               run_time_s=10.0 * i, fidelity=fidelity or {}, objectives=objectives,
               error="RuntimeError: boom" if status == "failed" else None)


def test_every_finished_evaluation_is_a_point_and_failed_ones_are_marked(tmp_path):
    rows = [row(1, error=0.5), row(2, "failed"), row(3, error=0.3, fidelity={"epochs": 1}), row(4, error=0.4),
            row(5, "running")]
    points = evaluation_points(rows)
    assert [(p.n, p.value, p.failed) for p in points] == [(1, 0.5, False), (2, None, True), (3, None, False),
                                                          (4, 0.4, False)]  # a lower fidelity is no value
    plot_incumbent(incumbent_trace(rows), tmp_path / "incumbent.png", points=points)
    assert (tmp_path / "incumbent.png").stat().st_size > 0


def test_the_multi_objective_best_is_never_dominated():
    # the run: #1 and #7 have the same error; #7 is smaller, so #1 is dominated
    rows = [row(1, error=0.5139, params=663_000), row(4, error=0.60, params=100_000),
            row(7, error=0.5139, params=518_000)]
    config = {"objectives": ["valid_error", "params"]}
    assert front_incumbent(rows, config).id == 7
    assert front_incumbent(rows, {"objectives": ["params", "valid_error"]}).id == 4
    assert front_incumbent(rows, {}) is None  # one objective: the store's best is the report's
    bounded = {"objectives": ["valid_error", "params"], "constraints": {"params": 600_000}}
    assert front_incumbent(rows, bounded).id == 7
    assert front_incumbent(rows, {**bounded, "constraints": {"params": 500_000}}).id == 4
