"""The SQLite store: rows, statuses, commits that survive the process, resume bookkeeping."""

from __future__ import annotations

import json
import math
import sqlite3

import pytest

from algebraic_nas.search.store import SCHEMA_VERSION, Store


def test_lifecycle_of_an_evaluation(tmp_path):
    with Store(tmp_path) as s:
        i = s.add("S(a)", "random", propose_time_s=0.5)
        assert s.get(i).status == "pending"
        s.mark_running(i, worker="w0")
        assert s.get(i).status == "running" and s.get(i).attempts == 1
        row = s.finish(i, {"outcome": "ok", "valid_error": 0.25, "test_error": 0.3, "params": 10, "flops": 20,
                           "wall_time_s": 1.5, "train_losses": [float("nan"), 1.0]}, worker="w1")
    assert row.status == "done" and row.valid_error == 0.25 and row.test_error == 0.3
    assert row.params == 10 and row.flops == 20 and row.eval_time_s == 1.5 and row.worker == "w1"
    assert row.result["train_losses"] == [None, 1.0]  # NaN is not JSON: stored as null
    assert row.finished_at >= row.started_at >= row.proposed_at


def test_failed_records_keep_the_reason(tmp_path):
    with Store(tmp_path) as s:
        i = s.add("S(b)", "banat")
        s.finish(i, {"outcome": "failed", "reason": "diverged", "valid_error": None})
        j = s.add("S(c)", "banat")
        s.finish(j, {"outcome": "ok", "valid_error": float("nan")})  # ok but no finite error
        assert s.get(i).status == "failed" and s.get(i).error == "diverged"
        assert s.get(j).status == "failed"
        summ = s.summary()
        assert summ.counts["failed"] == 2 and summ.best is None


def test_commits_are_visible_to_another_connection_immediately(tmp_path):
    s = Store(tmp_path)
    i = s.add("S(a)", "random")
    s.finish(i, {"outcome": "ok", "valid_error": 0.1})
    # a second process would see exactly this: the file, read without the writer's cooperation
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    assert db.execute("SELECT status, valid_error FROM evaluations").fetchall() == [("done", 0.1)]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    s.close()


def test_requeue_resets_running_to_pending_and_keeps_finished(tmp_path):
    with Store(tmp_path) as s:
        a, b, c = (s.add(t, "random") for t in ("S(a)", "S(b)", "S(c)"))
        s.mark_running(a)
        s.mark_running(b)
        s.finish(a, {"outcome": "ok", "valid_error": 0.2})
    with Store(tmp_path) as s:  # the "resumed" driver
        requeued = s.requeue_unfinished()
        assert [r.id for r in requeued] == [b, c]
        assert all(r.status == "pending" for r in requeued)
        assert s.get(a).status == "done"


def test_best_and_order(tmp_path):
    with Store(tmp_path) as s:
        ids = [s.add(f"S({x})", "random") for x in "abc"]
        for i, err in zip(reversed(ids), (0.3, 0.1, 0.2)):
            s.finish(i, {"outcome": "ok", "valid_error": err})
        assert s.summary().best.valid_error == 0.1
        assert [r.id for r in s.rows(order="finished")] == list(reversed(ids))


def test_sessions_add_up_and_meta_round_trips(tmp_path):
    with Store(tmp_path) as s:
        s.start_session()
        s.set_meta("config", {"a": [1, 2], "b": math.inf})
        assert s.get_meta("config") == {"a": [1, 2], "b": None}
        assert s.get_meta("missing", 7) == 7
        first = s.elapsed()
    with Store(tmp_path) as s:
        s.start_session()
        assert s.elapsed() >= first


def test_readonly_store(tmp_path):
    with pytest.raises(FileNotFoundError):
        Store(tmp_path / "nothing", readonly=True)
    Store(tmp_path).close()
    with Store(tmp_path, readonly=True) as s:
        assert s.rows() == []
        with pytest.raises(PermissionError):
            s.add("S(a)", "random")


def test_one_driver_per_run_directory(tmp_path):
    first = Store(tmp_path)
    first.start_session()
    with pytest.raises(RuntimeError, match="another search driver"):  # decided when opened, before any write
        Store(tmp_path)
    first.close()  # the lock goes with the driver
    second = Store(tmp_path)
    second.start_session()
    second.close()


