"""The report of a search run: ``algebraic-nas report RUN_DIR`` (also written when a search ends).

Writes into ``RUN_DIR/report/``:

* ``evaluations.csv`` — every evaluation (one row per proposal, all statuses) with its fidelity
  and every measured objective;
* ``incumbent.png`` — the best validation error so far over evaluations and over wall time
  (``search/report/plots.py``);
* ``summary.json`` — the best term with its statistics (its objectives and fidelity), counts, times
  (the search overhead: the share of the workers' time not spent evaluating);
  for a run with no successful evaluation, ``best`` is null, ``no_successful_evaluation`` says so
  and ``failure_reasons`` counts why evaluations failed (the plot says so too, instead of empty axes);
* ``best_architecture.png`` — a picture of the best architecture (when the assembler can draw it);
* ``fidelity.png`` — for multi-fidelity runs, the incumbent over training epochs and wall time
  with the rungs (``search/report/fidelity.py``; ``summary.json``'s ``fidelity``);

and prints a short summary. The best is the lowest validation error at the highest fidelity
present (``{}``, full fidelity, when any row has it): errors after fewer epochs are not
comparable. With several objectives the best (the highlighted, drawn architecture) is a point of
the Pareto front: the one with the lowest first objective (:mod:`algebraic_nas.search.incumbent`),
never a dominated one. It reads the store read-only, so it also works on a running search.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from algebraic_nas.search.overhead import META_KEY as SEARCH_TIME_KEY, format_fraction, run_overhead
from algebraic_nas.search.progress import format_seconds
from algebraic_nas.search.proposal import OBJECTIVES, fidelity_key
from algebraic_nas.search.report.fidelity import fidelity_section
from algebraic_nas.search.report.pareto import format_front, front_incumbent, objectives_argument, pareto_section
from algebraic_nas.search.report.plots import draw_best, evaluation_points, plot_incumbent
from algebraic_nas.search.store import Row, Store, StoreSummary

CSV_COLUMNS = (
    "id", "term", "strategy", "status", "valid_error", "test_error", "params", "flops", "eval_time_s",
    "run_time_s", "propose_time_s", "worker", "error", "attempts", "proposed_at", "started_at", "finished_at",
    "fidelity", "checkpoint",
)


def objective_columns(rows: Sequence[Row]) -> list[str]:
    """Objectives the rows measured that have no column of their own (``latency_ms``,
    ``peak_memory_mb``, ...): the shipped ones first, then any other, sorted."""
    seen = {k for r in rows for k in r.objectives} | set(OBJECTIVES)
    return [k for k in OBJECTIVES if k not in CSV_COLUMNS] + sorted(seen - set(OBJECTIVES) - set(CSV_COLUMNS))


def incumbent_trace(rows: Sequence[Row], fidelity: str = "{}") -> list[tuple[int, float, float]]:
    """``(evaluation number, search wall time, best validation error so far)`` after each
    finished evaluation, in evaluation order; only rows at ``fidelity`` (JSON text, the run's
    highest) improve the best (failed and lower-fidelity ones advance the count only)."""
    finished = sorted((r for r in rows if r.finished), key=lambda r: (r.finished_at or 0.0, r.id))
    trace = []
    best = math.inf
    for i, r in enumerate(finished, start=1):
        if r.status == "done" and r.valid_error is not None and fidelity_key(r.fidelity) == fidelity:
            best = min(best, r.valid_error)
        trace.append((i, float(r.run_time_s or 0.0), best))
    return trace


def write_csv(rows: Sequence[Row], path: Path) -> None:
    """One line per row: :data:`CSV_COLUMNS` (``fidelity`` as JSON, ``{}`` = full) then every
    other measured objective."""
    extra = objective_columns(rows)

    def cell(r: Row, c: str) -> Any:
        v = fidelity_key(r.fidelity) if c == "fidelity" else getattr(r, c)
        return "" if v is None else v

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*CSV_COLUMNS, *extra])
        for r in rows:
            w.writerow([cell(r, c) for c in CSV_COLUMNS] + [r.objectives.get(k, "") for k in extra])


def failure_reasons(rows: Sequence[Row], top: int = 5) -> list[tuple[str, int]]:
    """The ``top`` most common reasons (first line of the stored error, at most 200
    characters) of failed evaluations, with their counts, most common first."""
    reasons = Counter(((r.error or "unknown").strip().splitlines() or ["unknown"])[0][:200]
                      for r in rows if r.status == "failed")
    return reasons.most_common(top)


def no_success_message(counts: Mapping[str, int]) -> str:
    """What a run without a successful evaluation has: ``"no successful evaluation (3 failed,
    1 unfinished)"``."""
    failed = counts.get("failed", 0)
    unfinished = counts.get("running", 0) + counts.get("pending", 0)
    parts = [f"{failed} failed"] + ([f"{unfinished} unfinished"] if unfinished else [])
    return f"no successful evaluation ({', '.join(parts)})"


