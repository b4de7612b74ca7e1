"""Structured-config schemas of ``python -m algebraic_nas.search`` (Hydra 1.3).

The YAML files in ``algebraic_nas/conf`` pick values; the dataclasses here fix which keys exist
and their types, so a misspelt or mistyped override fails at composition time naming the key
(``strategy.kernl=wl`` → "Key 'kernl' not in 'BanatStrategyConf'", ``n_workers=two`` → "Value 'two'
... could not be converted to Integer ... full_key: n_workers").

Every value is then checked (``search/config/checks.py``) by :class:`~algebraic_nas.search.config.compose.CheckBeforeRun`, a Hydra
callback, before Hydra creates the run directory: a mistake is one line and exit status 2. Errors
Hydra raises itself while composing (unknown key, mistyped value, unknown group option, malformed
override) are caught earlier by :func:`~algebraic_nas.search.config.compose.check_overrides` and reported the same way.

Config groups: ``grammar`` (one option per shipped grammar, plus ``custom`` for a path: the
YAML file ``conf/grammar/custom.yaml``); ``dataset`` and ``protocol``,
generated from the evaluation package's dataset and protocol registries (one option per
registered name, e.g. ``dataset=clutterdigits protocol=tiny``); and
``strategy`` and ``executor``, generated from the strategy and executor registries: one option
per registered name, whose keys are the fields of the registered config dataclass (so a
strategy's defaults live only in its config dataclass, next to its class).
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from algebraic_nas.search.worker import DEFAULT_FUNCTION


@dataclass
class GrammarConf:
    """``name``: a shipped grammar (``hnb201``) or the path of an ``.ebnf`` file."""

    name: str = "hnb201"


@dataclass
class DatasetConf:
    """``name``: a dataset of the evaluation package (``digits``, ``addigits``, ``cifar10``...);
    ``data_root``: where its files are (``null``: the evaluation package's default)."""

    name: str = "digits"
    data_root: Optional[str] = None


def _protocol_schema() -> type:
    """A dataclass with every field of ``evaluation.Protocol`` as an optional override (``null``
    keeps the preset's value), plus ``name`` (the preset)."""
    from algebraic_nas.evaluation.protocols import Protocol

    hints = typing.get_type_hints(Protocol)
    fields: list[tuple[str, Any, Any]] = [("name", str, field(default="quick"))]
    for f in dataclasses.fields(Protocol):
        if f.name == "name":
            continue
        t = hints[f.name]
        args = [a for a in typing.get_args(t) if a is not type(None)]
        base = t if not args else (args[0] if len(args) == 1 else Any)
        if base not in (int, float, bool, str):
            base = Any  # e.g. compile: bool | str
        fields.append((f.name, Optional[base] if base is not Any else Any, field(default=None)))
    return dataclasses.make_dataclass("ProtocolConf", fields)


ProtocolConf = _protocol_schema()


@dataclass
class BudgetConf:
    """When the search stops (all sessions of a run together; at least one set): ``evaluations``:
    after this many finished evaluations (null: no limit); ``wall_time_s``: after this many
    seconds of search time (null: no limit; running evaluations are abandoned and run again by a
    resumed run)."""

    evaluations: Optional[int] = 30
    wall_time_s: Optional[float] = None


@dataclass
class SearchConf:
    """The whole search; each group has its own keys. ``grammar``: the search space;
    ``dataset``: the task networks are trained on; ``protocol``: how each network is trained;
    ``strategy``: the search method and its settings; ``executor``: where evaluations run;
    ``budget``: when the search stops; ``run_dir``: the output directory (null: Hydra's,
    outputs/DATE/TIME; the same command with the same run_dir resumes the run); ``seed``: the
    strategy's random numbers (and the networks', unless eval_seed is set); ``eval_seed``: the
    training seed of every evaluation (null: seed); ``n_workers``: evaluations at a time (0: as
    many as an existing Dask scheduler has workers); ``device``: auto, cpu, cuda or cuda:N;
    ``evaluation_function``: the import path of the function that evaluates a term
    (package.module:function); ``progress``: the live display (auto, bar, log, none);
    ``report``: write RUN_DIR/report at the end; ``report_html_every``: rewrite
    RUN_DIR/report/report.html every N evaluations while the search runs (0: off); ``logger``:
    none, or tensorboard (scalars per evaluation in RUN_DIR/tensorboard); ``objectives``: the minimised objectives
    (registered names, e.g. [valid_error, params]); ``constraints``: upper bounds
    ({params: 1e6} or ['params<=1e6']), checked before training for params and flops;
    ``checkpoints``: which training checkpoints the run keeps (best, all, none);
    ``propose_ahead``: compute proposals while the workers train (null: the strategy's choice,
    false: synchronous)."""

    grammar: GrammarConf = field(default_factory=GrammarConf)
    dataset: DatasetConf = field(default_factory=DatasetConf)
    protocol: Any = MISSING  # a ProtocolConf
    strategy: Any = MISSING  # a node of the strategy group (generated from the registry)
    executor: Any = MISSING  # a node of the executor group (generated from the registry)
    budget: BudgetConf = field(default_factory=BudgetConf)
    run_dir: Optional[str] = None
    seed: int = 0
    eval_seed: Optional[int] = None
    n_workers: int = 1
    device: str = "auto"
    evaluation_function: str = DEFAULT_FUNCTION
    progress: str = "auto"
    report: bool = True
    report_html_every: int = 10  # rewrite RUN_DIR/report/report.html every N evaluations while it runs (0: off)
    logger: str = "none"  # none | tensorboard: scalars per evaluation and the incumbent in RUN_DIR/tensorboard
    # parsed and checked by search/config/objectives.py
    objectives: List[str] = field(default_factory=lambda: ["valid_error"])
    constraints: Any = None
    checkpoints: str = "best"  # search/checkpoints.py
    propose_ahead: Optional[bool] = None


def _first_set(value: Any, default: Any) -> Any:
    """``${an.or:${run_dir},DEFAULT}``: the value unless it is null or empty."""
    return default if value in (None, "") else value


def _node(name: str, config: type, head: list[tuple[str, Any, Any]], defaults: dict[str, Any], suffix: str) -> type:
    """A structured-config node: ``head`` fields (``name``/``kind``, ...) then every field of
    the registered ``config`` dataclass, with ``defaults`` replacing its defaults."""
    hints = typing.get_type_hints(config)
    fields = list(head)
    for f in dataclasses.fields(config):
        if f.name in defaults:
            value = defaults[f.name]
            fields.append((f.name, hints[f.name], field(default_factory=lambda v=value: copy.deepcopy(v))))
        elif f.default is not dataclasses.MISSING:
            fields.append((f.name, hints[f.name], field(default=f.default)))
        else:
            fields.append((f.name, hints[f.name], field(default_factory=f.default_factory)))
    title = "".join(p.capitalize() for p in name.replace("-", "_").split("_"))
    return dataclasses.make_dataclass(f"{title}{suffix}Conf", fields)


def strategy_node(entry: Any) -> type:
    """The Hydra node of a registered strategy: ``name``, the driver's ``batch_size`` (at most
    this many proposals per strategy call) and the fields of its config."""
    head = [("name", str, field(default=entry.name)), ("batch_size", int, field(default=1))]
    return _node(entry.name, entry.config, head, dict(entry.defaults), "Strategy")


def executor_node(entry: Any) -> type:
    """The Hydra node of a registered executor: ``kind`` and the fields of its config."""
    return _node(entry.name, entry.config, [("kind", str, field(default=entry.name))], {}, "Executor")


def register_configs() -> None:
    """Register the schemas with Hydra's ConfigStore, the ``strategy`` and ``executor`` groups
    generated from their registries (one option per registered name; plugins named in
    ``ALGEBRAIC_NAS_PLUGINS`` are imported first), and the ``an.or`` resolver that picks
    Hydra's output directory."""
    from algebraic_nas.evaluation import dataset_names, protocol_names
    from algebraic_nas.search.config.help import config_help
    from algebraic_nas.search.config.plugins import load_plugins
    from algebraic_nas.search.executors import executor_entries
    from algebraic_nas.search.strategies import strategy_entries

    load_plugins()
    OmegaConf.register_new_resolver("an.or", _first_set, replace=True)
    OmegaConf.register_new_resolver("an.config_help", config_help, replace=True)  # --help (config/help.py)
    cs = ConfigStore.instance()
    cs.store(name="search_schema", node=SearchConf)
    # no schema groups (--help would list them as choices): SearchConf types every group's node
    from algebraic_nas.grammar import shipped_grammars

    for name in shipped_grammars():  # every shipped grammar is an option: grammar=nago_hnag
        cs.store(group="grammar", name=name, node=GrammarConf(name=name))
    for name in dataset_names():  # the name picks the dataset; data_root stays a key of each
        cs.store(group="dataset", name=name, node=DatasetConf(name=name))
    for name in protocol_names():  # the name picks the preset; every field stays overridable
        cs.store(group="protocol", name=name, node=ProtocolConf(name=name))
    for entry in strategy_entries():
        cs.store(group="strategy", name=entry.name, node=strategy_node(entry))
    for entry in executor_entries():
        cs.store(group="executor", name=entry.name, node=executor_node(entry))
