"""executor=slurm on a real single-node SLURM started by the fixture (slurm_cluster.py).

A short search with 2 jobs records each evaluation's SLURM job id; ``scancel`` of a worker's job
in the middle of an evaluation gets that evaluation evaluated again and the search completes;
after ``kill -9`` of the driver no job is left running beyond the worker death timeout; the
workers of a job with 2 GPUs (placeholder GRES) see one GPU each; the search runs over TLS: the
job script SLURM holds names the certificate files and holds no key, and a client without the
search's certificate cannot get in while the search carries on.
"""

from __future__ import annotations

import json
import os
import re
import stat
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from algebraic_nas.search.runner import run_search
from algebraic_nas.search.store import Store
from slurm_cluster import LocalSlurm, unavailable
from test_end_to_end import config
from test_executors_tls import _probe_without_certificate

HERE = Path(__file__).parent
MARKS_ENV = "ALGEBRAIC_NAS_TEST_MARKS"
SLEEP_ENV = "ALGEBRAIC_NAS_TEST_SLEEP"
pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))


def marked_evaluate(**kwargs):
    """``evaluate`` that first leaves a mark (term and SLURM job id) in ``$ALGEBRAIC_NAS_TEST_MARKS``
    and waits ``$ALGEBRAIC_NAS_TEST_SLEEP`` s (3), so that a test sees which evaluation runs where
    and can cancel its job mid-run."""
    from algebraic_nas.evaluation import evaluate

    marks = Path(os.environ[MARKS_ENV])
    name = f"{time.time_ns()}-{os.getpid()}.json"
    (marks / name).write_text(json.dumps({"term": kwargs["term"], "job": os.environ.get("SLURM_JOB_ID"),
                                          "gpu": os.environ.get("CUDA_VISIBLE_DEVICES")}))
    time.sleep(float(os.environ.get(SLEEP_ENV, "3")))
    return evaluate(**kwargs)


def read_marks(marks: Path) -> list[dict]:
    out = []
    for p in sorted(marks.glob("*.json")):
        try:
            out.append(json.loads(p.read_text()))
        except ValueError:  # being written
            continue
    return out


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    root = tmp_path_factory.mktemp("slurm")
    cluster = LocalSlurm(root, cpus=max(4, os.cpu_count() or 1), gpus=2)  # 2 placeholder GPUs
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"a local SLURM could not be started: {exc}")
    saved = {k: os.environ.get(k) for k in ("SLURM_CONF", "PYTHONPATH", MARKS_ENV)}
    os.environ.update(cluster.env())
    # the jobs inherit this environment (sbatch exports it): the workers import this test module
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), saved["PYTHONPATH"]) if p)
    try:
        yield cluster
    finally:
        cluster.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def slurm_overrides(tmp_path: Path, evaluations: int, death_timeout: float = 20,
                    jobs: tuple[str, ...] = ("executor.jobs=2",)) -> list[str]:
    return [
        "grammar=nb201_cell", "dataset=digits", "protocol=quick", "protocol.epochs=1", "strategy=random",
        "executor=slurm", *jobs, "executor.cores=1", "executor.memory=2GB",
        "executor.walltime=00:10:00", f"executor.death_timeout_s={death_timeout}", "executor.start_timeout_s=120",
        f"executor.log_directory={tmp_path / 'jobs'}", f"executor.local_directory={tmp_path / 'scratch'}",
        "n_workers=2", f"budget.evaluations={evaluations}", "budget.wall_time_s=null", "progress=log",
        "report=false", "evaluation_function=test_slurm:marked_evaluate",
    ]


