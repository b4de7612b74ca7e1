"""Composing the search config with Hydra: the errors Hydra raises while composing (unknown key,
mistyped value, unknown group option, malformed override) as one :class:`ConfigError` line
naming the key (:func:`check_overrides`), and the Hydra callback that checks the composed config
before Hydra writes anything into the run directory (:class:`CheckBeforeRun`)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from typing import Any, NoReturn, Optional

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

from algebraic_nas.errors import AlgebraicNASError, ConfigError

EXIT_USAGE = 2  # a configuration that cannot run (argparse's status for usage errors)


def fail(exc: AlgebraicNASError) -> NoReturn:
    """Print ``error: MESSAGE`` (one line, no traceback) and exit with status 2."""
    print(f"error: {' '.join(str(exc).split())}", file=sys.stderr, flush=True)
    sys.exit(EXIT_USAGE)


# the RunConfig CheckBeforeRun resolved, with the plain config it came from: the run uses it
_checked: Optional[tuple[dict, Any]] = None


def checked_config(cfg: Any) -> Any:
    """The :class:`~algebraic_nas.search.config.run_config.RunConfig` of the composed config
    ``cfg``: the one :class:`CheckBeforeRun` resolved for it (not checked again), else checked now."""
    from algebraic_nas.search.config.run_config import check_config, plain

    c = plain(cfg)
    if _checked is not None and _checked[0] == c:
        return _checked[1]
    return check_config(c)


class CheckBeforeRun(Callback):
    """Hydra callback (``hydra.callbacks`` in ``search.yaml``): before Hydra creates the run
    directory and writes ``.hydra/`` and the log into it, check and resolve the configuration
    (kept for the run: :func:`checked_config`) and that no other driver holds the directory; a
    mistake exits with :func:`fail`."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        from algebraic_nas.search.config.run_config import check_config
        from algebraic_nas.search.lock import RunDirectoryBusy, busy_message, lock_holder

        global _checked

        try:
            c = OmegaConf.to_container(OmegaConf.masked_copy(config, [k for k in config if k != "hydra"]),
                                       resolve=True, throw_on_missing=True)
            run_dir = str(config.hydra.run.dir)
        except MissingMandatoryValue as exc:
            fail(ConfigError(f"{exc.full_key}=???: must be set (e.g. {exc.full_key}=VALUE on the command line)"))
        except Exception:  # noqa: BLE001 - unresolvable here (e.g. ${hydra:...}): run_search checks it
            return
        try:
            _checked = (c, check_config(c))
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


def hydra_arguments() -> argparse.ArgumentParser:
    """The command-line flags ``@hydra.main`` accepts (Hydra 1.3), to tell its overrides from
    its flags; Hydra itself parses them again (its own parser is not public API)."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("overrides", nargs="*")
    for flags in (("--help", "-h"), ("--hydra-help",), ("--version",), ("--resolve",), ("--run", "-r"),
                  ("--multirun", "-m"), ("--shell-completion", "-sc")):
        p.add_argument(*flags, action="store_true")
    for flags in (("--package", "-p"), ("--config-path", "-cp"), ("--config-name", "-cn"), ("--config-dir", "-cd"),
                  ("--experimental-rerun",)):
        p.add_argument(*flags)
    p.add_argument("--cfg", "-c", choices=["job", "hydra", "all"])
    p.add_argument("--info", "-i", nargs="?", const="all",
                   choices=["all", "config", "defaults", "defaults-tree", "plugins", "searchpath"])
    return p


def check_overrides(argv: list[str]) -> Optional[DictConfig]:
    """Compose the config from the command line's overrides with Hydra's compose API, before
    ``@hydra.main`` runs: Hydra's own composition errors (an unknown key, a value of the wrong
    type, an unknown group option, a malformed override) become one :class:`ConfigError` line.
    ``--help`` and the flags that change the config source are left to Hydra (``None``); with
    ``-m`` each swept value is composed once; ``hydra.*`` overrides are composed like any other.
    Returns the last composed config (with ``hydra``): without ``-m``, the one the overrides make."""
    from hydra import compose, initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        args, _ = hydra_arguments().parse_known_args(argv)
    except SystemExit:  # argparse's own usage error: Hydra prints it
        return None
    if (args.help or args.hydra_help or args.config_path or args.config_dir or args.config_name or args.experimental_rerun):
        return None
    modes = [flag for flag, on in (("--run", args.run), ("-m", args.multirun), ("--cfg", args.cfg),
                                   ("--info", args.info), ("--shell-completion", args.shell_completion)) if on]
    if len(modes) > 1:  # Hydra raises a ValueError with a traceback
        raise ConfigError(f"{' and '.join(modes)}: only one of --run, -m, --cfg, --info can be given")
    overrides = list(args.overrides)
    try:
        points = _sweep_points(overrides) if args.multirun else [overrides]
        with initialize_config_module(version_base="1.3", config_module="algebraic_nas.conf"):
            for point in points:
                composed = compose(config_name="search", overrides=point, return_hydra_config=True)
    except (HydraException, OmegaConfBaseException) as exc:
        raise _composition_error(exc, overrides) from exc
    return composed


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
