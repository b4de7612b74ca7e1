"""A simulated GPU cluster: does the search keep W workers busy?

``python -m benchmarks scale`` runs real searches (the real configuration, driver, store,
proposer and Dask executor on a local cluster) on ``hnb201`` whose evaluation function
(:func:`simulated_gpu_run`) sleeps like a GPU training run: a log-normal duration (median E
seconds, sigma 0.3, drawn from the term and seed) and no CPU, returning a synthetic validation
error (:func:`benchmarks.bench_search.synthetic_error`) and parameter count. The only CPU spent is
the search's own: proposals, store writes, scheduling.

For each strategy and (W, E) it reports, from the evaluations' own start and end times:

* ``utilisation`` — Σ evaluation time / (W × wall), wall from the first proposal stored to the
  last evaluation's end; split into **start-up** (until the W-th evaluation started), **steady
  state** (until the last evaluation started) and **drain** (the rest), see
  :func:`algebraic_nas.search.overhead.utilisation_phases` (the figure every search logs beside
  its "search overhead");
* ``proposals_per_s`` — proposals made per second of the strategy's own (thread) CPU time, and
  the demand W / E the cluster puts on it;
* ``driver_cpu_ms_per_eval`` — the driver process's CPU per evaluation during the search
  session, outside the strategy (store writes, scheduling, the Dask client and scheduler; with a
  thread cluster (W > 16 by default) the workers' event loops are in this process and counted
  too); ``run_search_cpu_s`` adds the configuration check before it.

Settings (W, E): (16, 20 s) and (64, 60 s); ``--quick``: (4, 2 s), a few evaluations. The
environment variable ``ALGEBRAIC_NAS_SCALE`` overrides, e.g.
``"time_scale=0.25 workers=16 strategies=banat,random evaluations=96"`` (``time_scale``
multiplies E; ``configs=16:20,64:60``). The CPU of a shared machine makes figures noisy: the
record of each strategy carries ``random`` search's figure from the same run as its baseline.
Target (issue 21, 2-core machine): BANAT >= 90 % steady-state utilisation at (16, 20 s) and
(64, 60 s).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import random
import shutil
import tempfile
import threading
import time
from typing import Any, Iterable, Optional, Sequence

import benchmarks

_ENV_EVAL_S = "ALGEBRAIC_NAS_SCALE_EVAL_S"
_SIGMA = 0.3
STRATEGIES = ("random", "evolution", "banat", "banat_refit", "bohb", "mo_banat")
# benchmark names that are a strategy with settings: (strategy, config overrides); banat_refit is
# BANAT's path before issue 21 (every batch member refits the GP), mo_banat models the error and
# counts parameters
_VARIANTS = {"banat_refit": ("banat", ["strategy.batch=refit"]),
             "mo_banat": ("mo_banat", ["objectives=[valid_error,params]"])}


def simulated_gpu_run(term: str, grammar: Any = None, dataset: Any = None, protocol: Any = None, seed: int = 0,
                      device: Any = None, data_root: Any = None, overrides: Any = None, **_: Any) -> dict:
    """An evaluation that sleeps like a GPU run: log-normal duration (median from the
    environment variable ``ALGEBRAIC_NAS_SCALE_EVAL_S``, seconds; sigma 0.3), seeded by the
    term and ``seed``; returns a record with a synthetic validation error and parameter count
    and its own start/end times (``eval_started_at``, ``eval_ended_at``, epoch seconds)."""
    from benchmarks.bench_search import synthetic_error

    start = time.time()
    digest = hashlib.blake2b(f"{seed}|{term}".encode(), digest_size=8).digest()
    rng = random.Random(int.from_bytes(digest, "little"))
    median = float(os.environ.get(_ENV_EVAL_S, "1.0"))
    duration = median * math.exp(rng.gauss(0.0, _SIGMA))
    error = synthetic_error(term, rng)
    time.sleep(duration)
    end = time.time()
    return {"term": term, "outcome": "ok", "valid_error": error, "params": 1000 * (1 + term.count("conv")),
            "wall_time_s": end - start, "eval_started_at": start, "eval_ended_at": end}


def _options(quick: bool) -> dict:
    opts: dict[str, Any] = {"time_scale": 1.0, "strategies": STRATEGIES, "evaluations": None, "processes": None,
                            "configs": [(4, 2.0)] if quick else [(16, 20.0), (64, 60.0)]}
    for item in os.environ.get("ALGEBRAIC_NAS_SCALE", "").split():
        key, _, value = item.partition("=")
        if key == "time_scale":
            opts[key] = float(value)
        elif key == "strategies":
            opts[key] = tuple(value.split(","))
        elif key in ("evaluations",):
            opts[key] = int(value)
        elif key == "processes":
            opts[key] = value.lower() in ("1", "true", "yes")
        elif key == "workers":
            opts["configs"] = [(int(w), e) for w in value.split(",") for _, e in opts["configs"][:1]]
        elif key == "configs":
            opts["configs"] = [(int(a), float(b)) for a, b in (c.split(":") for c in value.split(","))]
        else:
            raise ValueError(f"ALGEBRAIC_NAS_SCALE: unknown setting {key!r} (time_scale, strategies, evaluations, "
                             "processes, workers, configs)")
    return opts


def _warm() -> None:
    """Import what an evaluation imports (a worker's first task would otherwise pay for it)."""
    import algebraic_nas.search.worker  # noqa: F401
    import benchmarks.bench_search  # noqa: F401


def _cluster(workers: int, processes: bool) -> Any:
    """A local Dask cluster of ``workers`` single-threaded workers, warmed up."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, protocol="tcp://",
                           dashboard_address=None, silence_logs=logging.ERROR)
    with Client(cluster) as client:
        client.run(_warm)
    return cluster


def _search(strategy: str, workers: int, eval_s: float, evaluations: int, address: str) -> dict:
    """One search on the cluster at ``address``; returns its measured figures."""
    name, extra = _VARIANTS.get(strategy, (strategy, []))
    from hydra import compose, initialize_config_module

    from algebraic_nas.search.config import register_configs
    from algebraic_nas.search.runner import run_search
    from algebraic_nas.search.store import Store

    overrides = [
        "grammar.name=hnb201", "dataset=digits", "protocol=quick", f"strategy={name}", "executor=dask",
        f"executor.address={address}", f"n_workers={workers}", f"budget.evaluations={evaluations}",
        "budget.wall_time_s=null", "report=false", "progress=none", "checkpoints=none",
        "evaluation_function=benchmarks.bench_scale:simulated_gpu_run", *extra,
    ]
    register_configs()
    with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
        cfg = compose("search", overrides=overrides)
    run_dir = tempfile.mkdtemp(prefix=f"scale_{strategy}_")
    try:
        cpu0 = time.process_time()
        result = run_search(cfg, run_dir)
        cpu = time.process_time() - cpu0
        with Store(run_dir, readonly=True) as st:
            rows = st.rows()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    intervals = [(r.result["eval_started_at"], r.result["eval_ended_at"]) for r in rows
                 if r.result and "eval_started_at" in r.result]
    t0 = min(r.proposed_at for r in rows)
    from algebraic_nas.search.overhead import utilisation_phases

    phases = utilisation_phases(intervals, workers, t0)
    strategy_cpu = float(result.time.strategy_cpu_s) if result.time else 0.0
    session_cpu = float(getattr(result.time, "cpu_s", 0.0) or cpu)  # the session's, where the driver records it
    n = max(1, len(rows))
    return {**phases, "evaluations": len(intervals), "proposals": len(rows), "strategy_cpu_s": strategy_cpu,
            "proposals_per_s": len(rows) / strategy_cpu if strategy_cpu > 0 else None,
            "driver_cpu_ms_per_eval": 1000.0 * max(0.0, session_cpu - strategy_cpu) / n,
            "run_search_cpu_s": cpu,
            "search_overhead": result.time.overhead if result.time else None,
            "line": result.time.line() if result.time else None}


def run(quick: bool) -> Iterable[dict]:
    opts = _options(quick)
    for workers, eval_s in opts["configs"]:
        e = eval_s * opts["time_scale"]
        evaluations = opts["evaluations"] or (3 * workers if quick else max(4 * workers, 64))
        processes = opts["processes"] if opts["processes"] is not None else workers <= 16
        os.environ[_ENV_EVAL_S] = str(e)  # read by the workers (inherited by worker processes)
        base: Optional[dict] = None
        with _cluster(workers, processes) as cluster:
            for strategy in opts["strategies"]:
                got = _search(strategy, workers, e, evaluations, cluster.scheduler_address)
                if strategy == "random":
                    base = got
                yield benchmarks.record(
                    f"scale.{strategy}.steady_utilisation.w{workers}", got["steady"], "fraction",
                    workers=workers, eval_median_s=e, demand_proposals_per_s=workers / e,
                    processes=processes, threads=threading.active_count(), **{k: v for k, v in got.items() if k != "steady"},
                    random_steady=base["steady"] if base else None,
                    target=0.9 if strategy == "banat" else None, search_overhead_line=got["line"])
