"""The special nullary terminals of the graph algebra: ``zero`` (no edge) and identity (torch-free).

One set of zero names serves the assembler (a zero edge is removed, never executed), the
surrogate's graphs (a zero edge is no node) and the grammar. Defaults: ``zero`` and ``none``;
:func:`register_zero` adds one.

The grammar's ``%zero NAME`` directive names the zero of *its* connectivity constraint (which
arguments of a topology may be zero without cutting every input→output path), and loading the
grammar registers NAME here: a terminal a grammar declares its zero is a zero everywhere. Identities (``id``,
``skip_connect``) pass their input through and are contracted in the WL graphs; the assembler's
``register_identity`` also registers the ``nn.Identity`` module.
"""

from __future__ import annotations

from algebraic_nas.registry import Registry

#: Terminals that are removed from the graph (never executed): ``name in ZERO_OPS``, iterable.
ZERO_OPS: Registry[str] = Registry("zero terminal", key="%zero")
#: Terminals that pass their input through unchanged (contracted in WL graphs).
IDENTITY_OPS: Registry[str] = Registry("identity terminal", key="identity")


def register_zero(name: str) -> None:
    """Treat nullary terminal ``name`` like ``zero``: removed from every graph, never executed
    (again is no change: a grammar's ``%zero`` registers its name on every load)."""
    if name not in ZERO_OPS:
        ZERO_OPS.add(name, name)


def register_identity(name: str) -> None:
    """Treat nullary terminal ``name`` like ``id`` in graphs (passed through, contracted for WL)."""
    if name not in IDENTITY_OPS:
        IDENTITY_OPS.add(name, name)


for _name in ("zero", "none"):
    register_zero(_name)
for _name in ("id", "skip_connect"):
    register_identity(_name)


def is_zero(name: str) -> bool:
    """Whether terminal ``name`` is a zero (no edge)."""
    return name in ZERO_OPS
