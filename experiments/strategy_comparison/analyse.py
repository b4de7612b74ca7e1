"""Anytime curves and the summary table of the strategy comparison (reads ``runs/*/runs.sqlite``).

    .venv/bin/python experiments/strategy_comparison/analyse.py

Writes ``results.csv`` (every evaluation of every run, with the incumbent after it),
``summary.json``, ``summary.md`` (the table for the README) and ``anytime.png`` (best validation
error so far over evaluations, mean ± 1 standard error over seeds).
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
LABELS = {"banat": "BANAT (hWL)", "banat_wl": "BANAT (WL)", "evolution": "Regularized evolution", "random": "Random search"}
ORDER = ("banat", "banat_wl", "evolution", "random")


def load_runs(root: Path) -> dict[str, dict[int, list]]:
    from algebraic_nas.search.store import Store

    runs: dict[str, dict[int, list]] = {}
    for d in sorted(root.glob("*-s*")):
        m = re.fullmatch(r"(.+)-s(\d+)", d.name)
        if not m or not (d / "runs.sqlite").exists():
            continue
        with Store(d, readonly=True) as st:
            rows = [r for r in st.rows(order="finished") if r.finished]
        runs.setdefault(m.group(1), {})[int(m.group(2))] = rows
    return runs


def incumbents(rows: list) -> tuple[np.ndarray, np.ndarray]:
    """Best validation error so far and the test error of that incumbent, per evaluation."""
    best_v, best_t = math.inf, math.nan
    vs, ts = [], []
    for r in rows:
        if r.status == "done" and r.valid_error is not None and r.valid_error < best_v:
            best_v, best_t = r.valid_error, (r.test_error if r.test_error is not None else math.nan)
        vs.append(best_v)
        ts.append(best_t)
    return np.array(vs), np.array(ts)


def mean_se(x: np.ndarray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan


def main() -> int:
    runs = load_runs(HERE / "runs")
    if not runs:
        print("no runs yet", file=sys.stderr)
        return 1
    with open(HERE / "results.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["strategy", "seed", "evaluation", "id", "status", "valid_error", "test_error", "params", "flops",
                    "eval_time_s", "propose_time_s", "cached", "incumbent_valid_error", "incumbent_test_error", "term"])
        for s, by_seed in runs.items():
            for seed, rows in by_seed.items():
                iv, it = incumbents(rows)
                for i, r in enumerate(rows):
                    w.writerow([s, seed, i + 1, r.id, r.status, r.valid_error, r.test_error, r.params, r.flops,
                                r.eval_time_s, r.propose_time_s, bool((r.result or {}).get("cached")),
                                iv[i] if math.isfinite(iv[i]) else "", it[i] if math.isfinite(it[i]) else "", r.term])

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary: dict = {}
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for s in [x for x in ORDER if x in runs] + [x for x in runs if x not in ORDER]:
        by_seed = runs[s]
        n = min(len(r) for r in by_seed.values())
        if n == 0:
            continue
        curves = np.stack([incumbents(rows)[0][:n] for rows in by_seed.values()])
        tests = np.stack([incumbents(rows)[1][:n] for rows in by_seed.values()])
        x = np.arange(1, n + 1)
        mean = np.nanmean(np.where(np.isfinite(curves), curves, np.nan), axis=0)
        se = (np.nanstd(curves, axis=0, ddof=1) / math.sqrt(len(curves))) if len(curves) > 1 else np.zeros(n)
        style = {"evolution": "--", "random": ":"}.get(s, "-")
        line, = ax.plot(x, mean, style, lw=1.6, label=f"{LABELS.get(s, s)} ({len(curves)} seeds)")
        ax.fill_between(x, mean - se, mean + se, color=line.get_color(), alpha=0.2)
        entry = {"seeds": sorted(by_seed), "evaluations": int(n)}
        for at in sorted({25, 50, n} & set(range(1, n + 1))):
            v, v_se = mean_se(curves[:, at - 1])
            t, t_se = mean_se(tests[:, at - 1])
            entry[f"at_{at}"] = {"best_valid_error": v, "se": v_se, "test_error_of_incumbent": t, "test_se": t_se}
        props = [r.propose_time_s for rows in by_seed.values() for r in rows if r.propose_time_s is not None]
        evals = [r.eval_time_s for rows in by_seed.values() for r in rows
                 if r.eval_time_s is not None and not (r.result or {}).get("cached")]
        failed = sum(r.status == "failed" for rows in by_seed.values() for r in rows)
        entry.update(mean_propose_time_s=float(np.mean(props)) if props else None,
                     mean_eval_time_s=float(np.mean(evals)) if evals else None, failed=failed)
        summary[s] = entry
    for at, what in ((10, "BANAT initial design"), (30, "RE initial population")):
        if at >= max(e["evaluations"] for e in summary.values()):
            continue
        ax.axvline(at, color="grey", lw=0.6, ls="-.")
        ax.text(at + 0.5, ax.get_ylim()[1], what, fontsize=6, va="top", color="grey")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("best validation error so far")
    ax.set_title("hnb201 on clutterdigits (quick protocol, 2 epochs): mean ± 1 s.e.\n"
                 "(all strategies of a seed share their first random terms)", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(HERE / "anytime.png", dpi=120)
    plt.close(fig)

    with open(HERE / "summary.json", "w") as f:
        json.dump(summary, f, indent=2)
    lines = ["| strategy | seeds | evaluations | best valid error @25 | @50 | @final | test error of incumbent @final | s / proposal | failed |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s, e in summary.items():
        n = e["evaluations"]
        a25 = e.get("at_25")
        a50 = e.get("at_50")
        fin = e.get(f"at_{n}")
        fmt = lambda d, k, kse: f"{d[k]:.4f} ± {d[kse]:.4f}" if d and math.isfinite(d[k]) else "-"
        prop = f"{e['mean_propose_time_s']:.1f}" if e.get("mean_propose_time_s") is not None else "-"
        lines.append(f"| {LABELS.get(s, s)} | {len(e['seeds'])} | {n} | {fmt(a25, 'best_valid_error', 'se')} | "
                     f"{fmt(a50, 'best_valid_error', 'se')} | {fmt(fin, 'best_valid_error', 'se')} | {fmt(fin, 'test_error_of_incumbent', 'test_se')} | {prop} | {e['failed']} |")
    (HERE / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
