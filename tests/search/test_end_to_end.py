"""End-to-end searches with real training on the embedded `digits` data.

To keep the suite fast, the searches use a small custom grammar given by path (``tiny.ebnf``,
two or three hnb201 cells) and one training epoch; the default command's config (``hnb201``) is
checked by composition. Covered: every strategy in-process, the Dask executor with two local
workers, a driver killed with SIGKILL and resumed, bad overrides, and the report.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

from algebraic_nas.search.config import register_configs
from algebraic_nas.search.runner import build_strategy, run_search
from algebraic_nas.search.store import Store

HERE = Path(__file__).parent
TINY = str(HERE / "tiny.ebnf")
REPO = HERE.parent.parent
FAST = [
    f"grammar.name={TINY}", "dataset=digits", "protocol=tiny", "protocol.batch_size=128",
    "progress=log", "budget.wall_time_s=null",
]
SMALL_EVOLUTION = [
    "strategy.evolution.pool_size=30", "strategy.evolution.min_generations=2",
    "strategy.evolution.max_generations=4", "strategy.evolution.patience=2",
]


def config(*overrides: str):
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
        return compose("search", overrides=list(overrides))


def test_default_command_is_banat_on_hnb201_digits_within_budget():
    cfg = config()
    assert cfg.strategy.name == "banat" and cfg.strategy.kernel == "auto"  # hWL on hnb201 (auto_kernel)
    assert cfg.grammar.name == "hnb201" and cfg.dataset.name == "digits"
    assert cfg.executor.kind == "auto" and cfg.n_workers == 1
    assert cfg.budget.wall_time_s <= 15 * 60  # a hard stop inside the 15 minutes


def test_without_run_dir_the_run_goes_to_hydras_output_directory(tmp_path):
    out = subprocess.run([sys.executable, "-m", "algebraic_nas.search", *FAST, "strategy=random", "budget.evaluations=1",
                          "report=false"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    (store,) = tmp_path.glob("outputs/*/*/runs.sqlite")
    assert (store.parent / ".hydra" / "config.yaml").exists()
    assert [p.name for p in store.parent.glob("*.log")] == ["search.log"]  # the Hydra job is named


@pytest.mark.parametrize(
    "strategy, extra",
    [
        ("random", []),
        ("evolution", ["strategy.population_size=2", "strategy.sample_size=2"]),
        ("banat", ["strategy.n_initial=2", *SMALL_EVOLUTION]),
        ("banat_wl", ["strategy.n_initial=2", *SMALL_EVOLUTION]),
    ],
)
def test_search_with_each_strategy(tmp_path, strategy, extra):
    from omegaconf import OmegaConf

    from algebraic_nas.grammar import load_grammar

    cfg = config(*FAST, f"strategy={strategy}", "budget.evaluations=3", *extra)
    s = None
    if strategy.startswith("banat"):  # built here so that the test can look inside
        s = build_strategy(OmegaConf.to_container(cfg.strategy), load_grammar(TINY), seed=0)
    # synchronous proposals: the third is made after the second evaluation finished, so it is BANAT's
    # (proposed ahead, it would see only one result and still be random; tests/search/test_driver_ahead.py)
    result = run_search(cfg, tmp_path, strategy=s, propose_ahead=False)
    assert result.counts["done"] + result.counts["failed"] == 3
    assert result.best is not None and 0.0 <= result.best.valid_error < 0.9  # chance is 0.9
    with Store(tmp_path, readonly=True) as st:
        rows = st.rows()
    assert len({r.term for r in rows}) == 3 and {r.strategy for r in rows} == {strategy}
    if s is not None:  # the third proposal came from the GP and the evolutionary optimiser
        assert not s.last.random and s.last.n_train == 2 and s.last.results
    for name in ("evaluations.csv", "incumbent.png", "summary.json"):
        assert (tmp_path / "report" / name).stat().st_size > 0


def test_dask_executor_with_two_local_workers(tmp_path):
    cfg = config(*FAST, "strategy=random", "executor=local", "n_workers=2", "budget.evaluations=4")
    result = run_search(cfg, tmp_path)
    assert result.counts["done"] == 4
    with Store(tmp_path, readonly=True) as st:
        rows = st.rows()
    workers = {r.worker.split("@")[0] for r in rows}
    assert len(workers) == 2, workers  # both workers evaluated
    # asynchronous: at some moment two evaluations ran at the same time
    spans = sorted((r.started_at, r.finished_at) for r in rows)
    assert any(b[0] < a[1] for a, b in zip(spans, spans[1:]))


def test_dask_executor_connects_to_an_existing_scheduler(tmp_path):
    from distributed import LocalCluster

    # a thread-based cluster starts in a blink; the driver only sees its address
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://", dashboard_address=None) as cluster:
        cfg = config(*FAST, "strategy=random", "executor=dask", f"executor.address={cluster.scheduler_address}",
                     "n_workers=0", "budget.evaluations=2", "report=false")
        result = run_search(cfg, tmp_path)
    assert result.counts["done"] == 2
    with Store(tmp_path, readonly=True) as st:
        assert all(not r.worker.startswith("local@") for r in st.rows())  # ran on the cluster's worker


def _search_cmd(run_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "algebraic_nas.search", *FAST, "strategy=random", "report=false",
            f"run_dir={run_dir}", *extra]


def test_kill_9_of_the_driver_loses_no_finished_evaluation(tmp_path):
    run_dir = tmp_path / "run"
    cmd = _search_cmd(run_dir, "budget.evaluations=5")
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = run_dir / "runs.sqlite"
    deadline = time.time() + 120
    done = 0
    try:
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.2)
            if db.exists():
                try:
                    with sqlite3.connect(db) as c:
                        done = c.execute("SELECT COUNT(*) FROM evaluations WHERE status = 'done'").fetchone()[0]
                except sqlite3.OperationalError:  # the schema is being created
                    continue
                if done >= 2:
                    break
        assert proc.poll() is None, "the search ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    with Store(run_dir, readonly=True) as st:
        before = {r.id: r for r in st.rows()}
    finished_before = {i: (r.term, r.valid_error, r.finished_at) for i, r in before.items() if r.finished}
    assert len(finished_before) >= 2
    unfinished = [i for i, r in before.items() if not r.finished]

    # same command, same run directory: resumes
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "resuming" in out.stdout + out.stderr
    with Store(run_dir, readonly=True) as st:
        after = {r.id: r for r in st.rows()}
    assert {i: (r.term, r.valid_error, r.finished_at) for i, r in after.items() if i in finished_before} == finished_before
    assert sum(r.finished for r in after.values()) == 5
    for i in unfinished:  # what the killed driver had running is evaluated again
        assert after[i].finished


def test_bad_overrides_fail_naming_the_key(tmp_path):
    for overrides, key in ((["n_workers=two"], "n_workers"), (["strategy=evolution", "strategy.kernel=wl"], "kernel"),
                           (["protocol.epoch=1"], "epoch")):
        with pytest.raises(Exception, match=key):
            config(*overrides)
    # and on the command line: exit status and message
    out = subprocess.run([sys.executable, "-m", "algebraic_nas.search", "strategy.kernl=wl", f"run_dir={tmp_path}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "kernl" in out.stderr, out.stderr
    assert not (tmp_path / "runs.sqlite").exists()


def test_report_command_on_a_run(tmp_path):
    cfg = config(*FAST, "strategy=random", "budget.evaluations=2", "report=false")
    run_search(cfg, tmp_path)
    assert not (tmp_path / "report").exists()
    cli = [sys.executable, "-m", "algebraic_nas.cli", "report", str(tmp_path)]  # = algebraic-nas report
    out = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "best" in out.stdout and "valid error" in out.stdout
    csv_lines = (tmp_path / "report" / "evaluations.csv").read_text().splitlines()
    assert len(csv_lines) == 3 and csv_lines[0].startswith("id,term,strategy,status,valid_error")
    assert (tmp_path / "report" / "incumbent.png").stat().st_size > 0
    assert (tmp_path / "report" / "best_architecture.png").stat().st_size > 0
    missing = subprocess.run([sys.executable, "-m", "algebraic_nas.cli", "report", str(tmp_path / "nope")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "no search store" in missing.stderr
