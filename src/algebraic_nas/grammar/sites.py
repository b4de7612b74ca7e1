"""Sites of a term: the nodes that mutation and crossover may change, with their context.

A *site* is a node of a nonterminal (``Term.nonterminal`` set, not collapsed). Every term caches,
per subtree, how many sites of each nonterminal it holds (in ``Term._aux``; subterms shared
between parent and child terms share the cache), so the k-th site of a nonterminal is found by
one descent from the root (:func:`descend`) instead of a walk over the whole term. A
:class:`Site` knows its remaining depth, whether zero may stand there (the connectivity
constraint of the topology it is an argument of) and its innermost shared ancestor;
:func:`place` puts a new subterm there (in every occurrence of that shared subterm).

Numbers: :func:`value_sites` lists the numeric placeholder leaves of a term with their declared
ranges (what numeric perturbation and the surrogate's value kernel need); :func:`has_numbers` and
:func:`has_structure` say, from the grammar's rules alone, whether its terms carry numbers and
whether they can differ in anything but numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, NamedTuple, Optional, Union

from .patterns import P_FLOAT, P_INT, P_NT, P_OP, P_T, is_zero, zero_mask
from .term import Term

if TYPE_CHECKING:  # pragma: no cover
    from .grammar import Grammar

_EMPTY: dict = {}


def _post_order_missing(t: Term, done: Callable[[Term], bool]) -> list[Term]:
    """The nodes of ``t`` not ``done`` yet, children before parents (an explicit stack: terms may
    be nested deeper than Python's recursion limit allows, up to ``%max_depth`` 1000 and beyond)."""
    out: list[Term] = []
    stack: list[tuple[Term, bool]] = [(t, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            out.append(node)
        elif not done(node):
            stack.append((node, True))
            stack.extend((ch, False) for ch in reversed(node.children))
    return out


def site_counts(t: Term) -> dict:
    """``{nonterminal: number of sites in the subtree}`` (cached on the term)."""
    c = t._aux
    if c is not None:
        return c
    for node in _post_order_missing(t, lambda x: x._aux is not None):
        if node._aux is not None:  # a subterm shared within this term, counted already
            continue
        nt = node.nonterminal if not node.collapsed else None
        if not node.children:
            c = {nt: 1} if nt is not None else _EMPTY
        else:
            c = {}
            for ch in node.children:
                for k, v in ch._aux.items():
                    if k is not None:
                        c[k] = c.get(k, 0) + v
            if nt is not None:
                c[nt] = c.get(nt, 0) + 1
        object.__setattr__(node, "_aux", c)
    return t._aux


def height(t: Term) -> int:
    """Levels of nonterminal nodes in the subtree (transparent nodes do not count)."""
    site_counts(t)

    def known(x: Term) -> bool:
        return x._aux is _EMPTY or None in x._aux

    for node in _post_order_missing(t, known):
        c = node._aux
        if known(node):
            continue
        h = max((0 if ch._aux is _EMPTY else ch._aux[None] for ch in node.children), default=0)
        if node.nonterminal is not None and not node.collapsed and not node.is_transparent:
            h += 1
        c[None] = h
    return 0 if t._aux is _EMPTY else t._aux[None]


def descend(t: Term, a_name: str, k: int) -> tuple[list[int], list[Term]]:
    """Path (child indices) and the nodes along it (root first) of the k-th site of ``a_name`` in pre-order."""
    path: list[int] = []
    nodes = [t]
    node = t
    while True:
        if node.nonterminal == a_name and not node.collapsed:
            if k == 0:
                return path, nodes
            k -= 1
        for i, ch in enumerate(node.children):
            c = ch._aux
            if c is None:
                c = site_counts(ch)
            n = c.get(a_name, 0)
            if k < n:
                path.append(i)
                nodes.append(ch)
                node = ch
                break
            k -= n
        else:  # pragma: no cover - counts are consistent by construction
            raise RuntimeError("site counts out of sync")


def _topology_above(g: "Grammar", nodes: list[Term]) -> Optional[tuple[int, bytes]]:
    """``(j, valid zero masks)`` for ``nodes[j]``, the nearest non-transparent ancestor of
    ``nodes[-1]`` (reached through transparent nodes only), when it is a topology with a
    connectivity constraint; ``None`` otherwise."""
    j = len(nodes) - 2
    while j >= 0 and nodes[j].is_transparent:
        j -= 1
    if j < 0:
        return None
    p = nodes[j]
    valid = g.zero_masks(p.symbol, len(p.children)) if p.children and p.symbol else None
    return None if valid is None else (j, valid)


class Site:
    """A site with its context: depth left, the topology it is an argument of, its shared owner."""

    __slots__ = ("path", "nodes", "node", "nt", "r", "allow_zero", "shared_at", "level")

    def __init__(self, g: "Grammar", path: list[int], nodes: list[Term]):
        self.path = path
        self.nodes = nodes
        node = self.node = nodes[-1]
        self.nt = node.nonterminal
        shared = g.shared
        # innermost shared ancestor-or-self, and the level below it (or below the root)
        level = 0
        self.shared_at = -1
        for j in range(len(nodes) - 1):
            n = nodes[j]
            if n.nonterminal is not None and n.nonterminal in shared:
                self.shared_at = j
                level = 0
            if n.nonterminal is not None and not n.is_transparent:
                level += 1
        if self.nt in shared:
            self.shared_at = len(nodes) - 1
            level = 0
        self.level = level
        self.r = None if g.max_depth is None else g.max_depth - level
        # zero context: nearest non-transparent ancestor, reached through transparent nodes only
        self.allow_zero = True
        if g.zero is not None:
            top = _topology_above(g, nodes)
            if top is not None:
                j, valid = top
                i = path[j]
                self.allow_zero = bool(valid[zero_mask(nodes[j].children, g.zero, skip=i) | 1 << i])

    def fits(self, g: "Grammar", sub: Term) -> bool:
        """Whether ``sub`` (a term of the same nonterminal) may replace the subterm here."""
        if not self.allow_zero and is_zero(sub, g.zero):
            return False
        if self.r is not None and height(sub) > self.r:
            return False
        return True


def place(g: "Grammar", term: Term, site: Site, new: Term) -> Term:
    """``term`` with the subterm at ``site`` replaced by ``new``; inside a shared subterm, every
    occurrence of that shared subterm changes."""
    if site.shared_at < 0:
        return term.replace(tuple(site.path), new)
    j = site.shared_at
    old_s = site.nodes[j]
    new_s = old_s.replace(tuple(site.path[j:]), new)
    return replace_all(term, old_s, new_s)


def replace_all(term: Term, old: Term, new: Term) -> Term:
    """``term`` with every subterm equal to ``old`` replaced by ``new`` (unchanged subterms are
    kept as the same objects; an explicit stack, for terms of any depth)."""
    memo: dict[int, Term] = {}
    h = hash(old)

    def replaced(t: Term) -> bool:
        if id(t) in memo:
            return True
        if hash(t) == h and t == old:
            memo[id(t)] = new
            return True
        if not t.children:
            memo[id(t)] = t
            return True
        return False

    for node in _post_order_missing(term, replaced):
        if id(node) in memo:
            continue
        ch = tuple(memo[id(c)] for c in node.children)
        memo[id(node)] = node if all(a is b for a, b in zip(ch, node.children)) else Term(
            node.nonterminal, node.production, node.symbol, ch, node.value, node.collapsed
        )
    return memo[id(term)]


def sites_of(g: "Grammar", term: Term, a_name: str) -> list[Site]:
    """Every site of ``a_name`` in ``term``, in pre-order."""
    n = site_counts(term).get(a_name, 0)
    return [Site(g, *descend(term, a_name, k)) for k in range(n)]


def nodes_along(t: Term, path: list[int]) -> list[Term]:
    """The nodes from ``t`` down along ``path`` (child indices), ``t`` first."""
    nodes = [t]
    for i in path:
        t = t.children[i]
        nodes.append(t)
    return nodes


def zero_ok(g: "Grammar", t: Term, path: list[int]) -> bool:
    """The connectivity constraint of the topology the subterm at ``path`` is an argument of."""
    nodes = nodes_along(t, path)
    top = _topology_above(g, nodes)
    if top is None:
        return True
    j, valid = top
    return bool(valid[zero_mask(nodes[j].children, g.zero)])


# --- numbers --------------------------------------------------------------------------------


class ValueSite(NamedTuple):
    """A numeric leaf of a term: where it is, its value, its declared range and its span.

    ``lo``/``hi``: the range of the placeholder itself (``int(lo, hi)``/``float(lo, hi)``; a
    number literal has ``lo == hi``): a perturbed value stays in it. ``span``: the range of the
    numbers the grammar chooses from at this place: the union of the ranges when every
    alternative of the leaf's nonterminal is a number (``KSIZE ::= 3 | 5`` spans (3, 5)), else
    ``(lo, hi)``; a site with ``span[0] == span[1]`` is a fixed number, not a choice.
    """

    path: tuple[int, ...]  # child indices from the root
    value: Union[int, float]
    lo: Union[int, float]
    hi: Union[int, float]
    integer: bool  # an int placeholder or literal (else a float)
    span: tuple[Union[int, float], Union[int, float]]


def _number_span(g: "Grammar", nonterminal: str) -> Optional[tuple]:
    """The union of the ranges of ``nonterminal``'s alternatives when they are all numbers."""
    alts = g.rules[nonterminal]
    if not all(al.kind in ("int", "float") for al in alts):
        return None
    return min(al.pattern[1] for al in alts), max(al.pattern[2] for al in alts)


def value_sites(g: "Grammar", term: Term) -> list[ValueSite]:
    """The numeric leaves of ``term`` (placeholders and literals) in pre-order (the order of
    ``term.walk()``), each with its declared range and span. Collapsed (folded) nodes hold none."""
    out: list[ValueSite] = []

    def match(t: Term, p: tuple, path: tuple[int, ...], span: Optional[tuple] = None) -> None:
        kind = p[0]
        if kind in (P_INT, P_FLOAT):
            out.append(ValueSite(path, t.value, p[1], p[2], kind == P_INT, span or (p[1], p[2])))  # type: ignore[arg-type]
        elif kind == P_OP:
            for i, (c, sp) in enumerate(zip(t.children, p[2])):
                if sp[0] == P_NT:
                    visit(c, path + (i,))
                elif sp[0] != P_T:
                    match(c, sp, path + (i,))

    def visit(t: Term, path: tuple[int, ...]) -> None:
        if t.collapsed or t.nonterminal is None:
            return
        al = g.rules[t.nonterminal][t.production]
        if al.kind == "unit":
            visit(t.children[0], path + (0,))
        elif al.kind in ("int", "float"):
            match(t, al.pattern, path, _number_span(g, t.nonterminal))
        elif al.kind != "leaf":
            match(t, al.pattern, path)

    visit(term, ())
    return out


def _pattern_has_range(p: tuple) -> bool:
    if p[0] in (P_INT, P_FLOAT):
        return p[1] < p[2]
    return p[0] == P_OP and any(_pattern_has_range(sp) for sp in p[2])


def has_numbers(g: "Grammar") -> bool:
    """Whether terms of the grammar can differ in a number: some placeholder has a range
    (``int(lo, hi)``/``float(lo, hi)`` with ``lo < hi``) or some nonterminal chooses between
    numbers (``KSIZE ::= 3 | 5``). Fixed number literals (``C1 ::= 1``) do not count."""
    for a_name, alts in g.rules.items():
        if any(_pattern_has_range(al.pattern) for al in alts):
            return True
        span = _number_span(g, a_name)
        if span is not None and span[0] < span[1]:
            return True
    return False


def has_structure(g: "Grammar") -> bool:
    """Whether two terms of the grammar can differ in more than their numbers: some nonterminal
    has a choice between alternatives that are not all numbers (``N ::= int(1, 3) | int(5, 7)``
    and ``KSIZE ::= 3 | 5`` are choices of numbers only; ``OP ::= conv | id`` is structure).

    Decided from the rules alone (a bound on depth that leaves one alternative feasible is not
    seen: the answer is then a conservative "yes")."""
    return any(
        len(alts) > 1 and not all(al.kind in ("int", "float") for al in alts) for alts in g.rules.values()
    )
