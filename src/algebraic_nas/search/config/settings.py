"""Settings dataclasses of registered components (strategies, executors): build one from a
mapping or keyword overrides, failing with a :class:`ConfigError` that names the key."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping


def resolve_config(config_class: type, config: Any, settings: Mapping[str, Any], where: str) -> Any:
    """``config`` (an instance of ``config_class``, a mapping of its fields, or ``None`` for the
    defaults) with ``settings`` replacing fields; an unknown field is a ``ConfigError`` naming
    ``WHERE.KEY`` first and the known fields."""
    from algebraic_nas.errors import ConfigError

    names = {f.name for f in dataclasses.fields(config_class)}
    given = dict(config) if isinstance(config, Mapping) else {}
    unknown = sorted((set(given) | set(settings)) - names)
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: not a setting of {config_class.__name__}; known: {', '.join(sorted(names)) or 'none'}"
        )
    base = config if dataclasses.is_dataclass(config) else config_class(**given)
    return dataclasses.replace(base, **settings)
