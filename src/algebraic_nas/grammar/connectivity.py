"""The ``%zero`` connectivity constraint of a topology, without a table of all 2^k zero masks.

A plain topology has its argument i on edge i of a DAG whose edges point from lower to higher
node numbers (node 1 the input, the last node the output). A set of zero arguments (a bit mask,
bit i = argument i is zero) is *valid* when an input→output path survives cutting those edges.

* :class:`PathTable` answers ``table[mask]`` (1 or 0) for one mask in O(edges) with bit
  operations, so samplers, validation and the operators ask only about the masks they meet.
* :func:`count_connected` counts the argument choices that keep a path by dynamic programming
  over the edges in topological order. Its state is the set of reached nodes that still matter
  (nodes with edges not yet processed, and the output), so the cost grows with the width of the
  topology, not with its arity: a chain ``LinearK`` costs O(K) instead of O(2^K).
"""

from __future__ import annotations

from typing import Callable

Edges = tuple[tuple[int, int], ...]
CountsByMask = dict  # {used_shared_mask: count}
Conv = Callable[[CountsByMask, CountsByMask], CountsByMask]
Add = Callable[[object, object], object]


class PathTable:
    """``table[mask]``: 1 if cutting the edges in ``mask`` keeps an input→output path, else 0.

    Behaves like the bytes table it replaces (indexing by mask) but computes each answer on
    demand; answers are cached up to ``cache_limit`` masks (bounded memory for large arities).
    """

    __slots__ = ("edges", "_order", "_out", "_cache", "_limit")

    def __init__(self, edges: Edges, cache_limit: int = 1 << 16):
        self.edges = edges
        # edges sorted by (source, target): every edge into a node precedes the edges out of it
        self._order = tuple(sorted(range(len(edges)), key=lambda i: edges[i]))
        self._out = max((max(e) for e in edges), default=0)
        self._cache: dict[int, int] = {}
        self._limit = cache_limit

    def __getitem__(self, mask: int) -> int:
        v = self._cache.get(mask)
        if v is None:
            v = self._compute(mask)
            if len(self._cache) < self._limit:
                self._cache[mask] = v
        return v

    def _compute(self, mask: int) -> int:
        if not self.edges:
            return 0
        edges = self.edges
        reach = 1 << 1
        for i in self._order:
            if not mask >> i & 1:
                a, b = edges[i]
                if reach >> a & 1:
                    reach |= 1 << b
        return 1 if reach >> self._out & 1 else 0


def count_connected(
    edges: Edges, zero_parts: list[CountsByMask], other_parts: list[CountsByMask], conv: Conv, add: Add
) -> CountsByMask:
    """Sum, over the choices (zero or not) of every argument that keep an input→output path, of
    the products of the chosen counts: ``{used_shared_mask: count}``.

    ``zero_parts[i]`` / ``other_parts[i]``: the counts of argument i's zero / other terms by
    shared mask; ``conv`` multiplies two such dicts, ``add`` adds two counts (``math.inf`` aware).
    """
    if not edges:
        return {}
    order = sorted(range(len(edges)), key=lambda i: edges[i])
    out_node = max(max(e) for e in edges)
    last_use: dict[int, int] = {}  # node -> position in `order` of its last outgoing edge
    for pos, i in enumerate(order):
        last_use[edges[i][0]] = pos

    def live_bit(node: int) -> int:  # a node without outgoing edges matters only as the output
        return 1 << node if node in last_use or node == out_node else 0

    # state: bit mask of the reached nodes that still matter -> counts by shared mask
    states: dict[int, CountsByMask] = {1 << 1: {0: 1}}
    for pos, i in enumerate(order):
        a, b = edges[i]
        z, o = zero_parts[i], other_parts[i]
        both = _merge(z, o, add)
        new: dict[int, CountsByMask] = {}
        for s, d in states.items():
            if s >> a & 1:
                _put(new, s, conv(d, z), add)
                _put(new, s | live_bit(b), conv(d, o), add)
            else:
                _put(new, s, conv(d, both), add)
        if last_use.get(a) == pos and a != out_node:
            dropped: dict[int, CountsByMask] = {}
            for s, d in new.items():
                _put(dropped, s & ~(1 << a), d, add)
            new = dropped
        # a state with no reached node left can never reach the output
        states = {s: d for s, d in new.items() if s and d}
    result: CountsByMask = {}
    for s, d in states.items():
        if s >> out_node & 1:
            result = _merge(result, d, add)
    return result


def _merge(a: CountsByMask, b: CountsByMask, add: Add) -> CountsByMask:
    out = dict(a)
    for m, n in b.items():
        out[m] = add(out.get(m, 0), n)
    return {m: n for m, n in out.items() if n}


def _put(states: dict[int, CountsByMask], s: int, d: CountsByMask, add: Add) -> None:
    if not d:
        return
    prev = states.get(s)
    states[s] = d if prev is None else _merge(prev, d, add)
