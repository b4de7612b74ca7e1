"""Multi-objective search on NAGO's generator spaces: (validation error, memory per sample).

    .venv/bin/python experiments/multi_objective/run.py --rounds 8 12 --seeds 0 1 2

Part A (NAGO Fig. 3 at CPU scale): MO-BANAT on ``nago_hnag`` and on ``rnag``, every seed of
``--seeds`` (unless ``--no-rnag``), the same budget. Part B (one space, ``nago_hnag``): MO-BANAT, MO regularized evolution, MO random search
and Optuna's NSGA-II sampler, seeds ``--seeds``. Part A's HNAG runs are part B's MO-BANAT runs
(same settings, same run directories). Every run has the same first ``INITIAL`` terms per
seed (common random numbers): they are MO random search's first terms (MO-BANAT's initial design
and MO evolution's first population draw them from the same stream; NSGA-II's first generation
is *enqueued* as these terms), so they are trained once (the evaluation cache, ``mo_common.py``).

The package strategies are ordinary searches (``run_search``) in ``runs/GRAMMAR-STRATEGY-sSEED``;
NSGA-II is an Optuna study (``NSGAIISampler(population_size=INITIAL, seed=SEED)``) over the 8
generator numbers of ``nago_hnag`` (issue 10's term template: the same ranges, the same term
string, parsed by the grammar) calling the same cached evaluation, its trials in
``runs/nago_hnag-nsga2-sSEED/trials.csv``. Budgets grow in rounds (every run reaches one budget
before any goes beyond it); an NSGA-II study is replayed from its first trial each round (the
sampler is deterministic given its seed and history, the evaluations come from the cache).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import logging
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ["ALGEBRAIC_NAS_PLUGINS"] = "mps"  # memory_per_sample_mb is a registered objective

import mo_common  # noqa: E402
from mps import NAME as MPS  # noqa: E402

nago_search = mo_common._load("nago_search", HERE.parent / "nago_generators" / "search.py")
OBJECTIVES = ["valid_error", MPS]
INITIAL = 6
STRATEGIES = ("mo_banat", "mo_evolution", "mo_random", "nsga2")
SETTINGS = {
    "mo_banat": [f"strategy.n_initial={INITIAL}"],
    "mo_evolution": [f"strategy.population_size={INITIAL}", "strategy.sample_size=3"],
    "mo_random": [],
}
FIELDS = ["evaluation", "valid_error", MPS, "params", "eval_time_s", "propose_time_s", "cached", "term"]


def run_package(grammar: str, strategy: str, seed: int, evaluations: int, out: Path) -> None:
    from hydra import compose, initialize_config_module

    from algebraic_nas.search.runner import run_search

    o = ["grammar=custom", f"grammar.name={grammar}", f"dataset={mo_common.DATASET}", "protocol=quick",
         f"protocol.epochs={mo_common.PROTOCOL['epochs']}", "protocol.cpu_threads=1", f"strategy={strategy}",
         f"seed={seed}", "eval_seed=0", f"budget.evaluations={evaluations}", "budget.wall_time_s=null",
         "progress=log", "report=false", "executor=inprocess", "device=cpu",
         "evaluation_function=mo_common:evaluate", f"objectives=[{','.join(OBJECTIVES)}]", *SETTINGS[strategy]]
    with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
        cfg = compose("search", overrides=o)
    run_search(cfg, out)


def initial_terms(seed: int, runs: Path) -> list[str]:
    """MO random search's first ``INITIAL`` terms of ``seed`` (the shared initial design)."""
    from algebraic_nas.search.store import Store

    with Store(runs / f"nago_hnag-mo_random-s{seed}", readonly=True) as st:
        return [r.term for r in st.rows(order="id")][:INITIAL]


def run_nsga2(seed: int, evaluations: int, out: Path, runs: Path) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows: list[dict] = []
    last = [time.perf_counter()]

    def objective(trial: "optuna.Trial") -> tuple[float, float]:
        values = {k: trial.suggest_int(k, lo, hi) for k, (lo, hi) in nago_search.INTS.items()}
        values.update({k: trial.suggest_float(k, lo, hi) for k, (lo, hi) in nago_search.FLOATS.items()})
        term = nago_search.tpe_term(values)
        propose = time.perf_counter() - last[0]
        rec = mo_common.evaluate(term, "nago_hnag", mo_common.DATASET, seed=0)
        obj = rec.get("objectives") or {}
        rows.append({"evaluation": trial.number + 1, "valid_error": obj.get("valid_error"), MPS: obj.get(MPS),
                     "params": rec.get("params"), "eval_time_s": rec.get("wall_time_s"), "propose_time_s": propose,
                     "cached": rec.get("cached"), "term": term})
        last[0] = time.perf_counter()
        if rec.get("outcome") != "ok" or obj.get("valid_error") is None or obj.get(MPS) is None:
            return 1.0, float(obj.get(MPS) or 10.0)  # a failed network: chance-or-worse error
        return float(obj["valid_error"]), float(obj[MPS])

    sampler = optuna.samplers.NSGAIISampler(population_size=INITIAL, seed=seed)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    for term in initial_terms(seed, runs):
        study.enqueue_trial(nago_search.term_values(term))
    study.optimize(objective, n_trials=evaluations)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "trials.csv", "w", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        w.writerows(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rounds", type=int, nargs="+", default=[8, 12], help="growing evaluation budgets")
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    ap.add_argument("--no-rnag", action="store_true", help="skip part A's RNAG runs")
    ap.add_argument("--out", default=str(HERE / "runs"))
    args = ap.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from peer_libs import ensure, read_requirements  # Optuna under experiments/runs/, not in the venv

    ensure(read_requirements(HERE / "requirements.txt"))
    import torch

    from algebraic_nas.search.config import register_configs

    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    register_configs()
    runs = Path(args.out)
    # mo_random first in each round: its first terms are NSGA-II's enqueued first generation
    order = sorted(args.strategies, key=lambda s: s != "mo_random")
    for budget in args.rounds:
        jobs = [("nago_hnag", s, seed) for seed, s in itertools.product(args.seeds, order)]
        if not args.no_rnag:  # part A: MO-BANAT on RNAG for every seed (HNAG's is part B's mo_banat run)
            jobs += [("rnag", "mo_banat", seed) for seed in args.seeds]
        for grammar, strategy, seed in jobs:
            t0 = time.time()
            run_dir = runs / f"{grammar}-{strategy}-s{seed}"
            if strategy == "nsga2":
                run_nsga2(seed, budget, run_dir, runs)
            else:
                run_package(grammar, strategy, seed, budget, run_dir)
            print(f"round {budget}: {grammar} {strategy} seed {seed} done in {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
