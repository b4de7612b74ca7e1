"""Executors: GPU assignment, the registry factory, in-process order, Dask on a cluster or client passed in."""

from __future__ import annotations

import pytest

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.executors import (
    DaskExecutor,
    InProcessExecutor,
    _local_cluster,
    auto_kind,
    make_executor,
    visible_gpus,
)
from algebraic_nas.search.proposal import Proposal
from algebraic_nas.search.worker import EvaluationTask
from search_fakes import make


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
    with pytest.raises(ValueError, match="executor.kind=.nosuch.: not a registered executor"):
        make_executor("nosuch")


def test_in_process_executor_runs_in_submission_order():
    ex = InProcessExecutor()
    for i in range(2):
        ex.submit(EvaluationTask(eval_id=i, term=f"S(a, a, a, a, a, a, a, {'ab'[i]})", grammar="toy8",
                                 function="search_fakes:toy_evaluate"))
    assert ex.in_flight() == 2
    first = ex.wait()
    assert [t.eval_id for t, _ in first] == [0] and first[0][1]["outcome"] == "ok"
    assert [t.eval_id for t, _ in ex.wait()] == [1] and ex.in_flight() == 0 and ex.wait() == []


def _toy_tasks(n):
    settings = EvaluationTask(grammar="toy8", function="search_fakes:toy_evaluate")
    return [settings.for_proposal(i, Proposal(make("aaaaaaa" + "abcd"[i % 4]))) for i in range(n)]


def _run_all(ex, tasks):
    for t in tasks:
        ex.submit(t)
    done = []
    while ex.in_flight():
        done += ex.wait(timeout=30)
    return done


def test_dask_executor_runs_on_a_cluster_object_passed_in_and_leaves_it_open():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        ex = DaskExecutor(n_workers=2, client=cluster)
        done = _run_all(ex, _toy_tasks(3))
        ex.close()
        assert sorted(t.eval_id for t, _ in done) == [0, 1, 2]
        assert all(r["outcome"] == "ok" and not r["worker"].startswith("local@") for _, r in done)
        assert ex.address == cluster.scheduler_address and "Dask (2 workers" in ex.describe()
        # the cluster is still usable: the executor did not close what it did not create
        with Client(cluster) as client:
            assert client.submit(sum, [1, 2]).result(timeout=30) == 3


def test_dask_executor_uses_a_client_passed_in_without_closing_it():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            ex = DaskExecutor(n_workers=0, client=client)  # 0: as many slots as the cluster has workers
            assert ex.slots == 1
            done = _run_all(ex, _toy_tasks(2))
            ex.close()
            assert [r["outcome"] for _, r in done] == ["ok", "ok"]
            assert client.status == "running"


def test_auto_is_decided_in_one_place():
    assert auto_kind(1, None) == "inprocess" and auto_kind(3, None) == "local" and auto_kind(1, "tcp://h:1") == "dask"
    with pytest.raises(ConfigError, match="executor.address: not a setting of"):
        make_executor("inprocess", address="tcp://h:1")


def test_a_worker_process_imports_the_plugins_before_it_evaluates(tmp_path):
    """A dataset registered by a plugin module exists in a fresh worker process (Dask workers are
    separate processes with their own registries)."""
    import os
    import subprocess
    import sys

    here = os.path.dirname(__file__)
    code = (
        "from algebraic_nas.search.worker import EvaluationTask, run_task\n"
        "task = EvaluationTask(grammar='toy', dataset='plugin_noise', protocol='tiny', device='cpu',\n"
        "                      term='Residual(Linear(id, conv, conv), conv, fc)', eval_id=1)\n"
        "rec = run_task(task)\n"
        "print(rec['outcome'], rec.get('reason'))\n"
    )
    env = dict(os.environ, ALGEBRAIC_NAS_PLUGINS="plugin_dataset",
               PYTHONPATH=os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok"), out.stdout


@pytest.mark.cuda
def test_two_local_workers_share_one_gpu_and_the_records_say_so():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from algebraic_nas.grammar import load_grammar

    g = load_grammar("hnb201")
    settings = EvaluationTask(grammar="hnb201", dataset="digits", protocol={"name": "tiny", "progress": "none"},
                              device="cuda")
    ex = DaskExecutor(n_workers=2, gpus=["0"], evaluations_per_gpu=2, gpu_headroom_mb=0)
    try:
        done = _run_all(ex, [settings.for_proposal(i, Proposal(g.sample(i))) for i in range(2)])
    finally:
        ex.close()
    assert len(done) == 2
    for _, r in done:
        assert r["outcome"] == "ok" and r["gpu"].startswith("GPU 0 (") and r["gpu_shared_by"] == 2, r
        assert r["device"].startswith("cuda:0")
