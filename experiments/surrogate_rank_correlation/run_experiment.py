"""The paper's Fig. 3: Kendall's tau of GP predictions vs number of training architectures.

Reads ``data.csv`` (made by ``generate_data.py``), and for 20 random splits (seeds 0..19) and
training sizes 10, 25, 50, 100, 200, 400 fits ``GraphGP`` with the ``hwl``, ``wl`` and ``nasbot``
kernels on the first n architectures of a shuffled training pool and scores Kendall's tau between
the predicted mean and the true validation error on a held-out test set (fixed per split).
Writes the raw results ``results.csv`` (one row per split, size and kernel, with the WL depth h
the marginal likelihood chose) and ``optimizer.csv`` (Adam vs L-BFGS, one row per split and
optimiser), then runs ``analyse.py`` on them (tables, tests, figure).

``wl_wide`` and ``hwl_wide`` are WL and hWL with the flat WL depth chosen from h ∈ {0..10}
instead of {0..4}: with the narrow grid both chose its top, h = 4, in most fits, so the grid
and not the kernel may limit them.

    .venv/bin/python experiments/surrogate_rank_correlation/run_experiment.py   # ~10 min on 1 core
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau

HERE = Path(__file__).parent
KERNELS = ("hwl", "wl", "nasbot", "wl_wide", "hwl_wide")
WIDE_HS = tuple(range(11))  # the flat WL depths of the *_wide kernels


def make_gp(kernel: str, g, graphs, optimizer: str):
    """The GP of a kernel name of this experiment (``*_wide``: flat WL depth h in 0..10)."""
    from algebraic_nas.surrogate import GraphGP

    base, wide = kernel.removesuffix("_wide"), kernel.endswith("_wide")
    return GraphGP(base, grammar=g, graphs=graphs, optimizer=optimizer, **({"flat_hs": WIDE_HS} if wide else {}))
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


def compare_optimizers(g, graphs, terms, y, args, pool_size: int) -> list[dict]:
    """Adam (20 steps, lr 0.1, the reference) vs L-BFGS (20 iterations, strong Wolfe) for the hWL
    GP: per split, the best negative log marginal likelihood / n reached, Kendall tau, fit time."""
    from algebraic_nas.surrogate import GraphGP

    rows = []
    n = args.optimizer_n
    for split in range(args.splits):
        perm = np.random.default_rng(split).permutation(len(terms))
        test, tr = perm[:args.test], perm[args.test:][:n]
        for opt in ("adam", "lbfgs"):
            t0 = time.time()
            gp = GraphGP("hwl", grammar=g, graphs=graphs, optimizer=opt).fit([terms[i] for i in tr], y[tr])
            dt = time.time() - t0
            mean, _ = gp.predict([terms[i] for i in test])
            rows.append({"split": split, "n_train": n, "optimizer": opt, "neg_log_ml_per_n": float(gp.loss_),
                         "tau": float(np.nan_to_num(kendalltau(mean, y[test]).statistic)), "fit_s": round(dt, 3)})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(HERE / "data.csv"))
    p.add_argument("--splits", type=int, default=20)
    p.add_argument("--test", type=int, default=100, help="test-set size per split")
    p.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    p.add_argument("--kernels", nargs="*", default=list(KERNELS))
    p.add_argument("--out", default=str(HERE))
    p.add_argument("--optimizer", default="adam", help="GP optimiser of the main figure (the reference's)")
    p.add_argument("--keep-other-kernels", action="store_true",
                   help="keep the rows of the kernels not run from OUT/results.csv (add kernels to a finished run)")
    p.add_argument("--optimizer-n", type=int, default=100,
                   help="training size of the Adam vs L-BFGS comparison (0: skip)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=UserWarning)

    from algebraic_nas.grammar import load_grammar
    from algebraic_nas.surrogate import TermGraphs

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
                gp = make_gp(kernel, g, graphs, args.optimizer).fit([terms[i] for i in tr], y[tr])
                mean, _ = gp.predict([terms[i] for i in test])
                tau = float(kendalltau(mean, y[test]).statistic)
                results.append({"split": split, "n_train": n, "kernel": kernel, "tau": tau,
                                "fit_predict_s": round(time.time() - t0, 3), "h": gp.h})
        print(f"split {split} done ({time.time() - t_start:.0f}s)", flush=True)

    if args.keep_other_kernels and (out / "results.csv").exists():
        with (out / "results.csv").open(newline="") as f:
            results += [r for r in csv.DictReader(f) if r["kernel"] not in args.kernels]
        order = {k: i for i, k in enumerate(KERNELS)}
        results.sort(key=lambda r: (int(r["split"]), int(r["n_train"]), order.get(r["kernel"], len(order))))
    with (out / "results.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(results[0]))
        w.writeheader()
        w.writerows(results)
    if args.optimizer_n and args.optimizer_n <= pool_size:
        opt_rows = compare_optimizers(g, graphs, terms, y, args, pool_size)
        with (out / "optimizer.csv").open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(opt_rows[0]))
            w.writeheader()
            w.writerows(opt_rows)
    sys.path.insert(0, str(HERE))
    import analyse

    return analyse.main(["--out", str(out), "--raw", str(out), "--data", args.data])


if __name__ == "__main__":
    sys.exit(main())
