"""Edge lists of the topology operators (k-ary terminals): the graph algebra of terms.

A topology with k arguments is a DAG on nodes ``1..n`` (1 = input, n = output); argument i is
placed on edge i, and a node with several incoming edges sums them (REFERENCE §2). The grammar
package needs only the edges (for the connectivity constraint of ``zero`` and for flattening
terms into graphs); the torch modules that run them live in :mod:`algebraic_nas.assembly`.

Users add their own with :func:`register_topology`.
"""

from __future__ import annotations

import re
from typing import Callable, Optional, Union

Edges = tuple[tuple[int, int], ...]

_FIXED: dict[str, Edges] = {
    "Residual2": ((1, 2), (1, 3), (2, 3)),
    "Residual3": ((1, 2), (2, 3), (1, 4), (3, 4)),
    "Cell": ((1, 2), (1, 3), (2, 3), (1, 4), (2, 4), (3, 4)),
    "Diamond2": ((1, 2), (1, 3), (2, 4), (3, 4)),
    # Liu et al.'s densely connected DAGs, edges in lexicographic (source, target) order.
    "DAG4": tuple((i, j) for i in range(1, 5) for j in range(i + 1, 5)),
    "DAG5": tuple((i, j) for i in range(1, 6) for j in range(i + 1, 6)),
}

_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str], int], Optional[Edges]]]] = []
_USER: dict[str, Union[Edges, Callable[[int], Optional[Edges]]]] = {}


def _chain(k: int) -> Edges:
    return tuple((i, i + 1) for i in range(1, k + 1))


def _linear(m: re.Match[str], arity: int) -> Optional[Edges]:
    k = int(m.group(1)) if m.group(1) else arity
    return _chain(k) if k == arity and k >= 1 else None


def _residual_untyped(m: re.Match[str], arity: int) -> Optional[Edges]:
    # The paper's untyped `Residual(a, b, c)` of the toy grammar is Residual2.
    return _FIXED["Residual2"] if arity == 3 else None


_PATTERNS.append((re.compile(r"^Linear(\d*)$"), _linear))
_PATTERNS.append((re.compile(r"^Residual$"), _residual_untyped))


def register_topology(name: str, edges: Union[Edges, Callable[[int], Optional[Edges]]]) -> None:
    """Declare the edge list of a topology operator ``name``.

    ``edges`` is a tuple of ``(source, target)`` node pairs (nodes 1..n, 1 the input, n the
    output; argument i sits on edge i), or a function of the arity returning such a tuple (or
    ``None`` when that arity is not allowed).
    """
    _USER[name] = edges


def topology_edges(name: str, arity: int) -> Optional[Edges]:
    """Edges of topology ``name`` applied to ``arity`` arguments, or ``None`` if unknown.

    Operators not known here (e.g. the DARTS cell with its two inputs, MobileNet blocks) are
    treated as opaque by the grammar package: they never take part in the ``zero`` constraint.
    """
    user = _USER.get(name)
    if user is not None:
        edges = user(arity) if callable(user) else user
        return edges if edges is not None and len(edges) == arity else None
    fixed = _FIXED.get(name)
    if fixed is not None:
        return fixed if len(fixed) == arity else None
    for pattern, make in _PATTERNS:
        m = pattern.match(name)
        if m:
            return make(m, arity)
    return None


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
