"""DARTS's CIFAR network as one generator topology: ``DartsCIFAR(C, L, NORMAL, REDUCE)`` (torch-free).

Liu, Simonyan & Yang (ICLR 2019) and their ``NetworkCIFAR`` (github.com/quark0/darts, ``cnn/model.py``). ``C`` (the first
cells' width) and ``L`` (the number of cells) are the term's numeric children; ``NORMAL`` and
``REDUCE`` are two cells written ``Darts(Node2(..), Node3(..), Node4(..), Node5(..))``: DARTS
node ``k`` (2..5) is ``NodeK`` with one operation (or ``none``) per predecessor, in the order
input 0 (``c_{k-2}``), input 1 (``c_{k-1}``), node 2, node 3, node 4.

The template is the whole macro network on one input, the stem's output (``3C`` channels; the
assembler's stem is ``Conv3×3(3 → 3C) + BN``, see :mod:`algebraic_nas.assembly.darts_network`):

* cells ``i = 0..L-1``; cells ``L//3`` and ``2L//3`` are reduction cells (the width doubles);
* a cell reads the outputs of the two previous cells (the stem's output stands for the missing
  ones of cells 0 and 1): ``preprocess0`` is ``darts_factorized_reduce`` when the previous cell
  was a reduction, else ``darts_preprocess`` (``ReLU-Conv1×1-BN``); ``preprocess1`` is
  ``darts_preprocess``; both map to the cell's width (attribute ``channels``);
* each intermediate node sums its operations; operations reading the two cell inputs of a
  reduction cell have ``stride=2``; the cell's output concatenates nodes 2..5 (``4 × width``);
* after the output of cell ``2L//3`` sits ``darts_aux_tap``, an identity the assembler uses to
  attach the auxiliary head when asked for one.

Node numbering: 1 the stem's output, then per cell seven nodes in a row (preprocessed inputs 0
and 1, intermediate nodes 2..5, output), and the tap's node right after cell ``2L//3``'s output.
"""

from __future__ import annotations

from typing import Sequence, Union

from .topology import register_topology
from .topology_template import CONCAT, Template, TemplateEdge

#: The root symbol of DARTS's CIFAR network.
DARTS_NETWORK = "DartsCIFAR"
#: Stem width = STEM_MULTIPLIER × C (DARTS's ``stem_multiplier``).
STEM_MULTIPLIER = 3
#: Intermediate nodes per cell; the output concatenates all of them (DARTS's ``multiplier``).
CELL_NODES = 4
#: Child indices of DartsCIFAR(C, L, NORMAL, REDUCE).
WIDTH_CHILD, LAYERS_CHILD, NORMAL_CHILD, REDUCE_CHILD = 0, 1, 2, 3
#: The identity marking the auxiliary head's input.
AUX_TAP = "darts_aux_tap"

Number = Union[int, float]


def reduction_cells(layers: int) -> tuple[int, ...]:
    """Indices of the reduction cells of an ``layers``-cell network: ``L//3`` and ``2L//3`` (may coincide)."""
    return tuple(sorted({layers // 3, 2 * layers // 3}))


def auxiliary_cell(layers: int) -> int:
    """Index of the cell whose output feeds the auxiliary head (``2L//3``)."""
    return 2 * layers // 3


def cell_widths(width: int, layers: int) -> list[int]:
    """Node width of every cell: ``C``, doubled at each reduction cell."""
    out, c = [], width
    reductions = reduction_cells(layers)
    for i in range(layers):
        if i in reductions:
            c *= 2
        out.append(c)
    return out


def _positive_int(value: Number, what: str) -> int:
    if isinstance(value, bool) or float(value) != int(value) or int(value) < 1:
        raise ValueError(f"{what} must be a positive integer, got {value}")
    return int(value)


def darts_network_template(values: Sequence[Number], seed: int = 0) -> Template:
    """The template of ``DartsCIFAR(C, L, NORMAL, REDUCE)`` (see the module docstring); ``seed`` is unused."""
    if len(values) != 2:
        raise ValueError(f"{DARTS_NETWORK} takes two numbers (C, L) before its two cells, got {len(values)}")
    width = _positive_int(values[0], "C (the width of the first cells)")
    layers = _positive_int(values[1], "L (the number of cells)")
    reductions, tap_after = reduction_cells(layers), auxiliary_cell(layers)
    edges: list[TemplateEdge] = []
    merges: dict[int, str] = {}
    prev_prev = prev = 1
    reduction_prev = False
    node = 2
    for i, c in enumerate(cell_widths(width, layers)):
        reduction = i in reductions
        attrs = (("channels", c),)
        p0, p1, first, out = node, node + 1, node + 2, node + 2 + CELL_NODES
        pre0 = "darts_factorized_reduce" if reduction_prev else "darts_preprocess"
        edges += [TemplateEdge(prev_prev, p0, op=pre0, attrs=attrs), TemplateEdge(prev, p1, op="darts_preprocess", attrs=attrs)]
        child = REDUCE_CHILD if reduction else NORMAL_CHILD
        states = [p0, p1]
        for k in range(CELL_NODES):
            for j, src in enumerate(states):  # predecessor j: 0, 1 the cell inputs, 2.. earlier nodes
                stride = (("stride", 2),) if reduction and j < 2 else ()
                edges.append(TemplateEdge(src, first + k, arg=(child, k, j), attrs=stride))
            states.append(first + k)
        edges += [TemplateEdge(first + k, out, op="id") for k in range(CELL_NODES)]
        merges[out] = CONCAT
        node = out + 1
        if i == tap_after:
            edges.append(TemplateEdge(out, node, op=AUX_TAP))
            out, node = node, node + 1
        prev_prev, prev, reduction_prev = prev, out, reduction
    return Template(node - 1, tuple(edges), merges)


register_topology(DARTS_NETWORK, darts_network_template, generator=True)
