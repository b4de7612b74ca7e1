"""Tables, tests and the figure of the surrogate rank-correlation experiment, from its committed
raw data.

    .venv/bin/python experiments/surrogate_rank_correlation/analyse.py [--out DIR]

Reads ``data.csv`` (the trained architectures), ``results.csv`` (one GP fit per split, training
size and kernel: Kendall's τ on the split's test set, the WL depth h chosen) and
``optimizer.csv`` (Adam vs L-BFGS per split); writes ``table.md`` (mean τ ± 1 s.e. over the
splits, and paired tests over splits of hWL against WL with the wide h grid), ``h_choice.md``
(which h the marginal likelihood chose), ``seed_noise.md``, ``optimizer.md`` and
``fig3_kendall_tau.png`` into ``--out`` (default: this folder).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from reporting import comparison_line, mean_se, paired, save_figure  # noqa: E402

NAMES = {"hwl": "hWL", "wl": "WL", "nasbot": "NASBOT-like", "wl_wide": "WL (h ≤ 10)", "hwl_wide": "hWL (h ≤ 10)"}


def read(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def seed_noise(rows: list[dict]) -> str:
    """Validation-error spread across seeds of the same architecture against across architectures."""
    main = [r for r in rows if int(r["seed"]) == 0 and r["outcome"] == "ok"]
    by_arch: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["outcome"] == "ok":
            by_arch[r["term"]].append(float(r["valid_error"]))
    multi = {t: v for t, v in by_arch.items() if len(v) > 1}
    within = [float(np.std(v, ddof=1)) for v in multi.values()]
    pooled = math.sqrt(float(np.mean([s**2 for s in within]))) if within else float("nan")
    errors = [float(r["valid_error"]) for r in main]
    across = float(np.std(errors, ddof=1))
    q = np.quantile(errors, [0.25, 0.5, 0.75])
    lines = ["| quantity | value |", "| --- | --- |",
             f"| architectures trained with several seeds | {len(multi)} ({', '.join(str(len(v)) for v in multi.values())} seeds) |"]
    for k, v in enumerate(multi.values()):
        lines.append(f"| arch {k}: validation errors over seeds | {', '.join(f'{x:.3f}' for x in v)} (sd {np.std(v, ddof=1):.3f}) |")
    lines += [f"| pooled sd across seeds (same architecture) | {pooled:.3f} |",
              f"| sd across architectures (seed 0, n = {len(main)}) | {across:.3f} |",
              f"| ratio across / within | {across / pooled:.1f} |",
              f"| validation error over the {len(main)} architectures: min, quartiles, max | {min(errors):.3f}, "
              f"{q[0]:.3f} / {q[1]:.3f} / {q[2]:.3f}, {max(errors):.3f} |",
              f"| share of architectures above 0.85 | {np.mean(np.array(errors) > 0.85):.2f} |"]
    wall = [float(r["wall_time_s"]) for r in rows if r["outcome"] == "ok"]
    lines.append(f"| training wall time of the {len(wall)} runs: total, median per run | {sum(wall) / 60:.0f} min, "
                 f"{float(np.median(wall)):.1f} s |")
    return "\n".join(lines) + "\n"


def taus(results: list[dict]) -> dict[tuple[str, int], dict[int, float]]:
    """(kernel, n) -> split -> τ (an undefined τ of a constant prediction counts as 0)."""
    out: dict[tuple[str, int], dict[int, float]] = defaultdict(dict)
    for r in results:
        t = float(r["tau"])
        out[r["kernel"], int(r["n_train"])][int(r["split"])] = 0.0 if math.isnan(t) else t
    return out


def table(results: list[dict]) -> str:
    kernels = list(dict.fromkeys(r["kernel"] for r in results))
    sizes = sorted({int(r["n_train"]) for r in results})
    t = taus(results)
    lines = ["| n train | " + " | ".join(NAMES.get(k, k) for k in kernels) + " |", "| --- |" + " --- |" * len(kernels)]
    for n in sizes:
        stats = {k: mean_se(list(t[k, n].values())) for k in kernels}
        best = max(kernels, key=lambda k: stats[k][0])
        cells = [f"{stats[k][0]:.3f} ± {stats[k][1]:.3f}" for k in kernels]
        lines.append(f"| {n} | " + " | ".join(f"**{c}**" if k == best else c for k, c in zip(kernels, cells)) + " |")
    lines += ["", "Paired over the splits (each split: one test set, nested training sets; 'better' = higher τ):", ""]
    for a, b in (("hwl", "wl"), ("hwl", "wl_wide"), ("hwl_wide", "wl_wide"), ("wl_wide", "wl"), ("wl_wide", "nasbot"),
                 ("hwl", "nasbot")):
        if a in kernels and b in kernels:
            for n in sizes:
                c = paired(t[a, n], t[b, n], lower_is_better=False)
                lines.append("* " + comparison_line(NAMES[a], NAMES[b], c, f"at n = {n}").replace("seeds", "splits"))
    return "\n".join(lines) + "\n"


def h_choice(results: list[dict]) -> str:
    kernels = [k for k in dict.fromkeys(r["kernel"] for r in results) if k != "nasbot"]
    sizes = sorted({int(r["n_train"]) for r in results})
    lines = ["Flat WL depth h chosen by the marginal likelihood (count of fits per h):", "",
             "| kernel | " + " | ".join(f"n = {n}" for n in sizes) + " |", "| --- |" + " --- |" * len(sizes)]
    for k in kernels:
        cells = []
        for n in sizes:
            c = Counter(int(r["h"]) for r in results if r["kernel"] == k and int(r["n_train"]) == n and r["h"] != "")
            cells.append(", ".join(f"h={h}: {c[h]}" for h in sorted(c)))
        lines.append(f"| {NAMES.get(k, k)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def optimizer(rows: list[dict]) -> str:
    by: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by[r["optimizer"]].append(r)
    n = rows[0]["n_train"]
    lines = [f"hWL GP, n = {n}, {len(by['adam'])} splits (mean ± s.e.)", "",
             "| optimiser | neg. log ML / n (lower is better) | Kendall τ | fit time (s) |", "| --- | --- | --- | --- |"]
    for opt, v in by.items():
        a = np.array([[float(r["neg_log_ml_per_n"]), float(r["tau"]), float(r["fit_s"])] for r in v])
        m, se = a.mean(0), a.std(0, ddof=1) / math.sqrt(len(a))
        lines.append(f"| {opt} | {m[0]:.4f} ± {se[0]:.4f} | {m[1]:.3f} ± {se[1]:.3f} | {m[2]:.2f} |")
    wins = sum(float(lb["neg_log_ml_per_n"]) < float(ad["neg_log_ml_per_n"]) for lb, ad in zip(by["lbfgs"], by["adam"]))
    lines.append(f"\nL-BFGS reached a higher marginal likelihood than Adam in {wins} of {len(by['adam'])} splits.")
    return "\n".join(lines) + "\n"


def figure(results: list[dict], dataset: str, n_arch: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kernels = list(dict.fromkeys(r["kernel"] for r in results))
    sizes = sorted({int(r["n_train"]) for r in results})
    splits = len({r["split"] for r in results})
    t = taus(results)
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for k, style in zip(kernels, ("o-", "s--", "^:", "s-.", "o-.")):
        stats = [mean_se(list(t[k, n].values())) for n in sizes]
        m, se = np.array([s[0] for s in stats]), np.array([s[1] for s in stats])
        ax.plot(sizes, m, style, label=NAMES.get(k, k))
        ax.fill_between(sizes, m - se, m + se, alpha=0.2)
    ax.set_xscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(s) for s in sizes])
    ax.set_xlabel("number of training architectures")
    ax.set_ylabel("Kendall's τ (test set)")
    ax.set_title(f"hnb201 on {dataset} ({n_arch} archs, {splits} splits): mean ± 1 s.e.", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--raw", default=str(HERE), help="the folder of results.csv and optimizer.csv")
    ap.add_argument("--data", default=str(HERE / "data.csv"))
    args = ap.parse_args(argv)
    out, raw = Path(args.out), Path(args.raw)
    rows = read(Path(args.data))
    results = read(raw / "results.csv")
    (out / "table.md").write_text(table(results))
    (out / "h_choice.md").write_text(h_choice(results))
    (out / "seed_noise.md").write_text(seed_noise(rows))
    (out / "optimizer.md").write_text(optimizer(read(raw / "optimizer.csv")))
    main_rows = [r for r in rows if int(r["seed"]) == 0 and r["outcome"] == "ok"]
    figure(results, main_rows[0]["dataset"], len(main_rows), out / "fig3_kendall_tau.png")
    print((out / "table.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
