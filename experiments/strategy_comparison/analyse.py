"""Tables, paired tests, facts and the anytime figure of the strategy comparison, from the
committed per-evaluation data ``results.csv``.

    .venv/bin/python experiments/strategy_comparison/analyse.py [--out DIR]
    .venv/bin/python experiments/strategy_comparison/analyse.py --from-runs   # first rebuild results.csv from runs/

Reads ``results.csv`` (every evaluation of every run, in finishing order) and writes
``summary.json``, ``summary.md`` (the table), ``comparisons.md`` (paired tests, worded by the rule
in ``experiments/reporting.py``), ``facts.md`` (the other numbers the README quotes) and
``anytime.png`` (best validation error so far over evaluations, mean ± 1 s.e. over seeds) into
``--out`` (default: this folder). Only ``--from-runs`` writes ``results.csv``, and only from the
run stores in ``runs/`` (not committed), so re-running on a fresh clone never changes the data.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import statistics
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from reporting import comparison_line, fmt, mean_se, paired, save_figure  # noqa: E402

LABELS = {"banat": "BANAT (hWL)", "banat_wl": "BANAT (WL)", "evolution": "Regularized evolution", "random": "Random search"}
ORDER = ("banat", "banat_wl", "evolution", "random")
COLUMNS = ["strategy", "seed", "evaluation", "id", "status", "valid_error", "test_error", "params", "flops",
           "eval_time_s", "propose_time_s", "cached", "incumbent_valid_error", "incumbent_test_error", "term"]
AT = (25, 50, 100)


def rebuild_csv(root: Path, path: Path) -> None:
    """``results.csv`` from the run stores ``runs/STRATEGY-sSEED`` (the one step that needs them)."""
    from algebraic_nas.search.store import Store

    dirs = [d for d in sorted(root.glob("*-s*")) if re.fullmatch(r".+-s\d+", d.name) and (d / "runs.sqlite").exists()]
    if not dirs:
        raise SystemExit(f"--from-runs: no run stores under {root}; results.csv left as it is")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for d in dirs:
            strategy, _, seed = d.name.rpartition("-s")
            with Store(d, readonly=True) as st:
                rows = [r for r in st.rows(order="finished") if r.finished]
            best_v, best_t = math.inf, math.nan
            for i, r in enumerate(rows):
                if r.status == "done" and r.valid_error is not None and r.valid_error < best_v:
                    best_v, best_t = r.valid_error, (r.test_error if r.test_error is not None else math.nan)
                w.writerow([strategy, seed, i + 1, r.id, r.status, r.valid_error, r.test_error, r.params, r.flops,
                            r.eval_time_s, r.propose_time_s, bool((r.result or {}).get("cached")),
                            best_v if math.isfinite(best_v) else "", best_t if math.isfinite(best_t) else "", r.term])


def _num(x: str) -> float:
    return float(x) if x not in ("", "None") else math.nan


def load(path: Path) -> dict[str, dict[int, list[dict]]]:
    """strategy -> seed -> the run's evaluations in order."""
    runs: dict[str, dict[int, list[dict]]] = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            runs.setdefault(r["strategy"], {}).setdefault(int(r["seed"]), []).append(r)
    return runs


