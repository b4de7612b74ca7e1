"""Figures, tables and numbers of the NAGO generator experiment, from its committed raw data.

    .venv/bin/python experiments/nago_generators/analyse.py [--out DIR]
    .venv/bin/python experiments/nago_generators/analyse.py --from-runs   # first add search_runs/ to search_results.csv

Reads ``fig2_results.csv`` (from fig2.py) and ``search_results.csv`` (every evaluation of every
search run); writes ``fig2.png`` (per generator: mean vs standard deviation over network seeds of
validation error and of parameters), ``anytime.png`` (best validation error so far vs evaluations,
mean ± 1 s.e. over search seeds), ``summary.json`` and ``summary.md`` (the tables of the README)
into ``--out`` (default: this folder). Only ``--from-runs`` writes ``search_results.csv``: it
replaces the rows of the (strategy, seed) runs found in ``search_runs/`` and keeps all others, so
a run whose store is absent (not committed) is never dropped.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


sys.path.insert(0, str(HERE.parent))
from reporting import comparison_line, mean_se, paired, save_figure  # noqa: E402

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


def depth_classes(terms: list[str], err: np.ndarray) -> dict:
    """Deep (>= 210 convolution nodes: NTOP x NMID x NBOT) and shallow (<= 40) HNAG generators:
    how many, and the ranges of their mean errors and standard deviations over seeds."""
    nodes = [math.prod(int(x) for x in shape(t).split("-")) for t in terms]
    out = {}
    for name, keep in ((">= 210", [n >= 210 for n in nodes]), ("<= 40", [n <= 40 for n in nodes])):
        sel = err[np.array(keep)]
        if len(sel):
            m, sd = sel.mean(axis=1), sel.std(axis=1, ddof=1)
            out[name] = {"generators": int(len(sel)), "mean_range": [float(m.min()), float(m.max())],
                         "sd_range": [float(sd.min()), float(sd.max())]}
    return out


def fig2(plt, out: Path, data: Path = HERE) -> dict:
    path = data / "fig2_results.csv"
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
                            "eval_wall_s_median": float(np.median(cost)), "eval_wall_s_sum": float(cost.sum()),
                            "eval_wall_s_min": float(cost.min()), "eval_wall_s_max": float(cost.max())}
        if grammar == "nago_hnag":
            summary[grammar]["depth_classes"] = depth_classes([gens[i][seeds[0]]["term"] for i in keep], err)
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
    save_figure(fig, out / "fig2.png", dpi=130)
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


SEARCH_COLUMNS = ["strategy", "seed", "evaluation", "valid_error", "test_error", "params", "flops", "eval_time_s",
                  "propose_time_s", "cached", "incumbent_valid_error", "incumbent_test_error", "term"]


def rebuild_search_csv(root: Path, path: Path) -> None:
    """Put the runs under ``root`` into ``search_results.csv``, keeping the rows of every other run."""
    found = load_search(root)
    if not found:
        raise SystemExit(f"--from-runs: no search runs under {root}; search_results.csv left as it is")
    kept = [r for r in load_search_csv(path) if (r["strategy"], int(r["seed"])) not in
            {(s, k) for s, by in found.items() for k in by}] if path.exists() else []
    rows = [[r[c] for c in SEARCH_COLUMNS] for r in kept]
    for s, by_seed in found.items():
        for seed, runs in by_seed.items():
            iv, it = incumbent(runs)
            rows += [[s, seed, i + 1, r["valid_error"], r["test_error"], r["params"], r["flops"], r["eval_time_s"],
                      r["propose_time_s"], r["cached"], iv[i], it[i], r["term"]] for i, r in enumerate(runs)]
    rows.sort(key=lambda r: (str(r[0]), int(r[1]), int(r[2])))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(SEARCH_COLUMNS)
        w.writerows(rows)


def load_search_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def shape(term: str) -> str:
    """NTOP-NMID-NBOT of a ``nago_hnag`` term (the node counts of its three graph levels)."""
    m = re.match(r"Budget\(WattsStrogatz\((\d+),.*?ErdosRenyi\((\d+),.*?WattsStrogatz\((\d+),", term)
    return "-".join(m.groups()) if m else "?"


def search(plt, out: Path, data: Path = HERE) -> dict:
    runs: dict[str, dict[int, list[dict]]] = {}
    path = data / "search_results.csv"
    for r in load_search_csv(path) if path.exists() else []:
        runs.setdefault(r["strategy"], {}).setdefault(int(r["seed"]), []).append(
            {**r, "cached": r["cached"] == "True"})
    if not runs:
        return {}
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
            v, v_se, _ = mean_se(list(curves[:, at - 1]))
            t, t_se, _ = mean_se(list(tests[:, at - 1]))
            entry[f"at_{at}"] = {"best_valid_error": v, "se": v_se, "test_error_of_incumbent": t, "test_se": t_se}
        rows = [r for k in seeds for r in runs[s][k][:depth]]
        entry["propose_s_mean"] = float(np.nanmean([_f(r["propose_time_s"]) for r in rows]))
        entry["trained"] = sum(not r["cached"] for r in rows)
        entry["median_params_proposed"] = float(np.nanmedian([_f(r["params"]) for r in rows]))
        entry["incumbent_shapes"] = [shape(min((r for r in runs[s][k][:depth] if math.isfinite(_f(r["valid_error"]))),
                                               key=lambda r: _f(r["valid_error"]))["term"]) for k in seeds]
        summary["strategies"][s] = entry
    ax.axvline(10.5, color="grey", lw=0.8, ls="-.")  # the 10 random start-up terms end here
    ax.set_xlabel("evaluations (after the dash-dotted line: each strategy's own proposals)")
    ax.set_ylabel("best validation error so far")
    spread_words = "mean ± 1 s.e. over search seeds" if len(seeds) > 1 else "one search seed, no spread shown"
    ax.set_title(f"nago_hnag on clutterdigits (1 epoch): {spread_words} ({len(seeds)})", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, out / "anytime.png", dpi=130)
    plt.close(fig)
    return summary


def markdown(summary: dict) -> str:
    lines = []
    if summary.get("fig2"):
        lines += ["| space | generators × seeds | quantity | var of generator means | mean within-generator var | ratio | F (p) "
                  "| σ_gen | σ_seed | ICC | range of generator means | Spearman(mean, sd) (p) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for g, e in summary["fig2"].items():
            for q in ("valid_error", "params", "flops"):
                s = e[q]
                lines.append(f"| {g} | {s['generators']} × {s['seeds']} | {q} | {s['var_of_generator_means']:.4g} | "
                             f"{s['mean_within_generator_var']:.4g} | {s['ratio']:.2f} | {s['F']:.2f} ({s['p']:.2g}) | "
                             f"{s['generator_sd']:.4g} | {s['seed_sd']:.4g} | "
                             f"{s['icc']:.2f} | {s['range_of_means'][0]:.4g}–{s['range_of_means'][1]:.4g} | "
                             f"{s['spearman_mean_vs_sd']:.2f} ({s['spearman_p']:.2g}) |")
        lines.append("")
        for g, e in summary["fig2"].items():
            lines.append(f"* {g}: one evaluation took {e['eval_wall_s_min']:.0f}–{e['eval_wall_s_max']:.0f} s of wall "
                         f"time (median {e['eval_wall_s_median']:.0f} s).")
            for name, d in e.get("depth_classes", {}).items():
                lines.append(f"* {g}, generators with {name} convolution nodes (product of the node counts): "
                             f"{d['generators']}, means {d['mean_range'][0]:.2f}–{d['mean_range'][1]:.2f}, standard "
                             f"deviations {d['sd_range'][0]:.2f}–{d['sd_range'][1]:.2f}.")
        lines.append("")
    sr = summary.get("search") or {}
    if sr.get("strategies"):
        ats = sorted({int(k[3:]) for e in sr["strategies"].values() for k in e if k.startswith("at_")})
        lines += ["| strategy | seeds | " + " | ".join(f"best valid error @{a}" for a in ats)
                  + " | test error of incumbent @final | trained | s / proposal | median params proposed "
                  "| incumbent's nodes per level (top-mid-bottom), per seed |",
                  "| --- | --- | " + " | ".join("---" for _ in ats) + " | --- | --- | --- | --- | --- |"]
        for s, e in sr["strategies"].items():
            cells = [f"{e[f'at_{a}']['best_valid_error']:.4f} ± {e[f'at_{a}']['se']:.4f}" for a in ats]
            fin = e[f"at_{ats[-1]}"]
            lines.append(f"| {LABELS.get(s, s)} | {len(sr['seeds'])} | " + " | ".join(cells)
                         + f" | {fin['test_error_of_incumbent']:.4f} ± {fin['test_se']:.4f} | {e['trained']} | "
                         f"{e['propose_s_mean']:.2f} | {e['median_params_proposed']:.0f} | {', '.join(e['incumbent_shapes'])} |")
        lines += [""] + [f"* {comparison_line(LABELS[a], LABELS[b], c, 'at the final evaluation')}"
                         for (a, b), c in search_tests(sr).items()]
    return "\n".join(lines) + "\n"


def search_tests(sr: dict) -> dict:
    """Paired tests of the final best validation error, BANAT against each other strategy."""
    st, seeds = sr["strategies"], sr["seeds"]
    if "banat" not in st:
        return {}
    base = dict(zip(seeds, st["banat"]["per_seed_final"]))
    return {("banat", s): paired(base, dict(zip(seeds, e["per_seed_final"]))) for s, e in st.items() if s != "banat"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--data", default=str(HERE), help="the folder of the raw data (full_size.sh: full/)")
    ap.add_argument("--from-runs", action="store_true", help="first put DATA/search_runs/ into DATA/search_results.csv")
    args = ap.parse_args()
    data = Path(args.data)
    if args.from_runs:
        rebuild_search_csv(data / "search_runs", data / "search_results.csv")
    out = Path(args.out)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = {"fig2": fig2(plt, out, data), "search": search(plt, out, data)}
    if not summary["fig2"] and not summary["search"]:
        print("no results yet", file=sys.stderr)
        return 1
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    md = markdown(summary)
    (out / "summary.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
