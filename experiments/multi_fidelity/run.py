"""Multi-fidelity pilot on ``hnb201`` / ``clutterdigits``: BOHB with continuation, BOHB retraining
every rung, Hyperband (random terms, continuation), BANAT at full fidelity and random search, at
equal total training epochs per run.

    nohup .venv/bin/python experiments/multi_fidelity/run.py --seeds 0 1 2 --epochs-budget 24 --deadline 07:14 \\
        > experiments/multi_fidelity/run.log 2>&1 &
    .venv/bin/python experiments/multi_fidelity/analyse.py

Every (method, seed) is one ordinary search (``run_search``) in ``runs/METHOD-sSEED`` on two
Dask workers (one ``LocalCluster`` of 2 single-threaded processes shared by all runs, so worker
start-up is paid once). Compute is the budget: a run stops proposing once the training epochs
of its finished and running evaluations reach ``--epochs-budget`` (a continued evaluation counts
only the epochs it trains; the driver is the package's, with this one extra stop rule). The
full fidelity is the ``quick`` protocol's 4 epochs; the multi-fidelity methods use rungs 1, 2, 4
(η = 2). Runs go seed by seed, so an interrupted pilot has whole seeds; ``--deadline HH:MM``
(UTC) starts no run after that time. Re-running resumes (a finished run is skipped).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FULL_EPOCHS = 4

# the acquisition optimiser scaled down as in experiments/strategy_comparison (compute)
ACQUISITION = ["pool_size=100", "tournament_size=20", "min_generations=5", "max_generations=15", "patience=3"]
MULTI_FIDELITY = ["strategy.eta=2", "strategy.min_fidelity=1", f"strategy.max_fidelity={FULL_EPOCHS}"]
METHODS: dict[str, list[str]] = {
    "bohb_continue": ["strategy=bohb", "strategy.continue_training=true", "strategy.min_points=3",
                      *MULTI_FIDELITY, *(f"strategy.model.evolution.{a}" for a in ACQUISITION)],
    "bohb_retrain": ["strategy=bohb", "strategy.continue_training=false", "strategy.min_points=3",
                     *MULTI_FIDELITY, *(f"strategy.model.evolution.{a}" for a in ACQUISITION)],
    "hyperband": ["strategy=hyperband", "strategy.continue_training=true", *MULTI_FIDELITY],
    "banat": ["strategy=banat", "strategy.n_initial=2", *(f"strategy.evolution.{a}" for a in ACQUISITION)],
    "random": ["strategy=random"],
}


def overrides(method: str, seed: int, address: str) -> list[str]:
    return [
        "grammar=hnb201", "dataset=clutterdigits", "protocol=quick", f"protocol.epochs={FULL_EPOCHS}",
        "protocol.cpu_threads=1", f"seed={seed}", "eval_seed=0", "budget.evaluations=1000",
        "budget.wall_time_s=null", "progress=log", "report=true", "executor=dask", f"executor.address={address}",
        "n_workers=2", "device=cpu", "checkpoints=best", *METHODS[method],
    ]


def epochs_of(record: Any, fidelity: dict) -> float:
    """Training epochs an evaluation cost (its record's ``epochs_trained``; else the fidelity's)."""
    rec = record or {}
    for v in (rec.get("epochs_trained"), fidelity.get("epochs"), FULL_EPOCHS):
        if isinstance(v, (int, float)) and v > 0:
            return float(v)
    return 0.0


def epoch_budget_driver(budget_epochs: float) -> type:
    """The package's driver with one more stop rule: no new evaluation once the epochs of the
    finished ones plus those the running ones will train reach ``budget_epochs``."""
    from algebraic_nas.search.driver import Driver

    class EpochBudgetDriver(Driver):
        def committed_epochs(self) -> float:
            rows = self.store.rows()
            done = sum(epochs_of(r.result, r.fidelity) for r in rows if r.finished)
            saved = {r.saved_checkpoint: (r.result or {}).get("epochs", 0) for r in rows if r.saved_checkpoint}
            running = 0.0
            for p in self.pending.values():
                e = float(p.fidelity.get("epochs", FULL_EPOCHS))
                running += e - float(saved.get(p.checkpoint, 0) if p.checkpoint else 0)
            return done + running

        def _may_submit(self, finished: int) -> bool:
            return super()._may_submit(finished) and self.committed_epochs() < budget_epochs

    return EpochBudgetDriver


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--epochs-budget", type=float, default=24.0, help="training epochs per run")
    ap.add_argument("--deadline", default=None, help="UTC HH:MM after which no run starts")
    ap.add_argument("--out", default=str(HERE / "runs"))
    args = ap.parse_args()

    from distributed import LocalCluster
    from hydra import compose, initialize_config_module

    import algebraic_nas.search.runner as runner
    from algebraic_nas.search.config import register_configs
    from algebraic_nas.search.store import Store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    register_configs()
    runner.Driver = epoch_budget_driver(args.epochs_budget)  # run_search builds this driver
    deadline = None
    if args.deadline:
        hh, mm = map(int, args.deadline.split(":"))
        now = dt.datetime.now(dt.timezone.utc)
        deadline = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        for seed in args.seeds:
            for method in args.methods:
                run_dir = Path(args.out) / f"{method}-s{seed}"
                if deadline is not None and dt.datetime.now(dt.timezone.utc) >= deadline:
                    logging.info("deadline %s passed: %s seed %d not run", args.deadline, method, seed)
                    continue
                if (run_dir / "report" / "summary.json").exists():
                    logging.info("%s seed %d: done before, skipped", method, seed)
                    continue
                t0 = time.time()
                with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
                    cfg = compose("search", overrides=overrides(method, seed, cluster.scheduler_address))
                result = runner.run_search(cfg, run_dir)
                with Store(run_dir, readonly=True) as store:
                    epochs = sum(epochs_of(r.result, r.fidelity) for r in store.rows() if r.finished)
                best = result.best.valid_error if result.best else None
                logging.info("%s seed %d: %.0f s, %d evaluations, %.0f epochs, best %s", method, seed,
                             time.time() - t0, result.counts.get("done", 0) + result.counts.get("failed", 0),
                             epochs, best)
    return 0


if __name__ == "__main__":
    sys.exit(main())
