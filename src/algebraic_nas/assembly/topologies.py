"""Built-in topology templates beyond the grammar package's plain edge lists (torch-free).

``LinearK``, ``Residual2/3``, ``Cell``, ``Diamond2``, ``DAG4``, ``DAG5`` come from
:mod:`algebraic_nas.grammar.topologies` as plain edge lists. Here:

* ``Darts`` / ``DartsReduce`` — the DARTS cell (Liu et al. 2019) used as a one-input block: both
  cell inputs see the block input, each through its own ``ReLU-Conv1×1-BN`` preprocessing to the
  node width; four intermediate nodes sum one operation per predecessor (the two cell inputs and
  the earlier nodes); the output concatenates the four nodes. Normal cell: C → C (node width C/4).
  Reduction cell: operations on the two cell inputs have stride 2, C → 2C at half resolution (node
  width C/2). Arguments: either the 14 operations flat, in node order (node 0: from s0, s1; node
  1: s0, s1, n0; ...), or 4 node operators ``NodeK(op, ...)`` with 2, 3, 4, 5 operations.
* ``Up`` / ``Same`` / ``Down`` (one argument, Auto-DeepLab) — a resolution transition followed by
  the argument: ``adl_up`` (×2 resolution, C/2 channels), nothing, ``adl_down`` (½ resolution, 2C).
"""

from __future__ import annotations

from typing import Optional

from .registry import Template, TemplateEdge, register_topology

#: Node k of the DARTS cell (0-based) reads from 2 + k predecessors: 14 operations in all.
DARTS_NODES = 4


def darts_template(arity: int, reduction: bool = False) -> Optional[Template]:
    """Template of the DARTS cell with 14 flat operations or 4 node groups (see the module docstring)."""
    if arity not in (14, DARTS_NODES):
        return None
    divisor = 2 if reduction else 4
    # nodes: 1 input, 2 = s0, 3 = s1, 4..7 intermediate, 8 output (concatenation)
    edges = [TemplateEdge(1, 2, op="darts_preprocess", attrs=(("divisor", divisor),)),
             TemplateEdge(1, 3, op="darts_preprocess", attrs=(("divisor", divisor),))]
    flat = 0
    for k in range(DARTS_NODES):
        for j in range(2 + k):  # predecessor j: 0 = s0, 1 = s1, 2.. = earlier intermediate nodes
            src = 2 + j
            attrs = (("stride", 2),) if reduction and j < 2 else ()
            arg = flat if arity == 14 else (k, j)
            edges.append(TemplateEdge(src, 4 + k, arg=arg, attrs=attrs))
            flat += 1
    edges += [TemplateEdge(4 + k, 8, op="id") for k in range(DARTS_NODES)]
    return Template(8, tuple(edges), concat=frozenset({8}))


register_topology("Darts", lambda arity: darts_template(arity, reduction=False))
register_topology("DartsReduce", lambda arity: darts_template(arity, reduction=True))


def _transition(op: Optional[str]):
    def template(arity: int) -> Optional[Template]:
        if arity != 1:
            return None
        if op is None:
            return Template(2, (TemplateEdge(1, 2, arg=0),))
        return Template(3, (TemplateEdge(1, 2, op=op), TemplateEdge(2, 3, arg=0)))

    return template


register_topology("Up", _transition("adl_up"))
register_topology("Same", _transition(None))
register_topology("Down", _transition("adl_down"))
