"""executor=slurm / executor=pbs without a batch system: the generated job scripts, the job and
worker counts, the config group and ``algebraic-nas cluster-script`` (the real SLURM runs are in
test_slurm.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.executors.jobqueue import job_counts, workers_per_job
from algebraic_nas.search.executors.pbs import PBSConfig, pbs_script
from algebraic_nas.search.executors.slurm import SlurmConfig, slurm_script
from algebraic_nas.search.config import check_config
from test_end_to_end import FAST, config


def directives(script: str, prefix: str) -> list[str]:
    return [line[len(prefix):].strip() for line in script.splitlines() if line.startswith(prefix)]


def worker_command(script: str) -> str:
    return next(line for line in script.splitlines() if "distributed.cli.dask_worker" in line)


def test_slurm_job_script_books_the_job_and_runs_one_single_threaded_worker_per_gpu_slot():
    cfg = SlurmConfig(queue="gpu", account="proj1", cores=8, memory="32GB", walltime="02:00:00", gpus_per_job=2,
                      evaluations_per_gpu=2, death_timeout_s=90, job_directives=["--constraint=a100"],
                      prologue=["module load cuda/12", "source ~/env/bin/activate"])
    script = slurm_script(cfg)
    d = directives(script, "#SBATCH")
    for expected in ("-p gpu", "-A proj1", "--cpus-per-task=8", "--mem=32G", "-t 02:00:00", "--gres=gpu:2",
                     "--constraint=a100"):
        assert expected in d, (expected, d)
    lines = script.splitlines()
    assert lines.index("module load cuda/12") < lines.index("source ~/env/bin/activate") < lines.index(worker_command(script))
    assert "export ALGEBRAIC_NAS_EVALUATIONS_PER_GPU=2" in lines and "export ALGEBRAIC_NAS_WORKERS_PER_JOB=4" in lines
    cmd = worker_command(script)
    for part in ("--nworkers 4", "--nthreads 1", "--death-timeout 90", "--preload algebraic_nas.search.executors.preload"):
        assert part in cmd, (part, cmd)


@pytest.mark.parametrize("directive, gpu_type, expected", [
    ("gres", None, "--gres=gpu:1"), ("gres", "a100", "--gres=gpu:a100:1"),
    ("gpus-per-task", None, "--gpus-per-task=1"), ("gpus", "h100", "--gpus=h100:1"),
])
def test_slurm_gpu_directive(directive, gpu_type, expected):
    script = slurm_script(SlurmConfig(gpus_per_job=1, gpu_directive=directive, gpu_type=gpu_type))
    assert expected in directives(script, "#SBATCH")


def test_slurm_cpu_job_runs_one_worker_per_core_and_asks_no_gpu():
    script = slurm_script(SlurmConfig(cores=4))
    assert not any("gpu" in d for d in directives(script, "#SBATCH"))
    assert "--nworkers 4" in worker_command(script) and "--nthreads 1" in worker_command(script)
    with pytest.raises(ConfigError, match="gpu_directive"):
        slurm_script(SlurmConfig(gpus_per_job=1, gpu_directive="gpu"))


def test_pbs_job_script():
    script = pbs_script(PBSConfig(queue="workq", account="abc", cores=4, memory="16GB", walltime="00:30:00",
                                  gpus_per_job=1, job_directives=["-l place=scatter"], prologue=["module load cuda"]))
    d = directives(script, "#PBS")
    assert "-q workq" in d and "-A abc" in d and "-l walltime=00:30:00" in d and "-l place=scatter" in d
    select = next(x for x in d if x.startswith("-l select="))
    assert select.startswith("-l select=1:ncpus=4:mem=") and select.endswith(":ngpus=1"), select
    assert "module load cuda" in script.splitlines()
    assert "--nworkers" not in worker_command(script)  # one GPU, one worker
    # a resource line given replaces the generated one
    custom = pbs_script(PBSConfig(resource_spec="select=1:ncpus=2:ngpus=1:gpu_model=v100"))
    assert "-l select=1:ncpus=2:ngpus=1:gpu_model=v100" in directives(custom, "#PBS")


def test_jobs_workers_and_slots():
    assert workers_per_job(SlurmConfig(gpus_per_job=2, evaluations_per_gpu=3)) == 6
    assert workers_per_job(SlurmConfig(cores=8, threads=2)) == 4
    assert job_counts(SlurmConfig(cores=4), n_workers=10) == (3, None, 10)  # ceil(10 / 4) jobs
    assert job_counts(SlurmConfig(gpus_per_job=1, jobs=5), n_workers=1) == (5, None, 5)
    assert job_counts(SlurmConfig(adaptive_min_jobs=1, adaptive_max_jobs=4, cores=2), n_workers=1) == (None, (1, 4), 8)
    for bad, key in [(dict(adaptive_min_jobs=1), "adaptive"), (dict(jobs=2, adaptive_min_jobs=0, adaptive_max_jobs=2), "jobs"),
                     (dict(adaptive_min_jobs=3, adaptive_max_jobs=2), "adaptive_max_jobs"), (dict(cores=0), "cores"),
                     (dict(gpus_per_job=1, evaluations_per_gpu=0), "evaluations_per_gpu"),
                     (dict(cores=2, threads=4), "threads")]:
        with pytest.raises(ConfigError, match=f"executor.{key}"):
            job_counts(SlurmConfig(**bad), n_workers=2)


def test_slurm_and_pbs_are_options_of_the_config_group_and_may_ask_for_cuda_without_a_local_gpu():
    cfg = config(*FAST, "executor=slurm", "executor.gpus_per_job=1", "executor.queue=gpu", "device=cuda",
                 "n_workers=4", "budget.evaluations=4")
    assert cfg.executor.kind == "slurm" and cfg.executor.gpu_directive == "gres" and cfg.executor.death_timeout_s == 60
    check_config(cfg)  # the workers' GPUs are on the cluster's nodes, not here
    assert config(*FAST, "executor=pbs").executor.resource_spec is None


def test_cluster_script_command(tmp_path):
    run = [sys.executable, "-m", "algebraic_nas.cli", "cluster-script"]
    out = subprocess.run(run + ["executor=slurm", "executor.gpus_per_job=1", "n_workers=3"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("#!") and "3 such jobs" in lines[1] and "#SBATCH --gres=gpu:1" in lines
    out = subprocess.run(run + ["executor=local"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.startswith("error: executor=local submits no job script")
    out = subprocess.run(run + ["executor=slurm", "executor.memory=32"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)  # was a TypeError traceback
    assert out.returncode == 2 and out.stderr.startswith("error: executor.memory='32'"), out.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize("override, key", [
    ("executor.cores=0", "executor.cores"), ("executor.gpu_directive=gpu", "executor.gpu_directive"),
    ("executor.adaptive_max_jobs=4", "executor.adaptive_min_jobs"), ("executor.death_timeout_s=0", "executor.death_timeout_s"),
    ("n_workers=0", "n_workers"), ("executor.memory=lots", "executor.memory"),
    ("executor.memory=32", "executor.memory"), ("executor.walltime=60", "executor.walltime"),
    ("executor.walltime=4x", "executor.walltime"), ("executor.walltime=01:75:00", "executor.walltime"),
    ("executor.dashboard_port=-1", "executor.dashboard_port"),
])
def test_a_bad_job_setting_is_one_error_before_the_search_starts(override, key, tmp_path):
    cfg = config(*FAST, "executor=slurm", "executor.gpus_per_job=1", "budget.evaluations=2", override)
    with pytest.raises(ConfigError, match=key):
        check_config(cfg)


@pytest.mark.parametrize("kind", ["local", "auto"])
def test_more_local_workers_than_gpu_slots_is_one_error_before_the_search_starts(kind):
    cfg = config(*FAST, f"executor={kind}", "executor.gpus=[0]", "executor.evaluations_per_gpu=2", "n_workers=3",
                 "budget.evaluations=2")
    with pytest.raises(ConfigError, match=r"n_workers=3.*evaluations_per_gpu=2"):
        check_config(cfg)
    check_config(config(*FAST, f"executor={kind}", "executor.gpus=[0]", "executor.evaluations_per_gpu=3", "n_workers=3",
                        "budget.evaluations=2"))


@pytest.mark.parametrize("walltime, expected", [
    ("4h", "04:00:00"), ("90m", "01:30:00"), ("1h30m", "01:30:00"), ("2d", "48:00:00"), ("45s", "00:00:45"),
    ("02:00:00", "02:00:00"), ("30:00", "00:30:00"), ("1-12", "36:00:00"), ("1-02:03:04", "26:03:04"),
    ("0.5h", "00:30:00"), ("100:00:00", "100:00:00"),
])
def test_walltime_is_written_as_hh_mm_ss_in_both_batch_systems(walltime, expected):
    assert f"-t {expected}" in directives(slurm_script(SlurmConfig(walltime=walltime)), "#SBATCH")
    assert f"-l walltime={expected}" in directives(pbs_script(PBSConfig(walltime=walltime)), "#PBS")


@pytest.mark.parametrize("memory, slurm, pbs", [
    ("32GB", "--mem=32G", "mem=32GB"), ("32G", "--mem=32G", "mem=32GB"), ("16GiB", "--mem=16G", "mem=16GB"),
    ("1500MB", "--mem=1500M", "mem=1500MB"), ("4gb", "--mem=4G", "mem=4GB"), ("1.5G", "--mem=1536M", "mem=1536MB"),
])
def test_memory_keeps_the_users_figure_counted_as_the_batch_systems_count(memory, slurm, pbs):
    # SLURM's and PBS's G is 1024^3 bytes: 32GB books 32G, not the 30G of 32e9 bytes rounded up
    assert slurm in directives(slurm_script(SlurmConfig(memory=memory)), "#SBATCH")
    select = next(d for d in directives(pbs_script(PBSConfig(memory=memory)), "#PBS") if d.startswith("-l select="))
    assert f":{pbs}" in select, select
    for bad in (32, "32", "lots", "0GB", "-4GB"):
        with pytest.raises(ConfigError, match="executor.memory"):
            slurm_script(SlurmConfig(memory=bad))


def _chosen_python(script: str, tmp_path) -> str:
    """Run the lines of ``script`` before its worker command in bash; the interpreter they chose."""
    lines = script.splitlines()
    head = lines[:lines.index(worker_command(script))]
    shell = tmp_path / "head.sh"
    shell.write_text("\n".join(head + ['echo "PYTHON=$ALGEBRAIC_NAS_PYTHON"']) + "\n")
    out = subprocess.run(["bash", str(shell)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "algebraic-nas workers run" in out.stderr  # the job's log says which
    return out.stdout.strip().splitlines()[-1].removeprefix("PYTHON=")


def test_a_prologue_environment_runs_the_workers_when_it_has_algebraic_nas(tmp_path):
    assert worker_command(slurm_script(SlurmConfig())).startswith(f"{sys.executable} -m ")  # no prologue
    assert worker_command(slurm_script(SlurmConfig(python="/opt/py/bin/python3"))).startswith("/opt/py/bin/python3 -m ")
    # a prologue that activates an environment with algebraic_nas: its python runs the workers
    env = tmp_path / "env" / "bin"
    env.mkdir(parents=True)
    (env / "python").write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')  # an environment with algebraic_nas
    (env / "python").chmod(0o755)
    script = slurm_script(SlurmConfig(prologue=[f"export PATH={env}:$PATH"]))
    assert worker_command(script).startswith('"$ALGEBRAIC_NAS_PYTHON" -m distributed.cli.dask_worker')
    assert _chosen_python(script, tmp_path) == str(env / "python")
    # one whose python lacks algebraic_nas (a module load that changes nothing useful): the driver's
    bare = tmp_path / "bare" / "bin"
    bare.mkdir(parents=True)
    (bare / "python").write_text("#!/bin/sh\nexit 1\n")
    (bare / "python").chmod(0o755)
    assert _chosen_python(slurm_script(SlurmConfig(prologue=[f"export PATH={bare}:$PATH"])), tmp_path) == sys.executable
