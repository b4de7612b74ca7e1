"""Structured-config schemas of ``python -m algebraic_nas.search`` (Hydra 1.3).

The YAML files in ``algebraic_nas/conf`` pick values; the dataclasses here fix which keys exist
and their types, so a misspelt or mistyped override fails at composition time naming the key
(``strategy.kernl=wl`` → "Key 'kernl' not in 'BanatStrategyConf'", ``n_workers=two`` → "Value 'two'
... could not be converted to Integer ... full_key: n_workers").

Every value is then checked (``search/validation.py``) by :class:`CheckBeforeRun`, a Hydra
callback, before Hydra creates the run directory: a mistake is one line and exit status 2. Errors
Hydra raises itself while composing (unknown key, mistyped value, unknown group option, malformed
override) are caught earlier by :func:`check_overrides` and reported the same way.

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
import sys
import typing
from dataclasses import dataclass, field
from typing import Any, List, NoReturn, Optional

from hydra.core.config_store import ConfigStore
from hydra.experimental.callback import Callback
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from algebraic_nas.errors import AlgebraicNASError, ConfigError
from algebraic_nas.search.worker import DEFAULT_FUNCTION

EXIT_USAGE = 2  # a configuration that cannot run (argparse's status for usage errors)


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
    strategy: Any = MISSING  # a node of the strategy group (generated from the registry)
    executor: Any = MISSING  # a node of the executor group (generated from the registry)
    budget: BudgetConf = field(default_factory=BudgetConf)
    run_dir: Optional[str] = None
    seed: int = 0
    eval_seed: Optional[int] = None  # training seed of every evaluation (null: seed)
    n_workers: int = 1
    device: str = "auto"
    evaluation_function: str = DEFAULT_FUNCTION
    progress: str = "auto"
    report: bool = True
    # minimised objectives (registered names; more than one needs a mo_* strategy) and upper bounds
    # ({params: 1e6} or ["params<=1e6"]; params/flops are checked before training): search/constraints.py
    objectives: List[str] = field(default_factory=lambda: ["valid_error"])
    constraints: Any = None
    checkpoints: str = "best"  # best | all | none: which training checkpoints the run keeps (search/checkpoints.py)
    # compute proposals while the workers train: null = the strategy's choice (BANAT yes), false = synchronous
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
    from algebraic_nas.search.executors import executor_entries
    from algebraic_nas.search.plugins import load_plugins
    from algebraic_nas.search.strategies import strategy_entries

    load_plugins()
    OmegaConf.register_new_resolver("an.or", _first_set, replace=True)
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


def fail(exc: AlgebraicNASError) -> NoReturn:
    """Print ``error: MESSAGE`` (one line, no traceback) and exit with status 2."""
    print(f"error: {' '.join(str(exc).split())}", file=sys.stderr, flush=True)
    sys.exit(EXIT_USAGE)


class CheckBeforeRun(Callback):
    """Hydra callback (``hydra.callbacks`` in ``search.yaml``): before Hydra creates the run
    directory and writes ``.hydra/`` and the log into it, check the configuration and that no
    other driver holds the directory; a mistake exits with :func:`fail`."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        from algebraic_nas.search.lock import RunDirectoryBusy, busy_message, lock_holder
        from algebraic_nas.search.validation import check_config

        try:
            c = OmegaConf.to_container(OmegaConf.masked_copy(config, [k for k in config if k != "hydra"]),
                                       resolve=True, throw_on_missing=True)
            run_dir = str(config.hydra.run.dir)
        except MissingMandatoryValue as exc:
            fail(ConfigError(f"{exc.full_key}=???: must be set (e.g. {exc.full_key}=VALUE on the command line)"))
        except Exception:  # noqa: BLE001 - unresolvable here (e.g. ${hydra:...}): run_search checks it
            return
        try:
            check_config(c)
            holder = lock_holder(run_dir)
            if holder is not None:
                raise RunDirectoryBusy(busy_message(run_dir, holder))
        except AlgebraicNASError as exc:
            fail(exc)


def _accepted_type(t: Any) -> str:
    """``Optional[int]`` -> ``'an integer or null'``: what a typed key accepts, in words."""
    args = typing.get_args(t)
    nullable = type(None) in args
    if nullable:
        rest = [a for a in args if a is not type(None)]
        t = rest[0] if len(rest) == 1 else Any
    words = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(t, "a value")
    return f"{words} or null" if nullable else words


