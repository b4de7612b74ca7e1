"""The multi-fidelity part of a search report (runs whose rows have more than one fidelity).

Writes ``RUN_DIR/report/fidelity.png``: the incumbent over cumulative compute — training epochs
(the epochs each evaluation actually trained: a continued one counts only its new epochs) and
search wall time — with every evaluation drawn as a point coloured by its rung, so the rungs
are visible; and returns a ``fidelity`` section for ``summary.json``: per rung the evaluations,
how many continued from a checkpoint and how many had to retrain (checkpoint missing), the best
error; the epochs trained in all and the epochs continuation saved.

The incumbent at any moment is the best validation error at the highest fidelity reached so
far (errors after fewer epochs are not comparable, so it jumps when a higher rung is first
reached).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from algebraic_nas.search.proposal import fidelity_key, fidelity_rank
from algebraic_nas.search.report.plots import save_figure


def _record(row: Any) -> Mapping[str, Any]:
    return row.result if isinstance(getattr(row, "result", None), Mapping) else {}


def training_epochs(row: Any) -> float:
    """The epochs an evaluation trained: the record's ``epochs_trained`` (a continued evaluation
    counts its new epochs only), else its ``epochs``, else the fidelity's, else 0."""
    rec = _record(row)
    for value in (rec.get("epochs_trained"), rec.get("epochs"), (row.fidelity or {}).get("epochs")):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return 0.0


def total_epochs(row: Any) -> float:
    """The epochs the evaluated network has been trained in all (continued ones included)."""
    rec = _record(row)
    value = rec.get("epochs", (row.fidelity or {}).get("epochs"))
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else training_epochs(row)


def anytime_trace(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """One point per finished evaluation, in finishing order: ``epochs`` (cumulative training
    epochs), ``wall_s`` (search wall time), ``error`` (this evaluation's, ``None`` if failed),
    ``fidelity`` (its JSON text), ``best`` (the incumbent: best at the highest fidelity reached
    so far; ``inf`` before any success) and ``best_fidelity``."""
    finished = sorted((r for r in rows if r.finished), key=lambda r: (r.finished_at or 0.0, r.id))
    out: list[dict[str, Any]] = []
    epochs = 0.0
    top: Optional[tuple] = None
    top_text, best = "", math.inf
    for r in finished:
        epochs += training_epochs(r)
        text = fidelity_key(r.fidelity)
        ok = r.status == "done" and r.valid_error is not None
        if ok:
            rank = fidelity_rank(r.fidelity)
            if top is None or rank > top:
                top, top_text, best = rank, text, r.valid_error
            elif rank == top:
                best = min(best, r.valid_error)
        out.append({"epochs": epochs, "wall_s": float(r.run_time_s or 0.0), "error": r.valid_error if ok else None,
                    "fidelity": text, "best": best, "best_fidelity": top_text})
    return out


def rung_table(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Per fidelity (lowest first): ``evaluations`` finished, ``continued`` (from a checkpoint),
    ``retrained`` (given a checkpoint that could not be used), ``best_error``, ``epochs_trained``."""
    by: dict[str, list[Any]] = {}
    for r in rows:
        if r.finished:
            by.setdefault(fidelity_key(r.fidelity), []).append(r)
    table = []
    for text in sorted(by, key=lambda t: fidelity_rank(json.loads(t))):
        rs = by[text]
        errors = [r.valid_error for r in rs if r.status == "done" and r.valid_error is not None]
        table.append({
            "fidelity": json.loads(text), "evaluations": len(rs),
            "continued": sum(1 for r in rs if getattr(r, "continued_from", None)),
            "retrained": sum(1 for r in rs if r.checkpoint and not getattr(r, "continued_from", None)),
            "best_error": min(errors) if errors else None,
            "epochs_trained": sum(training_epochs(r) for r in rs),
        })
    return table


def fidelity_section(rows: Sequence[Any], out: Path, title: str = "") -> Optional[dict[str, Any]]:
    """The report's multi-fidelity section (``None`` for a run at one fidelity): the rung table,
    epochs trained and saved by continuation, and ``fidelity.png``."""
    if len({fidelity_key(r.fidelity) for r in rows if r.finished}) < 2:
        return None
    trace = anytime_trace(rows)
    finished = [r for r in rows if r.finished]
    trained = sum(training_epochs(r) for r in finished)
    saved = sum(max(0.0, total_epochs(r) - training_epochs(r)) for r in finished if getattr(r, "continued_from", None))
    path = Path(out) / "fidelity.png"
    plot_anytime(trace, path, title)
    return {"rungs": rung_table(rows), "epochs_trained": trained, "epochs_saved_by_continuation": saved,
            "files": {"fidelity_plot": str(path)}}


def plot_anytime(trace: Sequence[Mapping[str, Any]], path: Path, title: str = "") -> None:
    """Incumbent (step line) and every evaluation (points coloured by rung) over cumulative
    training epochs and over wall time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fidelities = sorted({p["fidelity"] for p in trace}, key=lambda t: fidelity_rank(json.loads(t)))
    colours = plt.get_cmap("viridis")([i / max(1, len(fidelities) - 1) for i in range(len(fidelities))])
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, x_key, scale, label in ((axes[0], "epochs", 1.0, "training epochs (cumulative)"),
                                     (axes[1], "wall_s", 60.0, "search wall time (min)")):
        for fid, colour in zip(fidelities, colours):
            pts = [(p[x_key] / scale, p["error"]) for p in trace if p["fidelity"] == fid and p["error"] is not None]
            if pts:
                ax.scatter(*zip(*pts), s=12, color=colour, alpha=0.6, label=f"rung {_short(fid)}")
        inc = [(p[x_key] / scale, p["best"]) for p in trace if math.isfinite(p["best"])]
        if inc:
            ax.step(*zip(*inc), where="post", color="firebrick", lw=1.6, label="incumbent (highest rung)")
        ax.set_xlabel(label)
        ax.set_ylabel("validation error")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper right")
    save_figure(fig, path, title)


def _short(fidelity_text: str) -> str:
    f = json.loads(fidelity_text)
    return ", ".join(f"{k}={v}" for k, v in f.items() if k != "schedule_epochs") or "full"
