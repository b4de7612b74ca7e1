"""Tables and plots of the multi-objective experiment, from the committed per-evaluation data
``evaluations.csv``; writes ``summary.json``, ``summary.md``, ``fronts_hnag_rnag.png`` and
``hypervolume.png`` into ``--out`` (default: this folder).

    .venv/bin/python experiments/multi_objective/analyse.py [--out DIR]
    .venv/bin/python experiments/multi_objective/analyse.py --from-runs [RUNS]   # first rebuild evaluations.csv from runs/

Only ``--from-runs`` writes ``evaluations.csv`` (from the run directories, not committed), so
re-running on a fresh clone regenerates the derived files and never changes the data.

Hypervolumes use ``algebraic_nas.search.pareto`` (BoTorch's box decompositions): error linear,
memory per sample in log10, both minimised, with ONE reference point per part computed by the
package's rule (nadir + 0.1 x range) over every evaluation of every run of that part, so runs are
comparable. A failed evaluation adds nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from mps import NAME as MPS  # noqa: E402
from reporting import comparison_line, paired, save_figure  # noqa: E402

from algebraic_nas.search.pareto import hypervolume, hypervolume_trace, objective_matrix, pareto_mask, reference_point  # noqa: E402

NAMES = ["valid_error", MPS]
LABELS = {"mo_banat": "MO-BANAT (qLogNEHVI)", "mo_evolution": "MO evolution (NSGA-II ranking)",
          "mo_random": "MO random search", "nsga2": "Optuna NSGA-II"}


def load_run(d: Path) -> list[dict]:
    """The run's evaluations in order: ``{valid_error, MPS, term, propose_time_s}`` (NaN when failed)."""
    if (d / "trials.csv").exists():
        with open(d / "trials.csv") as f:
            rows = list(csv.DictReader(f))
        return [{"valid_error": float(r["valid_error"]) if r["valid_error"] else math.nan,
                 MPS: float(r[MPS]) if r[MPS] else math.nan, "term": r["term"],
                 "propose_time_s": float(r["propose_time_s"] or 0)} for r in rows]
    from algebraic_nas.search.store import Store

    with Store(d, readonly=True) as st:
        rows = [r for r in st.rows(order="finished") if r.finished]
    return [{"valid_error": r.objectives.get("valid_error", math.nan) if r.status == "done" else math.nan,
             MPS: r.objectives.get(MPS, math.nan), "term": r.term, "propose_time_s": r.propose_time_s or 0.0}
            for r in rows]


def matrix(points: list[dict]) -> np.ndarray:
    return objective_matrix([{k: p[k] for k in NAMES if not math.isnan(p[k])} for p in points], NAMES)


def save(fig, ax, path: Path, xlabel: str, ylabel: str, title: str) -> None:
    import matplotlib.pyplot as plt

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def part_b(runs: dict[tuple, list[dict]], out: Path) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b = {k: v for k, v in runs.items() if k[0] == "nago_hnag"}
    if not b:
        return {}
    n_all = min(len(v) for v in b.values())
    ref = reference_point(np.vstack([matrix(v[:n_all]) for v in b.values()]))
    strategies = sorted({s for _, s, _ in b}, key=list(LABELS).index)
    result: dict = {"reference_point": ref.tolist(), "strategies": {}}
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    n = min(len(v) for v in b.values())  # every run at the same depth (an interrupted round is cut)
    for s in strategies:
        traces = [hypervolume_trace(matrix(v[:n]), ref) for (g, s2, _), v in sorted(b.items()) if s2 == s]
        arr = np.array([t[:n] for t in traces])
        mean = arr.mean(axis=0)
        se = arr.std(axis=0, ddof=1) / math.sqrt(len(arr)) if len(arr) > 1 else np.zeros(n)
        x = np.arange(1, n + 1)
        ax.plot(x, mean, label=f"{LABELS[s]} ({len(arr)} seeds)")
        ax.fill_between(x, mean - se, mean + se, alpha=0.2)
        seeds = [seed for (g, s2, seed) in sorted(b) if s2 == s]
        propose = [np.mean([p["propose_time_s"] for p in b[("nago_hnag", s, seed)][:n]]) for seed in seeds]
        result["strategies"][s] = {
            "seeds": seeds, "evaluations": n, "hv_final_mean": float(mean[-1]), "hv_final_se": float(se[-1]),
            "hv_final_per_seed": arr[:, -1].tolist(), "hv_mean_by_evaluation": mean.tolist(),
            "hv_se_by_evaluation": se.tolist(), "mean_propose_time_s": float(np.mean(propose)),
        }
    save(fig, ax, out / "hypervolume.png", "evaluations", "hypervolume (error, log10 MPS)",
         "nago_hnag on clutterdigits (1 epoch): mean ± 1 s.e. over seeds")
    return result