def _override_of(key: str, overrides: list[str]) -> str:
    """The command-line override that set ``key`` (or a key below it), else ``key`` itself."""
    for o in overrides:
        name = o.lstrip("+~").split("=", 1)[0]
        if name == key or name.startswith(key + "."):
            return o
    return key


def _composition_error(exc: Exception, overrides: list[str]) -> ConfigError:
    """One line naming the key and what is accepted, for an error Hydra raised while composing."""
    from hydra.errors import MissingConfigException, OverrideParseException
    from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException, ValidationError

    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file and exc.options:
        group, _, option = exc.missing_cfg_file.rpartition("/")
        return ConfigError(f"{group}={option}: unknown option; must be one of {', '.join(exc.options)}")
    if isinstance(exc, OverrideParseException):
        reason = str(exc.message).splitlines()[0] if exc.message else "malformed"
        return ConfigError(f"{exc.override}: not an override KEY=VALUE ({reason}); quote values with spaces or "
                           "brackets, e.g. key='a b'")
    cause: Optional[BaseException] = exc
    while cause is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, OmegaConfBaseException) and cause.full_key:
        owner = cause.object_type
        hints = typing.get_type_hints(owner) if dataclasses.is_dataclass(owner) else {}
        given = _override_of(str(cause.full_key), overrides)
        if isinstance(cause, (ConfigAttributeError, ConfigKeyError)):
            parent = str(cause.full_key).rpartition(".")[0]
            where = f"keys of {parent}" if parent else "top-level keys"
            return ConfigError(f"{given}: no key {cause.full_key}; the {where} are {', '.join(hints)}")
        if isinstance(cause, ValidationError) and cause.key in hints:
            return ConfigError(f"{cause.full_key}={cause.value!r}: must be {_accepted_type(hints[cause.key])}")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if first.startswith("Ambiguous value for argument '"):  # seed=1,2 without -m
        given = first.split("'")[1]
        return ConfigError(f"{given}: ambiguous value; write a list as [a,b], quote a string ('a,b'), or sweep "
                           "with -m")
    return ConfigError(f"{' '.join(overrides) or 'the configuration'}: {first}")


def check_overrides(argv: list[str]) -> None:
    """Compose the config from the command line's overrides with Hydra's compose API, before
    ``@hydra.main`` runs: Hydra's own composition errors (an unknown key, a value of the wrong
    type, an unknown group option, a malformed override) become one :class:`ConfigError` line.
    ``--help`` and the flags that change the config source are left to Hydra; with ``-m`` each
    swept value is composed once; ``hydra.*`` overrides are composed like any other."""
    from hydra import compose, initialize_config_module
    from hydra._internal.utils import get_args_parser
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        args, _ = get_args_parser().parse_known_args(argv)
    except SystemExit:  # argparse's own usage error: Hydra prints it
        return
    if (args.help or args.hydra_help or args.config_path or args.config_dir or args.config_name or args.experimental_rerun):
        return
    modes = [flag for flag, on in (("--run", args.run), ("-m", args.multirun), ("--cfg", args.cfg),
                                   ("--info", args.info), ("--shell-completion", args.shell_completion)) if on]
    if len(modes) > 1:  # Hydra raises a ValueError with a traceback
        raise ConfigError(f"{' and '.join(modes)}: only one of --run, -m, --cfg, --info can be given")
    overrides = list(args.overrides)
    try:
        points = _sweep_points(overrides) if args.multirun else [overrides]
        with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
            for point in points:
                compose(config_name="search", overrides=point, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as exc:
        raise _composition_error(exc, overrides) from exc


def _sweep_points(overrides: list[str]) -> list[list[str]]:
    """For ``-m``: the fixed overrides, then each value of each sweep (``seed=1,2``,
    ``n_workers=range(1,3)``) with the fixed ones, so every value Hydra would compose is composed
    once (not every combination). A ``glob(...)`` sweep needs Hydra's config loader: left to Hydra."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parsed = OverridesParser.create().parse_overrides(overrides)
    fixed = [o.input_line for o in parsed if not o.is_sweep_override()]
    points = [fixed]
    for o in parsed:
        if o.is_sweep_override():
            try:
                values = list(o.sweep_string_iterator())
            except HydraException:
                continue
            points += [fixed + [f"{o.get_key_element()}={v}"] for v in values]
    return points
