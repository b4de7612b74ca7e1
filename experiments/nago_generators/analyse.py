"""Figures, tables and numbers of the NAGO generator experiment.

    .venv/bin/python experiments/nago_generators/analyse.py

Reads ``fig2_results.csv`` (from fig2.py) and ``search_runs/`` (from search.py); writes
``fig2.png`` (per generator: mean vs standard deviation over network seeds of validation error and
of parameters), ``anytime.png`` (best validation error so far vs evaluations, mean ± 1 s.e. over
search seeds), ``search_results.csv`` (every evaluation of every search run), ``summary.json`` and
``summary.md`` (the tables of the README).
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


def _strategy_comparison_analyse():
    """experiments/strategy_comparison/analyse.py as a module (its ``mean_se``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("strategy_comparison_analyse",
                                                  HERE.parent / "strategy_comparison" / "analyse.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mean_se = _strategy_comparison_analyse().mean_se
LABELS = {"nago_hnag": "HNAG (nago_hnag)", "rnag": "RNAG (rnag)",
          "banat": "BANAT (values kernel)", "random": "Random search", "tpe": "Optuna TPE"}
SEARCH_ORDER = ("banat", "tpe", "random")


# ------------------------------------------------------------------------------------- Fig. 2


def load_fig2(path: Path) -> dict[str, dict[int, dict[int, dict]]]:
    """grammar -> generator -> seed -> row (successful evaluations only)."""
    out: dict[str, dict[int, dict[int, dict]]] = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["outcome"] == "ok" and r["valid_error"]:
                out.setdefault(r["grammar"], {}).setdefault(int(r["generator"]), {})[int(r["seed"])] = r
    return out


def spread(values: np.ndarray) -> dict:
    """One-way random-effects summary of a (generators × seeds) array: variance of the generator
    means, mean within-generator variance (ddof=1), their ratio, the ANOVA F test of 'no
    generator effect', the share of variance due to the generator (ICC(1)) and Spearman's rank
    correlation between a generator's mean and its standard deviation (NAGO: good generators vary little)."""
    from scipy import stats

    g, n = values.shape
    means = values.mean(axis=1)
    var_between_means = float(means.var(ddof=1))
    var_within = float(values.var(axis=1, ddof=1).mean())
    f_stat = n * var_between_means / var_within if var_within > 0 else math.inf
    p = float(stats.f.sf(f_stat, g - 1, g * (n - 1))) if math.isfinite(f_stat) else 0.0
    sds = values.std(axis=1, ddof=1)
    rho, rho_p = stats.spearmanr(means, sds) if np.ptp(sds) > 0 else (math.nan, math.nan)
    sigma_b2 = max(var_between_means - var_within / n, 0.0)  # generator variance component
    return {"generators": g, "seeds": n, "var_of_generator_means": var_between_means,
            "mean_within_generator_var": var_within, "ratio": var_between_means / var_within if var_within else math.inf,
            "F": f_stat, "p": p, "icc": sigma_b2 / (sigma_b2 + var_within) if sigma_b2 + var_within else math.nan,
            "generator_sd": math.sqrt(sigma_b2), "seed_sd": math.sqrt(var_within),
            "range_of_means": [float(means.min()), float(means.max())],
            "spearman_mean_vs_sd": float(rho), "spearman_p": float(rho_p)}


def fig2(plt) -> dict:
    path = HERE / "fig2_results.csv"
    if not path.exists():
        return {}
    data = load_fig2(path)
    summary: dict = {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for gi, (grammar, gens) in enumerate(sorted(data.items())):
        # the seeds every generator of this grammar has (rounds run seed by seed)
        seeds = sorted(set.intersection(*(set(s) for s in gens.values())))
        keep = sorted(gens)
        if len(seeds) < 2:
            continue
        err = np.array([[float(gens[i][s]["valid_error"]) for s in seeds] for i in keep])
        par = np.array([[float(gens[i][s]["params"]) for s in seeds] for i in keep])
        flops = np.array([[float(gens[i][s]["flops"]) for s in seeds] for i in keep])
        cost = np.array([[float(gens[i][s]["wall_time_s"]) for s in seeds] for i in keep])
        summary[grammar] = {"seeds_used": seeds, "valid_error": spread(err), "params": spread(par),
                            "flops": spread(flops),
                            "eval_wall_s_median": float(np.median(cost)), "eval_wall_s_sum": float(cost.sum())}
        for ax, vals, scale in ((axes[0], err, 1.0), (axes[1], par, 1e-3)):
            ax.scatter(vals.mean(axis=1) * scale, vals.std(axis=1, ddof=1) * scale, s=22, alpha=0.75,
                       marker="os"[gi % 2], label=f"{LABELS.get(grammar, grammar)}: {len(keep)} generators × {len(seeds)} seeds")
    axes[0].set_xlabel("mean validation error over network seeds")
    axes[0].set_ylabel("std. dev. of validation error over seeds")
    axes[1].set_xlabel("mean parameters over network seeds (thousands)")
    axes[1].set_ylabel("std. dev. of parameters over seeds (thousands)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("NAGO Fig. 2 at CPU scale: each point is one generator setting (clutterdigits, 1 epoch)", fontsize=10)
    fig.tight_layout()
    fig.savefig(HERE / "fig2.png", dpi=130)
    plt.close(fig)
    return summary


# ------------------------------------------------------------------------------------- search


def load_search(root: Path) -> dict[str, dict[int, list[dict]]]:
    """strategy -> seed -> evaluations in order (dicts with valid_error, test_error, ...)."""
    from algebraic_nas.search.store import Store

    runs: dict[str, dict[int, list[dict]]] = {}
    for d in sorted(root.glob("*-s*")) if root.exists() else []:
        m = re.fullmatch(r"(.+)-s(\d+)", d.name)
        if not m:
            continue
        if (d / "trials.csv").exists():
            with open(d / "trials.csv") as f:
                rows = [{**r, "cached": r["cached"] == "True"} for r in csv.DictReader(f)]
        elif (d / "runs.sqlite").exists():
            with Store(d, readonly=True) as st:
                rows = [{"valid_error": r.valid_error if r.status == "done" else None, "test_error": r.test_error,
                         "params": r.params, "flops": r.flops, "eval_time_s": r.eval_time_s,
                         "propose_time_s": r.propose_time_s, "cached": bool((r.result or {}).get("cached")),
                         "term": r.term} for r in st.rows(order="finished") if r.finished]
        else:
            continue
        runs.setdefault(m.group(1), {})[int(m.group(2))] = rows
    return runs


def _f(x) -> float:
    return float(x) if x not in (None, "") else math.nan


def incumbent(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    best_v, best_t, vs, ts = math.inf, math.nan, [], []
    for r in rows:
        v = _f(r["valid_error"])
        if math.isfinite(v) and v < best_v:
            best_v, best_t = v, _f(r["test_error"])
        vs.append(best_v)
        ts.append(best_t)
    return np.array(vs), np.array(ts)


def search(plt) -> dict:
    runs = load_search(HERE / "search_runs")
    if not runs:
        return {}
    with open(HERE / "search_results.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["strategy", "seed", "evaluation", "valid_error", "test_error", "params", "flops", "eval_time_s",
                    "propose_time_s", "cached", "incumbent_valid_error", "incumbent_test_error", "term"])
        for s, by_seed in sorted(runs.items()):
            for seed, rows in sorted(by_seed.items()):
                iv, it = incumbent(rows)
                for i, r in enumerate(rows):
                    w.writerow([s, seed, i + 1, r["valid_error"], r["test_error"], r["params"], r["flops"],
                                r["eval_time_s"], r["propose_time_s"], r["cached"], iv[i], it[i], r["term"]])
    # compare at the depth every run of every strategy has reached, over the seeds all strategies have
    seeds = sorted(set.intersection(*(set(b) for b in runs.values())))
    depth = min(len(runs[s][k]) for s in runs for k in seeds) if seeds else 0
    summary: dict = {"seeds": seeds, "evaluations": depth, "strategies": {}}
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for s in [x for x in SEARCH_ORDER if x in runs] + [x for x in runs if x not in SEARCH_ORDER]:
        if depth == 0:
            break
        curves = np.stack([incumbent(runs[s][k])[0][:depth] for k in seeds])
        tests = np.stack([incumbent(runs[s][k])[1][:depth] for k in seeds])
        x = np.arange(1, depth + 1)
        mean = curves.mean(axis=0)
        se = curves.std(axis=0, ddof=1) / math.sqrt(len(seeds)) if len(seeds) > 1 else np.zeros(depth)
        line, = ax.plot(x, mean, {"random": ":", "tpe": "--"}.get(s, "-"), lw=1.6,
                        label=f"{LABELS.get(s, s)} ({len(seeds)} seed{'s' if len(seeds) > 1 else ''})")
        ax.fill_between(x, mean - se, mean + se, color=line.get_color(), alpha=0.2)
        entry: dict = {"per_seed_final": [float(c[-1]) for c in curves]}
        for at in sorted({10, 20, 30, depth} & set(range(1, depth + 1))):
            v, v_se = mean_se(curves[:, at - 1])
            t, t_se = mean_se(tests[:, at - 1])
            entry[f"at_{at}"] = {"best_valid_error": v, "se": v_se, "test_error_of_incumbent": t, "test_se": t_se}
        rows = [r for k in seeds for r in runs[s][k][:depth]]
        entry["propose_s_mean"] = float(np.nanmean([_f(r["propose_time_s"]) for r in rows]))
        entry["trained"] = sum(not r["cached"] for r in rows)
        entry["median_params_proposed"] = float(np.nanmedian([_f(r["params"]) for r in rows]))
        summary["strategies"][s] = entry
    ax.axvline(10.5, color="grey", lw=0.8, ls="-.")  # the 10 random start-up terms end here
    ax.set_xlabel("evaluations (after the dash-dotted line: each strategy's own proposals)")
    ax.set_ylabel("best validation error so far")
    ax.set_title("nago_hnag on clutterdigits (1 epoch): mean ± 1 s.e. over search seeds", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(HERE / "anytime.png", dpi=130)
    plt.close(fig)
    return summary


def markdown(summary: dict) -> str:
    lines = []
    if summary.get("fig2"):
        lines += ["| space | generators × seeds | quantity | var of generator means | mean within-generator var | ratio | F (p) | ICC | range of generator means | Spearman(mean, sd) (p) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for g, e in summary["fig2"].items():
            for q in ("valid_error", "params", "flops"):
                s = e[q]
                lines.append(f"| {g} | {s['generators']} × {s['seeds']} | {q} | {s['var_of_generator_means']:.4g} | "
                             f"{s['mean_within_generator_var']:.4g} | {s['ratio']:.2f} | {s['F']:.2f} ({s['p']:.2g}) | "
                             f"{s['icc']:.2f} | {s['range_of_means'][0]:.4g}–{s['range_of_means'][1]:.4g} | "
                             f"{s['spearman_mean_vs_sd']:.2f} ({s['spearman_p']:.2g}) |")
        lines.append("")
    sr = summary.get("search") or {}
    if sr.get("strategies"):
        ats = sorted({int(k[3:]) for e in sr["strategies"].values() for k in e if k.startswith("at_")})
        lines += ["| strategy | seeds | " + " | ".join(f"best valid error @{a}" for a in ats)
                  + " | test error of incumbent @final | trained | s / proposal | median params proposed |",
                  "| --- | --- | " + " | ".join("---" for _ in ats) + " | --- | --- | --- | --- |"]
        for s, e in sr["strategies"].items():
            cells = [f"{e[f'at_{a}']['best_valid_error']:.4f} ± {e[f'at_{a}']['se']:.4f}" for a in ats]
            fin = e[f"at_{ats[-1]}"]
            lines.append(f"| {LABELS.get(s, s)} | {len(sr['seeds'])} | " + " | ".join(cells)
                         + f" | {fin['test_error_of_incumbent']:.4f} ± {fin['test_se']:.4f} | {e['trained']} | "
                         f"{e['propose_s_mean']:.2f} | {e['median_params_proposed']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = {"fig2": fig2(plt), "search": search(plt)}
    if not summary["fig2"] and not summary["search"]:
        print("no results yet", file=sys.stderr)
        return 1
    (HERE / "summary.json").write_text(json.dumps(summary, indent=1))
    md = markdown(summary)
    (HERE / "summary.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
