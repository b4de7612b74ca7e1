"""Build a search from a configuration and run it (what ``python -m algebraic_nas.search`` does).

:func:`run_search` takes the composed Hydra config (or a plain nested dict with the keys of
``search.config.SearchConf``) and a run directory, so it can also be called from Python.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping, Optional

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.driver import Budget, Driver, SearchResult
from algebraic_nas.search.executors import Executor, make_executor
from algebraic_nas.search.progress import Progress
from algebraic_nas.search.settings import resolve_config
from algebraic_nas.search.store import Store
from algebraic_nas.search.strategies import Strategy, get_strategy, make_strategy
from algebraic_nas.search.worker import DEFAULT_FUNCTION, EvaluationTask

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


def grammar_reference(name: str) -> str:
    """A shipped grammar name as is; a path made absolute (workers may run elsewhere)."""
    p = Path(name).expanduser()
    if p.suffix == ".ebnf" or os.sep in name or p.exists():
        return str(p.resolve())
    return name


def protocol_spec(protocol: Mapping[str, Any]) -> dict:
    """The protocol config as ``evaluate`` takes it: the preset name plus the fields set.
    The trainer's own epoch progress is off unless asked for: the search shows its own."""
    spec = {k: v for k, v in protocol.items() if v is not None}
    spec.setdefault("progress", "none")
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


def build_executor(cfg: Mapping[str, Any], n_workers: int) -> Executor:
    """The executor of ``cfg["executor"]``: its registered ``kind`` plus fields of its config."""
    ex = dict(cfg)
    return make_executor(ex.pop("kind", "auto"), n_workers=n_workers, **ex)


def check_config(c: Mapping[str, Any], strategy_given: bool = False) -> None:
    """Fail before anything starts (:class:`ConfigError` naming the key and the known names)
    when the strategy or executor is not registered or has a setting its config lacks, or the
    dataset or protocol is not registered."""
    from algebraic_nas.search.executors import get_executor

    if not strategy_given:
        s = dict(c.get("strategy") or {})
        entry = get_strategy(s.pop("name", ""))
        s.pop("batch_size", None)
        resolve_config(entry.config, None, s, where="strategy")
    ex = dict(c.get("executor") or {})
    resolve_config(get_executor(ex.pop("kind", "auto")).config, None, ex, where="executor")
    if (c.get("evaluation_function") or DEFAULT_FUNCTION) == DEFAULT_FUNCTION:  # a user function may take any name
        from algebraic_nas.evaluation import get_dataset_info, get_protocol

        get_dataset_info(str((c.get("dataset") or {}).get("name")))  # ConfigError naming dataset.name
        get_protocol(str((c.get("protocol") or {}).get("name")))  # ConfigError naming protocol.name


def run_search(cfg: Any, run_dir: str | os.PathLike, strategy: Optional[Strategy] = None) -> SearchResult:
    """Run (or resume) the search described by ``cfg`` in ``run_dir``.

    Args:
        cfg: the composed config (keys of ``SearchConf``).
        run_dir: output directory; holds ``runs.sqlite`` and, at the end, ``report/``.
        strategy: use this strategy object instead of building ``cfg["strategy"]``.
    """
    from algebraic_nas.grammar import load_grammar

    c = _plain(cfg)
    check_config(c, strategy_given=strategy is not None)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    grammar_name = grammar_reference(c["grammar"]["name"])
    grammar = load_grammar(grammar_name)
    seed = int(c.get("seed", 0))
    eval_seed = c.get("eval_seed")
    n_workers = int(c.get("n_workers", 1))
    ex = dict(c.get("executor") or {})
    # one torch thread per evaluation unless asked: these networks gain little from intra-op
    # threads, and on a shared CPU two threads made one hnb201 epoch 20x slower (spinning);
    # use more workers to use more cores
    threads = ex.get("threads") or 1

    with Store(run_dir) as store:
        # a resumed run must not repeat the random choices of the sessions before it
        n_rows = len(store.rows())
        if strategy is None:
            strategy = build_strategy(c["strategy"], grammar, seed=seed * 1_000_003 + n_rows,
                                      network_seed=seed if eval_seed is None else int(eval_seed))
        store.set_meta("config", c)
        executor = build_executor(ex, n_workers)
        settings = EvaluationTask(
            grammar=grammar_name,
            dataset=c["dataset"]["name"],
            protocol=protocol_spec(c["protocol"]),
            seed=seed if eval_seed is None else int(eval_seed),
            device=c.get("device", "auto"),
            data_root=c["dataset"].get("data_root"),
            function=c.get("evaluation_function") or DEFAULT_FUNCTION,
            threads=threads,
        )
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
            )
            result = driver.run()
        finally:
            executor.close()
    if c.get("report", True):
        from algebraic_nas.search.report import make_report

        make_report(run_dir, quiet=False)
    return result
