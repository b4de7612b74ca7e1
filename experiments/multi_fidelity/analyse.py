"""Tables, paired tests and figures of the multi-fidelity comparison, from the committed raw
results ``evals/METHOD-sSEED.json`` (written by ``compare.py``).

    .venv/bin/python experiments/multi_fidelity/analyse.py [--out DIR] [--budgets 16 32 48 64]

Writes ``summary.json``, ``summary.md`` (per method: evaluations, continuation savings, best
validation error of a network trained the full 4 epochs at several epoch budgets, test error of
that incumbent), ``comparisons.md`` (paired tests over seeds at every budget, worded by the rule
in ``experiments/reporting.py``, and the winner if there is one) and ``anytime.png`` (left: best
4-epoch validation error over cumulative training epochs, mean ± 1 s.e. over seeds; right: the
training epochs each run needed to reach full-fidelity BANAT's mean final error, one point per
seed) into ``--out`` (default: this folder). A run's incumbent counts only networks trained the
full 4 epochs: errors after fewer epochs are not comparable.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from reporting import comparison_line, fmt, mean_se, paired, save_figure  # noqa: E402

FULL_EPOCHS = 4
LABELS = {
    "bohb_continue": "BOHB (BANAT model) + continuation", "bohb_retrain": "BOHB (BANAT model), retraining",
    "hyperband": "Hyperband (random) + continuation", "banat": "BANAT, full fidelity", "random": "random, full fidelity",
    "optuna_tpe_hyperband": "Optuna TPE + Hyperband pruner", "smac3_mf": "SMAC3 multi-fidelity facade",
}
ORDER = list(LABELS)
SHORT = {"bohb_continue": "BOHB\n+ cont.", "bohb_retrain": "BOHB\nretrain", "hyperband": "Hyperband", "banat": "BANAT",
         "random": "random", "optuna_tpe_hyperband": "Optuna", "smac3_mf": "SMAC3"}


def load(evals: Path) -> dict[str, dict[int, list[dict]]]:
    """method -> seed -> the run's evaluations in order; the last entry, ``{"budget": B}``, is the
    run's epoch budget (a run can be compared only at budgets up to its own)."""
    runs: dict[str, dict[int, list[dict]]] = {}
    for f in sorted(evals.glob("*-s*.json")):
        d = json.loads(f.read_text())
        runs.setdefault(d["method"], {})[int(d["seed"])] = d["log"] + [{"budget": float(d["epochs_budget"])}]
    return {m: runs[m] for m in ORDER if m in runs}


def budget_of(log: list[dict]) -> float:
    return log[-1]["budget"]


def best_at(log: list[dict], budget: float) -> tuple[Optional[float], Optional[float]]:
    """(best validation error, its test error) of the 4-epoch networks finished within ``budget``
    epochs; (None, None) when the run had no such network or a smaller budget of its own."""
    if budget > budget_of(log) + 1e-9:
        return None, None
    full = [e for e in log[:-1] if e["epochs"] == FULL_EPOCHS and e["valid_error"] is not None
            and e["cum_epochs"] <= budget + 1e-9]
    if not full:
        return None, None
    best = min(full, key=lambda e: e["valid_error"])
    return best["valid_error"], best["test_error"]


def reach(log: list[dict], target: float) -> Optional[float]:
    """Cumulative training epochs after which the run had a 4-epoch network at least as good as ``target``."""
    return next((e["cum_epochs"] for e in log[:-1] if e["epochs"] == FULL_EPOCHS and e["valid_error"] is not None
                 and e["valid_error"] <= target + 1e-12), None)


