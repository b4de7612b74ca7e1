"""The assembler's registries: primitive modules (terminals) and merge modules (how a node combines).

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

A *merge* is how a template node combines its incoming branches (the template names it:
``"sum"`` by default, ``"concat"``): ``register_merge(name, factory, out_shape)`` with
``factory(shapes) -> nn.Module`` taking the list of branch tensors, and ``out_shape(shapes)``.

Topologies are graph templates in the torch-free grammar layer (:mod:`algebraic_nas.grammar.topology`);
``register_topology``, ``Template``, ``TemplateEdge``, ``get_template``, ``is_topology`` and the zero
set (``ZERO_OPS``, ``register_zero``) are re-exported here so that user code keeps working.

This module is torch-free (the modules load on first use).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from algebraic_nas.errors import AlgebraicNASError
from algebraic_nas.grammar import topology_zero as _special
from algebraic_nas.grammar.topology import get_template, is_topology, list_topologies, register_topology
from algebraic_nas.grammar.topology_template import CONCAT, SUM, Edges, Template, TemplateEdge
from algebraic_nas.grammar.topology_zero import IDENTITY_OPS, ZERO_OPS, register_zero
from algebraic_nas.registry import Registry

from .shapes import Shape

__all__ = [
    "AssemblyError", "PrimitiveSpec", "MergeSpec", "register_primitive", "get_primitive", "primitive_names",
    "register_merge", "get_merge", "register_identity",
    # re-exported from the grammar layer (one topology registry, one zero set)
    "register_topology", "get_template", "is_topology", "list_topologies", "Template", "TemplateEdge", "Edges",
    "ZERO_OPS", "IDENTITY_OPS", "register_zero", "SUM", "CONCAT",
]


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


PRIMITIVE_REGISTRY: Registry[PrimitiveSpec] = Registry("primitive", key="primitive")


def register_identity(name: str) -> None:
    """Treat nullary terminal ``name`` like ``id``: passed through (and contracted in WL graphs)."""
    _special.register_identity(name)
    if name not in PRIMITIVE_REGISTRY:
        PRIMITIVE_REGISTRY.add(name, PrimitiveSpec(name, lambda shape: _identity_module()))


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
    place (MobileNet's "block i is stage i of the reference"). Re-registering a name warns and
    replaces the earlier implementation (so a user may override a built-in).
    """

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        for n in (name, *aliases):
            PRIMITIVE_REGISTRY.add(n, PrimitiveSpec(n, fn, out_shape, positional), stacklevel=3)
        return fn

    return deco(factory) if factory is not None else deco


_BUILTIN_MODULES = ("primitives", "blocks", "merges")
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
    return PRIMITIVE_REGISTRY.find(name)


def primitive_names() -> list[str]:
    _load_builtin_primitives()
    return PRIMITIVE_REGISTRY.names()


# --- merges --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeSpec:
    """A registered merge: ``factory(shapes)`` gives an ``nn.Module`` mapping the list of branch
    tensors ``[(N, *shape_i)]`` to one tensor of shape ``(N, *out_shape(shapes))``.

    ``out_shape`` raises ``ValueError`` when the branch shapes cannot be merged.
    """

    name: str
    factory: Callable[[list[Shape]], Any]
    out_shape: Callable[[list[Shape]], Shape]


MERGE_REGISTRY: Registry[MergeSpec] = Registry("merge", key="merge")


def register_merge(name: str, factory: Callable[[list[Shape]], Any], out_shape: Callable[[list[Shape]], Shape]) -> None:
    """Register merge ``name`` (a name a :class:`Template` may give a node). Re-registering warns
    and replaces."""
    MERGE_REGISTRY.add(name, MergeSpec(name, factory, out_shape), stacklevel=3)


def get_merge(name: str) -> Optional[MergeSpec]:
    """The registered merge ``name`` or ``None`` (``"sum"`` and ``"concat"`` are built in)."""
    _load_builtin_primitives()
    return MERGE_REGISTRY.find(name)
