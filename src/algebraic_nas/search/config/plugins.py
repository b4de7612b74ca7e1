"""Plugins: modules imported before a search is configured, so that the strategies and
executors they register are selectable by name (``strategy=NAME``) without touching any file
of this package.

Two ways to name them: the ``ALGEBRAIC_NAS_PLUGINS`` environment variable (module names,
comma-separated; the module must be importable, e.g. on ``PYTHONPATH``), and the
``algebraic_nas.plugins`` entry-point group of installed packages.
"""

from __future__ import annotations

import importlib
import os
from importlib.metadata import entry_points

from algebraic_nas.errors import ConfigError

ENV_VAR = "ALGEBRAIC_NAS_PLUGINS"
ENTRY_POINT_GROUP = "algebraic_nas.plugins"


def load_plugins() -> list[str]:
    """Import every plugin module (again is free: Python caches modules); returns their names."""
    names = [n.strip() for n in os.environ.get(ENV_VAR, "").split(",") if n.strip()]
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(f"plugin module {name!r} of {ENV_VAR} cannot be imported: {exc}") from exc
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        ep.load()
        names.append(ep.value)
    return names