def summarise(runs: dict[str, dict[int, list[dict]]], budgets: list[float]) -> dict[str, Any]:
    banat_runs = list(runs.get("banat", {}).values())
    # the target: BANAT's mean at the largest budget every one of its runs reached
    target_budget = min((budget_of(log) for log in banat_runs), default=budgets[-1])
    banat_final = mean_se([best_at(log, target_budget)[0] for log in banat_runs])[0]
    out: dict[str, Any] = {"budgets": budgets, "banat_final": banat_final, "banat_final_budget": target_budget,
                           "methods": {}}
    for m, by_seed in runs.items():
        logs = [log[:-1] for log in by_seed.values()]  # the evaluations, without the budget entry
        trained = sum(e["epochs_trained"] for log in logs for e in log)
        saved = sum(e["epochs"] - e["epochs_trained"] for log in logs for e in log if e["continued"])
        entry: dict[str, Any] = {
            "label": LABELS[m], "seeds": sorted(by_seed),
            "evaluations_per_run": sum(len(log) for log in logs) / len(logs),
            "full_fidelity_per_run": sum(e["epochs"] == FULL_EPOCHS for log in logs for e in log) / len(logs),
            "rejected_configurations": sum(e["valid_error"] is None for log in logs for e in log),
            "epochs_per_run": trained / len(logs), "continued": sum(e["continued"] for log in logs for e in log),
            "epochs_saved": saved, "saved_fraction": saved / (trained + saved) if trained + saved else 0.0,
            "run_budgets": {s: budget_of(log) for s, log in by_seed.items()},
            "per_seed": {}, "reach_banat_final": {s: reach(log, banat_final) if banat_final is not None else None
                                                  for s, log in by_seed.items()},
        }
        for b in budgets:
            vals = {s: best_at(log, b)[0] for s, log in by_seed.items()}
            mean, se, n = mean_se(list(vals.values()))
            entry["per_seed"][f"{b:g}"] = vals
            entry[f"at_{b:g}"] = {"mean": mean, "se": se, "runs_with_a_4_epoch_network": n}
        entry["test_of_incumbent"] = mean_se([best_at(log, budgets[-1])[1] for log in by_seed.values()])[:2]
        out["methods"][m] = entry
    return out


def table(s: dict) -> str:
    bs = s["budgets"]
    head = ("| method | seeds | run budgets (epochs × runs) | evaluations / run | 4-epoch evaluations / run | epochs / run "
            "| epochs saved by continuation | " + " | ".join(f"best valid error @{b:g} epochs (runs)" for b in bs)
            + f" | test error of incumbent @{bs[-1]:g} |")
    lines = [head, "| --- " * (8 + len(bs)) + "|"]
    for e in s["methods"].values():
        cells = []
        for b in bs:
            a = e[f"at_{b:g}"]
            cells.append(f"{fmt(a['mean'])} ± {fmt(a['se'])} ({a['runs_with_a_4_epoch_network']})")
        t, tse = e["test_of_incumbent"]
        budgets = sorted(e["run_budgets"].values(), reverse=True)
        mix = ", ".join(f"{b:g} × {budgets.count(b)}" for b in sorted(set(budgets), reverse=True))
        lines.append(f"| {e['label']} | {len(e['seeds'])} | {mix} | {e['evaluations_per_run']:.1f} | "
                     f"{e['full_fidelity_per_run']:.1f} | {e['epochs_per_run']:.1f} | {e['epochs_saved']:.0f} "
                     f"({100 * e['saved_fraction']:.0f} %) | " + " | ".join(cells) + f" | {fmt(t)} ± {fmt(tse)} |")
    reach_line = "; ".join(
        f"{e['label']}: " + ", ".join("-" if v is None else f"{v:g}" for v in e["reach_banat_final"].values())
        for e in s["methods"].values())
    lines += ["", "(runs): the runs with a 4-epoch network within that budget (a run counts only up to its own "
              "budget); evaluations, epochs and savings per run are over runs of different budgets where the "
              "budgets column lists several.", "",
              f"Training epochs to reach full-fidelity BANAT's mean error at {s['banat_final_budget']:g} epochs "
              f"({fmt(s['banat_final'])}), "
              f"per seed ('-': not within the budget): {reach_line}."]
    return "\n".join(lines) + "\n"