# The schema of runs.sqlite before fidelities and objectives (store.py of commit 8c613bc), kept
# verbatim: run directories written by that version must still open and resume.
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS evaluations (
    id            INTEGER PRIMARY KEY,
    term          TEXT    NOT NULL,
    strategy      TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    valid_error   REAL,
    test_error    REAL,
    params        INTEGER,
    flops         INTEGER,
    eval_time_s   REAL,
    result        TEXT,            -- JSON: the full evaluation record
    worker        TEXT,
    error         TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    propose_time_s REAL,           -- strategy time spent proposing this term
    proposed_at   REAL    NOT NULL,
    started_at    REAL,
    finished_at   REAL,
    run_time_s    REAL             -- search wall time (all sessions) when the evaluation ended
);
CREATE INDEX IF NOT EXISTS evaluations_status ON evaluations (status);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL            -- JSON
);
CREATE TABLE IF NOT EXISTS sessions (
    id          INTEGER PRIMARY KEY,
    started_at  REAL NOT NULL,
    last_seen   REAL NOT NULL,
    pid         INTEGER
);
"""

OLD_ROWS = [  # term, status, valid_error, finished_at
    ("S(a, a, a, b, b, b, b, b)", "done", 0.30, 10.0),
    ("S(b, b, b, b, b, b, b, b)", "done", 0.70, 11.0),
    ("S(d, d, a, a, a, a, a, a)", "failed", None, 12.0),
    ("S(c, c, c, c, c, c, c, c)", "running", None, None),
]


def write_old_run(run_dir):
    """A run directory as the old version left it (a driver killed with one evaluation running)."""
    run_dir.mkdir()
    db = sqlite3.connect(run_dir / "runs.sqlite")
    db.executescript(OLD_SCHEMA)
    for term, status, err, finished in OLD_ROWS:
        record = {"outcome": "ok" if status == "done" else "failed", "valid_error": err, "params": 1000, "flops": 2000}
        db.execute(
            "INSERT INTO evaluations (term, strategy, status, valid_error, params, flops, result, attempts, proposed_at,"
            " started_at, finished_at, run_time_s) VALUES (?, 'random', ?, ?, 1000, 2000, ?, 1, 1.0, 2.0, ?, ?)",
            (term, status, err, json.dumps(record) if finished else None, finished, finished),
        )
    identity = {"grammar": "toy8", "dataset": "none", "protocol": {"name": "quick"}, "seed": 0, "overrides": {},
                "function": "search_fakes:toy_evaluate"}
    db.execute("INSERT INTO meta (key, value) VALUES ('evaluation', ?)", (json.dumps(identity),))
    db.execute("INSERT INTO sessions (started_at, last_seen, pid) VALUES (0.0, 20.0, 1)")
    db.commit()
    db.close()


def test_a_run_directory_of_the_old_schema_is_reported_and_resumed(tmp_path):
    from algebraic_nas.search.driver import Budget, Driver
    from algebraic_nas.search.executors import InProcessExecutor
    from algebraic_nas.search.report import make_report
    from algebraic_nas.search.strategies import RandomSearch
    from algebraic_nas.search.worker import EvaluationTask
    from search_fakes import ToyGrammar

    run_dir = tmp_path / "old"
    write_old_run(run_dir)
    # read-only (the report): read as it is, nothing migrated
    info = make_report(run_dir, tmp_path / "report", draw=False)
    assert info["best"]["term"] == OLD_ROWS[0][0] and info["best"]["fidelity"] == {}
    # resumed: migrated in place, old rows kept and observed, the lost one evaluated again
    g = ToyGrammar()
    strategy = RandomSearch(g, seed=1)
    settings = EvaluationTask(grammar="toy8", dataset="none", protocol={"name": "quick"},
                              function="search_fakes:toy_evaluate")
    with Store(run_dir) as store:
        assert store.get_meta("schema_version") == SCHEMA_VERSION == 4  # 4: the note column
        Driver(g, strategy, InProcessExecutor(), store, settings, Budget(evaluations=6)).run()
        rows = store.rows()
    assert [r.term for r in rows[:4]] == [t for t, *_ in OLD_ROWS]
    assert [(r.status, r.valid_error) for r in rows[:3]] == [(s, e) for _, s, e, _ in OLD_ROWS[:3]]
    assert rows[3].status == "done" and rows[3].attempts == 2  # the one running when the old driver died
    assert len(rows) == 6 and all(r.fidelity == {} for r in rows)
    assert rows[0].objectives == {} and rows[4].objectives["params"] == 1000  # measured from now on
    assert [str(o.term) for o in strategy.observations[:3]] == [t for t, *_ in OLD_ROWS[:3]]
    db = sqlite3.connect(run_dir / "runs.sqlite")
    assert {"fidelity", "objectives", "checkpoint"} <= {r[1] for r in db.execute("PRAGMA table_info(evaluations)")}
    db.close()


def test_best_is_taken_at_the_highest_fidelity_present(tmp_path):
    with Store(tmp_path) as s:
        low = s.add("S(a)", "hb", fidelity={"epochs": 2})
        mid = s.add("S(b)", "hb", fidelity={"epochs": 8})
        s.finish(low, {"outcome": "ok", "valid_error": 0.05})
        s.finish(mid, {"outcome": "ok", "valid_error": 0.30, "latency_ms": 2.5})
        assert s.summary().best.id == mid and s.get(mid).fidelity == {"epochs": 8}
        assert s.get(mid).objectives == {"valid_error": 0.30, "latency_ms": 2.5}
        full = s.add("S(c)", "hb")
        s.finish(full, {"outcome": "ok", "valid_error": 0.40})
        assert s.summary().best.id == full and s.top_fidelity() == "{}"


def test_a_version_2_store_gains_the_continuation_columns_in_place(tmp_path):
    run_dir = tmp_path / "v2"
    write_old_run(run_dir)
    db = sqlite3.connect(run_dir / "runs.sqlite")  # what version 2 added to version 1
    for column in ("fidelity TEXT NOT NULL DEFAULT '{}'", "checkpoint TEXT", "objectives TEXT"):
        db.execute(f"ALTER TABLE evaluations ADD COLUMN {column}")
    db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '2')")
    db.execute("UPDATE evaluations SET fidelity = '{\"epochs\": 2}' WHERE id = 1")
    db.commit()
    db.close()
    with Store(run_dir, readonly=True) as old:  # read-only: read as it is
        assert old.get(1).continued_from is None and old.get(1).fidelity == {"epochs": 2}
    with Store(run_dir) as s:
        assert s.get_meta("schema_version") == 4
        assert s.get(1).fidelity == {"epochs": 2} and not s.get(1).continued and s.get(1).saved_checkpoint is None
        i = s.add("S(a)", "hyperband", fidelity={"epochs": 4}, checkpoint="ck/1.pt")
        s.finish(i, {"outcome": "ok", "valid_error": 0.1, "continued_from": "ck/1.pt", "checkpoint": "ck/5.pt"})
        j = s.add("S(b)", "hyperband", fidelity={"epochs": 4}, checkpoint="ck/2.pt")
        s.finish(j, {"outcome": "ok", "valid_error": 0.2, "retrain_reason": "checkpoint ck/2.pt does not exist"})
        row, retrained = s.get(i), s.get(j)
    assert row.continued and row.continued_from == "ck/1.pt" and row.saved_checkpoint == "ck/5.pt"
    assert row.checkpoint == "ck/1.pt" and row.fidelity == {"epochs": 4}
    assert not retrained.continued and retrained.checkpoint == "ck/2.pt"
    assert retrained.result["retrain_reason"].endswith("does not exist")


def test_a_proposal_and_the_strategy_state_after_it_are_stored_together(tmp_path, monkeypatch):
    """The row and the random state after it are one transaction: a driver killed between the two
    would otherwise leave a proposal whose stored state is the one before it (a resumed run then
    proposes other terms; the SIGKILL test caught it in about one run of four)."""
    import algebraic_nas.search.store as store_module

    with Store(tmp_path) as s:
        s.add("S(a)", "x", strategy_state={"rng": 1})

        def killed(value):
            raise KeyboardInterrupt  # stands for the process dying between the two writes

        monkeypatch.setattr(store_module, "_dumps", killed)
        with pytest.raises(KeyboardInterrupt):
            s.add("S(b)", "x", strategy_state={"rng": 2})
        monkeypatch.undo()
        assert [r.term for r in s.rows()] == ["S(a)"] and s.get_meta("strategy_state") == {"rng": 1}
        s.add("S(c)", "x", strategy_state={"rng": 3})  # the store is usable after the rollback
        assert [r.term for r in s.rows()] == ["S(a)", "S(c)"] and s.get_meta("strategy_state") == {"rng": 3}
