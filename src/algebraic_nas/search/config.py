"""Structured-config schemas of ``python -m algebraic_nas.search`` (Hydra 1.3).

The YAML files in ``algebraic_nas/conf`` pick values; the dataclasses here fix which keys exist
and their types, so a misspelt or mistyped override fails at composition time naming the key
(``strategy.kernl=wl`` → "Key 'kernl' not in 'BanatConf'", ``n_workers=two`` → "Value 'two'
... could not be converted to Integer ... full_key: n_workers").

Config groups: ``grammar``, ``dataset``, ``protocol``, ``strategy`` (``banat``, ``banat_wl``,
``evolution``, ``random``) and ``executor`` (``auto``, ``inprocess``, ``local``, ``dask``).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

from algebraic_nas.search.acquisition import EvolutionConfig
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


# The acquisition optimiser's own settings dataclass is its schema (one source of defaults).
EvolutionConf = EvolutionConfig


@dataclass
class BanatConf:
    """BANAT; ``kernel: wl`` is BANAT (WL). See ``search.strategies.banat``."""

    name: str = "banat"
    kernel: str = "hwl"
    n_initial: int = 10
    acquisition: str = "log_ei"
    xi: float = 0.0
    failed: str = "exclude"
    batch_size: int = 1
    evolution: EvolutionConf = field(default_factory=EvolutionConf)
    surrogate: Dict[str, Any] = field(default_factory=dict)  # extra GraphGP keyword arguments


@dataclass
class EvolutionStrategyConf:
    """Regularized evolution."""

    name: str = "evolution"
    population_size: int = 30
    sample_size: int = 10
    batch_size: int = 1


@dataclass
class RandomConf:
    """Random search."""

    name: str = "random"
    batch_size: int = 1


@dataclass
class ExecutorConf:
    """``kind``: ``auto`` (in-process for one worker, a local Dask cluster for more),
    ``inprocess``, ``local`` (Dask ``LocalCluster``) or ``dask`` (existing scheduler at
    ``address``). ``threads``: torch threads per evaluation (``null``: 1; use more workers
    rather than more threads: on a shared CPU, two threads per small network were 20x slower
    than one). ``gpus``: GPU ids handed out one per local worker (``null``: all visible)."""

    kind: str = "auto"
    address: Optional[str] = None
    threads: Optional[int] = None
    gpus: Optional[List[str]] = None
    memory_limit: str = "auto"
    start_timeout_s: float = 120.0


@dataclass
class BudgetConf:
    """Stop after ``evaluations`` finished evaluations and/or ``wall_time_s`` seconds."""

    evaluations: Optional[int] = 30
    wall_time_s: Optional[float] = None


@dataclass
class SearchConf:
    """The whole search. ``run_dir``: the output directory (``null``: Hydra's, which is
    ``outputs/DATE/TIME``); running the same command with the same ``run_dir`` resumes."""

    grammar: GrammarConf = field(default_factory=GrammarConf)
    dataset: DatasetConf = field(default_factory=DatasetConf)
    protocol: Any = MISSING  # a ProtocolConf
    strategy: Any = MISSING  # a BanatConf, EvolutionStrategyConf or RandomConf
    executor: ExecutorConf = field(default_factory=ExecutorConf)
    budget: BudgetConf = field(default_factory=BudgetConf)
    run_dir: Optional[str] = None
    seed: int = 0
    eval_seed: Optional[int] = None  # training seed of every evaluation (null: seed)
    n_workers: int = 1
    device: str = "auto"
    evaluation_function: str = DEFAULT_FUNCTION
    progress: str = "auto"
    report: bool = True


def _first_set(value: Any, default: Any) -> Any:
    """``${an.or:${run_dir},DEFAULT}``: the value unless it is null or empty."""
    return default if value in (None, "") else value


def register_configs() -> None:
    """Register the schemas with Hydra's ConfigStore (the YAML files extend them) and the
    ``an.or`` resolver that picks Hydra's output directory."""
    OmegaConf.register_new_resolver("an.or", _first_set, replace=True)
    cs = ConfigStore.instance()
    cs.store(name="search_schema", node=SearchConf)
    # kept out of the selectable groups: the YAML options name them as /schema/GROUP/NAME@_here_
    cs.store(group="schema/grammar", name="grammar", node=GrammarConf)
    cs.store(group="schema/dataset", name="dataset", node=DatasetConf)
    cs.store(group="schema/protocol", name="protocol", node=ProtocolConf)
    cs.store(group="schema/strategy", name="banat", node=BanatConf)
    cs.store(group="schema/strategy", name="evolution", node=EvolutionStrategyConf)
    cs.store(group="schema/strategy", name="random", node=RandomConf)
    cs.store(group="schema/executor", name="executor", node=ExecutorConf)
