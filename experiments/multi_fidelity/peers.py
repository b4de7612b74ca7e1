"""Peers on ``nago_hnag``: SMAC3's multi-fidelity facade and Optuna's TPE sampler with its
Hyperband pruner, against this package's BOHB (with continuation), on the same evaluation
function, fidelity range and compute budget (training epochs).

SMAC3 and Optuna are not dependencies of the package: this script installs them into a separate
virtual environment that also sees the project's ``.venv`` (torch, the package) when set up
(``--setup``), and runs itself there::

    .venv/bin/python experiments/multi_fidelity/peers.py --setup          # creates experiments/multi_fidelity/runs/peers-venv
    .venv/bin/python experiments/multi_fidelity/peers.py --seeds 0 1 2 --epochs-budget 20
    .venv/bin/python experiments/multi_fidelity/peers.py --analyse

The search space: ``nago_hnag``'s eight generator hyperparameters (``Budget(WattsStrogatz(NTOP,
KTOP, PTOP, ..., ErdosRenyi(NMID, PMID, WattsStrogatz(NBOT, KBOT, PBOT, ...))))``; stage ratios,
channels, node op and merge are fixed by the grammar), as integer/float ranges for SMAC3 and
Optuna and as terms for BOHB. Every method trains through ``algebraic_nas.evaluation.evaluate``
on ``clutterdigits`` with the ``quick`` protocol and a 4-epoch schedule; fidelities are 1, 2 and 4
epochs (η = 2). The peers also continue from checkpoints (SMAC: keyed by configuration; Optuna:
within a trial, epoch rung by rung), so the comparison is of the optimisers, not of
continuation. A configuration the grammar does not allow (e.g. more ring neighbours than
nodes) fails to build and counts as error 1.0 after the epochs it was asked for. Results: ``peers/METHOD-sSEED.json`` (every evaluation: epochs trained, error,
cumulative epochs) and ``peers.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENV = HERE / "runs" / "peers-venv"  # runs/ is ignored by git
OUT = HERE / "peers"
RUNGS = (1, 2, 4)
FULL_EPOCHS = 4
GRAMMAR = "nago_hnag"
DATASET = "clutterdigits"
# name: (kind, low, high) of nago_hnag's numeric placeholders, in term order
SPACE = {"ntop": ("int", 3, 10), "ktop": ("int", 2, 5), "ptop": ("float", 0.1, 0.9), "nmid": ("int", 1, 10),
         "pmid": ("float", 0.1, 0.9), "nbot": ("int", 3, 10), "kbot": ("int", 2, 5), "pbot": ("float", 0.1, 0.9)}


def term_of(p: dict[str, Any]) -> str:
    """The ``nago_hnag`` term of a configuration (floats with the grammar's 3 digits)."""
    return (f"Budget(WattsStrogatz({int(p['ntop'])}, {int(p['ktop'])}, {round(float(p['ptop']), 3)}, 0.333, 0.333, 0.333, "
            f"1, 2, 4, ErdosRenyi({int(p['nmid'])}, {round(float(p['pmid']), 3)}, WattsStrogatz({int(p['nbot'])}, "
            f"{int(p['kbot'])}, {round(float(p['pbot']), 3)}, Linear3(relu, conv3x3, batch), wsum), wsum), wsum))")


class Evaluator:
    """The shared evaluation function with continuation and an epoch account."""

    def __init__(self, budget: float, workdir: Path) -> None:
        self.budget, self.workdir, self.spent = budget, workdir, 0.0
        self.saved: dict[str, tuple[int, str]] = {}  # term -> (epochs, checkpoint)
        self.log: list[dict[str, Any]] = []

    def __call__(self, term: str, epochs: int) -> float:
        from algebraic_nas.evaluation import evaluate

        ck_in = self.saved.get(term, (0, None))
        ck_in = ck_in[1] if 0 < ck_in[0] <= epochs else None
        ck_out = str(self.workdir / f"{len(self.log)}.pt")
        rec = evaluate(term, GRAMMAR, DATASET, "quick", seed=0, device="cpu",
                       overrides={"epochs": int(epochs), "schedule_epochs": FULL_EPOCHS, "progress": "none",
                                  "cpu_threads": 1}, checkpoint_in=ck_in, checkpoint_out=ck_out)
        self.spent += rec.epochs_trained or epochs
        if rec.checkpoint:
            self.saved[term] = (rec.epochs, rec.checkpoint)
        err = rec.valid_error if rec.ok and rec.valid_error is not None else 1.0
        self.log.append({"term": term, "epochs": int(epochs), "epochs_trained": rec.epochs_trained,
                         "continued": bool(rec.continued_from), "valid_error": err, "cum_epochs": self.spent,
                         "wall_s": rec.wall_time_s})
        return err

    @property
    def exhausted(self) -> bool:
        return self.spent >= self.budget


def run_optuna(seed: int, ev: Evaluator) -> None:
    import optuna

    sampler = optuna.samplers.TPESampler(seed=seed)
    pruner = optuna.pruners.HyperbandPruner(min_resource=RUNGS[0], max_resource=RUNGS[-1], reduction_factor=2)
    study = optuna.create_study(direction="minimize", sampler=sampler, pruner=pruner)
    while not ev.exhausted:
        trial = study.ask()
        p = {k: (trial.suggest_int(k, lo, hi) if kind == "int" else trial.suggest_float(k, lo, hi))
             for k, (kind, lo, hi) in SPACE.items()}
        term, value, state = term_of(p), None, optuna.trial.TrialState.COMPLETE
        for epochs in RUNGS:  # continue rung by rung: the pruner decides after each
            value = ev(term, epochs)
            trial.report(value, epochs)
            if epochs < RUNGS[-1] and trial.should_prune():
                state = optuna.trial.TrialState.PRUNED
                break
            if ev.exhausted:
                break
        study.tell(trial, value if state == optuna.trial.TrialState.COMPLETE else None, state=state)


def run_smac(seed: int, ev: Evaluator) -> None:
    from ConfigSpace import ConfigurationSpace, Float, Integer
    from smac import MultiFidelityFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue

    cs = ConfigurationSpace(seed=seed)
    cs.add([Integer(k, (lo, hi)) if kind == "int" else Float(k, (lo, hi)) for k, (kind, lo, hi) in SPACE.items()])
    scenario = Scenario(cs, deterministic=True, n_trials=10_000, min_budget=RUNGS[0], max_budget=RUNGS[-1], seed=seed,
                        output_directory=Path(tempfile.mkdtemp(prefix="smac-")))
    intensifier = MultiFidelityFacade.get_intensifier(scenario, eta=2)
    smac = MultiFidelityFacade(scenario, lambda config, seed=0, budget=RUNGS[-1]: 1.0, intensifier=intensifier,
                               overwrite=True, logging_level=40)
    while not ev.exhausted:
        info = smac.ask()
        cost = ev(term_of(dict(info.config)), int(round(info.budget)))
        smac.tell(info, TrialValue(cost=cost))


def run_bohb(seed: int, ev: Evaluator) -> None:
    """This package's BOHB (BANAT model, value kernel) through the same evaluator, one worker."""
    from algebraic_nas.grammar import load_grammar
    from algebraic_nas.search.proposal import Result
    from algebraic_nas.search.strategies import make_strategy

    s = make_strategy("bohb", load_grammar(GRAMMAR), seed=seed, eta=2, min_fidelity=RUNGS[0],
                      max_fidelity=RUNGS[-1], min_points=3, continue_training=True)
    while not ev.exhausted:
        (p,) = s.propose()
        err = ev(str(p.term), int(p.fidelity["epochs"]))
        s.observe(Result.from_record(p, {"outcome": "ok", "valid_error": err}))


METHODS = {"bohb": run_bohb, "optuna_tpe_hyperband": run_optuna, "smac3_mf": run_smac}


def setup() -> None:
    """The separate environment with SMAC3 and Optuna (the package's own stays untouched)."""
    if not (VENV / "bin" / "python").exists():
        subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "venv", "--system-site-packages", str(VENV)],
                       check=True)
    # the project's venv (torch, the package) seen from the new one: a .pth line that adds it as a
    # site directory, so that its own .pth files (the editable install) are read too
    paths = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    mine = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-c", paths], capture_output=True, text=True,
                          check=True).stdout.strip()
    theirs = subprocess.run([str(VENV / "bin" / "python"), "-c", paths], capture_output=True, text=True,
                            check=True).stdout.strip()
    # first on sys.path: the project's numpy, torch, ... win over the base interpreter's
    Path(theirs, "_project_venv.pth").write_text(
        f"import site, sys; site.addsitedir({mine!r}); sys.path.remove({mine!r}); sys.path.insert(0, {mine!r})\n")
    subprocess.run([str(VENV / "bin" / "python"), "-m", "pip", "install", "smac>=2.2", "optuna>=3.6"], check=True)


