"""The Pareto part of a run's report (runs with two or more objectives, or any run re-analysed
with ``algebraic-nas report RUN_DIR --objectives valid_error,params``).

Writes into the report directory:

* ``pareto.png`` — every evaluation as a point in objective space with the front drawn: one
  panel for two objectives, a scatter matrix (every pair) for three or more; sizes on log axes;
* ``hypervolume.png`` — the hypervolume of the front so far over evaluations and over search
  wall time (reference point: :func:`~algebraic_nas.search.pareto.reference_point` of the run's
  own points, in the space of :mod:`~algebraic_nas.search.pareto`);
* a ``pareto`` column in ``evaluations.csv``: 1 on the front, 0 off it, empty where the row
  cannot be (failed, unfinished, a lower fidelity, over a bound, an objective not measured);

and returns the section ``summary.json`` gets as ``pareto``: the objectives, the front as a
table (id, term and objectives, sorted by the first objective), the reference point, the final
hypervolume, and how many candidates were rejected before training. Only full-fidelity (the
run's highest) successful evaluations within every bound count.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from algebraic_nas.search.config.objectives import DEFAULT_OBJECTIVES, parse_constraints, parse_objectives
from algebraic_nas.search.feasibility import Constraints
from algebraic_nas.search.incumbent import incumbent
from algebraic_nas.search.pareto import (
    LINEAR_UNITS,
    direction_and_unit,
    front_table,
    hypervolume_trace,
    objective_matrix,
    pareto_mask,
    reference_point,
)
from algebraic_nas.search.proposal import fidelity_key
from algebraic_nas.search.report.plots import plot_incumbent, save_figure
from algebraic_nas.search.store import Row


def report_objectives(config: Mapping[str, Any], objectives: Optional[Sequence[str]] = None) -> tuple[str, ...]:
    """The objectives to report: those given, else the run's configured ones."""
    if objectives:
        return parse_objectives(list(objectives), key="--objectives")
    return parse_objectives(config.get("objectives") or list(DEFAULT_OBJECTIVES))


def eligible(rows: Sequence[Row], names: Sequence[str], constraints: Constraints, top: str) -> list[Row]:
    """Rows that can be on the front: done, at fidelity ``top``, every objective measured, within every bound."""
    return [r for r in rows if r.status == "done" and fidelity_key(r.fidelity) == top
            and all(r.objectives.get(k) is not None for k in names) and constraints.feasible(r.objectives)]


def front_incumbent(rows: Sequence[Row], config: Mapping[str, Any],
                    objectives: Optional[Sequence[str]] = None) -> Optional[Row]:
    """The report's highlighted ("best") evaluation of a run with several objectives: the
    incumbent of :mod:`algebraic_nas.search.incumbent` over them — the point of the Pareto front
    (highest fidelity, within every bound) with the lowest first objective, never a dominated
    one. ``None`` for a single objective (the store's best is the report's) or nothing eligible."""
    names = report_objectives(config, objectives)
    if len(names) < 2:
        return None
    constraints = Constraints(parse_constraints(config.get("constraints")))
    finished = sorted((r for r in rows if r.status == "done"), key=lambda r: (r.finished_at or 0.0, r.id))

    def value(r: Row, k: str) -> Optional[float]:
        v = r.objectives.get(k)
        return getattr(r, k, None) if v is None and k in ("valid_error", "test_error", "params", "flops") else v

    return incumbent(finished, objectives=names, value=value, fidelity=lambda r: r.fidelity,
                     feasible=lambda r: constraints.feasible(r.objectives),
                     orient=lambda k, v: -v if direction_and_unit(k)[0] == "max" else v)


def front_marks(rows: Sequence[Row], config: Mapping[str, Any], top: str = "{}",
                objectives: Optional[Sequence[str]] = None) -> dict[int, int]:
    """Row id -> 1 on the Pareto front, 0 off it, for the rows that can be on it (:func:`eligible`);
    empty for a single objective."""
    names = report_objectives(config, objectives)
    if len(names) < 2:
        return {}
    usable = eligible(rows, names, Constraints(parse_constraints(config.get("constraints"))), top)
    if not usable:
        return {}
    mask = pareto_mask(objective_matrix([r.objectives for r in usable], names))
    return {r.id: int(on) for r, on in zip(usable, mask)}


def _log_axis(name: str, values: np.ndarray) -> bool:
    """A log axis for a log-scaled objective whose values span more than a decade."""
    direction, unit = direction_and_unit(name)
    v = values[np.isfinite(values)]
    return unit not in LINEAR_UNITS and direction == "min" and v.size > 0 and v.min() > 0 and v.max() > 10 * v.min()


