"""What a picture of an architecture shows: the op graph, or a fold of it, with labels that name
the operations.

A large term is drawn with its subterms of some *height* collapsed, each one box: the height of a
nonterminal is how many nonterminals deep its rules nest (``ACT ::= relu`` 0, ``BLOCK ::=
Linear3(ACT, CONV, NORM)`` 1, ``CL ::= Cell(OP, ...)`` 3 in ``hnb201``), so every cell of an
``hnb201`` network is collapsed alike, wherever it sits. The default is the smallest height whose
graph has at most :data:`MAX_AUTO_NODES` boxes (recursive grammars, whose heights are unbounded,
fall back to the grammar's fold levels). A collapsed box says what it computes: a chain of
primitives as ``relu·conv3x3·batch`` (a sequential topology such as ``Linear3``), other small
topologies as their term (``Residual2(conv1x1, id, id)``), larger ones by their topology
(``Cell``) and the operations they hold.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, Optional

import networkx as nx

from algebraic_nas.grammar.term import Term
from algebraic_nas.grammar.topology import get_template
from algebraic_nas.grammar.topology_zero import IDENTITY_OPS, ZERO_OPS

from .graph import ZERO_EDGE, op_graph, term_graph

if TYPE_CHECKING:
    from algebraic_nas.grammar import Grammar

#: Default upper bound on drawn operations when what to collapse is chosen automatically.
MAX_AUTO_NODES = 60
#: Fewest boxes a collapse by height must leave to be chosen over the grammar's fold levels.
MIN_AUTO_NODES = 10
#: Most operations drawn unfolded when every collapse leaves fewer than MIN_AUTO_NODES boxes.
MAX_FULL_NODES = 150
#: Longest list of operations a collapsed box names before it only counts them.
MAX_INSIDE_CHARS = 120
#: Separator of the primitives of a sequential block in a label (``relu·conv3x3·batch``).
CHAIN = "·"


def built_edges(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """``g`` (a ``prune="none"`` op-edge DAG) with the ``zero`` edges the network does not build
    removed: a node fed by other edges leaves its ``zero`` edges out of the sum, a node fed only by
    ``zero`` edges gets its zeros from the first of them (as :func:`~.network.build_body` does).
    Edges of dead-but-present operations stay. Modifies and returns ``g``."""
    for n in list(g.nodes):
        zero = sorted(((a, k, d["order"]) for a, _, k, d in g.in_edges(n, keys=True, data=True)
                       if d["op"] == ZERO_EDGE), key=lambda e: e[2])
        keep_first = len(zero) == g.in_degree(n)  # only zero edges feed n
        g.remove_edges_from([(a, n, k) for a, k, _ in zero[1 if keep_first else 0:]])
    return g


def nonterminal_heights(grammar: Grammar) -> dict[str, Optional[int]]:
    """Per nonterminal, how deep nonterminals nest below it: 0 when its rules name none, else one
    more than the highest it names; ``None`` for a recursive one (and those above it)."""
    heights: dict[str, Optional[int]] = {}
    busy: set[str] = set()

    def height(nt: str) -> Optional[int]:
        if nt in heights:
            return heights[nt]
        if nt in busy:
            return None
        busy.add(nt)
        below = [height(ref) for al in grammar.rules[nt] for ref, _ in al.refs]
        busy.discard(nt)
        heights[nt] = None if None in below else 1 + max(below) if below else 0  # type: ignore[operator]
        return heights[nt]

    for nt in grammar.rules:
        height(nt)
    return heights


def _shape(symbol: str, arity: int) -> str:
    """``"chain"`` for a topology that applies its ``arity`` arguments one after another
    (``Linear3``), ``"topology"`` for another one, ``"op"`` for a terminal with plain arguments."""
    try:
        tmpl = get_template(symbol, arity)
    except Exception:  # noqa: BLE001 - a generator topology needs its values: not a chain
        return "topology"
    if tmpl is None:
        return "op"
    chain = [(i + 1, i + 2, i) for i in range(arity)]
    if not tmpl.merges and tmpl.n_nodes == arity + 1 and sorted((e.src, e.dst, e.arg) for e in tmpl.edges) == chain:
        return "chain"
    return "topology"


def describe(t: Term) -> str:
    """What the subterm ``t`` computes, for the label of its box (see the module docstring)."""
    t = t.resolve()
    if not t.children:
        return t.symbol if t.value is None else str(t)
    kids = [c.resolve() for c in t.children]
    shape = _shape(t.symbol, len(kids))
    if shape == "op":  # a terminal with plain arguments: MBConv(5, 6, 0.25)
        return str(t)
    if shape == "chain" and all(not c.children and c.value is None for c in kids):
        return CHAIN.join(c.symbol for c in kids if c.symbol not in IDENTITY_OPS) or "id"
    head = t.symbol + (f"({', '.join(str(c) for c in kids if c.value is not None)})"
                       if any(c.value is not None for c in kids) else "")
    ops = Counter(describe(c) for c in kids if c.value is None and not (c.symbol in ZERO_OPS and not c.children))
    inside = ", ".join(f"{n}×{op}" if n > 1 else op for op, n in ops.most_common())
    if len(inside) > MAX_INSIDE_CHARS:  # too much to read in a box: how many operations it holds
        n_ops = sum(1 for _, s in t.walk() if not s.children and s.value is None and s.symbol
                    and s.symbol not in ZERO_OPS and s.symbol not in IDENTITY_OPS)
        inside = f"{n_ops} operations"
    return f"{head}: {inside}" if inside else head


def relabel(folded: Term, unfolded: Term) -> Term:
    """``folded`` (a fold of ``unfolded``) with each collapsed subterm's symbol replaced by
    :func:`describe` of the subterm it stands for (its nonterminal is kept)."""
    if folded.collapsed:
        return Term(folded.nonterminal, folded.production, describe(unfolded), (), None, True)
    if not folded.children:
        return folded
    kids = tuple(relabel(f, u) for f, u in zip(folded.children, unfolded.children))
    return Term(folded.nonterminal, folded.production, folded.symbol, kids, folded.value, False)


def collapse_by_height(term: Term, heights: dict[str, Optional[int]], height: int) -> tuple[Term, Counter]:
    """``term`` with every outermost subterm of a nonterminal of height 1..``height`` collapsed
    (as :meth:`Grammar.fold` collapses, so paths are kept); returns it and the collapsed counts per
    nonterminal."""
    counts: Counter = Counter()

    def rec(t: Term) -> Term:
        h = heights.get(t.nonterminal) if t.nonterminal is not None else None
        if t.children and h is not None and 1 <= h <= height:
            counts[t.nonterminal] += 1
            return Term(t.nonterminal, t.production, t.symbol or t.resolve().symbol, (), None, True)
        if not t.children:
            return t
        kids = tuple(rec(c) for c in t.children)
        return Term(t.nonterminal, t.production, t.symbol, kids, t.value, t.collapsed)

    return rec(term), counts


def choose_graph(
    term: Term, grammar: Optional[Grammar] = None, level: Optional[int] = None, seed: int = 0
) -> tuple[nx.DiGraph, Optional[int]]:
    """The graph to draw (``id`` kept as nodes) and the fold level used (``None``: not a fold level).

    See :func:`choose` (this is its graph and ``level``)."""
    g, info = choose(term, grammar, level, seed)
    return g, info["level"]


def choose(term: Term, grammar: Optional[Grammar] = None, level: Optional[int] = None,
           seed: int = 0) -> tuple[nx.DiGraph, dict[str, Any]]:
    """The graph to draw and ``{"level", "collapsed"}``: the fold level (``None`` unless one was
    used) and the number of collapsed subterms per nonterminal.

    With ``level`` given, ``grammar.fold(term, level)``; otherwise the full op graph if it has at
    most :data:`MAX_AUTO_NODES` nodes, else the smallest collapse height (module docstring) that
    does if that leaves at least :data:`MIN_AUTO_NODES`, else the deepest fold level that does (or,
    when that leaves fewer than :data:`MIN_AUTO_NODES`, the full graph up to :data:`MAX_FULL_NODES`). ``seed``: the network seed (the graphs of
    generator topologies). The grammar's ``%prune`` decides which edges are drawn, as it decides
    which are built: with ``none`` (``nb201_cell``) an operation behind ``zero`` edges is drawn,
    fed by a ``zero`` box where nothing else feeds its input. Collapsed boxes are labelled
    ``"NONTERMINAL description"`` (:func:`describe`).
    """
    prune = grammar.prune if grammar is not None else "paths"

    def graph(t: Term, collapsed: bool) -> nx.DiGraph:
        if collapsed:
            g = term_graph(relabel(t, term), seed=seed, prune=prune, collapsed_as_ops=True, unfolded=term)
        else:
            g = term_graph(t, seed=seed, prune=prune)
        return op_graph(built_edges(g) if prune == "none" else g, False)

    def folded(lv: int) -> tuple[Term, nx.DiGraph, dict[str, Any]]:
        f = grammar.fold(term, lv)  # type: ignore[union-attr]
        counts = Counter(s.nonterminal for _, s in f.walk() if s.collapsed)
        return f, graph(f, True), {"level": lv, "collapsed": dict(counts)}

    if level is not None:
        if grammar is None:
            raise ValueError("a fold level needs the grammar")
        return folded(level)[1:]
    full = graph(term, False)
    if grammar is None or full.number_of_nodes() <= MAX_AUTO_NODES:
        return full, {"level": None, "collapsed": {}}
    heights = nonterminal_heights(grammar)
    by_height = None
    for h in sorted({h for h in heights.values() if h is not None and h >= 1}):
        collapsed, counts = collapse_by_height(term, heights, h)
        g = graph(collapsed, True)
        if g.number_of_nodes() <= MAX_AUTO_NODES:
            by_height = (g, {"level": None, "collapsed": dict(counts)})
            break
    if by_height is not None and by_height[0].number_of_nodes() >= MIN_AUTO_NODES:
        return by_height
    best = by_height
    for lv in range(0, 16):
        f, g, info = folded(lv)
        if g.number_of_nodes() > MAX_AUTO_NODES:
            break
        if best is None or g.number_of_nodes() >= best[0].number_of_nodes():
            best = (g, info)
        if f == term:  # nothing left to unfold
            break
    if best is None or (best[0].number_of_nodes() < MIN_AUTO_NODES < full.number_of_nodes() <= MAX_FULL_NODES):
        return full, {"level": None, "collapsed": {}}  # one box says nothing: the whole graph, wrapped
    return best
