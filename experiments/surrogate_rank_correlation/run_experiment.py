"""The paper's Fig. 3: Kendall's tau of GP predictions vs number of training architectures.

Reads ``data.csv`` (made by ``generate_data.py``), and for 20 random splits (seeds 0..19) and
training sizes 10, 25, 50, 100, 200, 400 fits ``GraphGP`` with the ``hwl``, ``wl`` and ``nasbot``
kernels on the first n architectures of a shuffled training pool and scores Kendall's tau between
the predicted mean and the true validation error on a held-out test set (fixed per split).
Writes ``results.csv`` (one row per split, size and kernel), ``fig3_kendall_tau.png`` and
``table.md`` (mean ± 1 standard error), and the seed-noise check ``seed_noise.md``.

    .venv/bin/python experiments/surrogate_rank_correlation/run_experiment.py
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau

HERE = Path(__file__).parent
KERNELS = ("hwl", "wl", "nasbot")
SIZES = (10, 25, 50, 100, 200, 400)


def load(path: Path) -> tuple[list[dict], list[dict]]:
    """(seed-0 rows that trained ok, all rows)."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    shas = {r["data_sha"] for r in rows}
    if len(shas) > 1:
        raise SystemExit(f"{path} mixes dataset versions {sorted(shas)}; regenerate")
    main = [r for r in rows if int(r["seed"]) == 0 and r["outcome"] == "ok"]
    return main, rows


def seed_noise(rows: list[dict], main: list[dict]) -> str:
    by_arch: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r["outcome"] == "ok":
            by_arch[r["term"]].append(float(r["valid_error"]))
    multi = {t: v for t, v in by_arch.items() if len(v) > 1}
    within = [float(np.std(v, ddof=1)) for v in multi.values()]
    pooled = math.sqrt(float(np.mean([s**2 for s in within]))) if within else float("nan")
    across = float(np.std([float(r["valid_error"]) for r in main], ddof=1))
    lines = [
        "| quantity | value |",
        "| --- | --- |",
        f"| architectures trained with several seeds | {len(multi)} ({', '.join(str(len(v)) for v in multi.values())} seeds) |",
    ]
    for k, (t, v) in enumerate(multi.items()):
        lines.append(f"| arch {k}: validation errors over seeds | {', '.join(f'{x:.3f}' for x in v)} (sd {np.std(v, ddof=1):.3f}) |")
    lines += [
        f"| pooled sd across seeds (same architecture) | {pooled:.3f} |",
        f"| sd across architectures (seed 0, n = {len(main)}) | {across:.3f} |",
        f"| ratio across / within | {across / pooled:.1f} |",
    ]
    return "\n".join(lines)