def dominated_share(a: np.ndarray, b: np.ndarray) -> float:
    """Share of b's front points that some point of a's front dominates."""
    dom = [any((p <= q).all() and (p < q).any() for p in a) for q in b]
    return float(np.mean(dom)) if len(dom) else math.nan


def part_a(runs: dict[tuple, list[dict]], out: Path) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seeds = sorted(seed for (g, st, seed) in runs if g == "rnag" and st == "mo_banat"
                   and ("nago_hnag", "mo_banat", seed) in runs)
    if not seeds:
        return {}
    pair = {g: runs[(g, "mo_banat", seeds[0])] for g in ("nago_hnag", "rnag")}  # the figure: the first seed
    n = min(len(runs[(g, "mo_banat", seed)]) for g in pair for seed in seeds)  # the same budget
    ref = reference_point(np.vstack([matrix(runs[(g, "mo_banat", seed)][:n]) for g in pair for seed in seeds]))
    ys = {g: matrix(v[:n]) for g, v in pair.items()}
    fronts = {g: y[pareto_mask(y, deduplicate=True)] for g, y in ys.items()}
    per_seed = {g: {seed: hypervolume(matrix(runs[(g, "mo_banat", seed)][:n]), ref) for seed in seeds} for g in pair}

    fig, ax = plt.subplots(figsize=(6, 4.2))
    colours = {"nago_hnag": "firebrick", "rnag": "steelblue"}
    res: dict = {"evaluations": n, "reference_point": ref.tolist(), "seeds": seeds,
                 "hypervolume_per_seed": {g: list(v.values()) for g, v in per_seed.items()},
                 "paired": paired(per_seed["nago_hnag"], per_seed["rnag"], lower_is_better=False)}
    for g, y in ys.items():
        raw = objective_matrix([{k: p[k] for k in NAMES if not math.isnan(p[k])} for p in pair[g][:n]], NAMES,
                               transformed=False)
        ok = ~np.isnan(raw).any(axis=1)
        ax.scatter(raw[ok, 1], raw[ok, 0], s=14, alpha=0.5, color=colours[g])
        mask = pareto_mask(y)
        f = raw[mask][np.argsort(raw[mask, 1])]
        ax.step(f[:, 1], f[:, 0], where="post", color=colours[g], label=f"{g} front ({mask.sum()} points)")
        res[g] = {"hypervolume": hypervolume(fronts[g], ref), "front": [
            {"valid_error": float(r[0]), MPS: float(r[1]), "term": p["term"]}
            for r, p, on in zip(raw, pair[g][:n], mask) if on]}
    res["share_of_rnag_front_dominated_by_hnag"] = dominated_share(fronts["nago_hnag"], fronts["rnag"])
    res["share_of_hnag_front_dominated_by_rnag"] = dominated_share(fronts["rnag"], fronts["nago_hnag"])
    save(fig, ax, out / "fronts_hnag_rnag.png", "memory per sample (MiB, saved activations)", "validation error",
         f"MO-BANAT, {n} evaluations each, clutterdigits (1 epoch)")
    return res


COLUMNS = ["grammar", "strategy", "seed", "evaluation", *NAMES, "propose_time_s", "term"]


