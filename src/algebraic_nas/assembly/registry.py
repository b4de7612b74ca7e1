"""Registries of building blocks: primitives (nullary terminals) and topologies (k-ary terminals).

timm-style decorators make a user's own block available to every grammar that names it::

    from algebraic_nas.assembly import register_primitive, register_topology, Shape

    @register_primitive("conv5x5")
    def conv5x5(shape: Shape) -> nn.Module:           # shape = (C, H, W) of the input, per sample
        return nn.Conv2d(shape.c, shape.c, 5, padding=2, bias=False)

    @register_primitive("widen", out_shape=lambda s: Shape(2 * s.c, s.h, s.w))
    def widen(shape: Shape) -> nn.Module:
        return nn.Conv2d(shape.c, 2 * shape.c, 1, bias=False)

    register_topology("Triangle", edges=((1, 2), (2, 3), (1, 3)))   # argument i sits on edge i

A *primitive* factory is called as ``factory(shape, *args, **attrs)``: ``shape`` is the input
:class:`Shape`, ``args`` the values of the terminal's own arguments when it has some (``MBConv(5,
6, 0.25)`` gives ``5, 6, 0.25``; symbol arguments come as strings), ``attrs`` keyword attributes a
topology template puts on the edge (``stride=2`` in a DARTS reduction cell). It returns an
``nn.Module`` mapping ``(N, C, H, W)`` to ``(N, *out_shape)``; ``out_shape`` (same signature as the
factory, default: the input shape) says what comes out. The factory may instead return a pair
``(module, out_shape)``.

A *topology* is a graph template: nodes ``1..n`` (1 the input, n the output), argument i on
edge i, nodes summing their incoming edges. Plain edge lists are shared with the grammar package
(:func:`algebraic_nas.grammar.topologies.register_topology`), so the ``zero`` constraint knows
them. A :class:`Template` may also carry fixed operations on extra edges, keyword attributes for
the operations of an argument edge, and nodes that concatenate channels instead of summing.

This module is torch-free: the graph code (used by the surrogate) reads the topology registry.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Union

from algebraic_nas.errors import AlgebraicNASError
from algebraic_nas.grammar import topologies as _grammar_topologies

from .shapes import Shape

Edges = tuple[tuple[int, int], ...]


class AssemblyError(AlgebraicNASError, ValueError):
    """A term cannot be turned into a network (unknown terminal, shape mismatch, no path...)."""


# --- primitives ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrimitiveSpec:
    """A registered nullary terminal (or a terminal whose arguments are plain values)."""

    name: str
    factory: Callable[..., Any]
    out_shape: Optional[Callable[..., Shape]] = None
    positional: bool = False  # the factory takes index=i: the i-th use of this terminal in the term

    def build(self, shape: Shape, args: tuple = (), attrs: Optional[Mapping[str, Any]] = None,
              index: int = 0):
        """``(module, out_shape)`` for an input of per-sample ``shape``."""
        attrs = dict(attrs or {})
        if self.positional:
            attrs["index"] = index
        result = self.factory(shape, *args, **attrs)
        if isinstance(result, tuple):
            module, out = result
            return module, Shape(*out)
        out = self.out_shape(shape, *args, **attrs) if self.out_shape is not None else shape
        return result, Shape(*out)


_PRIMITIVES: dict[str, PrimitiveSpec] = {}

#: Terminals that are removed from the graph (never executed).
ZERO_OPS: set[str] = {"zero", "none"}
#: Terminals that pass their input through unchanged (executed as a reference, contracted in WL graphs).
IDENTITY_OPS: set[str] = {"id", "skip_connect"}


def register_zero(name: str) -> None:
    """Treat nullary terminal ``name`` like ``zero``: removed from the graph, never executed."""
    ZERO_OPS.add(name)


def register_identity(name: str) -> None:
    """Treat nullary terminal ``name`` like ``id``: passed through (and contracted in WL graphs)."""
    IDENTITY_OPS.add(name)
    _PRIMITIVES.setdefault(name, PrimitiveSpec(name, lambda shape: _identity_module()))


def _identity_module():
    from torch import nn

    return nn.Identity()


def register_primitive(
    name: str,
    factory: Optional[Callable[..., Any]] = None,
    *,
    out_shape: Optional[Callable[..., Shape]] = None,
    aliases: tuple[str, ...] = (),
    positional: bool = False,
):
    """Register ``factory`` as the implementation of terminal ``name`` (usable as a decorator).

    ``positional=True`` passes ``index=i`` to the factory (and ``out_shape``): this is the i-th
    use (0-based, pre-order) of the terminal in the term, for blocks whose meaning depends on their
    place (MobileNet's "block i is stage i of the reference"). Re-registering a name replaces the
    earlier implementation (so a user may override a built-in).
    """

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        for n in (name, *aliases):
            _PRIMITIVES[n] = PrimitiveSpec(n, fn, out_shape, positional)
        return fn

    return deco(factory) if factory is not None else deco


_BUILTIN_MODULES = ("primitives", "blocks")
_builtins_loaded = False


def _load_builtin_primitives() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for mod in _BUILTIN_MODULES:  # these import torch; registering happens on import
            importlib.import_module(f"{__package__}.{mod}")


def get_primitive(name: str) -> Optional[PrimitiveSpec]:
    """The registered primitive ``name`` or ``None``."""
    _load_builtin_primitives()
    return _PRIMITIVES.get(name)


def primitive_names() -> list[str]:
    _load_builtin_primitives()
    return sorted(_PRIMITIVES)


# --- topologies ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateEdge:
    """One edge of a topology template: from node ``src`` to node ``dst`` (1-based).

    Exactly one of ``arg`` (index of the term argument placed on the edge) and ``op`` (name of a
    fixed primitive, e.g. the DARTS input preprocessing) is set. ``arg`` may be a tuple of indices
    reaching into the argument (``(2, 1)``: argument 2's argument 1), for operators whose arguments
    group the edges of one node (the DARTS cell's ``Node5(op, op, op, op)``). ``attrs`` are keyword
    attributes for the operation's factory (``(("stride", 2),)``).
    """

    src: int
    dst: int
    arg: Union[int, tuple[int, ...], None] = None
    op: Optional[str] = None
    attrs: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if (self.arg is None) == (self.op is None):
            raise ValueError("a template edge carries either an argument index or a fixed op")
        if not self.src < self.dst:
            raise ValueError(f"template edges must point forward, got ({self.src}, {self.dst})")


@dataclass(frozen=True)
class Template:
    """A topology as a DAG template on nodes ``1..n_nodes`` (1 input, ``n_nodes`` output)."""

    n_nodes: int
    edges: tuple[TemplateEdge, ...]
    concat: frozenset[int] = field(default_factory=frozenset)  # nodes concatenating channels

    @staticmethod
    def from_edges(edges: Edges) -> "Template":
        n = max(max(e) for e in edges)
        return Template(n, tuple(TemplateEdge(a, b, arg=i) for i, (a, b) in enumerate(edges)))

    @property
    def arity(self) -> int:
        """Number of term arguments the template reads (distinct first indices of the edges' ``arg``)."""
        return len({e.arg if isinstance(e.arg, int) else e.arg[0] for e in self.edges if e.arg is not None})


TopologySpec = Union[Edges, Template, Callable[[int], Union[Edges, Template, None]]]
_TOPOLOGIES: dict[str, TopologySpec] = {}
_topologies_loaded = False


def register_topology(name: str, spec: Optional[TopologySpec] = None, *, edges: Optional[Edges] = None):
    """Register topology ``name``: an edge list, a :class:`Template`, or a function of the arity.

    Used as a decorator on a function ``arity -> Edges | Template | None`` (``None``: that arity
    is not allowed), or called directly with ``spec`` or ``edges=``. Plain edge lists are also
    registered with the grammar package so that its ``zero`` constraint sees them.
    """

    def deco(s: TopologySpec) -> TopologySpec:
        _TOPOLOGIES[name] = s
        if isinstance(s, Template):
            plain = _plain_edges(s)
            if plain is not None:
                _grammar_topologies.register_topology(name, plain)
        elif isinstance(s, tuple):
            _grammar_topologies.register_topology(name, s)
        elif callable(s):

            def grammar_edges(arity: int, _s=s) -> Optional[Edges]:
                t = _s(arity)
                if t is None:
                    return None
                if isinstance(t, Template):
                    return _plain_edges(t)
                return tuple(t)

            _grammar_topologies.register_topology(name, grammar_edges)
        return s

    if edges is not None:
        spec = tuple(tuple(e) for e in edges)  # type: ignore[assignment]
    return deco(spec) if spec is not None else deco


def _plain_edges(t: Template) -> Optional[Edges]:
    """The template as a plain edge list when it is one (argument i on edge i, nothing else)."""
    if t.concat or any(e.op is not None or e.attrs for e in t.edges):
        return None
    if [e.arg for e in t.edges] != list(range(len(t.edges))):
        return None
    return tuple((e.src, e.dst) for e in t.edges)


def _load_builtin_topologies() -> None:
    global _topologies_loaded
    if not _topologies_loaded:
        _topologies_loaded = True
        importlib.import_module(f"{__package__}.topologies")


def get_template(name: str, arity: int) -> Optional[Template]:
    """The template of topology ``name`` with ``arity`` arguments, or ``None`` if it is not one.

    Looks in this registry first, then at the grammar package's edge lists (``LinearK``,
    ``Residual2``, ``Cell``...).
    """
    _load_builtin_topologies()
    spec = _TOPOLOGIES.get(name)
    if spec is not None:
        t = spec(arity) if callable(spec) else spec
        if t is None:
            return None
        if not isinstance(t, Template):
            t = Template.from_edges(tuple(t))
        return t if t.arity == arity else None
    edges = _grammar_topologies.topology_edges(name, arity)
    return Template.from_edges(edges) if edges else None


def is_topology(name: str) -> bool:
    """Whether ``name`` is registered as a topology for some arity (grammar edge lists included)."""
    _load_builtin_topologies()
    if name in _TOPOLOGIES:
        return True
    return any(_grammar_topologies.topology_edges(name, k) for k in range(1, 33))
