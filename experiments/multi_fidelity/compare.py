"""Multi-fidelity comparison on ``nb201_cell`` / ``clutterdigits``: this package's BOHB (with and
without continuation), Hyperband, full-fidelity BANAT and random search against SMAC3's
multi-fidelity facade and Optuna's TPE with its Hyperband pruner, at equal training epochs.

    nice -n 19 .venv/bin/python experiments/multi_fidelity/compare.py --seeds 0 1 2 3 4 --epochs-budget 64 \\
        >> experiments/multi_fidelity/runs/compare.log 2>&1 &
    .venv/bin/python experiments/multi_fidelity/analyse.py

Why ``nb201_cell``: its cell is six categorical edges, so the peers (which search flat
configuration spaces) and this package's strategies (which search terms) search the *same*
space, and every method's model acts on it. Every run is one sequential process-local loop
(one CPU thread): the strategy (or peer) proposes, ``evaluate`` trains, the result is told back.
Full fidelity is the ``quick`` protocol's 4 epochs; multi-fidelity methods use rungs 1, 2, 4
(η = 2). With continuation the schedule is the 4-epoch one at every rung, so a promoted
network continues exactly where its lower rung stopped (continuing equals straight training,
tests/evaluation); BOHB retraining trains every rung from scratch with its own schedule.

Compute is the budget: a run starts no evaluation once the epochs it trained reach
``--epochs-budget`` (a continued evaluation costs only its new epochs). Training is
deterministic (training seed 0, one thread), so an evaluation already trained by an earlier
run -- same term, epochs and schedule -- is read from ``runs/cache.jsonl`` instead of being
retrained; it is still charged its epochs. Raw results: ``evals/METHOD-sSEED.json`` (one
entry per evaluation, committed); a finished run is skipped on re-running (resume).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

HERE = Path(__file__).resolve().parent
RUNS = HERE / "runs"            # ignored by git: cache, checkpoints, the peers' pip --target dir
EVALS = HERE / "evals"          # committed: the raw per-evaluation results
PEERS_LIB = RUNS / "peers-lib"  # `pip install --target` of smac and optuna (never the project's deps)
GRAMMAR, DATASET, PROTOCOL = "nb201_cell", "clutterdigits", "quick"
FULL_EPOCHS = 4
RUNGS = (1, 2, 4)
OPS = ["zero", "id", "Linear3(relu, conv3x3, batch)", "Linear3(relu, conv1x1, batch)", "avg_pool"]
EDGES = [f"e{i}" for i in range(6)]
# the acquisition optimiser scaled down as in experiments/strategy_comparison (compute)
ACQUISITION = {"pool_size": 100, "tournament_size": 20, "min_generations": 5, "max_generations": 15, "patience": 3}
N_INITIAL = 5        # BANAT's random initial design; the peers' too (Optuna start-up trials, SMAC's design)


def term_of(ops: list[str]) -> str:
    """The ``nb201_cell`` term whose (shared) cell has edge operations ``ops`` (six of :data:`OPS`)."""
    cell = f"Cell({', '.join(ops)})"
    stage = f"Linear5({', '.join([cell] * 5)})"
    return f"Linear5({stage}, down, {stage}, down, {stage})"


class Evaluator:
    """Trains through ``algebraic_nas.evaluation.evaluate`` and keeps the epoch account of one run.

    ``continuation``: a term trained before at fewer epochs (4-epoch schedule) continues from its
    checkpoint and costs only the new epochs; otherwise each call trains from scratch with a
    schedule of its own length."""

    def __init__(self, budget: float, continuation: bool) -> None:
        self.budget, self.continuation, self.spent = budget, continuation, 0.0
        self.trained: dict[str, int] = {}  # term -> most epochs trained in this run (4-epoch schedule)
        self.log: list[dict[str, Any]] = []
        self.cache = _load_cache()

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.budget

    def __call__(self, term: str, epochs: int, *, label: str = "") -> float:
        epochs = int(epochs)
        schedule = FULL_EPOCHS if self.continuation else epochs
        before = self.trained.get(term, 0) if self.continuation else 0
        before = before if before < epochs else 0
        key = f"{epochs}/{schedule}/{term}"
        hit = self.cache.get(key)
        cached = hit is not None
        if hit is None:
            hit = _train(term, epochs, schedule, before)
            self.cache[key] = hit
            with open(RUNS / "cache.jsonl", "a") as f:
                f.write(json.dumps({"key": key, **hit}) + "\n")
        cost = 0.0 if hit["valid_error"] is None else float(epochs - before)
        self.spent += cost
        if self.continuation and hit["valid_error"] is not None:
            self.trained[term] = max(self.trained.get(term, 0), epochs)
        err = 1.0 if hit["valid_error"] is None else float(hit["valid_error"])
        self.log.append({"term": term, "epochs": epochs, "epochs_trained": cost, "continued": before > 0,
                         "valid_error": hit["valid_error"], "test_error": hit["test_error"],
                         "params": hit["params"], "cum_epochs": self.spent, "cached": cached, "note": label})
        return err


def _ckpt(term: str, epochs: int) -> Path:
    return RUNS / "ck" / f"{hashlib.sha1(term.encode()).hexdigest()[:20]}-e{epochs}.pt"


def _train(term: str, epochs: int, schedule: int, before: int) -> dict[str, Any]:
    """One training (continued from ``before`` epochs when > 0); a term the grammar rejects
    (a peer's cell whose ``zero`` edges cut every path) gives ``valid_error`` None at no cost."""
    from algebraic_nas.evaluation import evaluate

    (RUNS / "ck").mkdir(parents=True, exist_ok=True)
    ck_in = str(_ckpt(term, before)) if before and _ckpt(term, before).exists() else None
    ck_out = str(_ckpt(term, epochs)) if schedule == FULL_EPOCHS and epochs < FULL_EPOCHS else None
    t0 = time.time()
    try:
        rec = evaluate(term, GRAMMAR, DATASET, PROTOCOL, seed=0, device="cpu", checkpoint_in=ck_in,
                       checkpoint_out=ck_out, overrides={"epochs": epochs, "schedule_epochs": schedule,
                                                         "progress": "none", "cpu_threads": 1})
    except Exception as exc:  # noqa: BLE001 - a rejected term is a result of the search, not a crash
        return {"valid_error": None, "test_error": None, "params": None, "reason": str(exc)[:200], "wall_s": 0.0}
    ok = rec.ok and rec.valid_error is not None
    return {"valid_error": rec.valid_error if ok else None, "test_error": rec.test_error if ok else None,
            "params": rec.params, "wall_s": time.time() - t0}


def _load_cache() -> dict[str, dict[str, Any]]:
    path = RUNS / "cache.jsonl"
    out: dict[str, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                out[row.pop("key")] = row
    return out


def run_ours(name: str, seed: int, ev: Evaluator) -> None:
    """One of this package's strategies, sequentially (one proposal at a time)."""
    from algebraic_nas.grammar import load_grammar
    from algebraic_nas.search.proposal import Result
    from algebraic_nas.search.strategies import make_strategy

    mf = {"eta": 2, "min_fidelity": RUNGS[0], "max_fidelity": RUNGS[-1]}
    settings: dict[str, dict[str, Any]] = {
        "bohb_continue": {"continue_training": True, "min_points": 3, "model": {"evolution": ACQUISITION}, **mf},
        "bohb_retrain": {"continue_training": False, "min_points": 3, "model": {"evolution": ACQUISITION}, **mf},
        "hyperband": {"continue_training": True, **mf},
        "banat": {"n_initial": N_INITIAL, "evolution": ACQUISITION},
        "random": {},
    }
    kind = {"bohb_continue": "bohb", "bohb_retrain": "bohb"}.get(name, name)
    strategy = make_strategy(kind, load_grammar(GRAMMAR), seed=seed, **settings[name])
    while not ev.exhausted:
        (p,) = strategy.propose()
        epochs = int((p.fidelity or {}).get("epochs", FULL_EPOCHS))
        err = ev(str(p.term), epochs, label=str(getattr(p, "note", "") or ""))
        strategy.observe(Result.from_record(p, {"outcome": "ok", "valid_error": err}))


def _peers_path() -> None:
    if str(PEERS_LIB) not in sys.path:
        sys.path.append(str(PEERS_LIB))  # last: the project's numpy, torch, ... win


def run_optuna(seed: int, ev: Evaluator) -> None:
    """Optuna's TPE (5 random start-up trials) with its Hyperband pruner, rung by rung within a trial."""
    _peers_path()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=N_INITIAL)
    pruner = optuna.pruners.HyperbandPruner(min_resource=RUNGS[0], max_resource=RUNGS[-1], reduction_factor=2)
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)
    while not ev.exhausted:
        trial = study.ask()
        term = term_of([trial.suggest_categorical(e, OPS) for e in EDGES])
        value, state = None, optuna.trial.TrialState.COMPLETE
        for epochs in RUNGS:
            value = ev(term, epochs, label=f"trial {trial.number}")
            trial.report(value, epochs)
            if epochs < RUNGS[-1] and (trial.should_prune() or ev.exhausted):
                state = optuna.trial.TrialState.PRUNED
                break
        study.tell(trial, value if state == optuna.trial.TrialState.COMPLETE else None, state=state)


