"""Every setting of a search checked before anything starts: :func:`check_config`.

A mistake is a :class:`~algebraic_nas.errors.ConfigError` whose one-line message names the key,
the value given and the values accepted (``budget.evaluations=0: must be an integer >= 1 or
null (no limit)``); ``python -m algebraic_nas.search`` prints it and exits with status 2 before
the run directory exists. Checked, in order: registered names (strategy, executor, dataset,
protocol) and the settings of their configs; budgets; worker counts and threads; the device;
the progress display; seeds; the evaluation function (importable, with the documented
signature); for the default evaluation function, the protocol's numbers and the dataset's
files; the grammar (a shipped name or an ``.ebnf`` file that loads); and, for the default
evaluation function, that a sampled term of the grammar builds for the dataset (issue 10: a
space with no implementation fails here, not in every evaluation).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from algebraic_nas.errors import AlgebraicNASError, ConfigError
from algebraic_nas.search.progress import PROGRESS_MODES
from algebraic_nas.search.config.settings import resolve_config
from algebraic_nas.search.worker import DEFAULT_FUNCTION, import_object

if TYPE_CHECKING:
    from algebraic_nas.grammar import Grammar

# the keyword arguments every evaluation function receives (``checkpoint_in`` / ``checkpoint_out`` only when set)
EVALUATION_ARGUMENTS = ("term", "grammar", "dataset", "protocol", "seed", "device", "data_root", "overrides")
DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")
DEVICES = "auto, cpu, cuda or cuda:N"


def _fail(key: str, value: Any, accepted: str) -> ConfigError:
    return ConfigError(f"{key}={value!r}: {accepted}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int_at_least(key: str, v: Any, low: int, none_means: Optional[str] = None) -> None:
    if v is None and none_means is not None:
        return
    if not _is_int(v) or v < low:
        tail = f" or null ({none_means})" if none_means is not None else ""
        raise _fail(key, v, f"must be an integer >= {low}{tail}")


# --- protocol numbers: (rule, its text) per field of evaluation.Protocol ------------------------

_POSITIVE = (lambda v: _is_number(v) and v > 0, "must be a number > 0")
_NON_NEGATIVE = (lambda v: _is_number(v) and v >= 0, "must be a number >= 0")
_FRACTION = (lambda v: _is_number(v) and 0 <= v < 1, "must be a number in [0, 1)")


def _int_rule(low: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: _is_int(v) and v >= low, f"must be an integer >= {low}")


def _optional(rule: tuple[Callable[[Any], bool], str], none_means: str) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v is None or rule[0](v), f"{rule[1]} or null ({none_means})")


def _choice(*values: Any) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v in values, "must be one of " + ", ".join(str(x) for x in values))


PROTOCOL_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "optimizer": _choice("sgd", "adamw"),
    "lr": _POSITIVE,
    "momentum": _FRACTION,
    "nesterov": _choice(True, False),
    "weight_decay": _NON_NEGATIVE,
    "schedule": _choice("cosine", "constant"),
    "schedule_step": _choice("iteration", "epoch"),
    "min_lr": _NON_NEGATIVE,
    "batch_size": _int_rule(1),
    "epochs": _int_rule(1),
    "crop_padding": _int_rule(0),
    "grad_clip": _optional(_POSITIVE, "no clipping"),
    "label_smoothing": _FRACTION,
    "eval_batch_size": _int_rule(1),
    "cpu_threads": _optional(_int_rule(1), "one thread"),
    "max_oom_retries": _int_rule(0),
    "min_micro_batch": _int_rule(1),
    "divergence_check_every": _int_rule(1),
    "progress": _choice(*PROGRESS_MODES),
    "latency_batch_size": _int_rule(1),
    "compile": _choice(False, True, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"),
}


def check_protocol(protocol: Mapping[str, Any]) -> None:
    """The protocol config (a preset ``name`` and overrides; ``None`` keeps the preset's value):
    every effective number in range, every choice known."""
    from algebraic_nas.evaluation.protocols import PROTOCOLS, Protocol, get_protocol

    p = dict(protocol)
    name = p.pop("name", None)
    given = {k: v for k, v in p.items() if v is not None}
    fields = dataclasses.asdict(PROTOCOLS[name]) if name in PROTOCOLS else dataclasses.asdict(Protocol())
    fields.update(given)
    for key, (ok, text) in PROTOCOL_RULES.items():
        if key in fields and not ok(fields[key]):
            raise _fail(f"protocol.{key}", fields[key], text)
    if fields["min_lr"] > fields["lr"]:
        raise _fail("protocol.min_lr", fields["min_lr"], f"must be <= protocol.lr ({fields['lr']})")
    try:
        get_protocol({"name": name, **given})  # anything the Protocol itself rejects
    except ValueError as exc:
        raise ConfigError(f"protocol: {exc}") from None


# --- the other groups ---------------------------------------------------------------------------


def check_budget(budget: Mapping[str, Any]) -> None:
    """``budget.evaluations`` an integer >= 1 and ``budget.wall_time_s`` a number > 0 (each
    ``null`` for no limit), not both ``null``."""
    evaluations, wall = budget.get("evaluations"), budget.get("wall_time_s")
    _int_at_least("budget.evaluations", evaluations, 1, none_means="no limit")
    if wall is not None and not (_is_number(wall) and wall > 0):
        raise _fail("budget.wall_time_s", wall, "must be a number of seconds > 0 or null (no limit)")
    if evaluations is None and wall is None:
        raise ConfigError("budget: set budget.evaluations (an integer >= 1) and/or budget.wall_time_s (seconds > 0)")


def _remote(executor: Mapping[str, Any]) -> bool:
    """Whether the executor's workers may run on other machines (an existing scheduler, a batch
    system: its registry entry says so)."""
    from algebraic_nas.search.executors import get_executor

    kind = executor.get("kind", "auto")
    if kind == "auto":
        return bool(executor.get("address"))
    try:
        return get_executor(kind).remote
    except ConfigError:  # an unknown executor is reported by the registered-names check
        return False


def check_workers(c: Mapping[str, Any]) -> None:
    """``n_workers`` >= 1 (0 only with an existing scheduler: as many as it has workers);
    one worker in-process; ``executor.threads`` >= 1 and agreeing with ``protocol.cpu_threads``;
    ``executor.address`` for ``executor=dask``; ``strategy.batch_size`` >= 1."""
    ex = dict(c.get("executor") or {})
    n = c.get("n_workers", 1)
    if _remote(ex):
        _int_at_least("n_workers", n, 0)
    elif not _is_int(n) or n < 1:
        raise _fail("n_workers", n, "must be an integer >= 1 (0, as many as the scheduler has, only with executor=dask)")
    if ex.get("kind") == "inprocess" and n > 1:
        raise _fail("n_workers", n, "must be 1 with executor=inprocess (use executor=local for more)")
    if ex.get("kind") == "dask" and not ex.get("address"):
        raise _fail("executor.address", ex.get("address"), "executor=dask needs the scheduler's address (tcp://host:8786)")
    threads = ex.get("threads")
    _int_at_least("executor.threads", threads, 1, none_means="one thread per evaluation")
    cpu = (c.get("protocol") or {}).get("cpu_threads")
    if threads is not None and cpu is not None and threads != cpu:
        raise _fail("executor.threads", threads, f"disagrees with protocol.cpu_threads={cpu}: set one of them")
    if "start_timeout_s" in ex and not (_is_number(ex["start_timeout_s"]) and ex["start_timeout_s"] > 0):
        raise _fail("executor.start_timeout_s", ex["start_timeout_s"], "must be a number of seconds > 0")
    _int_at_least("strategy.batch_size", (c.get("strategy") or {}).get("batch_size", 1), 1)


def check_device(device: Any, remote: bool) -> None:
    """``device`` is auto, cpu, cuda or cuda:N, and a CUDA device exists here (unless the
    workers are remote: they may have GPUs this machine lacks)."""
    if not isinstance(device, str) or not DEVICE_PATTERN.fullmatch(device):
        raise _fail("device", device, f"must be {DEVICES}")
    if device.startswith("cuda") and not remote:
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(device.partition(":")[2] or 0)
        if index >= count:
            have = "no GPU" if not count else f"{count} GPU{'s' if count > 1 else ''}"
            accepted = "auto, cpu" + (f", cuda, cuda:0..cuda:{count - 1}" if count else "")
            raise _fail("device", device, f"this machine has {have}; accepted: {accepted}")


def check_evaluation_function(path: Any) -> Callable[..., Any]:
    """``evaluation_function`` imports (``package.module:function``) and accepts the keyword
    arguments of :data:`EVALUATION_ARGUMENTS`; returns the function."""
    key = "evaluation_function"
    if not isinstance(path, str) or not path:
        raise _fail(key, path, "must be an import path 'package.module:function'")
    try:
        fn = import_object(path)
    except Exception as exc:  # noqa: BLE001 - whatever importing the user's module raises
        raise _fail(key, path, f"cannot be imported ({type(exc).__name__}: {exc}); "
                               "expected an import path 'package.module:function'") from None
    if not callable(fn):
        raise _fail(key, path, f"is a {type(fn).__name__}, not a function")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have no signature: nothing to check
        return fn
    try:
        sig.bind(**{a: None for a in EVALUATION_ARGUMENTS})
    except TypeError as exc:
        raise _fail(key, path, f"has the signature {sig} ({exc}); it must accept the keyword arguments "
                               + ", ".join(EVALUATION_ARGUMENTS)) from None
    return fn


def grammar_reference(name: str) -> str:
    """A shipped grammar name as is; a path made absolute (workers may run elsewhere)."""
    p = Path(name).expanduser()
    if p.suffix == ".ebnf" or os.sep in name or p.exists():
        return str(p.resolve())
    return name


def load_checked_grammar(name: Any) -> Grammar:
    """The grammar of ``grammar.name`` (a shipped name or an ``.ebnf`` path), or a
    ConfigError saying why it cannot be loaded."""
    from algebraic_nas.grammar import load_grammar

    if not isinstance(name, str) or not name.strip():
        raise _fail("grammar.name", name, "must be a shipped grammar name or the path of an .ebnf file "
                                          "(grammar=custom needs grammar.name=PATH)")
    try:
        return load_grammar(grammar_reference(name))
    except AlgebraicNASError as exc:
        raise ConfigError(f"grammar.name={name!r}: {exc}") from None
    except (OSError, RecursionError, UnicodeError) as exc:
        raise ConfigError(f"grammar.name={name!r}: cannot be read: {type(exc).__name__}: {exc}") from None


def check_names(c: Mapping[str, Any], strategy_given: bool, default_function: bool) -> None:
    """Registered strategy and executor with only settings their configs have; for the default
    evaluation function, a registered dataset and protocol."""
    from algebraic_nas.search.executors import get_executor
    from algebraic_nas.search.strategies import get_strategy

    if not strategy_given:
        s = dict(c.get("strategy") or {})
        entry = get_strategy(s.pop("name", ""))
        s.pop("batch_size", None)
        resolve_config(entry.config, None, s, where="strategy")
    ex = dict(c.get("executor") or {})
    executor = get_executor(ex.pop("kind", "auto"))
    settings = resolve_config(executor.config, None, ex, where="executor")
    n_workers = c.get("n_workers", 1)
    if executor.check is not None and _is_int(n_workers):  # the executor's own checks (a batch job's shape);
        executor.check(settings, n_workers)  # a bad n_workers is check_workers' error, naming it
    if default_function:  # a user function may take any dataset or protocol name
        from algebraic_nas.evaluation import get_dataset_info, get_protocol

        get_dataset_info(str((c.get("dataset") or {}).get("name")))  # ConfigError naming dataset.name
        get_protocol(str((c.get("protocol") or {}).get("name")))  # ConfigError naming protocol.name


def check_search_objectives(c: Mapping[str, Any], strategy_given: bool = False) -> None:
    """``check_config``'s check of the ``objectives`` and ``constraints`` keys (with the
    configured strategy unless a strategy object is given)."""
    from algebraic_nas.search.config.objectives import check_objectives_config

    entry = None
    if not strategy_given:
        from algebraic_nas.search.strategies import get_strategy

        entry = get_strategy(str((c.get("strategy") or {}).get("name", "")))
    check_objectives_config(c, entry)


def check_config(c: Mapping[str, Any], strategy_given: bool = False) -> Grammar:
    """Check the whole search config ``c`` (plain containers, the keys of ``SearchConf``;
    missing keys take their defaults) before anything starts; a :class:`ConfigError` naming the
    key for the first mistake. Returns the loaded grammar (so the caller need not load it again)."""
    from algebraic_nas.search.config.plugins import load_plugins

    load_plugins()  # plugin datasets, protocols, strategies and executors are known names
    function = c.get("evaluation_function") or DEFAULT_FUNCTION
    default_function = function == DEFAULT_FUNCTION
    check_names(c, strategy_given, default_function)
    check_search_objectives(c, strategy_given)  # objectives and constraints keys
    check_budget(c.get("budget") or {})
    check_workers(c)
    executor = c.get("executor") or {}
    check_device(c.get("device", "auto"), remote=_remote(executor))
    progress = c.get("progress", "auto")
    if progress not in PROGRESS_MODES:
        raise _fail("progress", progress, "must be one of " + ", ".join(PROGRESS_MODES))
    if not _is_int(c.get("seed", 0)):
        raise _fail("seed", c.get("seed"), "must be an integer")
    if c.get("propose_ahead") not in (None, True, False):
        raise _fail("propose_ahead", c.get("propose_ahead"), "must be true, false or null (the strategy's choice)")
    if c.get("eval_seed") is not None and not _is_int(c["eval_seed"]):
        raise _fail("eval_seed", c["eval_seed"], "must be an integer or null (the seed)")
    check_evaluation_function(function)
    from algebraic_nas.search.checkpoints import check_policy

    check_policy(c.get("checkpoints", "best"))
    dataset = c.get("dataset") or {}
    if default_function:
        check_protocol(c.get("protocol") or {})
        from algebraic_nas.evaluation.data import check_dataset_files

        try:  # once, here: not by failing every evaluation
            check_dataset_files(str(dataset.get("name")), dataset.get("data_root"))
        except AlgebraicNASError as exc:
            raise ConfigError(f"dataset.name={dataset.get('name')!r}: {exc}") from None
    grammar = load_checked_grammar((c.get("grammar") or {}).get("name"))
    if default_function:
        from algebraic_nas.evaluation.evaluate import check_buildable

        seed = c.get("eval_seed") if c.get("eval_seed") is not None else c.get("seed", 0)
        try:
            check_buildable(grammar, str(dataset.get("name")), seed=seed)
        except AlgebraicNASError as exc:
            raise ConfigError(f"grammar.name={(c.get('grammar') or {}).get('name')!r}: grammar {grammar.name!r} "
                              f"cannot be built for dataset {dataset.get('name')!r}: {exc}") from None
    return grammar
