"""Build a search from a configuration and run it (what ``python -m algebraic_nas.search`` does).

:func:`run_search` takes the composed Hydra config (or a plain nested dict with the keys of
``search.config.schema.SearchConf``) and a run directory, so it can also be called from Python.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any, Mapping, Optional

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.checkpoints import CheckpointKeeper, accepts_checkpoints, check_policy, saves_checkpoints
from algebraic_nas.search.feasibility import record_rejections
from algebraic_nas.search.driver import Budget, Driver, SearchResult, check_stored_settings
from algebraic_nas.search.executors import Executor, make_executor, private_run_dir
from algebraic_nas.search.progress import Progress
from algebraic_nas.search.store import Store
from algebraic_nas.search.strategies import Strategy, make_strategy
from algebraic_nas.search.config.checks import check_config, grammar_reference
from algebraic_nas.search.worker import CHECKPOINT_DIR, DEFAULT_FUNCTION, EvaluationTask, import_object

__all__ = ["build_executor", "build_strategy", "check_config", "grammar_reference", "protocol_spec", "run_search"]

log = logging.getLogger("algebraic_nas.search")


def _plain(cfg: Any) -> dict:
    """A Hydra/OmegaConf config (or a mapping) as plain, resolved Python containers."""
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(cfg, DictConfig):
            return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    return {k: (_plain(v) if isinstance(v, Mapping) else v) for k, v in dict(cfg).items()}


def protocol_spec(protocol: Mapping[str, Any], threads: Optional[int] = None) -> dict:
    """The protocol config as ``evaluate`` takes it: the preset name plus the fields set.
    The trainer's own epoch progress is off unless asked for: the search shows its own.
    ``threads`` (``executor.threads``) becomes ``cpu_threads`` when the protocol leaves it unset
    (unset, evaluate's default applies: one thread, as everywhere)."""
    spec = {k: v for k, v in protocol.items() if v is not None}
    spec.setdefault("progress", "none")
    if threads is not None:
        spec.setdefault("cpu_threads", int(threads))
    return spec


def build_strategy(cfg: Mapping[str, Any], grammar: Any, seed: int, **extra: Any) -> Strategy:
    """The strategy of ``cfg["strategy"]``: its registered ``name`` plus fields of its config
    (``batch_size`` is the driver's, not the strategy's)."""
    s = dict(cfg)
    name = s.pop("name", None)
    if not name:
        raise ConfigError("strategy.name is missing")
    s.pop("batch_size", None)
    return make_strategy(name, grammar, seed=seed, **s, **extra)


def strategy_keywords(c: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor keywords a multi-objective strategy gets from the search config
    (``objectives``, ``constraints``, ``dataset``); ``{}`` for any other strategy."""
    from algebraic_nas.search.strategies import get_strategy

    from algebraic_nas.search.config.objectives import parse_objectives

    entry = get_strategy(str((c.get("strategy") or {}).get("name", "")))
    if not getattr(entry.cls, "multi_objective", False):
        return {}
    return {"objectives": list(parse_objectives(c.get("objectives"))), "constraints": c.get("constraints"),
            "dataset": str((c.get("dataset") or {}).get("name", "digits"))}


def _stored_rows(run_dir: Path) -> int:
    """How many proposals the run directory's store holds (0 without a store), read-only."""
    try:
        with Store(run_dir, readonly=True) as store:
            return len(store.rows())
    except FileNotFoundError:
        return 0


def build_executor(cfg: Mapping[str, Any], n_workers: int) -> Executor:
    """The executor of ``cfg["executor"]``: its registered ``kind`` plus fields of its config."""
    ex = dict(cfg)
    return make_executor(ex.pop("kind", "auto"), n_workers=n_workers, **ex)


def run_search(cfg: Any, run_dir: str | os.PathLike, strategy: Optional[Strategy] = None,
               propose_ahead: Optional[bool] = None) -> SearchResult:
    """Run (or resume) the search described by ``cfg`` in ``run_dir``.

    Everything that can be checked is checked before anything is written
    (:func:`~algebraic_nas.search.config.checks.check_config`, then the strategy is built); then
    the run directory's driver lock is taken (``RunDirectoryBusy`` if another driver holds it)
    and the stored evaluation settings are compared (``ConfigError`` if they differ), both
    before the stored config is replaced.

    Args:
        cfg: the composed config (keys of ``SearchConf``).
        run_dir: output directory; holds ``runs.sqlite`` and, at the end, ``report/``.
        strategy: use this strategy object instead of building ``cfg["strategy"]``.
        propose_ahead: the driver's choice of computing proposals while the workers train
            (``None``: the config's ``propose_ahead``, whose null lets the driver decide, see
            ``search/driver.py``).
    """
    from algebraic_nas.evaluation.evaluate import DEFAULT_CPU_THREADS

    c = _plain(cfg)
    grammar = check_config(c, strategy_given=strategy is not None)
    run_dir = Path(run_dir)
    grammar_name = grammar_reference(c["grammar"]["name"])
    seed = int(c.get("seed", 0))
    eval_seed = c.get("eval_seed")
    network_seed = seed if eval_seed is None else int(eval_seed)
    n_workers = int(c.get("n_workers", 1))
    ex = dict(c.get("executor") or {})
    # one torch thread per evaluation unless asked (evaluate's default too): these networks gain
    # little from intra-op threads, and on a shared CPU two threads made one hnb201 epoch 20x
    # slower (spinning); use more workers to use more cores
    threads = ex.get("threads")
    settings = EvaluationTask(
        grammar=grammar_name,
        dataset=c["dataset"]["name"],
        protocol=protocol_spec(c["protocol"], threads),
        seed=network_seed,
        device=c.get("device", "auto"),
        data_root=c["dataset"].get("data_root"),
        function=c.get("evaluation_function") or DEFAULT_FUNCTION,
        threads=threads or DEFAULT_CPU_THREADS,
    )
    # a resumed run must not repeat the random choices of the sessions before it
    n_rows = _stored_rows(run_dir)
    if strategy is None:  # built before anything is written: its settings may still be wrong
        strategy = build_strategy(c["strategy"], grammar, seed=seed * 1_000_003 + n_rows, network_seed=network_seed,
                                  **strategy_keywords(c))  # objectives, constraints: multi-objective only
    policy = check_policy(c.get("checkpoints", "best"))  # RUN_DIR/checkpoints/<eval_id>.pt, pruned by the keeper
    keeper = None
    if saves_checkpoints(policy, strategy) and accepts_checkpoints(import_object(settings.function)):
        settings = dataclasses.replace(settings, checkpoint_dir=str((run_dir / CHECKPOINT_DIR).resolve()))
        keeper = CheckpointKeeper(policy, strategy.objectives)  # run by the driver after each evaluation

    ex = private_run_dir(run_dir, ex)  # mode 0700; a temporary TLS certificate goes in it (executors/privacy.py)
    with Store(run_dir) as store:  # takes the run directory's driver lock first
        check_stored_settings(store, settings)
        store.set_meta("config", c)
        executor = build_executor(ex, n_workers)
        b = c.get("budget") or {}
        budget = Budget(evaluations=b.get("evaluations"), wall_time_s=b.get("wall_time_s"))
        log.info(
            "search: %s on %s / %s, %s, budget %s evaluations / %s s, run dir %s",
            strategy.name, grammar.name, settings.dataset, executor.describe(), budget.evaluations,
            budget.wall_time_s, run_dir,
        )
        try:
            driver = Driver(
                grammar, strategy, executor, store, settings, budget,
                batch_size=int((c.get("strategy") or {}).get("batch_size", 1)),
                progress=Progress(c.get("progress", "auto")),
                propose_ahead=propose_ahead if propose_ahead is not None else c.get("propose_ahead"),
                checkpoint_keeper=keeper,
            )
            if c.get("report", True) and int(c.get("report_html_every") or 0) > 0:  # RUN_DIR/report/report.html, live
                from algebraic_nas.search.report.html import live_refresher

                driver.on_result.append(live_refresher(run_dir, int(c["report_html_every"])))
            from algebraic_nas.search.report.tensorboard import make_logger

            logger = make_logger(c.get("logger"), run_dir)  # logger=tensorboard: RUN_DIR/tensorboard
            driver.on_result += [logger] if logger else []
            result = driver.run()
        finally:
            record_rejections(store, strategy)  # candidates over a bound, never trained
            executor.close()
    if c.get("report", True):
        from algebraic_nas.search.report import make_report

        make_report(run_dir, quiet=False)
    return result
