"""``logger=tensorboard`` (issue 22): a real search logs each evaluation's objectives and the
incumbent to RUN_DIR/tensorboard when the tensorboard package is installed; asking for it without
the package is a clear error naming the key; without the key nothing is written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.config import register_configs
from algebraic_nas.search.report.tensorboard import make_logger
from algebraic_nas.search.runner import run_search
from algebraic_nas.search.store import Store

TINY = str(Path(__file__).parent / "tiny.ebnf")


def search(run_dir: Path, *overrides: str) -> None:
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
        cfg = compose("search", overrides=[f"grammar.name={TINY}", "dataset=digits", "protocol=tiny", "progress=none",
                                           "budget.wall_time_s=null", "strategy=random", "budget.evaluations=3",
                                           "report=false", "checkpoints=none", *overrides])
    run_search(cfg, run_dir)


def test_a_search_logs_every_evaluation_and_the_incumbent(tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard package is not installed (pip install tensorboard)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    search(tmp_path / "run", "logger=tensorboard")
    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    errors = [e.value for e in events.Scalars("evaluation/valid_error")]
    best = [e.value for e in events.Scalars("incumbent/valid_error")]
    with Store(tmp_path / "run", readonly=True) as s:
        rows = s.rows(status=("done",), order="finished")
    assert errors == pytest.approx([r.valid_error for r in rows], rel=1e-6)  # float32 in the event file
    assert best == pytest.approx([min(errors[: i + 1]) for i in range(len(errors))], rel=1e-6)
    assert {"evaluation/params", "evaluation/eval_time_s", "evaluation/failed"} <= set(events.Tags()["scalars"])


def test_without_the_key_nothing_is_logged_and_unknown_or_missing_loggers_are_refused(tmp_path, monkeypatch):
    search(tmp_path / "run")
    assert not (tmp_path / "run" / "tensorboard").exists()
    assert make_logger("none", tmp_path) is None and make_logger(None, tmp_path) is None
    with pytest.raises(ConfigError, match="logger='wandb': unknown logger; choose one of none, tensorboard"):
        make_logger("wandb", tmp_path)
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as where tensorboard is not installed
    with pytest.raises(ConfigError, match=r"logger=tensorboard needs the tensorboard package.*pip install tensorboard"):
        make_logger("tensorboard", tmp_path)
