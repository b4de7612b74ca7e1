"""The configuration of a search, one module per concept:

* ``schema.py``: the structured-config dataclasses Hydra composes (``SearchConf`` and the
  ``strategy`` / ``executor`` groups generated from their registries), :func:`register_configs`;
* ``compose.py``: Hydra's composition errors as one line naming the key (:func:`check_overrides`)
  and the callback that checks the config before Hydra writes the run directory;
* ``run_config.py``: :func:`check_config`, which checks a composed config once and returns the
  one resolved :class:`RunConfig` the run uses;
* ``checks.py``: the checks of every value, before anything starts;
* ``objectives.py``: the ``objectives`` and ``constraints`` keys parsed;
* ``settings.py``: a registered component's settings dataclass built from a mapping;
* ``plugins.py``: the modules imported first so that their registrations are selectable;
* ``commands.py``: the command-line commands ``strategies`` and ``cluster-script``.

The names below are imported from their modules when first used (so that the leaf modules
``settings`` and ``plugins``, which the executors, the strategies and the worker use, import
without the rest of the package).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "register_configs": "schema", "SearchConf": "schema", "strategy_node": "schema", "executor_node": "schema",
    "check_overrides": "compose", "fail": "compose", "CheckBeforeRun": "compose", "EXIT_USAGE": "compose",
    "check_config": "run_config", "RunConfig": "run_config", "checked_config": "compose",
    "grammar_reference": "checks",
    "parse_objectives": "objectives", "parse_constraints": "objectives", "Bound": "objectives",
    "resolve_config": "settings", "load_plugins": "plugins",
    "describe_components": "commands", "cluster_script": "commands",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """``from algebraic_nas.search.config import NAME``: NAME from its module (see ``_EXPORTS``)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
