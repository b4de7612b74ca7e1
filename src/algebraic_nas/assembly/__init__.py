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

Modules: :mod:`.registry` (``@register_primitive``, ``@register_topology``), :mod:`.graph`
(term → pruned op-edge DAG, WL graphs), :mod:`.network` (shape propagation, step-list executor,
stem/head), :mod:`.primitives` (REFERENCE §3 and NB201 ops), :mod:`.blocks` (DARTS, Liu et al.,
MobileNet, Auto-DeepLab), :mod:`.topologies` (DARTS cell, Up/Same/Down templates),
:mod:`.stats`, :mod:`.draw`, :mod:`.datasets`, :mod:`.commands` (``algebraic-nas build/draw``).

The torch-free parts (registries, :mod:`.graph`) import without torch; the torch parts
(``build_network``, ``network_stats``, the built-in modules) load on first use.
"""

from __future__ import annotations

from typing import Any

from .registry import (
    AssemblyError,
    Template,
    TemplateEdge,
    get_primitive,
    get_template,
    register_identity,
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
    "dataset_spec": "datasets",
    "DATASETS": "datasets",
}

__all__ = [
    "AssemblyError",
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
