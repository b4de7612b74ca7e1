"""The built-in topologies (registered on import of :mod:`.topology`; torch-free).

Plain edge lists (as in Schrodi et al.'s code; argument i on edge i, nodes sum):

* ``Linear<K>`` / ``Linear`` — a chain of K edges (``Linear`` takes any number of arguments);
* ``Residual2``, ``Residual3``, ``Cell`` (NB201's 4-node cell), ``Diamond2``; ``Residual`` is the
  paper's untyped ``Residual2`` of the toy grammar;
* ``DAG4``, ``DAG5`` — Liu et al.'s densely connected DAGs, edges in lexicographic order.

Templates with fixed operations and merges:

* ``Darts`` / ``DartsReduce`` — the DARTS cell (Liu et al. 2019) used as a one-input block: both
  cell inputs see the block input, each through its own ``ReLU-Conv1×1-BN`` preprocessing to the
  node width; four intermediate nodes sum one operation per predecessor (the two cell inputs and
  the earlier nodes); the output concatenates the four nodes. Normal cell: C → C (node width C/4).
  Reduction cell: operations on the two cell inputs have stride 2, C → 2C at half resolution (node
  width C/2). Arguments: either the 14 operations flat, in node order (node 0: from s0, s1; node
  1: s0, s1, n0; ...), or 4 node operators ``NodeK(op, ...)`` with 2, 3, 4, 5 operations.
* ``Up`` / ``Same`` / ``Down`` (one argument, Auto-DeepLab) — a resolution transition followed by
  the argument: ``adl_up`` (×2 resolution, C/2 channels), nothing, ``adl_down`` (½ resolution, 2C).

DARTS's whole CIFAR network ``DartsCIFAR(C, L, NORMAL, REDUCE)`` (two-input cells, reductions at
L/3 and 2L/3) is a generator topology in :mod:`.topology_darts`, whose cells are the ``Darts``
terms above.

Generator topologies (NAGO's ``WattsStrogatz``, ``ErdosRenyi``, ``BarabasiAlbert``) and the
``Budget`` marker are in :mod:`.topology_generators`, registered on import of this module.
"""

from __future__ import annotations

import re
from typing import Optional

from .topology import register_topology, register_topology_family
from .topology_template import CONCAT, Edges, Template, TemplateEdge


def _dense(n: int) -> Edges:
    return tuple((i, j) for i in range(1, n + 1) for j in range(i + 1, n + 1))


RESIDUAL2: Edges = ((1, 2), (1, 3), (2, 3))

register_topology("Residual", edges=RESIDUAL2)
register_topology("Residual2", edges=RESIDUAL2)
register_topology("Residual3", edges=((1, 2), (2, 3), (1, 4), (3, 4)))
register_topology("Cell", edges=((1, 2), (1, 3), (2, 3), (1, 4), (2, 4), (3, 4)))
register_topology("Diamond2", edges=((1, 2), (1, 3), (2, 4), (3, 4)))
register_topology("DAG4", edges=_dense(4))
register_topology("DAG5", edges=_dense(5))


def _linear(m: re.Match, arity: int) -> Optional[Edges]:
    k = int(m.group(1)) if m.group(1) else arity
    return tuple((i, i + 1) for i in range(1, k + 1)) if k == arity and k >= 1 else None


register_topology_family("Linear<K>", r"Linear(\d*)", _linear)

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
            attrs = (("stride", 2),) if reduction and j < 2 else ()
            arg = flat if arity == 14 else (k, j)
            edges.append(TemplateEdge(2 + j, 4 + k, arg=arg, attrs=attrs))
            flat += 1
    edges += [TemplateEdge(4 + k, 8, op="id") for k in range(DARTS_NODES)]
    return Template(8, tuple(edges), merges={8: CONCAT})


register_topology("Darts", lambda arity: darts_template(arity, reduction=False))
register_topology("DartsReduce", lambda arity: darts_template(arity, reduction=True))


def _transition(op: Optional[str]) -> Template:
    if op is None:
        return Template(2, (TemplateEdge(1, 2, arg=0),))
    return Template(3, (TemplateEdge(1, 2, op=op), TemplateEdge(2, 3, arg=0)))


register_topology("Up", _transition("adl_up"))
register_topology("Same", _transition(None))
register_topology("Down", _transition("adl_down"))


from . import topology_darts  # noqa: E402,F401  (DARTS's CIFAR network, DartsCIFAR)
from . import topology_generators  # noqa: E402,F401  (NAGO's random-graph generators and Budget)
