"""A named registry (timm's is the model), the one class behind every kind of extension:
topologies and zero/identity terminals (grammar), primitives, merges and network builders
(assembly), datasets, protocols and objectives (evaluation), strategies and executors (search).

Registering a name twice warns and the later registration wins; :meth:`Registry.names` lists what it holds; an unknown name is a
:class:`~algebraic_nas.errors.ConfigError` naming the config key first and the known names
(:meth:`Registry.find` answers ``None`` instead). Torch-free and dependency-free, so every
layer may use it.
"""

from __future__ import annotations

import re
import warnings
from types import MappingProxyType
from typing import Generic, Iterable, Iterator, Mapping, Optional, TypeVar

from algebraic_nas.errors import ConfigError

E = TypeVar("E")


def doc_line(obj: object, doc: str = "") -> str:
    """``doc`` if given, else the first sentence of ``obj``'s docstring (its first paragraph's
    lines joined; ``""`` without one): the one-line description a registry lists, never cut in
    the middle of a sentence."""
    if doc:
        return doc
    paragraph = (getattr(obj, "__doc__", None) or "").strip().split("\n\n", 1)[0]
    text = " ".join(paragraph.split())
    end = re.search(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)[.!?](\s|$)", text)  # not after e.g., i.e., etc.
    return text[: end.start() + 1] if end else text


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

    def add(self, name: str, entry: E, aliases: Iterable[str] = (), stacklevel: int = 4) -> None:
        """Register ``entry`` as ``name``; ``stacklevel`` points the overwrite warning at the
        user's registration call (4: user → ``register_x`` → helper → here)."""
        if name in self._entries or name in self._aliases:
            warnings.warn(f"{self.kind} {name!r} registered again: the new registration replaces the old",
                          stacklevel=stacklevel)
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

    def resolve(self, name: str) -> str:
        """The registered name of ``name`` or of its alias; ``ConfigError`` naming the config
        key and the known names otherwise."""
        key = self._aliases.get(name, name)
        if key not in self._entries:
            raise ConfigError(f"{self.key}={name!r}: not a registered {self.kind}; known: {', '.join(self.names())}")
        return key

    def get(self, name: str) -> E:
        """The entry of ``name`` or an alias of it (see :meth:`resolve`)."""
        return self._entries[self.resolve(name)]

    def find(self, name: str) -> Optional[E]:
        """The entry of ``name`` or an alias of it, ``None`` when there is none."""
        return self._entries.get(self._aliases.get(name, name))

    def view(self) -> Mapping[str, E]:
        """A live read-only mapping name → entry (aliases not included)."""
        return MappingProxyType(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        """The registered names, sorted."""
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
