"""The largest term a grammar can sample, so that sampling stays bounded in time and memory.

A grammar can describe terms far too large to build: a recursive rule with many arguments
(``S ::= Cell(S, S, S, S, S, S) | conv`` with ``%max_depth 40``), or a chain of rules that doubles
at each step. :func:`max_nodes` bounds the number of nodes (transparent ones included) of any
term of a nonterminal, bottom-up over the same ``(nonterminal, remaining depth)`` keys as the
counts, saturating just above :data:`MAX_SAMPLE_NODES`. Only grammars whose bound exceeds it pay
for counting nodes while sampling (:mod:`.sampling`).
"""

from __future__ import annotations

from typing import Optional

from .bottomup import bottom_up
from .counting import Counts
from .patterns import P_NT, P_OP, Alternative

MAX_SAMPLE_NODES = 100_000  # a sampled term with more nodes is rejected (sampling.TooLarge)

Depth = Optional[int]


def max_nodes(rules: dict[str, list[Alternative]], counts: Counts, shared: set[str], start: str, r: Depth) -> int:
    """An upper bound (capped at ``MAX_SAMPLE_NODES + 1``) on the nodes of a term of ``start`` at
    remaining depth ``r``, over the alternatives that have terms there."""
    cap = MAX_SAMPLE_NODES + 1
    memo: dict = {}

    def deps(key: tuple) -> list:
        return [d for d in counts.deps(key[0], key[1]) if d[1] is None or d[1] > 0]

    def pat(p: tuple, rc: Depth) -> int:
        if p[0] == P_NT:
            b = p[1]
            return memo.get((b, counts.root_depth if b in shared else rc), 0)
        if p[0] == P_OP:
            return min(cap, 1 + sum([pat(s, rc) for s in p[2]]))
        return 1

    def compute(key: tuple) -> int:
        a_name, rr = key
        best = 0
        for al, (z, nz) in zip(rules[a_name], counts.alternative_counts(a_name, rr)):
            if not (z or nz):
                continue  # the sampler never picks an alternative without terms here
            if al.kind == "unit":
                n = 1 + pat(al.pattern, rr)
            else:
                n = pat(al.pattern, None if rr is None else rr - 1)
            best = max(best, min(cap, n))
        return best

    if r is not None and r <= 0:
        return 0
    return bottom_up((start, r), deps, compute, memo)