@dataclass
class RunState:
    """What a report reads from a run's store (read-only, so also from a running search)."""

    rows: list[Row]
    summary: StoreSummary
    top: str  # the highest fidelity present, JSON text
    config: dict[str, Any]
    evaluation: dict[str, Any]  # the evaluation settings (grammar, dataset, protocol, ...)
    elapsed: float
    search_time: Optional[dict[str, Any]]  # the search overhead (search/overhead.py)
    rejected: Optional[dict[str, Any]]  # candidates over a bound, never trained (multi-objective)


def read_run(run_dir: str | Path) -> RunState:
    """The :class:`RunState` of the run in ``run_dir``."""
    with Store(run_dir, readonly=True) as store:
        return RunState(store.rows(), store.summary(), store.top_fidelity(), store.get_meta("config", {}) or {},
                        store.get_meta("evaluation", {}) or {}, store.elapsed(),
                        run_overhead(store.get_meta(SEARCH_TIME_KEY, []) or []), store.get_meta("rejected"))


def make_report(run_dir: str | Path, out_dir: Optional[str | Path] = None, draw: bool = True, quiet: bool = True,
                objectives: Optional[Sequence[str]] = None) -> dict:
    """Write the report of ``run_dir`` (into ``run_dir/report`` unless ``out_dir``); returns
    the summary dict. ``objectives``: the Pareto part's objectives (default: the run's; see
    ``search/report/pareto.py``)."""
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    run = read_run(run_dir)
    rows, summary, top, config, evaluation = run.rows, run.summary, run.top, run.config, run.evaluation
    elapsed, search_time, rejected = run.elapsed, run.search_time, run.rejected
    trace = incumbent_trace(rows, top)
    write_csv(rows, out / "evaluations.csv")
    strategy = (config.get("strategy") or {}).get("name") or (rows[0].strategy if rows else "?")
    grammar_name = evaluation.get("grammar") or (config.get("grammar") or {}).get("name")
    dataset = evaluation.get("dataset") or (config.get("dataset") or {}).get("name")
    on_front = front_incumbent(rows, config, objectives)  # several objectives: the best is a point on the front
    best = on_front or summary.best
    note = no_success_message(summary.counts)
    plot_incumbent(trace, out / "incumbent.png", title=f"{strategy} on {grammar_name} / {dataset}", empty_note=note,
                   points=evaluation_points(rows, top), ylabel="validation error")
    info: dict[str, Any] = {
        "run_dir": str(run_dir),
        "strategy": strategy,
        "grammar": grammar_name,
        "dataset": dataset,
        "counts": summary.counts,
        "elapsed_s": elapsed,
        "mean_eval_time_s": _mean([r.eval_time_s for r in rows if r.finished]),
        "mean_propose_time_s": _mean([r.propose_time_s for r in rows]),
        "search_overhead": search_time,  # share of the workers' time not spent evaluating (search/overhead.py)
        "best": None,
        "no_successful_evaluation": best is None,
        "failure_reasons": [{"reason": r, "count": n} for r, n in failure_reasons(rows)],
        "files": {"csv": str(out / "evaluations.csv"), "incumbent_plot": str(out / "incumbent.png")},
    }
    if best is not None:
        finished = [r for r in rows if r.finished]
        position = 1 + sorted(finished, key=lambda r: (r.finished_at or 0.0, r.id)).index(
            next(r for r in finished if r.id == best.id)
        )
        info["best"] = {
            "id": best.id, "term": best.term, "valid_error": best.valid_error, "test_error": best.test_error,
            "params": best.params, "flops": best.flops, "eval_time_s": best.eval_time_s,
            "found_at_evaluation": position, "found_at_s": best.run_time_s, "worker": best.worker,
            "fidelity": best.fidelity, "objectives": best.objectives,
            "chosen_by": "lowest validation error at the highest fidelity" if on_front is None
            else "the Pareto front's point with the lowest first objective (search/incumbent.py)",
        }
        if draw:
            pic = draw_best(best.term, grammar_name, out / "best_architecture.png")
            if pic:
                info["files"]["best_architecture"] = pic
    info["pareto"] = pareto_section(rows, config, out, top, objectives, rejected,
                                    title=f"{strategy} on {grammar_name} / {dataset}")
    info["files"].update((info["pareto"] or {}).get("files", {}))
    info["fidelity"] = fidelity_section(rows, out, title=f"{strategy} on {grammar_name} / {dataset}")
    info["files"].update((info["fidelity"] or {}).get("files", {}))
    with open(out / "summary.json", "w") as f:
        json.dump(info, f, indent=2)
    if not quiet:
        print(format_summary(info), flush=True)
    return info