def best_at(log: list[dict], budget: float) -> Optional[float]:
    full = [e["valid_error"] for e in log if e["epochs"] == FULL_EPOCHS and e["cum_epochs"] <= budget + 1e-9]
    return min(full) if full else None


def analyse(budget: float) -> str:
    lines = [f"| method | seeds | best valid error of a {FULL_EPOCHS}-epoch network at {budget:.0f} epochs |",
             "| --- | --- | --- |"]
    for method in METHODS:
        vals = [best_at(json.loads(f.read_text())["log"], budget) for f in sorted(OUT.glob(f"{method}-s*.json"))]
        got = [v for v in vals if v is not None]
        if vals:
            mean = sum(got) / len(got) if got else None
            lines.append(f"| {method} | {len(vals)} | {'-' if mean is None else f'{mean:.4f}'} ({', '.join('-' if v is None else f'{v:.3f}' for v in vals)}) |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setup", action="store_true")
    ap.add_argument("--analyse", action="store_true")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--epochs-budget", type=float, default=20.0)
    args = ap.parse_args()
    if args.setup:
        setup()
        return 0
    if args.analyse:
        text = analyse(args.epochs_budget)
        (HERE / "peers.md").write_text(text)
        print(text)
        return 0
    if Path(sys.prefix).resolve() != VENV.resolve():  # run in the environment that has the peers
        if not (VENV / "bin" / "python").exists():
            print("error: run with --setup first (installs smac and optuna into a separate venv)", file=sys.stderr)
            return 2
        return subprocess.call([str(VENV / "bin" / "python"), __file__, *sys.argv[1:]])
    import torch

    torch.set_num_threads(1)
    OUT.mkdir(exist_ok=True)
    for seed in args.seeds:
        for method in args.methods:
            with tempfile.TemporaryDirectory(prefix="peers-ck-") as ck:
                ev = Evaluator(args.epochs_budget, Path(ck))
                METHODS[method](seed, ev)
            (OUT / f"{method}-s{seed}.json").write_text(json.dumps({"method": method, "seed": seed, "log": ev.log}))
            print(f"{method} seed {seed}: {len(ev.log)} evaluations, {ev.spent:.0f} epochs, "
                  f"best {best_at(ev.log, args.epochs_budget)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
