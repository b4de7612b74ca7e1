"""Term strings → `Term`s, and validation of terms against a grammar.

Parsing is two steps: a hand-written tokenizer builds a generic operator tree (``name``,
``name(arg, ...)`` or a number, each with its character position), then a memoised matcher
derives it from the requested nonterminal, trying the alternatives in their order in the grammar
(the first that matches wins, so ``parse`` is deterministic even for an ambiguous grammar). A
failed match reports the failure that got farthest into the text. :func:`validate` then checks
the constraints (connectivity of ``zero``, depth bound, shared nonterminals, Python constraints)
with positions.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Optional

from .errors import TermError
from .term import Term

if TYPE_CHECKING:  # pragma: no cover
    from .grammar import Grammar

from .patterns import P_FLOAT, P_INT, P_NT, P_OP, P_T, is_zero, valid_zero_masks
from . import topologies

_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)|(?P<punct>[(),])|(?P<bad>\S))"
)


class Node:
    """A node of the generic operator tree of a term string."""

    __slots__ = ("sym", "args", "pos", "value", "isint")

    def __init__(self, sym: Optional[str], args: tuple, pos: int, value=None, isint: bool = False):
        self.sym = sym
        self.args = args
        self.pos = pos
        self.value = value
        self.isint = isint

    def describe(self) -> str:
        if self.sym is None:
            return f"the number {self.value}"
        if self.args:
            return f"{self.sym}(...) with {len(self.args)} argument{'s' if len(self.args) != 1 else ''}"
        return repr(self.sym)


def tokenize(text: str) -> list[tuple[str, str, int]]:
    toks = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind is None:
            break
        if kind == "bad":
            raise TermError(m.start(kind), f"unexpected character {m.group(kind)!r}", text)
        toks.append((kind, m.group(kind), m.start(kind)))
    return toks


def parse_tree(text: str) -> Node:
    """The generic operator tree of ``text`` (no grammar involved)."""
    toks = tokenize(text)
    n = len(toks)
    if not n:
        raise TermError(len(text), "empty term", text)

    def expr(i: int) -> tuple[Node, int]:
        if i >= n:
            raise TermError(len(text), "unexpected end of the term (a missing argument or ')'?)", text)
        kind, val, pos = toks[i]
        if kind == "num":
            try:
                v = int(val)
                return Node(None, (), pos, v, True), i + 1
            except ValueError:
                return Node(None, (), pos, float(val), False), i + 1
        if kind != "name":
            raise TermError(pos, f"expected a term, found {val!r}", text)
        if i + 1 < n and toks[i + 1][1] == "(":
            args = []
            i += 2
            while True:
                node, i = expr(i)
                args.append(node)
                if i >= n:
                    raise TermError(len(text), f"unexpected end of the term: ')' of {val}( at position {pos} is missing", text)
                k2, v2, p2 = toks[i]
                if v2 == ",":
                    i += 1
                    continue
                if v2 == ")":
                    return Node(val, tuple(args), pos), i + 1
                raise TermError(p2, f"expected ',' or ')' in the arguments of {val}, found {v2!r}", text)
        return Node(val, (), pos), i + 1

    root, i = expr(0)
    if i < n:
        raise TermError(toks[i][2], f"unexpected {toks[i][1]!r} after the end of the term", text)
    return root


# ---------------------------------------------------------------------------- matching


def _first(g: "Grammar", a_name: str) -> frozenset:
    cache = g._cands.setdefault("__first__", {})
    f = cache.get(a_name)
    if f is not None:
        return f
    out = set()
    for al in g.rules[a_name]:
        out |= _alt_heads(g, al)
    f = frozenset(out)
    cache[a_name] = f
    return f


def _alt_heads(g: "Grammar", al) -> set:
    if al.kind == "leaf":
        return {(al.expr.name, 0)}
    if al.kind == "unit":
        return set(_first(g, al.pattern[1]))
    p = al.pattern
    if p[0] == P_OP:
        return {(p[1], len(p[2]))}
    if p[0] == P_INT:
        return {("#int",)}
    return {("#int",), ("#float",)}


def _head(node: Node) -> tuple:
    if node.sym is None:
        return ("#int",) if node.isint else ("#float",)
    return (node.sym, len(node.args))


def _candidates(g: "Grammar", a_name: str, head: tuple) -> list:
    key = (a_name, head)
    c = g._cands.get(key)
    if c is None:
        c = [al for al in g.rules[a_name] if head in _alt_heads(g, al)]
        g._cands[key] = c
    return c


def _expected(g: "Grammar", a_name: str) -> str:
    items = []
    for h in sorted(_first(g, a_name), key=lambda h: (len(h), h)):
        if h == ("#int",):
            items.append("an integer")
        elif h == ("#float",):
            items.append("a number")
        elif h[1] == 0:
            items.append(h[0])
        else:
            items.append(f"{h[0]}({', '.join(['_'] * h[1])})")
    if len(items) > 12:
        items = items[:12] + [f"... ({len(items) - 12} more)"]
    return ", ".join(items)


class _Matcher:
    def __init__(self, g: "Grammar", text: str):
        self.g = g
        self.text = text
        self.memo: dict = {}
        self.assign: dict = {}
        self.err_pos = -1
        self.err_msg = ""

    def fail(self, pos: int, msg: str) -> None:
        if pos > self.err_pos:
            self.err_pos, self.err_msg = pos, msg

    def nt(self, a_name: str, node: Node) -> Optional[Term]:
        key = (a_name, id(node))
        memo = self.memo
        if key in memo:
            return memo[key]
        g = self.g
        cands = _candidates(g, a_name, _head(node))
        result = None
        if not cands:
            self.fail(node.pos, f"{node.describe()} is not a term of {a_name} (expected {_expected(g, a_name)})")
        for al in cands:
            kind = al.kind
            if kind == "leaf":
                result = al.leaf
            elif kind == "unit":
                target = al.pattern[1]
                child = self.nt(target, node)
                if child is not None and target in g.shared:
                    # shared nonterminals: an occurrence is the first alternative whose variable is
                    # still free or already holds this very subterm (in order of appearance)
                    prev = self.assign.get(target)
                    if prev is None:
                        self.assign[target] = child
                    elif prev != child:
                        if any(al2.kind == "unit" and al2.pattern[1] != target and al2.pattern[1] in g.shared
                               for al2 in cands):
                            self.fail(node.pos, f"{node.describe()} matches none of the shared alternatives of {a_name}: "
                                      "each is already another subterm")
                            continue
                if child is not None:
                    result = Term(a_name, al.index, "", (child,))
            else:
                result = self.pat(al.pattern, node, a_name, al.index)
            if result is not None:
                break
        memo[key] = result
        return result

    def pat(self, p: tuple, node: Node, owner: Optional[str], idx: int) -> Optional[Term]:
        kind = p[0]
        if kind == P_NT:
            return self.nt(p[1], node)
        if kind == P_T:
            if node.sym == p[1] and not node.args:
                return p[2]
            self.fail(node.pos, f"expected {p[1]}, found {node.describe()}")
            return None
        if kind == P_OP:
            subs = p[2]
            if node.sym != p[1] or len(node.args) != len(subs):
                self.fail(node.pos, f"expected {p[1]}(...) with {len(subs)} arguments, found {node.describe()}")
                return None
            children = []
            for sp, ch in zip(subs, node.args):
                c = self.pat(sp, ch, None, -1)
                if c is None:
                    return None
                children.append(c)
            return Term(owner, idx, p[1], tuple(children))
        # numbers
        if node.sym is not None:
            self.fail(node.pos, f"expected a number, found {node.describe()}")
            return None
        lo, hi = p[1], p[2]
        if kind == P_INT:
            if not node.isint:
                self.fail(node.pos, f"expected an integer in int({lo}, {hi}), found {node.value!r}")
                return None
            v = node.value
            sym = "int"
        else:
            v = float(node.value)
            sym = "float"
        if not lo <= v <= hi:
            self.fail(node.pos, f"{node.value!r} is outside the range {sym}({lo}, {hi})")
            return None
        return Term(owner, idx, sym, (), v)


def parse_term(g: "Grammar", text: str, start: str) -> Term:
    if not isinstance(text, str):
        raise TypeError(f"parse expects a string, got {type(text).__name__}")
    root = parse_tree(text)
    m = _Matcher(g, text)
    t = m.nt(start, root)
    if t is None:
        raise TermError(max(m.err_pos, 0), m.err_msg or f"not a term of {start}", text)
    if g.zero is not None or g.max_depth is not None or g.shared or g._constraint_fns:
        validate(g, t, start, root, text)
    if g.shared:
        t = canonical_shared(g, t)
    return t


# ---------------------------------------------------------------------------- validation


def _valid_for(g: "Grammar", symbol: str, arity: int):
    key = (symbol, arity)
    cache = g._valid_by_symbol
    if key in cache:
        return cache[key]
    v = None
    if g.zero is not None:
        edges = topologies.topology_edges(symbol, arity)
        if edges is not None:
            v = valid_zero_masks(edges)
    cache[key] = v
    return v


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

    def length(t: Term) -> int:
        k = id(t)
        n = lens.get(k)
        if n is None:
            if t._str is not None:
                n = len(t._str)
            elif t.collapsed:
                n = len(t.nonterminal or t.symbol)
            elif t.value is not None:
                n = len(repr(t.value) if isinstance(t.value, float) else str(t.value))
            elif not t.symbol:
                n = length(t.children[0])
            elif not t.children:
                n = len(t.symbol)
            else:
                n = len(t.symbol) + 2 + sum(length(c) for c in t.children) + 2 * (len(t.children) - 1)
            lens[k] = n
        return n

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
            mask = 0
            for i, c in enumerate(t.children):
                if is_zero(c, zero):
                    mask |= 1 << i
            if not valid[mask]:
                zs = [i + 1 for i in range(len(subs)) if mask >> i & 1]
                err(pos, f"{zero} as argument{'s' if len(zs) > 1 else ''} {', '.join(map(str, zs))} of {p[1]} cuts every input-to-output path")
        for (cnode, cpos), c, sp in zip(child_positions(t, node, pos), t.children, subs):
            check_pat(c, sp, cnode, cpos, clevel, None, -1)

    if structural and start not in g.rules:
        raise KeyError(start)
    pos0 = root.pos if root is not None else 0
    check_nt(term, start, root, pos0, 0)
    for name, fn in zip(g.constraints, g._constraint_fns):
        if not fn(term):
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
            new = tuple(rec(c) for c in t.children)
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