def _mean(xs: Sequence[Optional[float]]) -> Optional[float]:
    v = [x for x in xs if x is not None]
    return sum(v) / len(v) if v else None


def format_summary(info: dict) -> str:
    c = info["counts"]
    lines = [
        f"run {info['run_dir']}: {info['strategy']} on {info['grammar']} / {info['dataset']}",
        f"  evaluations: {c.get('done', 0)} done, {c.get('failed', 0)} failed, "
        f"{c.get('running', 0) + c.get('pending', 0)} unfinished; search time {format_seconds(info['elapsed_s'])}"
        + (f", {info['mean_eval_time_s']:.1f} s per evaluation" if info.get("mean_eval_time_s") else ""),
    ]
    if info.get("search_overhead"):
        lines.append(f"  search overhead {format_fraction(info['search_overhead']['overhead'])} of the workers' time")
    b = info.get("best")
    if b:
        test = f"{b['test_error']:.4f}" if b.get("test_error") is not None else "-"
        params = f"{b['params'] / 1e6:.3f} M" if b.get("params") is not None else "-"
        flops = f"{b['flops'] / 1e6:.1f} MFLOPs" if b.get("flops") is not None else "-"
        lines += [
            f"  best (#{b['id']}, found at evaluation {b['found_at_evaluation']}): valid error {b['valid_error']:.4f}, "
            f"test error {test}, params {params}, {flops}",
            f"  term: {b['term']}",
        ]
        if b.get("fidelity"):
            lines.append(f"  at fidelity {fidelity_key(b['fidelity'])} (the highest in this run)")
    else:
        lines.append("  " + no_success_message(c))
        lines += [f"    {f['count']} x {f['reason']}" for f in info.get("failure_reasons") or []]
    lines += format_front(info.get("pareto"))  # the front's terms, for runs with two or more objectives
    if info.get("fidelity"):  # multi-fidelity runs (search/report/fidelity.py)
        f = info["fidelity"]
        lines.append(f"  multi-fidelity: {f['epochs_trained']:.0f} training epochs, "
                     f"{f['epochs_saved_by_continuation']:.0f} saved by continuing from checkpoints")
    lines.append("  report: " + ", ".join(str(v) for v in info["files"].values()))
    return "\n".join(lines)