def test_a_search_on_two_slurm_jobs_survives_scancel_of_a_worker_job(slurm, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    os.environ[MARKS_ENV] = str(marks)
    cancelled: list[str] = []

    def cancel_the_first_evaluations_job():
        # wait until an evaluation is running inside a job, then cancel that job under it
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            seen = read_marks(marks)
            if seen and seen[0]["job"]:
                slurm.scancel(seen[0]["job"])
                cancelled.append(seen[0]["job"])
                return
            time.sleep(0.2)

    killer = threading.Thread(target=cancel_the_first_evaluations_job, daemon=True)
    killer.start()
    result = run_search(config(*slurm_overrides(tmp_path, evaluations=4)), tmp_path / "run")
    killer.join(timeout=5)

    assert cancelled, "no evaluation started inside a SLURM job"
    assert result.counts.get("done") == 4 and not result.counts.get("failed"), result.counts
    with Store(tmp_path / "run", readonly=True) as st:
        records = [r.result for r in st.rows()]
    jobs = {r["job_id"] for r in records}
    assert all(j and j.isdigit() for j in jobs), jobs  # every evaluation ran inside a SLURM job
    # the evaluation whose job was cancelled ran again, in the other job, and finished
    first = read_marks(marks)[0]
    runs = [m["job"] for m in read_marks(marks) if m["term"] == first["term"]]
    assert len(runs) >= 2 and runs[-1] != cancelled[0], runs
    assert {r["job_id"] for r in records if r["term"] == first["term"]} != {cancelled[0]}
    # nothing is left behind: closing the executor cancelled the remaining job
    deadline = time.monotonic() + 30
    while slurm.jobs() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert slurm.jobs() == []


def test_after_kill_9_of_the_driver_no_job_outlives_the_death_timeout(slurm, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    death_timeout = 20  # also how long a worker process may take to start (10 s was too short at load 9)
    # adaptive this time (jobs come and go with the queue of evaluations, at least one), and jobs
    # of 2 GPUs (the fixture's placeholders): 2 workers per job, one GPU each
    overrides = slurm_overrides(tmp_path, evaluations=20, death_timeout=death_timeout,
                                jobs=("executor.adaptive_min_jobs=1", "executor.adaptive_max_jobs=2",
                                      "executor.gpus_per_job=2"))
    cmd = [sys.executable, "-m", "algebraic_nas.search", *overrides, f"run_dir={tmp_path / 'run'}"]
    # evaluations far longer than the death timeout: a worker must not wait for its evaluation
    env = {**os.environ, MARKS_ENV: str(marks), SLEEP_ENV: "120"}
    driver_log = tmp_path / "driver.log"
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=driver_log.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not read_marks(marks) and proc.poll() is None:
            time.sleep(0.2)
        assert proc.poll() is None and read_marks(marks), \
            "no evaluation started inside a SLURM job; the driver's output ends:\n" + driver_log.read_text()[-3000:]
        while len(slurm.jobs()) < 2 and time.monotonic() < deadline:  # adaptive: scales up to its maximum
            time.sleep(0.5)
        assert len(slurm.jobs()) == 2 and slurm.jobs("RUNNING")
        # the two workers of a job split its two GPUs: each sees exactly one, and they differ
        while time.monotonic() < deadline and not any(
                {m["gpu"] for m in read_marks(marks) if m["job"] == job} == {"0", "1"}
                for job in {m["job"] for m in read_marks(marks)}):
            time.sleep(0.5)
        marks_now = read_marks(marks)
        assert all(m["gpu"] in ("0", "1") for m in marks_now), marks_now
        assert any({m["gpu"] for m in marks_now if m["job"] == job} == {"0", "1"} for job in {m["job"] for m in marks_now})
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    killed_at = time.monotonic()
    # the workers lose their scheduler; after the death timeout they exit, and their jobs end
    while slurm.jobs() and time.monotonic() - killed_at < death_timeout + 40:
        time.sleep(1)
    left = slurm.jobs()
    assert left == [], f"jobs still running {time.monotonic() - killed_at:.0f} s after kill -9: {left}"
    print(f"all jobs ended {time.monotonic() - killed_at:.1f} s after kill -9 (death timeout {death_timeout} s)")


def _intruder(address: str) -> dict[str, str]:
    """What a client without the search's certificate gets from the scheduler at ``address``."""
    from distributed import Client
    from distributed.security import Security

    out = {}
    for name, target, security in [("plain tcp", address.replace("tls://", "tcp://"), None),
                                   ("another certificate", address, Security.temporary())]:
        try:
            with Client(target, security=security, timeout=5) as c:
                out[name] = f"connected: {c.run(os.getpid)}"
        except (OSError, TimeoutError) as exc:
            out[name] = f"refused ({type(exc).__name__})"
    host, port = address[len("tls://"):].rsplit(":", 1)
    out["no certificate"] = _probe_without_certificate(host, int(port))
    return out


def test_a_search_over_tls_keeps_out_a_client_without_the_certificate(slurm, tmp_path, monkeypatch):
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv(MARKS_ENV, str(marks))
    monkeypatch.setenv(SLEEP_ENV, "6")  # evaluations long enough to probe the scheduler while they run
    seen: dict = {}

    def probe_while_an_evaluation_runs():
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not (read_marks(marks) and read_marks(marks)[0]["job"]):
            time.sleep(0.2)
        job = read_marks(marks)[0]["job"]
        script = seen["script"] = slurm.batch_script(job)
        seen["key"] = re.search(r"--tls-key (\S+)", script).group(1)
        seen["key_mode"] = stat.S_IMODE(os.stat(seen["key"]).st_mode)
        seen["intruder"] = _intruder(re.search(r"(tls://\S+)", script).group(1))

    prober = threading.Thread(target=probe_while_an_evaluation_runs, daemon=True)
    prober.start()
    run = tmp_path / "run"
    result = run_search(config(*slurm_overrides(tmp_path, evaluations=4)), run)
    prober.join(timeout=60)

    assert result.counts.get("done") == 4 and not result.counts.get("failed"), result.counts
    with Store(run, readonly=True) as st:
        assert all(r.result["job_id"].isdigit() for r in st.rows())  # every evaluation ran in a SLURM job
    script = seen["script"]
    assert "BEGIN" not in script and "PRIVATE KEY" not in script, script  # paths only, no key material
    assert "--protocol tls://" in script and seen["key"].startswith(str(run.resolve()))
    assert seen["key_mode"] == 0o600
    # the scheduler logs why: WRONG_VERSION_NUMBER, TLSV1_ALERT_UNKNOWN_CA, PEER_DID_NOT_RETURN_A_CERTIFICATE
    assert len(seen["intruder"]) == 3 and all(v.startswith("refused") for v in seen["intruder"].values()), seen
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    assert not list(run.glob("tls-*")), "the temporary certificate outlived the search"
    print(f"intruder: {seen['intruder']}")
