"""A report of a run with no successful evaluation says so (issue 15): in summary.json, in the
printed summary and in the plot, instead of empty axes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from algebraic_nas.search.report import format_summary, make_report
from algebraic_nas.search.store import Store

FIREBRICK = np.array([178, 34, 34]) / 255  # the colour of the plot's note


def _note_pixels(png: Path) -> int:
    from matplotlib.image import imread

    rgb = imread(png)[..., :3]
    return int((np.abs(rgb - FIREBRICK).max(axis=-1) < 0.08).sum())


def _store(run_dir: Path, outcomes: list[tuple[str, float | None, str | None]]) -> None:
    with Store(run_dir) as s:
        for term, error, reason in outcomes:
            i = s.add(term, "random")
            record = {"outcome": "ok", "valid_error": error} if reason is None else {"outcome": "failed", "reason": reason}
            s.finish(i, record)


def test_a_run_with_only_failed_evaluations_says_so(tmp_path: Path) -> None:
    boom = "AssemblyError: no implementation registered for terminal 'WattsStrogatz'"
    _store(tmp_path, [("S(a)", None, boom), ("S(b)", None, boom), ("S(c)", None, "out of memory")])
    info = make_report(tmp_path, draw=False)
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary == info
    assert summary["best"] is None and summary["no_successful_evaluation"] is True
    assert summary["failure_reasons"] == [{"reason": boom, "count": 2}, {"reason": "out of memory", "count": 1}]
    text = format_summary(info)
    assert "no successful evaluation (3 failed)" in text and f"2 x {boom}" in text
    assert _note_pixels(tmp_path / "report" / "incumbent.png") > 50


def test_a_run_with_a_success_draws_its_curve_and_no_note(tmp_path: Path) -> None:
    _store(tmp_path, [("S(a)", 0.3, None), ("S(b)", None, "diverged"), ("S(c)", 0.2, None)])
    info = make_report(tmp_path, draw=False)
    assert info["no_successful_evaluation"] is False and info["best"]["valid_error"] == 0.2
    assert info["failure_reasons"] == [{"reason": "diverged", "count": 1}]
    assert "no successful evaluation" not in format_summary(info)
    assert _note_pixels(tmp_path / "report" / "incumbent.png") == 0
