"""End-to-end multi-objective searches on `digits` (tiny grammar, one epoch) and their report."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from hydra import compose, initialize_config_module

from algebraic_nas.grammar import load_grammar
from algebraic_nas.search import make_strategy
from algebraic_nas.search.config import register_configs
from algebraic_nas.search.pareto import objective_matrix, pareto_mask
from algebraic_nas.search.runner import run_search
from algebraic_nas.search.store import Store

HERE = Path(__file__).parent
TINY = str(HERE / "tiny.ebnf")
FAST = [f"grammar.name={TINY}", "dataset=digits", "protocol=tiny", "protocol.batch_size=128", "progress=none",
        "budget.wall_time_s=null", "executor=inprocess"]
TWO = "objectives=[valid_error,params]"


def config(*overrides: str):
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
        return compose("search", overrides=[*FAST, *overrides])


def stored_front(run_dir: Path) -> set[str]:
    with Store(run_dir, readonly=True) as s:
        rows = [r for r in s.rows() if r.status == "done"]
    y = objective_matrix([r.objectives for r in rows], ["valid_error", "params"])
    return {r.term for r, on in zip(rows, pareto_mask(y)) if on}


def test_two_objective_search_reports_its_front_with_a_bound_checked_before_training(tmp_path):
    run = tmp_path / "run"
    # tiny.ebnf's networks have ~35k-60k parameters: the bound rejects part of the space
    cfg = config("strategy=mo_random", TWO, "constraints={params:45000}", "budget.evaluations=5", f"run_dir={run}")
    run_search(cfg, run)
    with Store(run, readonly=True) as s:
        rows = s.rows()
        rejected = s.get_meta("rejected")
    assert len(rows) == 5 and all(r.params <= 45000 for r in rows if r.status == "done")
    assert rejected["count"] > 0 and all(e["params"] > 45000 for e in rejected["examples"])
    summary = json.loads((run / "report" / "summary.json").read_text())
    pareto = summary["pareto"]
    assert pareto["objectives"] == ["valid_error", "params"] and pareto["constraints"] == ["params<=45000"]
    assert {r["term"] for r in pareto["front"]} == stored_front(run)
    assert pareto["hypervolume"] > 0 and pareto["rejected_before_training"] == rejected["count"]
    assert (run / "report" / "pareto.png").exists() and (run / "report" / "hypervolume.png").exists()
    with open(run / "report" / "evaluations.csv") as f:
        table = list(csv.DictReader(f))
    assert {r["term"] for r in table if r["pareto"] == "1"} == stored_front(run)
    # the report command prints the front's terms
    out = subprocess.run([sys.executable, "-m", "algebraic_nas.search.report", str(run), "--no-draw"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Pareto front over valid_error, params" in out.stdout
    assert all(t in out.stdout for t in stored_front(run))


def test_a_resumed_search_keeps_its_front(tmp_path):
    run = tmp_path / "run"
    run_search(config("strategy=mo_evolution", TWO, "strategy.population_size=3", "strategy.sample_size=2",
                      "budget.evaluations=3", "report=false"), run)
    first = stored_front(run)
    grammar = load_grammar(TINY)
    strategy = make_strategy("mo_evolution", grammar, seed=1, objectives=["valid_error", "params"],
                             population_size=3, sample_size=2, dataset="digits")
    run_search(config("strategy=mo_evolution", TWO, "strategy.population_size=3", "strategy.sample_size=2",
                      "budget.evaluations=5", "report=false"), run, strategy=strategy)
    with Store(run, readonly=True) as s:
        assert len(s.rows()) == 5
    # the resumed strategy saw the first session's evaluations: its front is the stored one, and the
    # first front's members stay on it unless a new evaluation dominates them
    front = {o.term for o in strategy.front()}
    assert {str(t) for t in front} == stored_front(run)
    assert len(strategy.observations) == 5
    assert {str(o.term) for o in strategy.observations[:3]} >= first
    with Store(run, readonly=True) as s:
        rows = [r for r in s.rows() if r.status == "done"]
    point = {r.term: (r.objectives["valid_error"], r.objectives["params"]) for r in rows}
    for term in first - stored_front(run):  # left the front: a later evaluation dominates it
        e, p = point[term]
        assert any(e2 <= e and p2 <= p and (e2, p2) != (e, p) for t2, (e2, p2) in point.items() if t2 not in first)


def test_a_single_objective_run_has_no_pareto_section_unless_asked(tmp_path):
    run = tmp_path / "run"
    run_search(config("strategy=random", "budget.evaluations=2"), run)
    assert json.loads((run / "report" / "summary.json").read_text())["pareto"] is None
    from algebraic_nas.search.report import make_report

    info = make_report(run, draw=False, objectives=["valid_error", "latency_ms"])
    assert info["pareto"]["objectives"] == ["valid_error", "latency_ms"] and info["pareto"]["front"]
