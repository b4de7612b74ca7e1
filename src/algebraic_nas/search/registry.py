"""A named registry (timm's is the model): the strategy and executor registries are two of
these. Registering a name twice warns and the later registration wins; an unknown name is a
:class:`~algebraic_nas.errors.ConfigError` naming the config key and the known names."""

from __future__ import annotations

import warnings
from typing import Generic, Iterable, TypeVar

from algebraic_nas.errors import ConfigError

E = TypeVar("E")


class Registry(Generic[E]):
    """Entries by name, plus aliases (other names accepted by :meth:`get`, not listed).

    Args:
        kind: what the entries are, for messages (``"strategy"``).
        key: the config key that names an entry (``"strategy.name"``), for messages.
    """

    def __init__(self, kind: str, key: str) -> None:
        self.kind = kind
        self.key = key
        self._entries: dict[str, E] = {}
        self._aliases: dict[str, str] = {}

    def add(self, name: str, entry: E, aliases: Iterable[str] = ()) -> None:
        if name in self._entries or name in self._aliases:
            warnings.warn(f"{self.kind} {name!r} registered again: the new registration replaces the old", stacklevel=4)
            self._aliases.pop(name, None)
        self._entries[name] = entry
        for a in aliases:
            self._aliases[a] = name

    def remove(self, name: str) -> None:
        """Forget ``name`` and its aliases (tests, plugins that unload)."""
        self._entries.pop(name, None)
        self._aliases = {a: n for a, n in self._aliases.items() if n != name}

    def names(self) -> list[str]:
        """The registered names, sorted (aliases not included)."""
        return sorted(self._entries)

    def entries(self) -> list[E]:
        return [self._entries[n] for n in self.names()]

    def get(self, name: str) -> E:
        """The entry of ``name`` or an alias of it; ``ConfigError`` naming the config key and
        the known names otherwise."""
        entry = self._entries.get(self._aliases.get(name, name))
        if entry is None:
            raise ConfigError(f"unknown {self.kind} {name!r} ({self.key}); known: {', '.join(self.names())}")
        return entry

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._aliases
