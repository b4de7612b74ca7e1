"""Surrogate models for BANAT: WL / hierarchical WL / NASBOT-like kernels in an exact gpytorch GP.

    from algebraic_nas.surrogate import GraphGP, TermGraphs
    gp = GraphGP(kernel="hwl", grammar=g)          # or "wl", "nasbot", "hwl+values", ...
    gp.fit(terms, validation_errors)              # standardised log error, ML-II hyperparameters
    mean, var = gp.predict(candidates)            # posterior of log error, original log units

Modules: ``graphs`` / ``fastgraph`` (term -> graphs), ``wl`` (WL features), ``points`` (the
terms kernels index into, per-fit sources), ``wl_kernels`` (WL, hierarchical WL), ``kernels``
(NASBOT-like, values; re-exports the WL family), ``kernel_spec`` (``"hwl+values"`` -> kernel),
``likelihood`` (exact marginal likelihood, its optimisation), ``gp`` (the ``GraphGP`` facade).
``GraphGP(kernel="auto", grammar=g)`` chooses the kernel from the grammar (``auto_kernel``).
"""

from algebraic_nas.surrogate.gp import GraphGP, parse_kernel_spec
from algebraic_nas.surrogate.kernel_spec import auto_kernel
from algebraic_nas.surrogate.graphs import TermGraphs, assembly_graph_fn, term_values
from algebraic_nas.surrogate.kernels import (
    HierarchicalWLKernel,
    NASBOTKernel,
    PointSet,
    ValueKernel,
    WLKernel,
)
from algebraic_nas.surrogate.wl import CompactGraph, WLFeatures, WLFeaturizer

__all__ = [
    "GraphGP",
    "TermGraphs",
    "assembly_graph_fn",
    "term_values",
    "parse_kernel_spec",
    "auto_kernel",
    "WLKernel",
    "HierarchicalWLKernel",
    "NASBOTKernel",
    "ValueKernel",
    "PointSet",
    "CompactGraph",
    "WLFeatures",
    "WLFeaturizer",
]
