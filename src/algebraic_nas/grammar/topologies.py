"""Plain edge lists of topologies for the grammar's ``zero`` connectivity constraint.

A thin view of the topology registry (:mod:`.topology`) for the grammar's counting, sampling and
parsing code: a topology that is a plain edge list for a given arity (argument i on edge i,
nodes summing) takes part in the constraint; generator topologies and templates with fixed
operations or other merges are opaque to it.
"""

from __future__ import annotations

from typing import Optional

from .topology import get_topology
from .topology_template import Edges

__all__ = ["Edges", "has_path", "topology_edges"]


def topology_edges(name: str, arity: int) -> Optional[Edges]:
    """Edges of topology ``name`` applied to ``arity`` arguments, or ``None`` if it has none.

    ``None`` for unknown names, wrong arities, generator topologies and non-plain templates (the
    DARTS cell, MobileNet blocks...): those never take part in the ``zero`` constraint.
    """
    spec = get_topology(name)
    if spec is None or spec.is_generator:
        return None
    t = spec.template(arity)
    return t.plain_edges() if t is not None else None


def has_path(edges: Edges, removed: frozenset[int] | set[int]) -> bool:
    """Whether node 1 still reaches the last node when the edges with indices in ``removed`` are cut."""
    if not edges:
        return False
    n = max(max(e) for e in edges)
    reach = {1}
    # Edges of our topologies always point from lower to higher node numbers, so one sorted pass suffices.
    for idx, (a, b) in sorted(enumerate(edges), key=lambda ie: ie[1]):
        if idx not in removed and a in reach:
            reach.add(b)
    return n in reach
