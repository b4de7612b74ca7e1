"""BANAT (values kernel) vs random search vs Optuna's TPE on the eight generator
hyperparameters of ``nago_hnag``, one fixed network seed, the evaluation of :mod:`common`.

    .venv/bin/python experiments/nago_generators/search.py --seeds 0 1 2 --rounds 20 40

BANAT and random search are ordinary searches (``algebraic_nas.search.run_search``) in
``search_runs/STRATEGY-sSEED``; TPE is an Optuna study (``TPESampler(seed=SEED)``, 10 start-up trials:
the same 10 random terms that random search and BANAT's initial design start from) whose trials build the same term string from the same 8 numbers and
call the same cached evaluation. The budget grows in rounds, every run first to 20 evaluations,
then to 40, so an interrupted experiment has every run at the same depth. A TPE run is replayed
from its first trial in each round: the sampler is deterministic given its seed and history and
the evaluations come from the cache, so the replay costs no training. Optuna is installed into
this venv from ``requirements.txt`` when missing.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import logging
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import DATASET, EPOCHS, evaluate  # noqa: E402

GRAMMAR = "nago_hnag"
STRATEGIES = ("banat", "random", "tpe")
# the eight searched numbers of nago_hnag.ebnf with their declared ranges (checked against the
# grammar in tpe_term: a value outside its range would not parse)
INTS = {"NTOP": (3, 10), "KTOP": (2, 5), "NMID": (1, 10), "NBOT": (3, 10), "KBOT": (2, 5)}
FLOATS = {"PTOP": (0.1, 0.9), "PMID": (0.1, 0.9), "PBOT": (0.1, 0.9)}
TEMPLATE = ("Budget(WattsStrogatz({NTOP}, {KTOP}, {PTOP}, 0.333, 0.333, 0.333, 1, 2, 4, "
            "ErdosRenyi({NMID}, {PMID}, WattsStrogatz({NBOT}, {KBOT}, {PBOT}, Linear3(relu, conv3x3, batch), "
            "wsum), wsum), wsum))")
# BANAT's acquisition optimiser scaled down as in experiments/strategy_comparison (compute)
ACQUISITION = [
    "strategy.evolution.pool_size=100", "strategy.evolution.tournament_size=20",
    "strategy.evolution.min_generations=5", "strategy.evolution.max_generations=15",
    "strategy.evolution.patience=3",
]
TPE_FIELDS = ["evaluation", "valid_error", "test_error", "params", "flops", "eval_time_s", "propose_time_s",
              "cached", "term"]


def ensure_optuna() -> None:
    """Optuna for this experiment only (``pip --target`` under ``experiments/runs/``, see ``peer_libs``)."""
    sys.path.insert(0, str(HERE.parent))
    from peer_libs import ensure, read_requirements

    ensure(read_requirements(HERE / "requirements.txt"))


def tpe_term(values: dict) -> str:
    """The nago_hnag term of the 8 numbers (floats at the grammar's 3 digits), canonical and checked."""
    from algebraic_nas.evaluation.evaluate import _grammar

    text = TEMPLATE.format(**{k: (round(v, 3) if k in FLOATS else int(v)) for k, v in values.items()})
    return str(_grammar(GRAMMAR).parse(text))


def term_values(term: str) -> dict:
    """The 8 numbers of a nago_hnag term (the inverse of :func:`tpe_term`)."""
    m = re.fullmatch(re.escape(TEMPLATE).replace(r"\{", "{").replace(r"\}", "}").format(
        **{k: rf"(?P<{k}>[0-9.]+)" for k in (*INTS, *FLOATS)}), term)
    if m is None:
        raise ValueError(f"not a nago_hnag term of the template: {term[:80]}")
    return {k: (int(v) if k in INTS else float(v)) for k, v in m.groupdict().items()}


def initial_terms(seed: int, n: int, out: Path) -> list[str]:
    """The first ``n`` terms of random search's run of ``seed`` (also BANAT's initial design)."""
    from algebraic_nas.search.store import Store

    d = out.parent / f"random-s{seed}"
    if not (d / "runs.sqlite").exists():
        return []
    with Store(d, readonly=True) as st:
        return [r.term for r in st.rows(order="finished") if r.finished][:n]


def run_tpe(seed: int, evaluations: int, out: Path, n_startup: int = 10) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows: list[dict] = []
    last = [time.perf_counter()]

    def objective(trial: "optuna.Trial") -> float:
        values = {k: trial.suggest_int(k, lo, hi) for k, (lo, hi) in INTS.items()}
        values.update({k: trial.suggest_float(k, lo, hi) for k, (lo, hi) in FLOATS.items()})
        term = tpe_term(values)
        propose = time.perf_counter() - last[0]
        rec = evaluate(term, GRAMMAR, DATASET, seed=0)
        rows.append({"evaluation": trial.number + 1, "valid_error": rec.get("valid_error"),
                     "test_error": rec.get("test_error"), "params": rec.get("params"), "flops": rec.get("flops"),
                     "eval_time_s": rec.get("wall_time_s"), "propose_time_s": propose, "cached": rec["cached"],
                     "term": term})
        last[0] = time.perf_counter()
        if rec.get("outcome") != "ok" or rec.get("valid_error") is None:
            return 1.0  # a failed network counts as chance-or-worse (none failed in this experiment)
        return float(rec["valid_error"])

    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup))
    # common random numbers: TPE's start-up trials are the random terms BANAT and random search
    # start from (cached, so not retrained); TPE's own model takes over after them
    for term in initial_terms(seed, n_startup, out):
        study.enqueue_trial(term_values(term))
    study.optimize(objective, n_trials=evaluations)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "trials.csv", "w", newline="") as f:
        w = csv.DictWriter(f, TPE_FIELDS)
        w.writeheader()
        w.writerows(rows)
    return study.best_value


def run_package(strategy: str, seed: int, evaluations: int, out: Path) -> float:
    from hydra import compose, initialize_config_module

    from algebraic_nas.search.runner import run_search

    o = ["grammar=custom", f"grammar.name={GRAMMAR}", f"dataset={DATASET}", "protocol=quick", f"protocol.epochs={EPOCHS}",
         "protocol.cpu_threads=1", f"strategy={strategy}", f"seed={seed}", "eval_seed=0",
         f"budget.evaluations={evaluations}", "budget.wall_time_s=null", "progress=log", "report=false",
         "executor=inprocess", "device=cpu", "evaluation_function=common:evaluate"]
    o += ACQUISITION if strategy == "banat" else []
    with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
        cfg = compose("search", overrides=o)
    result = run_search(cfg, out)
    return result.best.valid_error if result.best else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rounds", type=int, nargs="+", default=[20, 40], help="growing evaluation budgets")
    ap.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    ap.add_argument("--out", default=str(HERE / "search_runs"))
    args = ap.parse_args()
    ensure_optuna()
    import torch

    from algebraic_nas.search.config import register_configs

    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    register_configs()
    # rounds outermost: every run reaches one budget before any run goes beyond it
    for budget, seed, strategy in itertools.product(args.rounds, args.seeds, args.strategies):
        t0 = time.time()
        run_dir = Path(args.out) / f"{strategy}-s{seed}"
        best = run_tpe(seed, budget, run_dir) if strategy == "tpe" else run_package(strategy, seed, budget, run_dir)
        print(f"round {budget}: {strategy} seed {seed} done in {time.time() - t0:.0f} s, best valid error {best}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