def rebuild_csv(root: Path, path: Path) -> None:
    """``evaluations.csv`` from the run directories under ``root`` (the one step that needs them)."""
    dirs = sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []
    if not dirs:
        raise SystemExit(f"--from-runs: no run directories under {root}; evaluations.csv left as it is")
    runs = {}
    for d in dirs:
        grammar, strategy, seed = d.name.rsplit("-", 2)
        runs[(grammar, strategy, int(seed[1:]))] = load_run(d)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for (g, s, seed), v in sorted(runs.items()):
            w.writerows([g, s, seed, i, p["valid_error"], p[MPS], round(p["propose_time_s"], 4), p["term"]]
                        for i, p in enumerate(v, start=1))


def load_csv(path: Path) -> dict[tuple, list[dict]]:
    """(grammar, strategy, seed) -> the run's evaluations in order (NaN objectives when failed)."""
    runs: dict[tuple, list[dict]] = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            runs.setdefault((r["grammar"], r["strategy"], int(r["seed"])), []).append(
                {"valid_error": float(r["valid_error"]), MPS: float(r[MPS]), "term": r["term"],
                 "propose_time_s": float(r["propose_time_s"])})
    return runs


def tests_b(part: dict) -> list[str]:
    """Paired tests of the final hypervolume: MO-BANAT against each other strategy (higher is better)."""
    st = part.get("strategies", {})
    if "mo_banat" not in st:
        return []
    base = dict(zip(st["mo_banat"]["seeds"], st["mo_banat"]["hv_final_per_seed"]))
    lines = []
    for s, r in st.items():
        if s != "mo_banat":
            c = paired(base, dict(zip(r["seeds"], r["hv_final_per_seed"])), lower_is_better=False)
            lines.append("* " + comparison_line(LABELS["mo_banat"], LABELS[s], c,
                                                f"(hypervolume at {r['evaluations']} evaluations)"))
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--from-runs", nargs="?", const=str(HERE / "runs"), default=None, metavar="RUNS")
    args = ap.parse_args()
    if args.from_runs:
        rebuild_csv(Path(args.from_runs), HERE / "evaluations.csv")
    out = Path(args.out)
    runs = load_csv(HERE / "evaluations.csv")
    summary = {"part_a": part_a(runs, out), "part_b": part_b(runs, out),
               "runs": {f"{g}-{s}-s{seed}": len(v) for (g, s, seed), v in sorted(runs.items())}}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = ["| strategy | seeds | evaluations | hypervolume (mean ± 1 s.e.) | per seed | s / proposal |",
             "| --- | --- | --- | --- | --- | --- |"]
    for s, r in summary["part_b"].get("strategies", {}).items():
        lines.append(f"| {LABELS[s]} | {len(r['seeds'])} | {r['evaluations']} | {r['hv_final_mean']:.4f} ± "
                     f"{r['hv_final_se']:.4f} | {', '.join(f'{v:.4f}' for v in r['hv_final_per_seed'])} | "
                     f"{r['mean_propose_time_s']:.2f} |")
    lines += ["", *tests_b(summary["part_b"])]
    a = summary["part_a"]
    if a:
        lines += ["", "* " + comparison_line("HNAG", "RNAG", a["paired"], f"(MO-BANAT, hypervolume at {a['evaluations']} "
                                                             f"evaluations, search seeds {a['seeds']})"),
                  "", f"HNAG vs RNAG, search seed {a['seeds'][0]} ({a['evaluations']} evaluations each): hypervolume "
                  f"HNAG {a['nago_hnag']['hypervolume']:.4f}, RNAG {a['rnag']['hypervolume']:.4f}; share of RNAG's "
                  f"front dominated by HNAG's {a['share_of_rnag_front_dominated_by_hnag']:.2f}, of HNAG's by RNAG's "
                  f"{a['share_of_hnag_front_dominated_by_rnag']:.2f}. Fronts (validation error, MPS in MiB): "
                  + "; ".join(f"{g}: " + ", ".join(f"({p['valid_error']:.3f}, {p[MPS]:.3f})" for p in a[g]["front"])
                              for g in ("nago_hnag", "rnag"))]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