def compare_optimizers(g, graphs, terms, y, args, pool_size: int) -> str:
    """Adam (20 steps, lr 0.1, the reference) vs L-BFGS (20 iterations, strong Wolfe) for the hWL
    GP: best negative log marginal likelihood / n reached, Kendall tau and fit time."""
    from algebraic_nas.surrogate import GraphGP

    res: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    n = args.optimizer_n
    for split in range(args.splits):
        perm = np.random.default_rng(split).permutation(len(terms))
        test, tr = perm[:args.test], perm[args.test:][:n]
        for opt in ("adam", "lbfgs"):
            t0 = time.time()
            gp = GraphGP("hwl", grammar=g, graphs=graphs, optimizer=opt).fit([terms[i] for i in tr], y[tr])
            dt = time.time() - t0
            mean, _ = gp.predict([terms[i] for i in test])
            res[opt].append((gp.loss_, float(np.nan_to_num(kendalltau(mean, y[test]).statistic)), dt))
    lines = [f"hWL GP, n = {n}, {args.splits} splits (mean ± s.e.)", "",
             "| optimiser | neg. log ML / n (lower is better) | Kendall τ | fit time (s) |", "| --- | --- | --- | --- |"]
    for opt, v in res.items():
        a = np.array(v)
        m, se = a.mean(0), a.std(0, ddof=1) / math.sqrt(len(a))
        lines.append(f"| {opt} | {m[0]:.4f} ± {se[0]:.4f} | {m[1]:.3f} ± {se[1]:.3f} | {m[2]:.2f} |")
    wins = sum(l < a for (l, _, _), (a, _, _) in zip(res["lbfgs"], res["adam"]))
    lines.append(f"\nL-BFGS reached a higher marginal likelihood than Adam in {wins} of {args.splits} splits.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(HERE / "data.csv"))
    p.add_argument("--splits", type=int, default=20)
    p.add_argument("--test", type=int, default=100, help="test-set size per split")
    p.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    p.add_argument("--kernels", nargs="*", default=list(KERNELS))
    p.add_argument("--out", default=str(HERE))
    p.add_argument("--optimizer", default="adam", help="GP optimiser of the main figure (the reference's)")
    p.add_argument("--optimizer-n", type=int, default=100,
                   help="training size of the Adam vs L-BFGS comparison (0: skip)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)

    from algebraic_nas.grammar import load_grammar
    from algebraic_nas.surrogate import GraphGP, TermGraphs

    out = Path(args.out)
    main_rows, rows = load(Path(args.data))
    g = load_grammar("hnb201")
    terms = [g.parse(r["term"]) for r in main_rows]
    y = np.array([float(r["valid_error"]) for r in main_rows])
    n_all = len(terms)
    pool_size = n_all - args.test
    sizes = [s for s in args.sizes if s <= pool_size]
    dropped = [s for s in args.sizes if s > pool_size]
    print(f"{n_all} architectures; test {args.test}, pool {pool_size}; sizes {sizes}"
          + (f" (dropped {dropped}: too few architectures)" if dropped else ""), flush=True)

    graphs = TermGraphs(g)  # one graph cache shared by every GP
    results = []
    t_start = time.time()
    for split in range(args.splits):
        perm = np.random.default_rng(split).permutation(n_all)
        test, pool = perm[:args.test], perm[args.test:]
        for n in sizes:
            tr = pool[:n]
            for kernel in args.kernels:
                t0 = time.time()
                gp = GraphGP(kernel, grammar=g, graphs=graphs, optimizer=args.optimizer).fit(
                    [terms[i] for i in tr], y[tr])
                mean, _ = gp.predict([terms[i] for i in test])
                tau = float(kendalltau(mean, y[test]).statistic)
                results.append({"split": split, "n_train": n, "kernel": kernel, "tau": tau,
                                "fit_predict_s": round(time.time() - t0, 3), "h": gp.h})
        print(f"split {split} done ({time.time() - t_start:.0f}s)", flush=True)

    with (out / "results.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(results[0]))
        w.writeheader()
        w.writerows(results)

    stats: dict[tuple[str, int], tuple[float, float]] = {}
    for kernel in args.kernels:
        for n in sizes:
            v = np.array([r["tau"] for r in results if r["kernel"] == kernel and r["n_train"] == n])
            v = np.nan_to_num(v)  # a constant prediction has undefined tau: count it as 0
            stats[kernel, n] = (float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0)
    names = {"hwl": "hWL", "wl": "WL", "nasbot": "NASBOT-like"}
    table = ["| n train | " + " | ".join(names[k] for k in args.kernels) + " |",
             "| --- |" + " --- |" * len(args.kernels)]
    for n in sizes:
        best = max(args.kernels, key=lambda k: stats[k, n][0])
        cells = []
        for k in args.kernels:
            m, se = stats[k, n]
            c = f"{m:.3f} ± {se:.3f}"
            cells.append(f"**{c}**" if k == best else c)
        table.append(f"| {n} | " + " | ".join(cells) + " |")
    (out / "table.md").write_text("\n".join(table) + "\n")
    (out / "seed_noise.md").write_text(seed_noise(rows, main_rows) + "\n")
    print("\n".join(table))
    print(seed_noise(rows, main_rows))

    if args.optimizer_n and args.optimizer_n <= pool_size:
        opt_md = compare_optimizers(g, graphs, terms, y, args, pool_size)
        (out / "optimizer.md").write_text(opt_md + "\n")
        print(opt_md)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for k, style in zip(args.kernels, ("o-", "s--", "^:")):
        m = np.array([stats[k, n][0] for n in sizes])
        se = np.array([stats[k, n][1] for n in sizes])
        ax.plot(sizes, m, style, label=names[k])
        ax.fill_between(sizes, m - se, m + se, alpha=0.2)
    ax.set_xscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(s) for s in sizes])
    ax.set_xlabel("number of training architectures")
    ax.set_ylabel("Kendall's τ (test set)")
    ax.set_title(f"hnb201 on {main_rows[0]['dataset']} ({n_all} archs, {args.splits} splits)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "fig3_kendall_tau.png", dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