def incumbents(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Best validation error so far and the test error of that incumbent, per evaluation."""
    best_v, best_t, vs, ts = math.inf, math.nan, [], []
    for r in rows:
        v = _num(r["valid_error"])
        if r["status"] == "done" and math.isfinite(v) and v < best_v:
            best_v, best_t = v, _num(r["test_error"])
        vs.append(best_v)
        ts.append(best_t)
    return np.array(vs), np.array(ts)


def summarise(runs: dict[str, dict[int, list[dict]]]) -> dict:
    summary: dict = {}
    for s in [x for x in ORDER if x in runs]:
        by_seed = runs[s]
        n = min(len(r) for r in by_seed.values())
        entry: dict = {"seeds": sorted(by_seed), "evaluations": n, "per_seed": {}}
        for at in [a for a in AT if a <= n]:
            v = {seed: float(incumbents(rows)[0][at - 1]) for seed, rows in by_seed.items()}
            t = {seed: float(incumbents(rows)[1][at - 1]) for seed, rows in by_seed.items()}
            m, se, _ = mean_se(list(v.values()))
            tm, tse, _ = mean_se(list(t.values()))
            entry[f"at_{at}"] = {"best_valid_error": m, "se": se, "test_error_of_incumbent": tm, "test_se": tse}
            entry["per_seed"][f"at_{at}"] = v
        props = [_num(r["propose_time_s"]) for rows in by_seed.values() for r in rows]
        entry["mean_propose_time_s"] = float(np.nanmean(props)) if props else None
        entry["failed"] = sum(r["status"] == "failed" for rows in by_seed.values() for r in rows)
        summary[s] = entry
    return summary


def table(summary: dict) -> str:
    lines = ["| strategy | seeds | evaluations | best valid error @25 | @50 | @100 | test error of incumbent @100 "
             "| s / proposal | failed |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for s, e in summary.items():
        cell = lambda at, k="best_valid_error", kse="se": (  # noqa: E731
            f"{fmt(e[f'at_{at}'][k])} ± {fmt(e[f'at_{at}'][kse])}" if f"at_{at}" in e else "-")
        lines.append(f"| {LABELS[s]} | {len(e['seeds'])} | {e['evaluations']} | {cell(25)} | {cell(50)} | {cell(100)} | "
                     f"{cell(100, 'test_error_of_incumbent', 'test_se')} | {fmt(e['mean_propose_time_s'], 1)} | {e['failed']} |")
    return "\n".join(lines) + "\n"


def comparisons(summary: dict) -> tuple[str, dict]:
    pairs = [("banat", "random"), ("banat", "evolution"), ("banat", "banat_wl"), ("banat_wl", "random"),
             ("banat_wl", "evolution"), ("evolution", "random")]
    lines, out = [], {}
    for a, b in pairs:
        for at in AT:
            key = f"at_{at}"
            if key not in summary[a]["per_seed"] or key not in summary[b]["per_seed"]:
                continue
            c = paired(summary[a]["per_seed"][key], summary[b]["per_seed"][key])
            out[f"{a}_vs_{b}_{key}"] = c
            lines.append(f"* {comparison_line(LABELS[a], LABELS[b], c, f'at {at} evaluations')}")
    return "\n".join(lines) + "\n", out


def facts(runs: dict[str, dict[int, list[dict]]], summary: dict) -> str:
    """The README's other numbers: the spread of random search's evaluations, the sizes of what
    each strategy proposes late and of the incumbents, and where BANAT (hWL) trails evolution."""
    rnd = [_num(r["valid_error"]) for rows in runs["random"].values() for r in rows if r["status"] == "done"]
    every = [r for by in runs.values() for rows in by.values() for r in rows]
    trained = sum(r["cached"] != "True" for r in every)
    lines = [f"* {len(every)} evaluations in all, {trained} of them trained (the rest served by the shared cache).",
             f"* Random search's {len(rnd)} evaluations ({len(runs['random'])} seeds × "
             f"{summary['random']['evaluations']}): validation error {min(rnd):.3f} to {max(rnd):.3f}, "
             f"median {statistics.median(rnd):.3f} (chance 0.90)."]
    for seed in (2,):
        parts = []
        for s in ORDER:
            rows = runs[s][seed]
            last = statistics.median(_num(r["params"]) for r in rows[-25:]) / 1e6
            mid = statistics.median(_num(r["params"]) for r in rows[25:50]) / 1e6
            parts.append(f"{LABELS[s]} {last:.3f} M (evaluations 26–50: {mid:.3f} M)")
        lines.append(f"* Median parameters of the last 25 evaluations of seed {seed}: " + "; ".join(parts) + ".")
    inc = []
    for s in ORDER:
        sizes = []
        for rows in runs[s].values():
            best = min((r for r in rows if r["status"] == "done"), key=lambda r: _num(r["valid_error"]))
            sizes.append(_num(best["params"]))
        inc.append(f"{LABELS[s]} {statistics.median(sizes) / 1e6:.2f} M")
    lines.append("* Median parameters of the final incumbents over the seeds: " + "; ".join(inc) + ".")
    n = min(summary["banat"]["evaluations"], summary["evolution"]["evaluations"])
    mb = np.mean([incumbents(r)[0][:n] for r in runs["banat"].values()], axis=0)
    me = np.mean([incumbents(r)[0][:n] for r in runs["evolution"].values()], axis=0)
    behind = [i + 1 for i in range(n) if mb[i] > me[i] + 1e-12]
    lines.append(f"* Evaluations at which BANAT (hWL)'s mean best error is above regularized evolution's: "
                 f"{', '.join(map(str, behind)) or 'none'}.")
    return "\n".join(lines) + "\n"


def plot(runs: dict, summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for s, e in summary.items():
        n = e["evaluations"]
        curves = np.stack([incumbents(rows)[0][:n] for rows in runs[s].values()])
        x = np.arange(1, n + 1)
        mean = curves.mean(axis=0)
        se = curves.std(axis=0, ddof=1) / math.sqrt(len(curves)) if len(curves) > 1 else np.zeros(n)
        line, = ax.plot(x, mean, {"evolution": "--", "random": ":"}.get(s, "-"), lw=1.6,
                        label=f"{LABELS[s]} ({len(curves)} seeds)")
        ax.fill_between(x, mean - se, mean + se, color=line.get_color(), alpha=0.2)
    for at, what in ((10, "BANAT initial design"), (30, "RE initial population")):
        ax.axvline(at, color="grey", lw=0.6, ls="-.")
        ax.text(at + 0.5, ax.get_ylim()[1], what, fontsize=6, va="top", color="grey")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("best validation error so far")
    ax.set_title("hnb201 on clutterdigits (quick protocol, 2 epochs): mean ± 1 s.e. over seeds\n"
                 "(all strategies of a seed share their first random terms)", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE), help="where the derived files go")
    ap.add_argument("--from-runs", action="store_true", help="first rebuild results.csv from runs/")
    args = ap.parse_args()
    if args.from_runs:
        rebuild_csv(HERE / "runs", HERE / "results.csv")
    out = Path(args.out)
    runs = load(HERE / "results.csv")
    summary = summarise(runs)
    text, tests = comparisons(summary)
    (out / "summary.json").write_text(json.dumps({"strategies": summary, "paired_tests": tests}, indent=1) + "\n")
    (out / "summary.md").write_text(table(summary))
    (out / "comparisons.md").write_text(text)
    (out / "facts.md").write_text(facts(runs, summary))
    plot(runs, summary, out / "anytime.png")
    print(table(summary) + "\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
