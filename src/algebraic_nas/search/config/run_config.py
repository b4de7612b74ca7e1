"""The one resolved configuration of a run: :class:`RunConfig`, made by :func:`check_config`.

The composed config (Hydra's, or a plain nested dict with the keys of
:class:`~algebraic_nas.search.config.schema.SearchConf` from Python) is checked and resolved
here once: the strategy's registry entry and its config dataclass, the objectives and bounds,
the seeds (the network seed among them), the :class:`~algebraic_nas.search.worker.EvaluationTask`
every evaluation starts from, the executor's entry and config, the budget. The command line
(``CheckBeforeRun``), :func:`~algebraic_nas.search.runner.run_search` and the Python API all use
the same object; nothing downstream resolves a piece of it again.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Optional

from algebraic_nas.errors import ConfigError
from algebraic_nas.search.config import checks
from algebraic_nas.search.config.objectives import Bound, check_objectives_config
from algebraic_nas.search.worker import DEFAULT_FUNCTION, EvaluationTask

if TYPE_CHECKING:
    from algebraic_nas.grammar import Grammar
    from algebraic_nas.search.driver import Budget
    from algebraic_nas.search.executors import Executor
    from algebraic_nas.search.strategies import Strategy

STRATEGY_SEED_STRIDE = 1_000_003  # a resumed run's strategy seed: seed * stride + stored proposals


@dataclass(frozen=True)
class RunConfig:
    """A search's configuration, checked and resolved (see the module docstring).

    Attributes:
        grammar: the loaded search space.
        strategy: the strategy's registry entry (``None``: a strategy object was given).
        strategy_config: its config dataclass, the entry's defaults with the config's fields.
        batch_size: the fewest proposals the driver asks the strategy for at once.
        objectives: the minimised objective names (registered; the first decides the incumbent).
        constraints: the parsed upper bounds.
        seed: the search's seed (the strategy's random numbers).
        task: how every evaluation runs (grammar reference, dataset, protocol, the network seed
            ``task.seed``, device, evaluation function, torch threads); no term yet.
        executor: the executor's registry entry; ``executor_config`` its config dataclass.
        n_workers: evaluations at a time (0: as many as an existing scheduler has).
        budget: when to stop.
        checkpoints: ``best | all | none``; ``propose_ahead``: ``None`` lets the strategy decide;
        progress: the live display mode; ``report``: write the report at the end;
        ``report_html_every``: refresh ``report/report.html`` every N evaluations (0: off);
        ``logger``: ``none`` or ``tensorboard``.
        source: the config as plain containers (stored in the run directory as meta ``config``).
    """

    grammar: Grammar
    strategy: Any
    strategy_config: Any
    batch_size: int
    objectives: tuple[str, ...]
    constraints: tuple[Bound, ...]
    seed: int
    task: EvaluationTask
    executor: Any
    executor_config: Any
    n_workers: int
    budget: Budget
    checkpoints: str
    propose_ahead: Optional[bool]
    progress: str
    report: bool
    report_html_every: int
    logger: str
    source: dict

    @property
    def network_seed(self) -> int:
        """The seed networks are built with (``eval_seed``, else ``seed``): generator topologies
        draw their graphs from it."""
        return self.task.seed

    def strategy_seed(self, n_stored: int) -> int:
        """The strategy's seed in a session that starts with ``n_stored`` stored proposals (a
        resumed run does not repeat the random choices of the sessions before it)."""
        return self.seed * STRATEGY_SEED_STRIDE + int(n_stored)

    def make_strategy(self, n_stored: int = 0, **extra: Any) -> Strategy:
        """The configured strategy (``extra``: other keyword arguments of its class). The
        objectives, bounds and dataset go to classes that take them (``multi_objective``)."""
        entry = self.strategy
        if entry is None:
            raise ConfigError("strategy: this configuration was checked for a given strategy object")
        if getattr(entry.cls, "multi_objective", False):
            extra = {"objectives": self.objectives, "constraints": self.constraints, "dataset": self.task.dataset,
                     **extra}
        strategy = entry.cls(self.grammar, config=self.strategy_config, seed=self.strategy_seed(n_stored),
                             network_seed=self.network_seed, **extra)
        strategy.name = entry.name
        return strategy

    def make_executor(self, **changes: Any) -> Executor:
        """The configured executor (``changes``: fields of its config to replace, e.g. a private
        TLS directory)."""
        config = dataclasses.replace(self.executor_config, **changes) if changes else self.executor_config
        return self.executor.factory(config, int(self.n_workers))


def protocol_spec(protocol: Mapping[str, Any], threads: Optional[int] = None) -> dict:
    """The protocol config as ``evaluate`` takes it: the preset name plus the fields set. The
    trainer's own epoch progress is off unless asked for: the search shows its own. ``threads``
    becomes ``cpu_threads`` when the protocol leaves it unset."""
    spec = {k: v for k, v in protocol.items() if v is not None}
    spec.setdefault("progress", "none")
    if threads is not None:
        spec.setdefault("cpu_threads", int(threads))
    return spec


def evaluation_task(c: Mapping[str, Any], network_seed: int) -> EvaluationTask:
    """The run-wide :class:`EvaluationTask` of config ``c``. One torch thread count: the
    executor's ``threads``, else the protocol's ``cpu_threads``, else evaluate's default (one:
    these networks gain little from intra-op threads; use more workers for more cores)."""
    from algebraic_nas.evaluation.evaluate import DEFAULT_CPU_THREADS

    protocol = c.get("protocol") or {}
    threads = (c.get("executor") or {}).get("threads")
    if threads is None:
        threads = protocol.get("cpu_threads")
    dataset = c.get("dataset") or {}
    return EvaluationTask(
        grammar=checks.grammar_reference(c["grammar"]["name"]), dataset=str(dataset.get("name")),
        protocol=protocol_spec(protocol, threads), seed=network_seed, device=c.get("device", "auto"),
        data_root=dataset.get("data_root"), function=c.get("evaluation_function") or DEFAULT_FUNCTION,
        threads=int(threads) if threads is not None else DEFAULT_CPU_THREADS,
    )


def plain(cfg: Any) -> dict:
    """A Hydra/OmegaConf config (or a mapping) as plain, resolved Python containers."""
    from omegaconf import DictConfig, OmegaConf

    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return {k: (plain(v) if isinstance(v, Mapping) else v) for k, v in dict(cfg).items()}


def check_config(cfg: Any, strategy_given: bool = False) -> RunConfig:
    """Check the whole search config ``cfg`` (a Hydra config or plain containers with the keys of
    ``SearchConf``; missing keys take their defaults) before anything starts, and resolve it:
    a :class:`ConfigError` naming the key for the first mistake, else the :class:`RunConfig`.
    ``strategy_given``: the caller brings its own strategy object (``strategy`` is not checked)."""
    from algebraic_nas.search.config.plugins import load_plugins
    from algebraic_nas.search.driver import Budget

    c = plain(cfg)
    load_plugins()  # plugin datasets, protocols, strategies and executors are known names
    function = c.get("evaluation_function") or DEFAULT_FUNCTION
    default_function = function == DEFAULT_FUNCTION
    entry, strategy_config, executor, executor_config = checks.check_components(c, strategy_given)
    if default_function:
        checks.check_evaluation_names(c)
    objectives, bounds = check_objectives_config(c, entry)
    budget = c.get("budget") or {}
    checks.check_budget(budget)
    checks.check_workers(c)
    checks.check_device(c.get("device", "auto"), remote=checks.is_remote(c.get("executor") or {}))
    checks.check_scalars(c)
    checks.check_evaluation_function(function)
    if default_function:
        checks.check_protocol(c.get("protocol") or {})
        checks.check_dataset(c.get("dataset") or {})
    seed = int(c.get("seed", 0))
    network_seed = seed if c.get("eval_seed") is None else int(c["eval_seed"])
    dataset = str((c.get("dataset") or {}).get("name"))
    grammar = checks.check_space((c.get("grammar") or {}).get("name"), dataset, network_seed, default_function)
    task = evaluation_task(c, network_seed)
    return RunConfig(
        grammar=grammar, strategy=entry, strategy_config=strategy_config,
        batch_size=int((c.get("strategy") or {}).get("batch_size", 1)), objectives=objectives, constraints=bounds,
        seed=seed, task=task, executor=executor, executor_config=executor_config, n_workers=int(c.get("n_workers", 1)),
        budget=Budget(evaluations=budget.get("evaluations"), wall_time_s=budget.get("wall_time_s")),
        checkpoints=c.get("checkpoints", "best"), propose_ahead=c.get("propose_ahead"),
        progress=c.get("progress", "auto"), report=bool(c.get("report", True)),
        report_html_every=int(c.get("report_html_every") or 0), logger=str(c.get("logger") or "none"), source=c,
    )
