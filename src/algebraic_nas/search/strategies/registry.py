"""The strategy registry: a name → (strategy class, config dataclass, default overrides).

Adding a strategy is one module holding its class and its config dataclass side by side, and
one registration::

    @register_strategy("my_search", config=MyConfig)
    class MySearch(Strategy):
        config_class = MyConfig
        def propose(self, pending=(), n=1): ...

The Hydra config group ``strategy`` is generated from this registry (``search/config/schema.py``), so
``python -m algebraic_nas.search strategy=my_search strategy.some_field=3`` works once the
module is imported (``ALGEBRAIC_NAS_PLUGINS=my_module``, see ``search/config/plugins.py``).
Registering a name twice warns and the later registration wins.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

from algebraic_nas.errors import ConfigError
from algebraic_nas.registry import Registry, doc_line


@dataclass(frozen=True)
class StrategyEntry:
    """One registered strategy: ``defaults`` replace fields of ``config`` for this name (a
    variant of a class, e.g. ``banat_wl`` = BANAT with ``kernel="wl"``)."""

    name: str
    cls: type
    config: type
    defaults: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    doc: str = ""

    def default_config(self) -> Any:
        """The config dataclass instance with this entry's defaults."""
        return dataclasses.replace(self.config(), **self.defaults)


STRATEGY_REGISTRY: Registry[StrategyEntry] = Registry("strategy", key="strategy.name")


def register_strategy(
    name: str,
    cls: Optional[type] = None,
    config: Optional[type] = None,
    aliases: Sequence[str] = (),
    defaults: Optional[Mapping[str, Any]] = None,
    doc: str = "",
) -> Any:
    """Register ``cls`` under ``name`` (also usable as a class decorator: ``cls`` omitted).

    Args:
        name: the name in configs (``strategy=NAME``) and in the store's rows.
        cls: a :class:`~algebraic_nas.search.strategies.base.Strategy` subclass taking
            ``(grammar, config=..., seed=..., **settings)``.
        config: its config dataclass (default: ``cls.config_class``).
        aliases: other names accepted by :func:`make_strategy` (not config groups).
        defaults: field values replacing the config's defaults for this name.
        doc: one line for listings (default: the first line of the class docstring).
    """

    def add(c: type) -> type:
        from algebraic_nas.search.strategies.base import Strategy

        if not (isinstance(c, type) and issubclass(c, Strategy)):
            raise ConfigError(f"strategy {name!r}: {c!r} must subclass Strategy (search/strategies/base.py: the contract)")
        conf = config or getattr(c, "config_class", None)
        if conf is None or not dataclasses.is_dataclass(conf):
            raise ConfigError(f"strategy {name!r}: config must be a dataclass, not {conf!r}")
        bad = set(defaults or {}) - {f.name for f in dataclasses.fields(conf)}
        if bad:
            raise ConfigError(f"strategy {name!r}: defaults {sorted(bad)} are not fields of {conf.__name__}")
        line = doc_line(c, doc)
        STRATEGY_REGISTRY.add(name, StrategyEntry(name, c, conf, dict(defaults or {}), tuple(aliases), line), aliases)
        return c

    return add if cls is None else add(cls)


# the registered names (sorted), their entries, and one entry by name or alias (ConfigError if unknown)
list_strategies = STRATEGY_REGISTRY.names
strategy_entries = STRATEGY_REGISTRY.entries
get_strategy = STRATEGY_REGISTRY.get


def make_strategy(name: str, grammar: Any, seed: int = 0, **options: Any) -> Any:
    """Build a registered strategy: ``options`` are fields of its config (replacing the
    entry's defaults) or other keyword arguments of its class (e.g. BANAT's
    ``surrogate_factory``)."""
    entry = get_strategy(name)
    fields = {f.name for f in dataclasses.fields(entry.config)}
    settings = {k: v for k, v in options.items() if k in fields}
    extra = {k: v for k, v in options.items() if k not in fields}
    strategy = entry.cls(grammar, config=dataclasses.replace(entry.default_config(), **settings), seed=seed, **extra)
    strategy.name = entry.name
    return strategy
