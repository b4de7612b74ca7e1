"""BOHB with continuation end to end on the shipped grammars (real training on ``digits``): a
space of structures (``hnb201``, hWL kernel) and a generator space (``nago_hnag``, the value
kernel). Promoted terms continue their first epoch's training; the report shows the rungs."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from algebraic_nas.grammar import load_grammar
from algebraic_nas.search.runner import build_strategy, run_search
from algebraic_nas.search.store import Store
from test_end_to_end import SMALL_EVOLUTION, config

MODEL_EVOLUTION = [o.replace("strategy.", "strategy.model.") for o in SMALL_EVOLUTION]


@pytest.mark.parametrize("grammar, kernel", [("hnb201", "hwl"), ("nago_hnag", "values")])
def test_bohb_continues_promoted_terms_on_a_shipped_grammar(tmp_path, grammar, kernel):
    cfg = config(f"grammar={grammar}", "dataset=digits", "protocol=quick", "protocol.batch_size=64", "progress=log",
                 "budget.wall_time_s=null", "budget.evaluations=5", "strategy=bohb", "strategy.eta=2",
                 "strategy.min_fidelity=1", "strategy.max_fidelity=2", "strategy.brackets=1", "strategy.min_points=2",
                 "strategy.random_fraction=0", *MODEL_EVOLUTION)
    s = build_strategy(OmegaConf.to_container(cfg.strategy), load_grammar(grammar), seed=0)
    result = run_search(cfg, tmp_path, strategy=s)
    assert result.counts["done"] == 5
    with Store(tmp_path, readonly=True) as store:
        rows = store.rows()
    promoted = [r for r in rows if r.fidelity["epochs"] == 2]
    assert promoted and all(r.continued and r.result["epochs_trained"] == 1 for r in promoted)
    assert all(r.fidelity == {"epochs": r.fidelity["epochs"], "schedule_epochs": 2} for r in rows)
    # new terms after two first-rung results come from the model, fitted on that rung
    assert s.model.kernel == kernel and s.model_rung == 0
    # checkpoints: best keeps the incumbent's and those a promotion may continue from
    kept = {p.name for p in (tmp_path / "checkpoints").glob("*.pt")}
    assert f"{s.incumbent().result.eval_id}.pt" in kept and len(kept) < 5
    assert result.best.fidelity["epochs"] == 2  # the incumbent is at the highest rung reached
    fidelity = (tmp_path / "report" / "fidelity.png")
    assert fidelity.stat().st_size > 0
