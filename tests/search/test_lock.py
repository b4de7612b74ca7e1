"""One driver per run directory (issue 15): decided before anything is written. A second driver
on a busy directory stops naming the directory and the process holding it, and the first run's
stored settings stay as they were; a killed driver leaves no stale lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from algebraic_nas.search.lock import DriverLock, RunDirectoryBusy, lock_holder
from algebraic_nas.search.runner import run_search
from algebraic_nas.search.store import Store

HERE = Path(__file__).parent
CFG = {"grammar": {"name": str(HERE / "tiny.ebnf")}, "dataset": {"name": "digits"}, "protocol": {"name": "tiny"},
       "strategy": {"name": "random"}, "executor": {"kind": "inprocess"}, "budget": {"evaluations": 1},
       "device": "cpu", "progress": "none", "report": False}


def hold(run_dir: Path) -> subprocess.Popen:
    """Another process holding the run directory's driver lock until killed."""
    code = textwrap.dedent(f"""
        import sys, time
        from algebraic_nas.search.lock import DriverLock
        lock = DriverLock({str(run_dir)!r}).acquire()
        print("held", flush=True)
        time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_driver_stops_naming_the_directory_and_the_holder_and_changes_nothing(tmp_path: Path) -> None:
    with Store(tmp_path) as store:  # the first run's stored settings
        store.set_meta("config", {"strategy": {"name": "evolution"}})
        store.set_meta("strategy", "evolution")
    before = (tmp_path / "runs.sqlite").read_bytes()
    holder = hold(tmp_path)
    try:
        assert lock_holder(tmp_path) == f"{holder.pid} on {os.uname().nodename}"
        with pytest.raises(RunDirectoryBusy, match=rf"run directory '{tmp_path}' is in use by another search driver "
                                                   rf"\(pid {holder.pid} on "):
            run_search(CFG, tmp_path)
        out = subprocess.run([sys.executable, "-m", "algebraic_nas.search", f"grammar.name={CFG['grammar']['name']}",
                              "protocol=tiny", "strategy=random", f"run_dir={tmp_path}"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 2 and out.stderr.startswith("error: run directory") and str(holder.pid) in out.stderr
        assert not (tmp_path / ".hydra").exists()  # Hydra wrote nothing either
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert (tmp_path / "runs.sqlite").read_bytes() == before
    with Store(tmp_path, readonly=True) as store:
        assert store.get_meta("strategy") == "evolution" and store.get_meta("config")["strategy"]["name"] == "evolution"


def test_a_killed_driver_leaves_no_stale_lock(tmp_path: Path) -> None:
    holder = hold(tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    assert lock_holder(tmp_path) is None
    with DriverLock(tmp_path) as lock:  # free again
        assert lock.path.read_text().startswith(f"{os.getpid()} on ")
        with pytest.raises(RunDirectoryBusy):  # two locks conflict even in one process
            DriverLock(tmp_path).acquire()
    assert lock_holder(tmp_path) is None


def test_checking_a_directory_writes_nothing(tmp_path: Path) -> None:
    assert lock_holder(tmp_path / "new") is None and not (tmp_path / "new").exists()
    start = time.time()
    with Store(tmp_path / "run"):  # the writing store holds the lock while it is open
        assert lock_holder(tmp_path / "run").startswith(f"{os.getpid()} on ")
    assert lock_holder(tmp_path / "run") is None and time.time() - start < 10