def plot_front(names: Sequence[str], points: np.ndarray, on_front: np.ndarray, path: Path, title: str = "") -> None:
    """Scatter of every point (raw values ``(n, m)``) with the front highlighted and, for each pair, the
    front's staircase; a scatter matrix for three or more objectives."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = len(names)
    pairs = [(0, 1)] if m == 2 else [(i, j) for i in range(m) for j in range(m) if i != j]
    if m == 2:
        fig, ax = plt.subplots(figsize=(5.5, 4.2))
        grid = {(0, 1): ax}
    else:
        fig, axes = plt.subplots(m, m, figsize=(2.6 * m, 2.4 * m), squeeze=False)
        grid = {(i, j): axes[j][i] for i, j in pairs}  # column = x objective, row = y objective
        for k in range(m):
            axes[k][k].hist(points[:, k], bins=15, color="0.7")
            axes[k][k].set_title(names[k], fontsize=9)
    for (i, j), ax in grid.items():
        ax.scatter(points[~on_front, i], points[~on_front, j], s=14, color="0.6", label="evaluations")
        ax.scatter(points[on_front, i], points[on_front, j], s=22, color="firebrick", label="Pareto front")
        if m == 2:  # the front as a staircase (minimisation)
            f = points[on_front][np.argsort(points[on_front, 0])]
            ax.step(f[:, 0], f[:, 1], where="post", color="firebrick", lw=1)
        ax.set_xlabel(names[i], fontsize=9)
        ax.set_ylabel(names[j], fontsize=9)
        for k, setter in ((i, ax.set_xscale), (j, ax.set_yscale)):
            if _log_axis(names[k], points[:, k]):
                setter("log")
        ax.grid(alpha=0.3)
    if m == 2:
        grid[(0, 1)].legend(fontsize=8)
    save_figure(fig, path, title)


def plot_hypervolume(evaluations: Sequence[int], times_s: Sequence[float], hv: Sequence[float], path: Path,
                     title: str = "") -> None:
    """The hypervolume so far over evaluations and over search wall time (the incumbent plot's layout)."""
    plot_incumbent(list(zip(evaluations, times_s, hv)), path, title=title, empty_note="no point within the bounds",
                   ylabel="hypervolume")


def add_pareto_column(csv_path: Path, marks: Mapping[int, int]) -> None:
    """Append the ``pareto`` column to the report's CSV (rows matched by ``id``)."""
    with open(csv_path, newline="") as f:
        table = list(csv.reader(f))
    if not table or "pareto" in table[0]:
        return
    id_col = table[0].index("id")
    table[0].append("pareto")
    for line in table[1:]:
        mark = marks.get(int(line[id_col])) if line[id_col].isdigit() else None
        line.append("" if mark is None else str(mark))
    with open(csv_path, "w", newline="") as f:
        csv.writer(f).writerows(table)


def pareto_section(rows: Sequence[Row], config: Mapping[str, Any], out: Path, top: str = "{}",
                   objectives: Optional[Sequence[str]] = None, rejected: Optional[Mapping[str, Any]] = None,
                   title: str = "") -> Optional[dict[str, Any]]:
    """Write the Pareto plots and CSV column into ``out`` and return the summary section, or
    ``None`` for a single-objective run (nothing written)."""
    names = report_objectives(config, objectives)
    if len(names) < 2:
        return None
    constraints = Constraints(parse_constraints(config.get("constraints")))
    finished = sorted((r for r in rows if r.finished), key=lambda r: (r.finished_at or 0.0, r.id))
    ok = {r.id for r in eligible(finished, names, constraints, top)}
    section: dict[str, Any] = {
        "objectives": list(names), "constraints": [str(b) for b in constraints.bounds],
        "n_eligible": len(ok), "front": [], "hypervolume": 0.0, "reference_point": None,
        "rejected_before_training": int((rejected or {}).get("count", 0)), "files": {},
    }
    marks: dict[int, int] = {}
    if ok:
        usable = [r for r in finished if r.id in ok]
        y = objective_matrix([r.objectives for r in usable], names)
        mask = pareto_mask(y)
        marks = {r.id: int(on) for r, on in zip(usable, mask)}
        ref = reference_point(y)
        all_y = objective_matrix([r.objectives for r in finished], names)
        hv = hypervolume_trace(all_y, ref, feasible=[r.id in ok for r in finished])
        section.update(
            front=front_table(names, [r.objectives for r in usable],
                              [{"id": r.id, "term": r.term} for r in usable], mask),
            hypervolume=float(hv[-1]), reference_point=[float(v) for v in ref],
        )
        raw = objective_matrix([r.objectives for r in usable], names, transformed=False)
        plot_front(names, raw, mask, out / "pareto.png", title=title)
        plot_hypervolume(list(range(1, len(finished) + 1)), [float(r.run_time_s or 0.0) for r in finished],
                         hv.tolist(), out / "hypervolume.png", title=title)
        section["files"] = {"pareto_plot": str(out / "pareto.png"), "hypervolume_plot": str(out / "hypervolume.png")}
    if (out / "evaluations.csv").exists():
        add_pareto_column(out / "evaluations.csv", marks)
    return section


def format_front(section: Optional[Mapping[str, Any]], max_terms: int = 20) -> list[str]:
    """Lines for the printed summary: the objectives, hypervolume and the front's terms."""
    if not section:
        return []
    names = section["objectives"]
    lines = [f"  Pareto front over {', '.join(names)}: {len(section['front'])} of {section['n_eligible']} "
             f"evaluations, hypervolume {section['hypervolume']:.4g}"
             + (f"; {section['rejected_before_training']} candidates over a bound rejected before training"
                if section.get("rejected_before_training") else "")]
    for row in section["front"][:max_terms]:
        values = ", ".join(f"{k} {_fmt(row[k])}" for k in names)
        lines.append(f"    #{row['id']}: {values}: {row['term']}")
    if len(section["front"]) > max_terms:
        lines.append(f"    ... {len(section['front']) - max_terms} more in summary.json")
    return lines


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.4g}"


def objectives_argument(text: str) -> list[str]:
    """``--objectives valid_error,params`` of ``algebraic-nas report``: checked as it is parsed
    (an unknown name is a usage error before anything is written)."""
    import argparse

    from algebraic_nas.errors import ConfigError

    try:
        return list(parse_objectives([x.strip() for x in text.split(",") if x.strip()], key="--objectives"))
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
