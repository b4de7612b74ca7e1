"""Assembly: algebraic architecture terms → flattened DAGs → PyTorch networks.

    from algebraic_nas.grammar import load_grammar
    from algebraic_nas.assembly import build_network, network_stats, InputSpec
    g = load_grammar("hnb201")
    term = g.sample(0)
    net = build_network(term, InputSpec(channels=3, resolution=32, classes=10))  # nn.Module
    network_stats(net, InputSpec(3, 32, 10))   # {"params", "flops", "macs", "output_shape"}

    from algebraic_nas.assembly.graph import flat_graph, fold_graphs   # networkx only
    flat_graph(term)            # node-labelled op graph ("input", ops..., "output") for WL kernels
    fold_graphs(g, term)        # one such graph per fold level, collapsed subterms labelled "D1 Residual3"

Modules: :mod:`.registry` (``@register_primitive``, ``register_merge``; re-exports the grammar
layer's topology registry: ``register_topology``, ``Template``...), :mod:`.graph`
(term → pruned op-edge DAG, WL graphs), :mod:`.network` (shape propagation, step-list executor,
stem/head), :mod:`.primitives` (Schrodi et al.'s App. C and NB201 ops), :mod:`.blocks` (DARTS, Liu et al.,
MobileNet, Auto-DeepLab, NAGO transitions), :mod:`.merges` (sum, concat and NAGO's merges),
:mod:`.stats`, :mod:`.draw`, :mod:`.commands` (``algebraic-nas build/draw``).

The torch-free parts (registries, :mod:`.graph`) import without torch; the torch parts
(``build_network``, ``network_stats``, the built-in modules) load on first use.
"""

from __future__ import annotations

from typing import Any

from .registry import (
    IDENTITY_OPS,
    ZERO_OPS,
    AssemblyError,
    Template,
    TemplateEdge,
    get_merge,
    get_primitive,
    get_template,
    is_topology,
    list_topologies,
    register_identity,
    register_merge,
    register_primitive,
    register_topology,
    register_zero,
)
from .shapes import InputSpec, Shape

_LAZY = {
    "build_network": "network",
    "build_body": "network",
    "Network": "network",
    "GraphNet": "network",
    "network_stats": "stats",
}

__all__ = [
    "AssemblyError",
    "IDENTITY_OPS",
    "ZERO_OPS",
    "get_merge",
    "is_topology",
    "list_topologies",
    "register_merge",
    "InputSpec",
    "Shape",
    "Template",
    "TemplateEdge",
    "get_primitive",
    "get_template",
    "register_identity",
    "register_primitive",
    "register_topology",
    "register_zero",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'algebraic_nas.assembly' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value
