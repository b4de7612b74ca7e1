"""The checks of every setting of a search, before anything starts (put together, in order, by
:func:`algebraic_nas.search.config.run_config.check_config`).

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


def check_protocol(protocol: Mapping[str, Any]) -> None:
    """The protocol config (a preset ``name`` and overrides; ``None`` keeps the preset's value):
    every effective value accepted by the evaluation package's one rule table
    (:data:`~algebraic_nas.evaluation.protocols.PROTOCOL_RULES`)."""
    from algebraic_nas.evaluation.protocols import PROTOCOLS, Protocol, get_protocol, protocol_problems

    p = dict(protocol)
    name = p.pop("name", None)
    given = {k: v for k, v in p.items() if v is not None}
    fields = dataclasses.asdict(PROTOCOLS[name]) if name in PROTOCOLS else dataclasses.asdict(Protocol())
    fields.update(given)
    for key, value, text in protocol_problems(fields, prefix="protocol."):
        raise _fail(f"protocol.{key}", value, text)
    try:
        get_protocol({"name": name, **given})  # anything else the Protocol rejects (an unknown field)
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


def is_remote(executor: Mapping[str, Any]) -> bool:
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
    if is_remote(ex):
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


def check_components(c: Mapping[str, Any], strategy_given: bool) -> tuple[Any, Any, Any, Any]:
    """The registered strategy and executor with their settings resolved once (only fields their
    configs have): ``(strategy entry, its config, executor entry, its config)``; the strategy's
    pair is ``(None, None)`` when a strategy object is given."""
    from algebraic_nas.search.executors import get_executor
    from algebraic_nas.search.strategies import get_strategy

    entry = strategy_config = None
    if not strategy_given:
        s = dict(c.get("strategy") or {})
        entry = get_strategy(s.pop("name", ""))
        s.pop("batch_size", None)  # the driver's, not the strategy's
        strategy_config = resolve_config(entry.config, entry.default_config(), s, where="strategy")
    ex = dict(c.get("executor") or {})
    executor = get_executor(ex.pop("kind", "auto"))
    settings = resolve_config(executor.config, None, ex, where="executor")
    n_workers = c.get("n_workers", 1)
    if executor.check is not None and _is_int(n_workers):  # the executor's own checks (a batch job's shape);
        executor.check(settings, n_workers)  # a bad n_workers is check_workers' error, naming it
    return entry, strategy_config, executor, settings


def check_evaluation_names(c: Mapping[str, Any]) -> None:
    """For the default evaluation function, a registered dataset and protocol (a user function
    may take any names)."""
    from algebraic_nas.evaluation import get_dataset_info, get_protocol

    get_dataset_info(str((c.get("dataset") or {}).get("name")))  # ConfigError naming dataset.name
    get_protocol(str((c.get("protocol") or {}).get("name")))  # ConfigError naming protocol.name


def check_scalars(c: Mapping[str, Any]) -> None:
    """``progress``, ``seed``, ``eval_seed``, ``propose_ahead``, ``checkpoints``,
    ``report_html_every`` and ``logger``."""
    from algebraic_nas.search.checkpoints import check_policy
    from algebraic_nas.search.report.tensorboard import LOGGERS

    progress = c.get("progress", "auto")
    if progress not in PROGRESS_MODES:
        raise _fail("progress", progress, "must be one of " + ", ".join(PROGRESS_MODES))
    if not _is_int(c.get("seed", 0)):
        raise _fail("seed", c.get("seed"), "must be an integer")
    if c.get("propose_ahead") not in (None, True, False):
        raise _fail("propose_ahead", c.get("propose_ahead"), "must be true, false or null (the strategy's choice)")
    if c.get("eval_seed") is not None and not _is_int(c["eval_seed"]):
        raise _fail("eval_seed", c["eval_seed"], "must be an integer or null (the seed)")
    check_policy(c.get("checkpoints", "best"))
    _int_at_least("report_html_every", c.get("report_html_every", 0), 0)
    if c.get("logger", "none") not in (None, *LOGGERS):
        raise _fail("logger", c.get("logger"), "must be one of " + ", ".join(LOGGERS))


def check_dataset(dataset: Mapping[str, Any]) -> None:
    """The dataset's files are where the loader will look (once, here: not by failing every
    evaluation)."""
    from algebraic_nas.evaluation.data import check_dataset_files

    try:
        check_dataset_files(str(dataset.get("name")), dataset.get("data_root"))
    except AlgebraicNASError as exc:
        raise ConfigError(f"dataset.name={dataset.get('name')!r}: {exc}") from None


def check_space(name: Any, dataset: str, network_seed: int, default_function: bool) -> Grammar:
    """The grammar of ``grammar.name`` loaded, and (for the default evaluation function) a
    sampled term of it built for ``dataset`` with ``network_seed``: a space with no
    implementation fails here, not in every evaluation. Returns the grammar."""
    grammar = load_checked_grammar(name)
    if default_function:
        from algebraic_nas.evaluation.evaluate import check_buildable

        try:
            check_buildable(grammar, dataset, seed=network_seed)
        except AlgebraicNASError as exc:
            raise ConfigError(f"grammar.name={name!r}: grammar {grammar.name!r} cannot be built for dataset "
                              f"{dataset!r}: {exc}") from None
    return grammar
