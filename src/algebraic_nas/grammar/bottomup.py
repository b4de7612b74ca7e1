"""Evaluation over an acyclic dependency graph without recursion.

Grammars and terms can be deep (long chains of rules, terms nested thousands of levels), so the
grammar package computes per-node values bottom-up with an explicit stack instead of recursive
calls that would hit Python's recursion limit.
"""

from __future__ import annotations

from typing import Callable, Hashable, Iterable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def bottom_up(root: K, deps: Callable[[K], Iterable[K]], compute: Callable[[K], V], done: dict) -> V:
    """``done[root]``, computing first every node it depends on (``deps``), each once, children
    before parents: ``compute(node)`` may read ``done[d]`` for each ``d`` in ``deps(node)``.

    ``done`` is the memo (shared between calls); ``deps`` must describe an acyclic graph.
    """
    if root in done:
        return done[root]
    stack = [root]
    while stack:
        x = stack[-1]
        if x in done:
            stack.pop()
            continue
        missing = [d for d in deps(x) if d not in done]
        if missing:
            stack.extend(missing)
            continue
        stack.pop()
        done[x] = compute(x)
    return done[root]
