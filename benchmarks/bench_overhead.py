"""Search overhead: the share of the worker's time not spent evaluating, with BANAT's proposals
computed while the worker trains (``propose_ahead``) against synchronous proposals (the worker
waits for each one), in the same run.

    overhead = (workers · wall − Σ evaluation times) / (workers · wall)      (search/overhead.py)

The search is the default one (``python -m algebraic_nas.search``: BANAT with the hWL kernel on
``hnb201`` / ``digits``, one worker) made smaller to fit a loaded 2-core CPU: the ``tiny``
protocol (``quick`` for one epoch: an evaluation is *shorter* next to a proposal than with the
default 4 epochs, which makes hiding proposals harder) and 8 evaluations of which 3 random (the
default is 30 with 10 random). Two executors, each synchronous and ahead:

* ``inprocess`` (the default with one worker): the training runs in the driver's process and
  shares the interpreter lock with the proposal thread;
* ``local`` (one Dask worker process): the training runs in another process.

Compare ``wall_per_evaluation_s`` as well as the overhead: a proposal that slows the training
down lowers the overhead without making the search faster. Target: overhead ≤ 5 % (27 %
measured on the default search with synchronous proposals). The Dask cluster's start is not in
the session's wall time.

    python -m benchmarks overhead            # 4 searches of 8 evaluations (~8-10 min on a loaded 2-core CPU)
    python -m benchmarks overhead --quick    # 4 searches of 4 evaluations, 2 random
"""

from __future__ import annotations

import tempfile
from typing import Iterable

import benchmarks


def _config(evaluations: int, n_initial: int, executor: str = "inprocess"):
    from hydra import compose, initialize_config_module

    from algebraic_nas.search.config import register_configs

    register_configs()
    with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
        return compose("search", overrides=[
            "protocol=tiny", f"budget.evaluations={evaluations}", "budget.wall_time_s=null",
            f"strategy.n_initial={n_initial}", "progress=none", "report=false", f"executor={executor}",
        ])


def _search(cfg, ahead: bool) -> dict:
    """One search in a fresh run directory, proposals ahead or not; its session's time figures."""
    from omegaconf import OmegaConf

    from algebraic_nas.search.runner import run_search
    from algebraic_nas.search.store import Store

    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as run_dir:
        result = run_search(OmegaConf.to_container(cfg, resolve=True), run_dir, propose_ahead=ahead)
        with Store(run_dir, readonly=True) as store:
            propose = [r.propose_time_s for r in store.rows() if r.propose_time_s is not None]
    t = result.time
    assert t is not None and t.evaluations == int(cfg.budget.evaluations) and t.propose_ahead == ahead
    return {**t.as_dict(), "wall_per_eval_s": t.wall_s / max(1, t.evaluations),
            "mean_propose_s": sum(propose) / max(1, len(propose))}


def _ratio(a: float, b: float):
    return a / b if b else None


def run(quick: bool) -> Iterable[dict]:
    evaluations, n_initial = (4, 2) if quick else (8, 3)
    for executor in ("inprocess", "local"):
        cfg = _config(evaluations, n_initial, executor)
        sync = _search(cfg, ahead=False)
        ahead = _search(cfg, ahead=True)
        common = dict(grammar="hnb201", strategy="banat(hwl)", dataset="digits", protocol="tiny", workers=1,
                      evaluations=evaluations, n_initial=n_initial, executor=executor)
        detail = {k: {p: round(v, 3) if isinstance(v, float) else v for p, v in fig.items()}
                  for k, fig in (("synchronous", sync), ("ahead", ahead))}
        yield benchmarks.record(f"overhead.{executor}.search_overhead", ahead["overhead"], "fraction", **common,
                                target=0.05, synchronous=sync["overhead"],
                                ratio_vs_synchronous=_ratio(ahead["overhead"], sync["overhead"]), detail=detail)
        yield benchmarks.record(f"overhead.{executor}.wall_per_evaluation_s", ahead["wall_per_eval_s"], "s", **common,
                                synchronous=sync["wall_per_eval_s"],
                                ratio_vs_synchronous=_ratio(ahead["wall_per_eval_s"], sync["wall_per_eval_s"]))
        yield benchmarks.record(f"overhead.{executor}.proposal_wait_s", ahead["proposal_wait_s"], "s", **common,
                                synchronous=sync["proposal_wait_s"], mean_propose_s=ahead["mean_propose_s"],
                                mean_propose_s_synchronous=sync["mean_propose_s"])
