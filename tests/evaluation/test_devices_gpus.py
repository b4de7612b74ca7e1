"""GPUs per worker and k evaluations per GPU (evaluation/devices.py): the assignment of given
device ids, the binding of a job's workers, the shared/exclusive GPU lock, the headroom check and
the out-of-memory retry alone. The logic runs on CPU with given ids; the test marked ``cuda``
needs a GPU."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest
import torch

from algebraic_nas.errors import ConfigError
from algebraic_nas.evaluation.devices import (
    PER_GPU_ENV,
    WORKERS_PER_JOB_ENV,
    assign_gpus,
    bind_worker_gpu,
    gpu_slot,
    run_sharing_gpu,
    share_gpu,
    worker_index,
)


def test_each_worker_gets_one_gpu_and_at_most_k_share_one():
    assert assign_gpus(2, ["3", "5"]) == ["3", "5"]
    assert assign_gpus(4, ["3", "5"], per_gpu=2) == ["3", "5", "3", "5"]
    assert assign_gpus(3, [], per_gpu=1) == ["", "", ""]  # CPU workers see no GPU
    with pytest.raises(ConfigError, match=r"n_workers=5.*evaluations_per_gpu=2"):
        assign_gpus(5, ["3", "5"], per_gpu=2)
    with pytest.raises(ConfigError, match="evaluations_per_gpu"):
        assign_gpus(1, ["0"], per_gpu=0)


def test_the_workers_of_a_job_split_its_gpus(monkeypatch):
    monkeypatch.setenv(WORKERS_PER_JOB_ENV, "4")
    monkeypatch.setenv(PER_GPU_ENV, "2")
    got = []
    for i in range(4):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")  # what SLURM gives the job
        got.append(bind_worker_gpu(f"SLURMCluster-12-{i}"))
        assert got[-1] is not None and got[-1] == os.environ["CUDA_VISIBLE_DEVICES"]
    assert got == ["4", "6", "4", "6"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert bind_worker_gpu("SLURMCluster-12-0") is None  # a CPU job


def test_worker_index_from_dask_worker_names():
    assert worker_index("SLURMCluster-3-1", 2) == 1 and worker_index("SLURMCluster-3", 1) == 0
    with pytest.raises(ValueError, match="no '-INDEX' suffix"):
        worker_index("worker", 2)


def _can_share(lock_dir, gpu="GPU-x") -> bool:
    """Whether another evaluation could take GPU ``gpu`` shared right now (non-blocking)."""
    with open(lock_dir / f"algebraic_nas-gpu-{gpu}.lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f, fcntl.LOCK_UN)
        return True


def test_shared_holders_overlap_and_an_exclusive_one_runs_alone(tmp_path):
    with gpu_slot("GPU-x", exclusive=False, lock_dir=tmp_path):
        assert _can_share(tmp_path)  # k evaluations share the GPU
        entered = threading.Event()

        def alone():
            with gpu_slot("GPU-x", exclusive=True, lock_dir=tmp_path):
                entered.set()
                time.sleep(0.2)

        t = threading.Thread(target=alone)
        t.start()
        time.sleep(0.2)
        assert not entered.is_set()  # waits for the shared holder to finish
    assert entered.wait(5)
    assert not _can_share(tmp_path)  # and nobody shares while it runs
    t.join()
    assert _can_share(tmp_path)


def test_an_out_of_memory_evaluation_is_retried_alone(tmp_path):
    attempts = []

    def evaluation():
        attempts.append(_can_share(tmp_path))  # while it runs: could another evaluation share the GPU?
        if len(attempts) == 1:
            return {"outcome": "failed", "reason": "out of memory"}
        return {"outcome": "ok", "valid_error": 0.1}

    released = []
    record = share_gpu(evaluation, "GPU-x", per_gpu=3, free_mb=lambda: 40_000.0, headroom_mb=2048,
                       lock_dir=str(tmp_path), release=lambda: released.append(1))
    assert record["outcome"] == "ok" and "ran out of memory" in record["ran_alone"] and record["gpu_shared_by"] == 3
    assert attempts == [True, False] and released == [1]  # shared first, then alone


def test_without_headroom_an_evaluation_waits_and_runs_alone(tmp_path):
    seen = []
    record = share_gpu(lambda: seen.append(_can_share(tmp_path)) or {"outcome": "ok", "valid_error": 0.2},
                       "GPU-x", per_gpu=2, free_mb=lambda: 500.0, headroom_mb=2048, lock_dir=str(tmp_path))
    assert seen == [False] and record["ran_alone"].startswith("less than 2048 MiB free")
    # a failure that is not out-of-memory is not retried
    calls = []
    record = share_gpu(lambda: calls.append(1) or {"outcome": "failed", "reason": "Diverged: loss is nan"},
                       "GPU-x", per_gpu=2, free_mb=lambda: 40_000.0, headroom_mb=2048, lock_dir=str(tmp_path))
    assert calls == [1] and "ran_alone" not in record


def test_local_cluster_workers_share_gpus_only_up_to_k():
    from algebraic_nas.search.executors import _local_cluster

    with pytest.raises(ConfigError, match="n_workers=3"):
        _local_cluster(3, ["0"], memory_limit="auto", silence_logs=40, per_gpu=2)
    cluster = _local_cluster(0, ["0"], memory_limit="auto", silence_logs=40, per_gpu=2, headroom_mb=1000)
    try:
        env = next(iter(cluster.new_worker_spec().values()))["options"]["env"]
    finally:
        cluster.close()
    assert env["CUDA_VISIBLE_DEVICES"] == "0" and env[PER_GPU_ENV] == "2"


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_the_record_says_which_gpu_ran_it(monkeypatch):
    monkeypatch.setenv(PER_GPU_ENV, "2")
    record = run_sharing_gpu(lambda: {"outcome": "ok", "valid_error": 0.1})
    assert record["gpu"].startswith("GPU ") and torch.cuda.get_device_name(0) in record["gpu"]
    assert record["gpu_shared_by"] == 2
