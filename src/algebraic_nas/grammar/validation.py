"""Validation of terms against a grammar, and the canonical sharing of shared subterms.

:func:`validate` checks a term built in code (its derivation: each node's nonterminal,
production and symbol, the numeric ranges) or one just parsed (then the derivation is trusted and
positions refer to the parsed text), and in both cases the constraints: connectivity of ``zero``,
the depth bound, shared nonterminals (every occurrence the same subterm) and the Python
constraints. Errors are :class:`TermError` with a character position.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .bottomup import bottom_up
from .errors import TermError
from .patterns import P_FLOAT, P_INT, P_NT, P_T, zero_mask
from .term import Term

if TYPE_CHECKING:  # pragma: no cover
    from .grammar import Grammar
    from .termparse import Node


def validate(g: "Grammar", term: Term, start: str, root: Optional[Node], text: Optional[str]) -> None:
    """Raise TermError unless ``term`` is valid. With ``root`` (the operator tree the term was parsed
    from) positions refer to ``text`` and the derivation itself is trusted; without it the
    derivation is checked too and positions are offsets in ``str(term)``."""
    structural = root is None
    if structural:
        if not isinstance(term, Term):
            raise TypeError(f"expected a Term, got {type(term).__name__}")
        text = str(term)
    zero = g.zero
    max_depth = g.max_depth
    shared = g.shared
    seen_shared: dict = {}
    lens: dict = {}

    def own_length(x: Term) -> int:
        if x._str is not None:
            return len(x._str)
        if x.collapsed:
            return len(x.nonterminal or x.symbol)
        if x.value is not None:
            return len(repr(x.value) if isinstance(x.value, float) else str(x.value))
        if not x.symbol:
            return lens[x.children[0]]
        return len(x.symbol) + 2 + sum([lens[c] for c in x.children]) + 2 * (len(x.children) - 1)

    def length(t: Term) -> int:
        """Characters of ``str(t)``, computed bottom-up without recursion (any depth)."""
        return bottom_up(t, lambda x: x.children if x._str is None and not x.collapsed else (), own_length, lens)

    def err(pos: int, msg: str):
        raise TermError(pos, msg, text)

    def child_positions(t: Term, node: Optional[Node], pos: int):
        if node is not None:
            return [(c, c.pos) for c in node.args]
        out = []
        p = pos + len(t.symbol) + 1
        for c in t.children:
            out.append((None, p))
            p += length(c) + 2
        return out

    def check_nt(t: Term, a_name: str, node, pos: int, level: int) -> None:
        if structural:
            if not isinstance(t, Term):
                err(pos, f"not a Term: {t!r}")
            if t.collapsed:
                err(pos, f"collapsed node {t.label!r}: a folded term is not a term of the grammar")
            if t.nonterminal != a_name:
                err(pos, f"expected a term of {a_name}, found a node of {t.nonterminal or 'no nonterminal'} ({t.label!r})")
            alts = g.rules[a_name]
            if not 0 <= t.production < len(alts):
                err(pos, f"{a_name} has no production {t.production}")
        if a_name in shared:
            first = seen_shared.get(a_name)
            if first is not None:
                if first[0] is t or first[0] == t:
                    return
                err(pos, f"shared nonterminal {a_name}: this occurrence differs from the first one at position {first[1]}")
            seen_shared[a_name] = (t, pos)
            level = 0
        if max_depth is not None and level >= max_depth:
            err(pos, f"too deep: a {a_name} node at level {level} exceeds %max_depth {max_depth}")
        al = g.rules[a_name][t.production]
        kind = al.kind
        if kind == "leaf":
            if structural and (t.symbol != al.expr.name or t.children or t.value is not None):
                err(pos, f"production {t.production} of {a_name} is {al.expr}, the node is {t.label!r}")
            return
        if kind == "unit":
            if structural and (t.symbol or len(t.children) != 1 or t.value is not None):
                err(pos, f"production {t.production} of {a_name} is the unit production {al.expr}; the node is not transparent")
            check_nt(t.children[0], al.pattern[1], node, pos, level)
            return
        check_pat(t, al.pattern, node, pos, level + 1, a_name, t.production)

    def check_pat(t: Term, p: tuple, node, pos: int, clevel: int, owner, idx) -> None:
        kind = p[0]
        if kind == P_NT:
            check_nt(t, p[1], node, pos, clevel)
            return
        if structural:
            if not isinstance(t, Term):
                err(pos, f"not a Term: {t!r}")
            if t.collapsed:
                err(pos, f"collapsed node {t.label!r}: a folded term is not a term of the grammar")
            if owner is None and (t.nonterminal is not None or t.production != -1):
                err(pos, f"a terminal inside a production must have nonterminal None and production -1 ({t.label!r})")
        if kind == P_T:
            if structural and (t.symbol != p[1] or t.children or t.value is not None):
                err(pos, f"expected {p[1]}, found {t.label!r}")
            return
        if kind in (P_INT, P_FLOAT):
            if structural:
                v = t.value
                sym = "int" if kind == P_INT else "float"
                if v is None or t.children or isinstance(v, bool):
                    err(pos, f"expected a number of {sym}({p[1]}, {p[2]})")
                if kind == P_INT and not isinstance(v, int):
                    err(pos, f"expected an integer, found {v!r}")
                if kind == P_FLOAT and not isinstance(v, float):
                    err(pos, f"expected a float, found {v!r}")
                if not p[1] <= v <= p[2]:
                    err(pos, f"{v!r} is outside the range {sym}({p[1]}, {p[2]})")
            return
        subs = p[2]
        if structural and (t.symbol != p[1] or len(t.children) != len(subs) or t.value is not None):
            err(pos, f"expected {p[1]}(...) with {len(subs)} arguments, found {t.label!r} with {len(t.children)}")
        valid = p[3]
        if valid is not None:
            mask = zero_mask(t.children, zero)
            if not valid[mask]:
                zs = [i + 1 for i in range(len(subs)) if mask >> i & 1]
                err(pos, f"{zero} as argument{'s' if len(zs) > 1 else ''} {', '.join(map(str, zs))} of {p[1]} cuts every input-to-output path")
        for (cnode, cpos), c, sp in zip(child_positions(t, node, pos), t.children, subs):
            check_pat(c, sp, cnode, cpos, clevel, None, -1)

    if structural and start not in g.rules:
        raise KeyError(start)
    pos0 = root.pos if root is not None else 0
    check_nt(term, start, root, pos0, 0)
    if g.constraints:
        name = g.violated_constraint(term)
        if name is not None:
            err(pos0, f"the term violates the Python constraint {name!r}")


def canonical_shared(g: "Grammar", term: Term) -> Term:
    """The same term with all occurrences of each shared nonterminal the identical object."""
    canon: dict = {}
    memo: dict = {}

    def rec(t: Term) -> Term:
        k = id(t)
        r = memo.get(k)
        if r is not None:
            return r
        if t.children:
            new = tuple([rec(c) for c in t.children])  # no generator: deep terms recurse in Python frames only
            if any(a is not b for a, b in zip(new, t.children)):
                t2 = Term(t.nonterminal, t.production, t.symbol, new, t.value, t.collapsed)
            else:
                t2 = t
        else:
            t2 = t
        x = t.nonterminal
        if x is not None and x in g.shared:
            first = canon.get(x)
            if first is None:
                canon[x] = t2
            elif first == t2:
                t2 = first
        memo[k] = t2
        return t2

    return rec(term)
