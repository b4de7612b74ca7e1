"""Structural checks of a merged grammar: undefined and unreachable nonterminals, cycles of unit
productions, shared nonterminals that contain themselves, recursion without a depth bound, and
(once the terms are counted) unproductive nonterminals.

Each check raises a :class:`GrammarError` at the offending rule or reference (file:line:col).
The cycles reported are the first ones a depth-first search in rule order finds, so messages are
stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from .bottomup import bottom_up
from .meta import Expr, Loc, Rule

Refs = dict[str, list[tuple[str, bool, Loc]]]  # A -> [(B, B is the whole alternative (unit), loc)]
Graph = dict[str, list[str]]


@dataclass
class Structure:
    """What :func:`check_structure` finds: the references of every rule and the reachable
    nonterminals (in order of definition)."""

    refs: Refs
    nonterminals: list[str]
    unit_depth: int = 0  # the longest chain of unit productions A ::= B ::= ... (0: none)


def longest_chain(nodes: list[str], graph: Graph) -> int:
    """The number of edges on the longest path of an acyclic ``graph`` (bottom-up, no recursion)."""
    memo: dict[str, int] = {}

    def compute(x: str) -> int:
        return max((memo[m] + 1 for m in graph.get(x, [])), default=0)

    for root in nodes:
        bottom_up(root, lambda x: graph.get(x, []), compute, memo)
    return max(memo.values(), default=0)


def _collect(e: Expr, out: list, top: bool) -> None:
    if e.kind == "nt":
        out.append((e.name, top, e.loc))
    for a in e.args:
        _collect(a, out, False)


def references(rules: dict[str, Rule]) -> Refs:
    """The nonterminal references of every rule; an undefined one is an error."""
    refs: Refs = {}
    for a_name, rule in rules.items():
        out: list = []
        for alt in rule.alts:
            _collect(alt.expr, out, True)
        for b, _, loc in out:
            if b not in rules:
                raise loc.error(f"undefined nonterminal {b} (no rule '{b} ::= ...')")
        refs[a_name] = out
    return refs


def reachable(start: str, refs: Refs) -> set[str]:
    """The nonterminals reachable from ``start`` (itself included)."""
    seen = {start}
    todo = [start]
    while todo:
        a = todo.pop()
        for b, _, _ in refs[a]:
            if b not in seen:
                seen.add(b)
                todo.append(b)
    return seen


def find_cycle(nodes: list[str], graph: Graph) -> Optional[list[str]]:
    """A cycle ``[a, ..., a]`` of ``graph`` (depth-first from each node in order), or None.

    Iterative (an explicit stack), so long chains of rules never hit Python's recursion limit.
    """
    color = {n: 0 for n in nodes}
    for root in nodes:
        if color[root]:
            continue
        path = [root]
        color[root] = 1
        iters = [iter(graph.get(root, []))]
        while iters:
            m = next(iters[-1], None)
            if m is None:
                color[path.pop()] = 2
                iters.pop()
                continue
            c = color.get(m, 2)
            if c == 1:
                return path[path.index(m):] + [m]
            if c == 0:
                color[m] = 1
                path.append(m)
                iters.append(iter(graph.get(m, [])))
    return None


def cycle_through(x: str, graph: Graph) -> Optional[list[str]]:
    """A cycle x -> ... -> x in graph, or None (depth-first, iterative)."""
    seen: set[str] = set()
    path = [x]
    iters = [iter(graph.get(x, []))]
    while iters:
        m = next(iters[-1], None)
        if m is None:
            iters.pop()
            path.pop()
            continue
        if m == x:
            return path + [x]
        if m not in seen:
            seen.add(m)
            path.append(m)
            iters.append(iter(graph.get(m, [])))
    return None


def check_structure(
    rules: dict[str, Rule], root_rules: set[str], start: str, shared: set[str], max_depth: Optional[int]
) -> Structure:
    """Every check that needs only the rules. ``root_rules``: the names defined in the root file
    (an unreachable imported rule is fine, an unreachable own rule is an error)."""
    refs = references(rules)
    seen = reachable(start, refs)
    for a_name in rules:
        if a_name not in seen and a_name in root_rules:
            raise rules[a_name].loc.error(f"nonterminal {a_name} is unreachable from the start symbol {start}")
    nonterminals = [a for a in rules if a in seen]
    # unit cycles (always an error: the grammar would be infinitely ambiguous)
    unit = {a: [b for b, top, _ in refs[a] if top] for a in nonterminals}
    cyc = find_cycle(nonterminals, unit)
    if cyc:
        raise rules[cyc[0]].loc.error(
            "cycle of unit productions " + " -> ".join(cyc) + ": the same term would have infinitely many derivations"
        )
    # recursion: fine with a depth bound, an error without one. Shared nonterminals must not contain themselves.
    full = {a: [b for b, _, _ in refs[a]] for a in nonterminals}
    for x in sorted(shared & set(nonterminals)):
        path = cycle_through(x, full)
        if path:
            raise rules[x].loc.error(
                "shared nonterminal " + x + " contains itself (" + " -> ".join(path) + "): a shared term cannot be infinite"
            )
    if max_depth is None:
        cyc = find_cycle(nonterminals, full)
        if cyc:
            raise rules[cyc[0]].loc.error(
                "recursive grammar without a depth bound: " + " -> ".join(cyc) + " (add a directive such as %max_depth 5)"
            )
    return Structure(refs, nonterminals, longest_chain(nonterminals, unit))


def check_productive(
    nonterminals: list[str], rules: dict[str, Rule], has_terms: Callable[[str], bool], zero: Optional[str], max_depth: Optional[int]
) -> None:
    """Raise at the first nonterminal (in order) for which ``has_terms`` is false."""
    for a_name in nonterminals:
        if not has_terms(a_name):
            why = f" within %max_depth {max_depth}" if max_depth is not None else ""
            cons = " satisfying the connectivity constraint" if zero is not None else ""
            raise rules[a_name].loc.error(f"nonterminal {a_name} is unproductive: it derives no finite term{cons}{why}")
