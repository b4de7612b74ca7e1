"""Executor details that need no evaluation: GPU assignment, the factory, in-process order."""

from __future__ import annotations

import pytest

from algebraic_nas.search.executors import InProcessExecutor, _local_cluster, make_executor, visible_gpus
from algebraic_nas.search.worker import EvaluationTask


def test_each_local_worker_gets_its_own_gpu():
    cluster = _local_cluster(0, ["3", "5"], memory_limit="auto", silence_logs=40)
    try:
        envs = [next(iter(cluster.new_worker_spec().values()))["options"]["env"] for _ in range(3)]
        opts = next(iter(cluster.new_worker_spec().values()))["options"]
    finally:
        cluster.close()
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["3", "5", "3"]
    assert opts["nthreads"] == 1  # one evaluation per worker at a time


def test_cpu_only_workers_see_no_gpu():
    cluster = _local_cluster(0, [], memory_limit="auto", silence_logs=40)
    try:
        env = next(iter(cluster.new_worker_spec().values()))["options"]["env"]
    finally:
        cluster.close()
    assert env["CUDA_VISIBLE_DEVICES"] == ""


def test_visible_gpus_follows_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,7")
    assert visible_gpus() == ["2", "7"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus() == []


def test_factory():
    assert isinstance(make_executor("auto", n_workers=1), InProcessExecutor)
    with pytest.raises(ValueError, match="executor=local"):
        make_executor("inprocess", n_workers=2)
    with pytest.raises(ValueError, match="address"):
        make_executor("dask", n_workers=2)
    with pytest.raises(ValueError, match="unknown executor"):
        make_executor("slurm")


def test_in_process_executor_runs_in_submission_order():
    ex = InProcessExecutor()
    for i in range(2):
        ex.submit(EvaluationTask(eval_id=i, term=f"S(a, a, a, a, a, a, a, {'ab'[i]})", grammar="toy8",
                                 function="search_fakes:toy_evaluate"))
    assert ex.in_flight() == 2
    first = ex.wait()
    assert [t.eval_id for t, _ in first] == [0] and first[0][1]["outcome"] == "ok"
    assert [t.eval_id for t, _ in ex.wait()] == [1] and ex.in_flight() == 0 and ex.wait() == []
