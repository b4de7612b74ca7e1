"""Kernel specs such as ``"hwl+values"``: parsing, and building the index kernel for a training set.

* :data:`BASE_KERNELS` — ``"hwl"`` (softmax-weighted flat + fold-level WL kernels), ``"wl"`` (flat
  graph only), ``"nasbot"`` (NASBOT-like distance kernel), ``"values"`` (stationary kernel on
  numeric placeholders); a spec joins them with one operator kind, ``+`` or ``*``;
* :func:`auto_kernel` — the spec for a grammar's space (``kernel: auto``): ``"values"`` when its
  terms differ only in numbers, ``"hwl"`` when they hold no numbers, ``"hwl+values"`` for both;
* :func:`parse_kernel_spec` — ``"hwl+values"`` -> (["hwl", "values"], "+");
* :func:`build_kernel` — the feature sources and the gpytorch kernel for a training set;
* :func:`set_flat_h` — the flat graph's WL depth, the one hyperparameter chosen by grid.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import gpytorch
import torch

from algebraic_nas.grammar.grammar import Grammar
from algebraic_nas.grammar.sites import has_numbers, has_structure
from algebraic_nas.grammar.term import Term
from algebraic_nas.surrogate.graphs import TermGraphs
from algebraic_nas.surrogate.kernels import NASBOTKernel, NASBOTSource, ValueKernel, ValueSource
from algebraic_nas.surrogate.points import PointSet
from algebraic_nas.surrogate.wl_kernels import HierarchicalWLKernel, WLKernel, WLSource

BASE_KERNELS = ("hwl", "wl", "nasbot", "values")

TunedKernel = Union[WLKernel, HierarchicalWLKernel]


def auto_kernel(grammar: Any) -> str:
    """The kernel spec for the terms of ``grammar``, decided from its rules.

    ``"values"`` when every choice in the grammar is a choice of numbers (generator spaces such
    as ``nago_hnag`` and ``rnag``: the structure is fixed, the numbers are all there is to
    model); ``"hwl"`` when the grammar has no numeric placeholders (``hnb201``); ``"hwl+values"``
    when it has both (``mobilenet``). An object that is not a :class:`Grammar` (a stand-in of
    tests) gets ``"hwl"``.
    """
    if not isinstance(grammar, Grammar) or not has_numbers(grammar):
        return "hwl"
    return "hwl+values" if has_structure(grammar) else "values"


def parse_kernel_spec(spec: str) -> tuple[list[str], str]:
    """``"hwl+values"`` -> (["hwl", "values"], "+"). One operator kind per spec."""
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"kernel must be a non-empty string such as 'hwl', got {spec!r}")
    ops = {c for c in spec if c in "+*"}
    if len(ops) > 1:
        raise ValueError(f"kernel {spec!r}: mix of '+' and '*' is not supported")
    op = ops.pop() if ops else "+"
    names = [p.strip() for p in spec.split(op)]
    bad = [p for p in names if p not in BASE_KERNELS]
    if bad:
        raise ValueError(f"kernel {spec!r}: unknown part(s) {bad}; choose from {BASE_KERNELS}")
    if sum(n in ("hwl", "wl") for n in names) > 1:
        raise ValueError(f"kernel {spec!r}: at most one of 'hwl' / 'wl'")
    return names, op


def set_flat_h(kernel: TunedKernel, h: int) -> None:
    """Set the WL depth of the flat graph (component 0) of a WL or hierarchical WL kernel."""
    if isinstance(kernel, WLKernel):
        kernel.h = h
    else:
        kernel.hs[0] = h


def build_kernel(
    names: Sequence[str],
    op: str,
    graphs: Optional[TermGraphs],
    terms: list[Term],
    flat_hs: Sequence[int],
    fold_hs: Optional[Sequence[int]],
    direction: str,
    device: torch.device,
    dtype: torch.dtype,
    grammar: Optional[Grammar] = None,
    fast: bool = True,
) -> tuple[gpytorch.kernels.Kernel, Optional[TunedKernel], PointSet]:
    """Sources fitted to ``terms`` and the kernel of the parsed spec (``names`` joined by ``op``).

    ``grammar`` gives the value kernel the declared ranges of the placeholders (else it scales
    by the training values' range). ``fast``: the WL sources' fast path (see
    :class:`~.wl_kernels.WLSource`; same kernel values).

    The flat WL depth starts at ``flat_hs[0]`` (features up to ``max(flat_hs)`` are computed);
    fold depths default to 1 for the coarsest fold and 2 for the others. Returns (kernel on the
    given device/dtype, the WL kernel whose flat h is tuned or None, the PointSet of ``terms``).
    """
    points = PointSet(graphs)  # type: ignore[arg-type]
    parts, tuned = [], None
    n_comp = None
    if any(n in ("hwl", "wl", "nasbot") for n in names):
        n_comp = len(graphs(terms[0]))  # type: ignore[misc]
    for name in names:
        if name == "wl":
            src = WLSource(points, 0, max(flat_hs), direction, fast)
            tuned = WLKernel(src, flat_hs[0])
            parts.append(tuned)
        elif name == "hwl":
            n_folds = n_comp - 1  # type: ignore[operator]
            if fold_hs is None:
                fold_hs = tuple([1] + [2] * (n_folds - 1)) if n_folds else ()
            if len(fold_hs) != n_folds:
                raise ValueError(f"fold_hs has {len(fold_hs)} depths but the terms have {n_folds} fold graphs")
            srcs = [WLSource(points, 0, max(flat_hs), direction, fast)]
            srcs += [WLSource(points, j + 1, fold_hs[j], direction, fast) for j in range(n_folds)]
            tuned = HierarchicalWLKernel(srcs, [flat_hs[0], *fold_hs], stacked=fast)
            parts.append(tuned)
        elif name == "nasbot":
            parts.append(NASBOTKernel(NASBOTSource(points, 0)))
        elif name == "values":
            # declared ranges need a real Grammar (not a duck-typed stand-in)
            parts.append(ValueSource(points, grammar if isinstance(grammar, Grammar) else None))  # placeholder: needs the dimension after fit
    points.set_train(terms)
    kernels = [ValueKernel(p, dim=p.dim) if isinstance(p, ValueSource) else p for p in parts]
    kernel = kernels[0]
    for k in kernels[1:]:
        kernel = kernel + k if op == "+" else kernel * k
    return kernel.to(device=device, dtype=dtype), tuned, points
