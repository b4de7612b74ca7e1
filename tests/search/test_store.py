"""The SQLite store: rows, statuses, commits that survive the process, resume bookkeeping."""

from __future__ import annotations

import json
import math
import sqlite3

import pytest

from algebraic_nas.search.store import Store


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
    second = Store(tmp_path)
    with pytest.raises(RuntimeError, match="another search driver"):
        second.start_session()
    first.close()  # the lock goes with the driver
    second.start_session()
    second.close()
