"""The strategy and executor registries are two of :class:`algebraic_nas.registry.Registry`
(re-exported here). Registering a name twice warns and the later registration wins; an unknown name is a
:class:`~algebraic_nas.errors.ConfigError` naming the config key and the known names."""

from algebraic_nas.registry import Registry

__all__ = ["Registry"]
