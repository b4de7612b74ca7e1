"""Strategy comparison: BANAT, BANAT (WL), regularized evolution and random search on `hnb201`
with the harder embedded task `clutterdigits`.

    nohup .venv/bin/python experiments/strategy_comparison/run.py > experiments/strategy_comparison/run.log 2>&1 &
    .venv/bin/python experiments/strategy_comparison/analyse.py      # curves, table, CSV

Every (strategy, seed) is one ordinary search (``algebraic_nas.search.run_search``) in
``runs/STRATEGY-sSEED``. The budget grows in rounds (``--rounds 25 50``): every run first gets
25 evaluations, then all are resumed to 50, so that an interrupted experiment still has every
strategy and seed at the same depth. Re-running the command resumes where it stopped.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # cache_eval

STRATEGIES = ("random", "evolution", "banat", "banat_wl")

# The acquisition optimiser is scaled down from the paper's BANAT settings (pool 200, tournament 40, 10-50
# generations) to fit 6 BANAT runs x 40 proposals into the time of this experiment on a shared
# 2-core CPU; the structure (10 best + random pool, tournament, top-2 parents, mutation 0.5,
# crossover 0.25, self-crossover 0.25, patience) is unchanged.
ACQUISITION = [
    "strategy.evolution.pool_size=100", "strategy.evolution.tournament_size=20",
    "strategy.evolution.min_generations=5", "strategy.evolution.max_generations=15",
    "strategy.evolution.patience=3",
]


def overrides(strategy: str, seed: int, evaluations: int, epochs: int) -> list[str]:
    o = [
        "grammar=hnb201", "dataset=clutterdigits", "protocol=quick", f"protocol.epochs={epochs}",
        "protocol.cpu_threads=1", f"strategy={strategy}", f"seed={seed}", "eval_seed=0",
        f"budget.evaluations={evaluations}", "budget.wall_time_s=null", "progress=log", "report=false",
        "executor=inprocess", "device=cpu", "evaluation_function=cache_eval:evaluate",
    ]
    return o + (ACQUISITION if strategy.startswith("banat") else [])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rounds", type=int, nargs="+", default=[25, 50], help="growing evaluation budgets")
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--out", default=str(HERE / "runs"))
    args = ap.parse_args()

    import torch
    from hydra import compose, initialize_config_module

    from algebraic_nas.search.config import register_configs
    from algebraic_nas.search.runner import run_search

    torch.set_num_threads(1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    register_configs()
    for budget in args.rounds:
        for seed in args.seeds:
            for strategy in args.strategies:
                run_dir = Path(args.out) / f"{strategy}-s{seed}"
                t0 = time.time()
                with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
                    cfg = compose("search", overrides=overrides(strategy, seed, budget, args.epochs))
                result = run_search(cfg, run_dir)
                best = result.best.valid_error if result.best else None
                logging.info("round %d: %s seed %d done in %.0f s, best valid error %s, counts %s",
                             budget, strategy, seed, time.time() - t0, best, result.counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
