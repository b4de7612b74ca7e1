"""``algebraic-nas export RUN_DIR``: the best evaluation of a real search, with its trained weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_module

from algebraic_nas.assembly import build_network
from algebraic_nas.errors import ConfigError
from algebraic_nas.evaluation.data import get_dataset_spec
from algebraic_nas.grammar import load_grammar
from algebraic_nas.search.config import register_configs
from algebraic_nas.search.report.export import export_run
from algebraic_nas.search.runner import run_search
from algebraic_nas.search.store import Store

TINY = str(Path(__file__).parent / "tiny.ebnf")


def test_export_of_a_run_uses_the_best_evaluations_checkpoint(tmp_path):
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
        cfg = compose("search", overrides=[f"grammar.name={TINY}", "dataset=digits", "protocol=tiny", "progress=none",
                                           "budget.wall_time_s=null", "strategy=random", "budget.evaluations=2",
                                           "report=false", "checkpoints=best"])
    run_search(cfg, tmp_path / "run")
    with Store(tmp_path / "run", readonly=True) as store:
        best = store.summary().best
    assert best.saved_checkpoint and Path(best.saved_checkpoint).exists()
    result = export_run(tmp_path / "run", program=False)
    assert result.weights_from.startswith("checkpoint") and Path(result.module_file).parent == tmp_path / "run" / "export"
    # the exported weights are the trained ones, under the exported module's keys
    trained = torch.load(best.saved_checkpoint, weights_only=True)["model"]
    exported = torch.load(result.weights_file, weights_only=True)
    g = load_grammar(TINY)
    net = build_network(g.parse(best.term), get_dataset_spec("digits"), prune=g.prune)
    net.load_state_dict(trained)
    assert len(exported) == len(trained)
    assert all(torch.equal(a, b) for a, b in zip(exported.values(), net.state_dict().values()))


def test_a_directory_without_a_store_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no run directory"):
        export_run(tmp_path)
