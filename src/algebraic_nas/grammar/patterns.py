"""Compiled alternatives: each production of a nonterminal as a small tuple pattern.

Counting, sampling, parsing and validation all walk these patterns instead of the syntax tree
of the `.ebnf` file. Pattern kinds (plain tuples, for speed)::

    (P_NT, name)                            a nonterminal reference
    (P_T, name, leaf_term)                  a nullary terminal inside a production
    (P_OP, name, subpatterns, valid_masks)  a terminal with arguments; ``valid_masks`` (a
                                            PathTable or None) says which sets of zero
                                            arguments keep a path
    (P_INT, lo, hi) | (P_FLOAT, lo, hi)     a numeric placeholder

Also here: the connectivity tables of topologies (:func:`valid_zero_masks`), the zero test
(:func:`is_zero`) and the index of which alternatives can start with which head (:class:`HeadIndex`,
used by the term parser).
"""

from __future__ import annotations

from typing import Optional

from . import topologies
from .connectivity import PathTable
from .meta import Alt, Expr, Loc, Rule
from .term import Term

P_NT, P_T, P_OP, P_INT, P_FLOAT = 0, 1, 2, 3, 4

Head = tuple  # ("name", arity) | ("#int",) | ("#float",)

_VALID_CACHE: dict[tuple, PathTable] = {}


def valid_zero_masks(edges: tuple[tuple[int, int], ...]) -> PathTable:
    """``table[mask] == 1`` iff cutting the edges in ``mask`` (bit i = argument i is zero) keeps an
    input→output path; computed per mask on demand (:class:`~.connectivity.PathTable`)."""
    table = _VALID_CACHE.get(edges)
    if table is None:
        table = _VALID_CACHE[edges] = PathTable(edges)
    return table


def zero_masks_for(symbol: str, arity: int, zero: Optional[str]) -> Optional[PathTable]:
    """The :func:`valid_zero_masks` table of topology ``symbol`` with ``arity`` arguments; ``None``
    when the grammar has no ``%zero`` or the symbol is not a known topology (no constraint)."""
    if zero is None:
        return None
    edges = topologies.topology_edges(symbol, arity)
    return None if edges is None else valid_zero_masks(edges)


def is_zero(t: Term, zero: Optional[str]) -> bool:
    """Whether ``t`` resolves (through transparent nodes) to the designated zero terminal."""
    while not t.symbol and t.children and not t.collapsed and t.value is None:
        t = t.children[0]
    return t.symbol == zero and not t.children and t.value is None and not t.collapsed


def zero_mask(children: tuple, zero: Optional[str], skip: int = -1) -> int:
    """Bit ``q`` set for each of ``children`` (other than index ``skip``) that is ``zero``."""
    mask = 0
    for q, c in enumerate(children):
        if q != skip and is_zero(c, zero):
            mask |= 1 << q
    return mask


class Alternative:
    """One compiled alternative (production) of a nonterminal.

    ``kind``: ``"leaf"`` (a nullary terminal), ``"unit"`` (a single nonterminal: the node is
    transparent), ``"op"``, ``"int"`` or ``"float"``. ``weight`` is normalised (the weights of a
    nonterminal sum to 1).
    """

    __slots__ = ("nt", "index", "expr", "loc", "weight", "kind", "pattern", "leaf", "refs")

    def __init__(self, nt: str, index: int, alt: Alt):
        self.nt = nt
        self.index = index
        self.expr = alt.expr
        self.loc = alt.loc
        self.weight = alt.weight  # normalised later
        self.kind = alt.expr.kind if alt.expr.kind != "t" else "leaf"
        if self.kind == "nt":
            self.kind = "unit"
        self.pattern: tuple = ()
        self.leaf: Optional[Term] = None
        self.refs: list[tuple[str, Loc]] = []

    def __repr__(self) -> str:
        return f"<{self.nt}[{self.index}] ::= {self.expr}>"


def _normalise_weights(a_name: str, rule: Rule, alts: list[Alternative]) -> None:
    """Unweighted alternatives share what the given weights leave (all equal when none is given)."""
    given = [al.weight for al in alts if al.weight is not None]
    n_free = sum(1 for al in alts if al.weight is None)
    if not given:
        for al in alts:
            al.weight = 1.0 / len(alts)
        return
    total_given = sum(given)
    if n_free:
        rest = 1.0 - total_given
        if rest <= 1e-12:
            raise rule.loc.error(
                f"the weights of {a_name} sum to {total_given:g} and leave nothing for its {n_free} unweighted alternative(s)"
            )
        for al in alts:
            if al.weight is None:
                al.weight = rest / n_free
        return
    if total_given <= 0:
        raise rule.loc.error(f"all weights of {a_name} are zero")
    for al in alts:
        al.weight = al.weight / total_given  # type: ignore[operator]


def _compile_expr(e: Expr, al: Alternative, zero: Optional[str]) -> tuple:
    if e.kind == "nt":
        al.refs.append((e.name, e.loc))
        return (P_NT, e.name)
    if e.kind == "t":
        return (P_T, e.name, Term(None, -1, e.name))
    if e.kind == "int":
        return (P_INT, e.lo, e.hi)
    if e.kind == "float":
        return (P_FLOAT, e.lo, e.hi)
    subs = tuple(_compile_expr(a, al, zero) for a in e.args)
    return (P_OP, e.name, subs, zero_masks_for(e.name, len(subs), zero))


def compile_rules(nonterminals: list[str], rules: dict[str, Rule], zero: Optional[str]) -> dict[str, list[Alternative]]:
    """The compiled alternatives of every nonterminal (weights normalised, patterns built)."""
    out: dict[str, list[Alternative]] = {}
    for a_name in nonterminals:
        rule = rules[a_name]
        alts = [Alternative(a_name, i, alt) for i, alt in enumerate(rule.alts)]
        _normalise_weights(a_name, rule, alts)
        for al in alts:
            al.pattern = _compile_expr(al.expr, al, zero)
            if al.kind == "leaf":
                al.leaf = Term(a_name, al.index, al.expr.name)
        out[a_name] = alts
    return out


class HeadIndex:
    """Which alternatives of a nonterminal can derive a node with a given head (cached).

    A head is ``(symbol, arity)`` for a named node, ``("#int",)`` / ``("#float",)`` for a number.
    The term parser asks for the candidates of each node it matches.
    """

    def __init__(self, rules: dict[str, list[Alternative]]):
        self._rules = rules
        self._first: dict[str, frozenset] = {}
        self._cands: dict[tuple, list[Alternative]] = {}

    def first(self, a_name: str) -> frozenset:
        """The heads a term of ``a_name`` can have."""
        f = self._first.get(a_name)
        if f is not None:
            return f
        out: set = set()
        for al in self._rules[a_name]:
            out |= self._alt_heads(al)
        f = frozenset(out)
        self._first[a_name] = f
        return f

    def _alt_heads(self, al: Alternative) -> set:
        if al.kind == "leaf":
            return {(al.expr.name, 0)}
        if al.kind == "unit":
            return set(self.first(al.pattern[1]))
        p = al.pattern
        if p[0] == P_OP:
            return {(p[1], len(p[2]))}
        if p[0] == P_INT:
            return {("#int",)}
        return {("#int",), ("#float",)}

    def candidates(self, a_name: str, head: Head) -> list[Alternative]:
        """The alternatives of ``a_name`` that can derive a node with ``head``, in grammar order."""
        key = (a_name, head)
        c = self._cands.get(key)
        if c is None:
            c = [al for al in self._rules[a_name] if head in self._alt_heads(al)]
            self._cands[key] = c
        return c
