"""Assembly: algebraic architecture terms → flattened DAGs → PyTorch networks.

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
    register_primitive,
    register_topology,
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
    "register_primitive",
    "register_topology",
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
