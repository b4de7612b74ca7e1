"""A search killed with SIGKILL and resumed proposes what the uninterrupted search proposes.

The driver runs in a subprocess (the real driver, store and strategy) on the toy objective, whose
evaluations are deterministic; a second driver resumes it in the same run directory. Two workers
that finish in a deterministic order that is *not* the order of proposal (2, 1, 4, 3, ...) make
the order of replay matter: regularized evolution ages its
population by finishing order, so a resume that replays in id order proposes other terms. The
strategy is re-seeded on resume (``seed + rows stored``, as ``run_search`` does), so only the
random state restored from the store can make the two runs agree.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

DRIVER = textwrap.dedent('''
    import sys, time
    sys.path.insert(0, {here!r})
    from search_fakes import ToyGrammar, toy_evaluate
    from algebraic_nas.search.driver import Budget, Driver
    from algebraic_nas.search.executors import InProcessExecutor
    from algebraic_nas.search.store import Store
    from algebraic_nas.search.strategies import make_strategy
    from algebraic_nas.search.worker import EvaluationTask, run_task

    class TwoWorkers(InProcessExecutor):
        """Two slots; the newer task finishes first unless the older one is two proposals older
        (ids 2, 1, 4, 3, 6, 5, ...): an order that is not the order of proposal, and a function of
        the tasks in flight only, so a resumed driver (lost tasks re-queued) follows it too."""
        def __init__(self):
            super().__init__()
            self.slots = 2
        def wait(self, timeout=None):
            if not self._queue:
                return []
            ids = [t.eval_id for t in self._queue]
            pick = min(ids) if max(ids) - min(ids) >= 2 else max(ids)
            task = next(t for t in self._queue if t.eval_id == pick)
            self._queue.remove(task)
            time.sleep(0.08)  # an evaluation takes a moment: the kill lands mid-run
            return [(task, run_task(task))]

    run_dir, name, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
    g = ToyGrammar()
    with Store(run_dir, readonly=False) as store:
        n_rows = len(store.rows())
        settings = {{"evolution": {{"population_size": 4, "sample_size": 2}},
                    "hyperband": {{"eta": 2, "min_fidelity": 1, "max_fidelity": 4, "continue_training": False}}}}.get(name, {{}})
        strategy = make_strategy(name, g, seed=7 * 1_000_003 + n_rows, **settings)
        task = EvaluationTask(grammar="toy8", dataset="none", protocol={{"name": "quick"}},
                              function="search_fakes:toy_evaluate")
        Driver(g, strategy, TwoWorkers(), store, task, Budget(evaluations=budget)).run()
''')


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "drive.py"
    path.write_text(DRIVER.format(here=str(HERE)))
    return path


def _finished(run_dir: Path) -> int:
    db = run_dir / "runs.sqlite"
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute("SELECT COUNT(*) FROM evaluations WHERE status IN ('done', 'failed')").fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:  # the schema is not written yet
        return 0


def _column(run_dir: Path, name: str) -> list[str]:
    """One column of the run's rows, in proposal order."""
    con = sqlite3.connect(run_dir / "runs.sqlite")
    try:
        return [r[0] for r in con.execute(f"SELECT {name} FROM evaluations ORDER BY id")]
    finally:
        con.close()


def _drive(script: Path, run_dir: Path, name: str, budget: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(script), str(run_dir), name, str(budget)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("name", ["evolution", "random", "hyperband"])
def test_a_killed_and_resumed_search_proposes_what_the_uninterrupted_one_does(tmp_path, name):
    budget = 16
    script = _script(tmp_path)
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    p = _drive(script, whole, name, budget)
    assert p.wait(timeout=300) == 0, p.stderr.read()

    p = _drive(script, killed, name, budget)
    deadline = time.monotonic() + 240
    while _finished(killed) < 7 and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert p.poll() is None, "the driver ended before it could be killed: " + p.stderr.read()
    os.kill(p.pid, signal.SIGKILL)  # no cleanup, no final write: as a crash or kill -9
    p.wait(timeout=60)
    done_at_kill = _finished(killed)
    assert 7 <= done_at_kill < budget

    p = _drive(script, killed, name, budget)  # the same command resumes it
    assert p.wait(timeout=300) == 0, p.stderr.read()
    assert _column(killed, "term") == _column(whole, "term")
    assert _column(killed, "fidelity") == _column(whole, "fidelity")  # Hyperband's rungs too
    assert len(_column(whole, "term")) == budget