def run_smac(seed: int, ev: Evaluator) -> None:
    """SMAC3's multi-fidelity facade (random forest, Hyperband intensifier η = 2, 5-configuration
    random initial design)."""
    _peers_path()
    import tempfile

    from ConfigSpace import Categorical, ConfigurationSpace
    from smac import MultiFidelityFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue

    cs = ConfigurationSpace(seed=seed)
    cs.add([Categorical(e, OPS) for e in EDGES])
    scenario = Scenario(cs, deterministic=True, n_trials=100_000, min_budget=RUNGS[0], max_budget=RUNGS[-1],
                        seed=seed, output_directory=Path(tempfile.mkdtemp(prefix="smac-")))
    smac = MultiFidelityFacade(
        scenario, lambda config, seed=0, budget=RUNGS[-1]: 1.0, overwrite=True, logging_level=40,
        intensifier=MultiFidelityFacade.get_intensifier(scenario, eta=2),
        initial_design=MultiFidelityFacade.get_initial_design(scenario, n_configs=N_INITIAL))
    while not ev.exhausted:
        info = smac.ask()
        cost = ev(term_of([info.config[e] for e in EDGES]), int(round(info.budget)), label="smac")
        smac.tell(info, TrialValue(cost=cost))


def method_runner(method: str) -> Callable[[int, Evaluator], None]:
    if method == "optuna_tpe_hyperband":
        return run_optuna
    if method == "smac3_mf":
        return run_smac
    return lambda seed, ev: run_ours(method, seed, ev)