def comparisons(s: dict) -> tuple[str, dict]:
    methods = list(s["methods"])
    lines, tests = [], {}
    for b in s["budgets"]:
        key = f"{b:g}"
        per = {m: s["methods"][m]["per_seed"][key] for m in methods}
        means = {m: s["methods"][m][f"at_{key}"]["mean"] for m in methods}
        ranked = sorted((m for m in methods if means[m] is not None), key=lambda m: means[m])
        if not ranked:
            continue
        top = ranked[0]
        lines.append(f"At {key} epochs per run (lowest mean: {LABELS[top]}):")
        verdicts = []
        for other in methods:
            if other != top:
                c = paired(per[top], per[other])
                tests[f"{top}_vs_{other}_at_{key}"] = c
                verdicts.append(c["verdict"])
                lines.append("* " + comparison_line(LABELS[top], LABELS[other], c, f"at {key} epochs"))
        winner = all(v == "better" for v in verdicts)
        lines.append(f"* winner at {key} epochs: " + (f"**{LABELS[top]}** (better than every other method)" if winner
                                                       else "**none** (the lowest mean is not significantly better "
                                                            "than every other method)"))
        lines.append("")
    for a, b in (("bohb_continue", "bohb_retrain"), ("bohb_continue", "hyperband"), ("bohb_continue", "banat"),
                 ("banat", "random")):
        if a in methods and b in methods:
            key = f"{s['budgets'][-1]:g}"
            c = paired(s["methods"][a]["per_seed"][key], s["methods"][b]["per_seed"][key])
            tests[f"{a}_vs_{b}_at_{key}"] = c
            lines.append("* " + comparison_line(LABELS[a], LABELS[b], c, f"at {key} epochs"))
    return "\n".join(lines) + "\n", tests


def plot(runs: dict, s: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.4), gridspec_kw={"width_ratios": [3, 2]})
    top = s["budgets"][-1]
    grid = [top * i / 64 for i in range(65)]
    for i, (m, by_seed) in enumerate(runs.items()):
        stats = [mean_se([best_at(log, x)[0] for log in by_seed.values()]) for x in grid]
        # a point only where every seed has a 4-epoch network (a mean over fewer seeds jumps)
        pts = [(x, mu, se) for x, (mu, se, n) in zip(grid, stats) if mu is not None and n == len(by_seed)]
        if pts:
            xs, ms, ses = zip(*pts)
            line, = ax.plot(xs, ms, "-" if i < 5 else "--", label=LABELS[m])
            ax.fill_between(xs, [a - b for a, b in zip(ms, ses)], [a + b for a, b in zip(ms, ses)], alpha=0.12,
                            color=line.get_color())
            color = line.get_color()
        else:
            color = None
        hits = list(s["methods"][m]["reach_banat_final"].values())
        ys = [h if h is not None else top * 1.08 for h in hits]
        ax2.scatter([i + (k - len(ys) / 2) * 0.06 for k in range(len(ys))], ys, s=18, color=color,
                    marker="o", alpha=0.8)
    ax.set_xlabel("training epochs (cumulative; a continued evaluation counts its new epochs)")
    ax.set_ylabel(f"best valid error, {FULL_EPOCHS}-epoch networks")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title("mean ± 1 s.e. over seeds (from where every seed has a 4-epoch network)", fontsize=9)
    ax2.axhline(top * 1.08, color="grey", lw=0.6, ls=":")
    ax2.text(-0.4, top * 1.1, "not reached within the budget", fontsize=7, color="grey")
    ax2.set_ylim(0, top * 1.18)
    ax2.set_xlim(-0.5, len(runs) - 0.5)
    ax2.set_xticks(range(len(runs)))
    ax2.set_xticklabels([SHORT[m] for m in runs], fontsize=7)
    ax2.set_ylabel("training epochs to reach BANAT's final error")
    ax2.set_title(f"one point per seed (target {fmt(s['banat_final'], 3)})", fontsize=9)
    ax2.grid(alpha=0.3, axis="y")
    fig.suptitle("nb201_cell / clutterdigits, 4-epoch full fidelity, rungs 1-2-4", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--evals", default=str(HERE / "evals"))
    ap.add_argument("--budgets", type=float, nargs="+", default=[16.0, 32.0, 48.0, 64.0])
    args = ap.parse_args(argv)
    runs = load(Path(args.evals))
    if not runs:
        print(f"no results in {args.evals}", file=sys.stderr)
        return 1
    s = summarise(runs, sorted(args.budgets))
    text, tests = comparisons(s)
    out = Path(args.out)
    (out / "summary.json").write_text(json.dumps({**s, "paired_tests": tests}, indent=1) + "\n")
    (out / "summary.md").write_text(table(s))
    (out / "comparisons.md").write_text(text)
    plot(runs, s, out / "anytime.png")
    print(table(s) + "\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
