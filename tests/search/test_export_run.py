"""``algebraic-nas export RUN_DIR``: the best evaluation of a real search, with its trained weights."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_module

from algebraic_nas.assembly import build_network
from algebraic_nas.errors import ConfigError
from algebraic_nas.evaluation.data import get_dataset, get_dataset_spec
from algebraic_nas.grammar import load_grammar
from algebraic_nas.search.config import register_configs
from algebraic_nas.search.report.export import export_run
from algebraic_nas.search.runner import run_search
from algebraic_nas.search.store import Store

TINY = str(Path(__file__).parent / "tiny.ebnf")


def search(run_dir: Path, evaluations: int, checkpoints: str) -> None:
    """A real random search of the tiny grammar on digits (one epoch per evaluation)."""
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
        cfg = compose("search", overrides=[f"grammar.name={TINY}", "dataset=digits", "protocol=tiny", "progress=none",
                                           "budget.wall_time_s=null", "strategy=random",
                                           f"budget.evaluations={evaluations}", "report=false",
                                           f"checkpoints={checkpoints}"])
    run_search(cfg, run_dir)


def test_export_of_a_run_uses_the_best_evaluations_checkpoint(tmp_path):
    search(tmp_path / "run", 2, "best")
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
    # issue 23.1: on the raw validation images (floats in [0, 1]) the exported module, loaded
    # from its file alone, has the run's validation error: it normalises as the search did
    assert "normalises them first" in Path(result.module_file).read_text()
    spec = importlib.util.spec_from_file_location("exported_digits_net", result.module_file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    standalone = module.Network()
    standalone.load_state_dict(exported)
    valid = get_dataset("digits").valid
    with torch.no_grad():
        raw_error = (standalone.eval()(valid.x).argmax(1) != valid.y).float().mean().item()
        unnormalised = module.Network(preprocess=False)
        unnormalised.load_state_dict(exported)
        assert torch.equal(unnormalised.eval()(valid.x), net.eval()(valid.x))  # preprocess=False: the bare network
    # measured: 0.3306 exported on raw images = the run's 0.3306; 0.7417 without the normalisation
    assert abs(raw_error - best.valid_error) <= 1.5 / len(valid)  # the same predictions (one flip allowed)


def test_export_without_the_dataset_says_how_to_go_on(tmp_path, monkeypatch):
    """A run whose dataset cannot be read where it is exported: an error naming --no-preprocess;
    with it, the module takes normalised images."""
    from algebraic_nas.search.report import export as export_module

    def unreadable(*args, **kwargs):
        raise FileNotFoundError("data/cifar-10-batches-py/data_batch_1")

    search(tmp_path / "run", 1, "none")
    monkeypatch.setattr(export_module, "dataset_normalisation", unreadable)
    with pytest.raises(ConfigError, match="--no-preprocess"):
        export_run(tmp_path / "run")
    result = export_run(tmp_path / "run", preprocess=False)
    assert "no preprocessing in this file" in Path(result.module_file).read_text()


def test_a_directory_without_a_store_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no run directory"):
        export_run(tmp_path)