METHODS = ["bohb_continue", "bohb_retrain", "hyperband", "banat", "random", "optuna_tpe_hyperband", "smac3_mf"]
CONTINUES = {"bohb_continue": True, "hyperband": True, "optuna_tpe_hyperband": True, "smac3_mf": True}


def claim(method: str, seed: int) -> bool:
    """Take (method, seed) for this process, so that several processes can share one queue of
    runs: a claim file with the owner's pid under ``runs/claims``; a dead owner's claim is taken over."""
    path = RUNS / "claims" / f"{method}-s{seed}"
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                os.kill(int(path.read_text() or 0), 0)
                return False  # its owner is alive
            except (ProcessLookupError, ValueError):
                path.unlink(missing_ok=True)  # a dead owner's claim
                continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True
    return False


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    ap.add_argument("--epochs-budget", type=float, default=64.0, help="training epochs per run")
    ap.add_argument("--evals", default=str(EVALS), help="where the raw results go")
    args = ap.parse_args(argv)
    evals = Path(args.evals)
    import torch

    torch.set_num_threads(1)
    evals.mkdir(parents=True, exist_ok=True)
    RUNS.mkdir(exist_ok=True)
    for seed in args.seeds:
        for method in args.methods:
            out = evals / f"{method}-s{seed}.json"
            if out.exists() and json.loads(out.read_text())["epochs_budget"] >= args.epochs_budget:
                print(f"{method} seed {seed}: done before, skipped", flush=True)
                continue  # a smaller budget's run is redone: the cache replays its evaluations
            if not claim(method, seed):
                print(f"{method} seed {seed}: another process runs it, skipped", flush=True)
                continue
            t0 = time.time()
            ev = Evaluator(args.epochs_budget, CONTINUES.get(method, False))
            try:
                method_runner(method)(seed, ev)
            except ImportError as exc:  # a peer not installed (yet): the run is left for a re-run
                print(f"{method} seed {seed}: not run, {exc}", flush=True)
                (RUNS / "claims" / f"{method}-s{seed}").unlink(missing_ok=True)
                continue
            out.write_text(json.dumps({"method": method, "seed": seed, "grammar": GRAMMAR, "dataset": DATASET,
                                       "epochs_budget": args.epochs_budget, "log": ev.log}, indent=0) + "\n")
            (RUNS / "claims" / f"{method}-s{seed}").unlink(missing_ok=True)
            full = [e["valid_error"] for e in ev.log if e["epochs"] == FULL_EPOCHS and e["valid_error"] is not None]
            print(f"{time.strftime('%H:%M:%S')} {method} seed {seed}: {time.time() - t0:.0f} s, {len(ev.log)} "
                  f"evaluations, {ev.spent:.0f} epochs, best {min(full) if full else None}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
