"""The live display: one status line per event on a non-TTY, a tqdm bar on a terminal."""

from __future__ import annotations

import io
import logging

from algebraic_nas.search.progress import Progress, Status, format_seconds


def test_status_line_says_done_running_incumbent_and_times():
    line = Status(done=7, failed=1, running=2, total=20, best=0.1234, elapsed=65, remaining=3725).line()
    assert "7/20 done (1 failed)" in line and "2 running" in line
    assert "best valid error 0.1234" in line and "elapsed 1:05" in line and "remaining ~1:02:05" in line
    assert format_seconds(None) == "?"


def test_non_tty_logs_one_line_per_event(caplog):
    p = Progress("auto", stream=io.StringIO())  # a StringIO is no terminal
    assert p.mode == "log"
    with caplog.at_level(logging.INFO, logger="algebraic_nas.search"):
        p.update(Status(done=1, running=1, total=3, best=0.5, elapsed=1.0))
        p.update(Status(done=1, running=1, total=3, best=0.5, elapsed=1.0))  # unchanged: not repeated
        p.update(Status(done=1, running=1, total=3, best=0.5, elapsed=2.0), event=False)  # tick: silent
        p.update(Status(done=2, running=1, total=3, best=0.4, elapsed=3.0))
    assert [r.getMessage().split(" |")[0] for r in caplog.records] == ["1/3 done, 1 running", "2/3 done, 1 running"]


def test_bar_mode_draws_a_tqdm_bar():
    out = io.StringIO()
    p = Progress("bar", stream=out)
    p.update(Status(done=3, running=2, total=10, best=0.25, elapsed=5.0, remaining=20.0))
    p.close()
    text = out.getvalue()
    assert "3/10" in text and "running=2" in text and "best=0.2500" in text
