"""Curves, table and figures of the multi-fidelity pilot (``run.py``'s ``runs/``).

    .venv/bin/python experiments/multi_fidelity/analyse.py [--runs DIR]

Writes ``results.csv`` (every evaluation of every run), ``summary.json``, ``summary.md`` and
``anytime.png`` (best validation error of a network trained the full 4 epochs, over cumulative
training epochs and over search wall time, mean ± 1 s.e. over seeds). A multi-fidelity run's
incumbent counts only once a network has reached the top rung (4 epochs): errors after fewer
epochs are not comparable. Also: the epochs continuation saved (what the continued evaluations
would have cost trained from scratch), the compute each method needed to reach the error
full-fidelity BANAT ends with, and the worker idle fraction (two workers; the package's search
overhead: the share of the workers' time not spent evaluating).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import FULL_EPOCHS, METHODS, epochs_of  # noqa: E402

LABELS = {
    "bohb_continue": "BOHB (BANAT model) + continuation", "bohb_retrain": "BOHB (BANAT model), retraining",
    "hyperband": "Hyperband (random) + continuation", "banat": "BANAT, full fidelity", "random": "random, full fidelity",
}


def load_run(run_dir: Path) -> Optional[dict[str, Any]]:
    from algebraic_nas.search.overhead import META_KEY, run_overhead
    from algebraic_nas.search.store import Store

    try:
        store = Store(run_dir, readonly=True)
    except FileNotFoundError:
        return None
    with store:
        rows = [r for r in store.rows(order="finished") if r.finished]
        overhead = run_overhead(store.get_meta(META_KEY, []) or [])
    points, epochs, best = [], 0.0, math.inf
    for r in rows:
        rec = r.result or {}
        cost = epochs_of(rec, r.fidelity)
        epochs += cost
        total = rec.get("epochs", r.fidelity.get("epochs", FULL_EPOCHS))
        full = r.status == "done" and r.valid_error is not None and total == FULL_EPOCHS
        if full:
            best = min(best, r.valid_error)
        points.append({"id": r.id, "term": r.term, "status": r.status, "valid_error": r.valid_error,
                       "test_error": r.test_error, "fidelity_epochs": r.fidelity.get("epochs", FULL_EPOCHS),
                       "epochs_total": total, "epochs_trained": cost, "continued": bool(r.continued_from),
                       "retrain_reason": rec.get("retrain_reason", ""), "cum_epochs": epochs,
                       "wall_s": r.run_time_s or 0.0, "eval_s": r.eval_time_s, "params": r.params,
                       "best_full": best if math.isfinite(best) else None})
    saved = sum(max(0.0, float(p["epochs_total"]) - p["epochs_trained"]) for p in points if p["continued"])
    return {"points": points, "epochs": epochs, "saved": saved, "overhead": overhead, "idle_steady": steady_idle(rows)}


def steady_idle(rows: list, workers: int = 2) -> Optional[float]:
    """The workers' idle fraction while the search runs at full width: from the first evaluation's
    start to the last one's start (after it the budget lets no new evaluation start, so workers
    drain one by one), 1 - (evaluation time inside that window) / (workers x window)."""
    spans = [(r.started_at, r.finished_at) for r in rows if r.started_at and r.finished_at]
    if len(spans) < 2:
        return None
    t0, t1 = min(a for a, _ in spans), max(a for a, _ in spans)
    if t1 <= t0:
        return None
    busy = sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in spans)
    return max(0.0, 1.0 - busy / (workers * (t1 - t0)))


def value_at(points: list[dict], x_key: str, x: float) -> Optional[float]:
    """The incumbent (best full-fidelity error) after the last evaluation finished by ``x``."""
    best = None
    for p in points:
        if p[x_key] <= x + 1e-9:
            best = p["best_full"] if p["best_full"] is not None else best
    return best


def mean_se(values: list[Optional[float]]) -> tuple[Optional[float], Optional[float], int]:
    v = [x for x in values if x is not None]
    if not v:
        return None, None, 0
    m = sum(v) / len(v)
    se = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v)) if len(v) > 1 else 0.0
    return m, se, len(v)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default=str(HERE / "runs"))
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--epochs-budget", type=float, default=None,
                    help="compare at this many epochs (default: the smallest run's total)")
    args = ap.parse_args()
    runs: dict[str, dict[int, dict]] = {}
    for d in sorted(Path(args.runs).glob("*-s*")):
        method, _, seed = d.name.rpartition("-s")
        run = load_run(d)
        if run is not None and method in METHODS:
            runs.setdefault(method, {})[int(seed)] = run
    out = Path(args.out)
    with open(out / "results.csv", "w", newline="") as f:
        w = None
        for method, by_seed in runs.items():
            for seed, run in by_seed.items():
                for p in run["points"]:
                    row = {"method": method, "seed": seed, **p}
                    if w is None:
                        w = csv.DictWriter(f, fieldnames=list(row))
                        w.writeheader()
                    w.writerow(row)
    # runs stop proposing at the budget, so they end a little above it: compare at the budget
    budget = args.epochs_budget or min((r["epochs"] for by in runs.values() for r in by.values()), default=0.0)
    grid = [budget * i / 40 for i in range(41)]
    summary: dict[str, Any] = {"methods": {}}
    banat_final = mean_se([value_at(r["points"], "cum_epochs", budget) for r in runs.get("banat", {}).values()])[0]
    for method, by_seed in runs.items():
        finals = [value_at(r["points"], "cum_epochs", budget) for r in by_seed.values()]
        tests = []
        for r in by_seed.values():
            full = [p for p in r["points"] if p["best_full"] is not None and p["valid_error"] == p["best_full"]
                    and p["cum_epochs"] <= budget + 1e-9]
            tests.append(full[-1]["test_error"] if full else None)
        reach = []
        for r in by_seed.values():
            hit = next((p["cum_epochs"] for p in r["points"] if banat_final is not None and p["best_full"] is not None
                        and p["best_full"] <= banat_final + 1e-12), None)
            reach.append(hit)
        trained = sum(r["epochs"] for r in by_seed.values())
        saved = sum(r["saved"] for r in by_seed.values())
        idle = [r["overhead"]["overhead"] for r in by_seed.values() if r.get("overhead")]
        steady = [r["idle_steady"] for r in by_seed.values() if r.get("idle_steady") is not None]
        m, se, n = mean_se(finals)
        summary["methods"][method] = {
            "label": LABELS.get(method, method), "seeds": sorted(by_seed), "final": m, "final_se": se,
            "test_of_incumbent": mean_se(tests)[0],
            "evaluations": sum(len(r["points"]) for r in by_seed.values()) / max(1, len(by_seed)),
            "epochs_per_run": trained / max(1, len(by_seed)),
            "epochs_saved_by_continuation": saved, "saved_fraction": saved / (trained + saved) if trained else 0.0,
            "continued": sum(p["continued"] for r in by_seed.values() for p in r["points"]),
            "retrained_missing_checkpoint": sum(bool(p["retrain_reason"]) for r in by_seed.values() for p in r["points"]),
            "epochs_to_reach_banat_final": reach,
            "worker_idle_fraction": mean_se(idle)[0], "worker_idle_fraction_steady": mean_se(steady)[0],
            "wall_s_per_run": sum(r["points"][-1]["wall_s"] for r in by_seed.values() if r["points"]) / max(1, len(by_seed)),
            "curve_epochs": [mean_se([value_at(r["points"], "cum_epochs", x) for r in by_seed.values()]) for x in grid],
        }
    summary["banat_final"] = banat_final
    summary["epochs_budget"] = budget
    summary["grid_epochs"] = grid
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    plot(runs, summary, out / "anytime.png")
    (out / "summary.md").write_text(table(summary))
    print(table(summary))
    return 0


def plot(runs: dict, summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    grid = summary["grid_epochs"]
    for method, by_seed in runs.items():
        curve = summary["methods"][method]["curve_epochs"]
        # a point only where every seed has a 4-epoch network (a mean over fewer seeds jumps)
        full = [(x, m, se) for x, (m, se, n) in zip(grid, curve) if m is not None and n == len(by_seed)]
        xs, ms, ses = (list(v) for v in zip(*full)) if full else ([], [], [])
        line, = axes[0].plot(xs, ms, label=LABELS.get(method, method))
        axes[0].fill_between(xs, [m - s for m, s in zip(ms, ses)], [m + s for m, s in zip(ms, ses)],
                             alpha=0.15, color=line.get_color())
        wall_max = max((r["points"][-1]["wall_s"] for r in by_seed.values() if r["points"]), default=0.0)
        wgrid = [wall_max * i / 40 for i in range(41)]
        wc = [mean_se([value_at(r["points"], "wall_s", x) for r in by_seed.values()]) for x in wgrid]
        pts = [(x / 60, m, se) for x, (m, se, n) in zip(wgrid, wc) if m is not None and n == len(by_seed)]
        if pts:
            x, m, se = zip(*pts)
            axes[1].plot(x, m, color=line.get_color())
            axes[1].fill_between(x, [a - b for a, b in zip(m, se)], [a + b for a, b in zip(m, se)], alpha=0.15,
                                 color=line.get_color())
    axes[0].set_xlabel("training epochs (cumulative, continued evaluations count their new epochs)")
    axes[1].set_xlabel("search wall time (min; two workers, shared CPU)")
    for ax in axes:
        ax.set_ylabel(f"best valid error, {FULL_EPOCHS}-epoch networks")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("hnb201 / clutterdigits: mean ± 1 s.e. over seeds (from where every seed has a 4-epoch network)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(summary: dict) -> str:
    def f(x: Optional[float], d: int = 4) -> str:
        return "-" if x is None else f"{x:.{d}f}"

    lines = [f"At {summary['epochs_budget']:.0f} training epochs per run (mean ± 1 s.e. over seeds):", "",
             "| method | seeds | evaluations / run | epochs / run | best valid error (4 ep.) @budget | test error of "
             "incumbent | epochs to reach BANAT's final | epochs saved by continuation | worker idle fraction (whole run / "
             "until the last start) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for method, s in summary["methods"].items():
        reach = ", ".join("-" if r is None else f"{r:.0f}" for r in s["epochs_to_reach_banat_final"])
        lines.append(
            f"| {s['label']} | {len(s['seeds'])} | {s['evaluations']:.1f} | {s['epochs_per_run']:.1f} | "
            f"{f(s['final'])} ± {f(s['final_se'])} | {f(s['test_of_incumbent'])} | {reach} | "
            f"{s['epochs_saved_by_continuation']:.0f} ({100 * s['saved_fraction']:.0f} %) | "
            f"{f(s['worker_idle_fraction'], 3)} / {f(s['worker_idle_fraction_steady'], 3)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
