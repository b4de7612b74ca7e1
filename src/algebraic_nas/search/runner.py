"""Build a search from its resolved configuration and run it (what ``python -m
algebraic_nas.search`` does).

:func:`run_search` takes a :class:`~algebraic_nas.search.config.run_config.RunConfig` (what
``check_config`` returns), the composed Hydra config or a plain nested dict with the keys of
``search.config.schema.SearchConf``, and a run directory, so it can also be called from Python.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any, Mapping, Optional

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.checkpoints import CheckpointKeeper, accepts_checkpoints, saves_checkpoints
from algebraic_nas.search.config.run_config import RunConfig, check_config, protocol_spec
from algebraic_nas.search.driver import Driver, SearchResult, check_stored_settings
from algebraic_nas.search.executors import private_run_dir
from algebraic_nas.search.feasibility import record_rejections
from algebraic_nas.search.overhead import META_KEY as OVERHEAD_KEY
from algebraic_nas.search.overhead import format_fraction, run_overhead
from algebraic_nas.search.progress import Progress
from algebraic_nas.search.store import Store
from algebraic_nas.search.strategies import Strategy, make_strategy
from algebraic_nas.search.worker import CHECKPOINT_DIR, EvaluationTask, import_object

__all__ = ["RunConfig", "build_strategy", "check_config", "protocol_spec", "run_search"]

log = logging.getLogger("algebraic_nas.search")


def build_strategy(cfg: Mapping[str, Any], grammar: Any, seed: int, **extra: Any) -> Strategy:
    """The strategy of a ``strategy`` config node alone: its registered ``name`` plus fields of
    its config (``batch_size`` is the driver's, not the strategy's)."""
    s = dict(cfg)
    name = s.pop("name", None)
    if not name:
        raise ConfigError("strategy.name is missing")
    s.pop("batch_size", None)
    return make_strategy(name, grammar, seed=seed, **s, **extra)


def _stored_rows(run_dir: Path) -> int:
    """How many proposals the run directory's store holds (0 without a store), read-only."""
    try:
        with Store(run_dir, readonly=True) as store:
            return len(store.rows())
    except FileNotFoundError:
        return 0


def _checkpointing(rc: RunConfig, strategy: Strategy, run_dir: Path) -> tuple[EvaluationTask, Optional[CheckpointKeeper]]:
    """The run's evaluation task, saving checkpoints to ``RUN_DIR/checkpoints/<eval_id>.pt`` when
    the policy or the strategy needs them and the evaluation function takes them, and the keeper
    the driver runs after each evaluation to prune them (``None``: none saved)."""
    if not (saves_checkpoints(rc.checkpoints, strategy) and accepts_checkpoints(import_object(rc.task.function))):
        return rc.task, None
    task = dataclasses.replace(rc.task, checkpoint_dir=str((run_dir / CHECKPOINT_DIR).resolve()))
    return task, CheckpointKeeper(rc.checkpoints, strategy.objectives)


def _private_executor_settings(rc: RunConfig, run_dir: Path) -> dict[str, Any]:
    """Make the run directory private (mode 0700) and return the executor settings that change
    with it (a batch executor's temporary TLS certificate goes in it: ``executors/privacy.py``)."""
    settings = dataclasses.asdict(rc.executor_config)
    private = private_run_dir(run_dir, {"kind": rc.executor.name, **settings})
    return {k: v for k, v in private.items() if k in settings and v != settings[k]}


def run_search(cfg: Any, run_dir: str | os.PathLike, strategy: Optional[Strategy] = None,
               propose_ahead: Optional[bool] = None) -> SearchResult:
    """Run (or resume) the search described by ``cfg`` in ``run_dir``.

    Everything that can be checked is checked before anything is written (``cfg`` is resolved
    by :func:`~algebraic_nas.search.config.run_config.check_config` unless it is a
    :class:`RunConfig` already; then the strategy is built); then the run directory's driver lock
    is taken (``RunDirectoryBusy`` if another driver holds it) and the stored evaluation settings
    are compared (``ConfigError`` if they differ), both before the stored config is replaced.

    Args:
        cfg: a :class:`RunConfig`, or the composed config (keys of ``SearchConf``).
        run_dir: output directory; holds ``runs.sqlite`` and, at the end, ``report/``.
        strategy: use this strategy object instead of building the configured one.
        propose_ahead: the driver's choice of computing proposals while the workers train
            (``None``: the config's ``propose_ahead``, whose null lets the driver decide, see
            ``search/driver.py``).
    """
    rc = cfg if isinstance(cfg, RunConfig) else check_config(cfg, strategy_given=strategy is not None)
    run_dir = Path(run_dir)
    if strategy is None:  # built before anything is written: its settings may still be wrong
        strategy = rc.make_strategy(_stored_rows(run_dir))
    task, keeper = _checkpointing(rc, strategy, run_dir)
    changes = _private_executor_settings(rc, run_dir)
    with Store(run_dir) as store:  # takes the run directory's driver lock first
        check_stored_settings(store, task)
        store.set_meta("config", rc.source)
        executor = rc.make_executor(**changes)
        log.info("search: %s on %s / %s, %s, budget %s evaluations / %s s, run dir %s", strategy.name, rc.grammar.name,
                 task.dataset, executor.describe(), rc.budget.evaluations, rc.budget.wall_time_s, run_dir)
        try:
            driver = Driver(rc.grammar, strategy, executor, store, task, rc.budget, batch_size=rc.batch_size,
                            progress=Progress(rc.progress), checkpoint_keeper=keeper,
                            propose_ahead=propose_ahead if propose_ahead is not None else rc.propose_ahead)
            if rc.report and rc.report_html_every > 0:  # RUN_DIR/report/report.html, refreshed while it runs
                from algebraic_nas.search.report.html import live_refresher

                driver.on_result.append(live_refresher(run_dir, rc.report_html_every))
            from algebraic_nas.search.report.tensorboard import make_logger

            logger = make_logger(rc.logger, run_dir)  # logger=tensorboard: RUN_DIR/tensorboard
            driver.on_result += [logger] if logger else []
            result = driver.run()
            run_time = run_overhead(store.get_meta(OVERHEAD_KEY, []) or [])
            if run_time is not None:  # the figure the report's summary.json holds
                log.info("search overhead of the run (%d session%s): %s", run_time["sessions"],
                         "s" if run_time["sessions"] != 1 else "", format_fraction(run_time["overhead"]))
        finally:
            record_rejections(store, strategy)  # candidates over a bound, never trained
            executor.close()
    if rc.report:
        from algebraic_nas.search.report import make_report

        make_report(run_dir, quiet=False)
    return result
