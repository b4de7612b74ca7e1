"""Term strings → `Term`s (validation is :mod:`.validation`).

Parsing is two steps: a hand-written tokenizer builds a generic operator tree (``name``,
``name(arg, ...)`` or a number, each with its character position), then a memoised matcher
derives it from the requested nonterminal, trying the alternatives in their order in the grammar
(the first that matches wins, so ``parse`` is deterministic even for an ambiguous grammar). A
failed match reports the failure that got farthest into the text. :func:`~.validation.validate`
then checks the constraints (connectivity of ``zero``, depth bound, shared nonterminals, Python
constraints) with positions. The grammar is used only through its public interface: ``rules``,
``heads`` (which alternatives can derive a head), ``shared``, ``zero``, ``max_depth``,
``constraints`` and ``violated_constraint``.
"""

from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Optional

from .errors import TermError
from .patterns import P_INT, P_NT, P_OP, P_T
from .term import Term
from .validation import canonical_shared, validate

if TYPE_CHECKING:  # pragma: no cover
    from .grammar import Grammar

MAX_TERM_CHARS = 2_000_000  # longer term strings are refused at once (a TermError at this position)
FRAMES_PER_LEVEL = 12  # Python frames the matcher and validation use per nesting level, at most
MAX_FRAMES = 400_000  # the most Python frames a parse may use (about 100 MB)

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
    """The generic operator tree of ``text`` (no grammar involved); iterative, any depth."""
    return _parse_tree(text)[0]


def _parse_tree(text: str) -> tuple[Node, int]:
    """The tree and its nesting depth (open parentheses at the deepest point)."""
    if len(text) > MAX_TERM_CHARS:
        raise TermError(MAX_TERM_CHARS, f"term longer than {MAX_TERM_CHARS} characters (the limit of term strings)", text[: MAX_TERM_CHARS + 40])
    toks = tokenize(text)
    n = len(toks)
    if not n:
        raise TermError(len(text), "empty term", text)
    stack: list[tuple[str, int, list]] = []  # the open calls: symbol, position, arguments so far
    depth = 0
    i = 0
    while True:
        if i >= n:
            raise TermError(len(text), "unexpected end of the term (a missing argument or ')'?)", text)
        kind, val, pos = toks[i]
        if kind == "num":
            try:
                node = Node(None, (), pos, int(val), True)
            except ValueError:
                node = Node(None, (), pos, float(val), False)
            i += 1
        elif kind != "name":
            raise TermError(pos, f"expected a term, found {val!r}", text)
        elif i + 1 < n and toks[i + 1][1] == "(":
            stack.append((val, pos, []))
            depth = max(depth, len(stack))
            i += 2
            continue
        else:
            node = Node(val, (), pos)
            i += 1
        while stack:  # attach the finished node; close the calls it completes
            sym, spos, args = stack[-1]
            args.append(node)
            if i >= n:
                raise TermError(len(text), f"unexpected end of the term: ')' of {sym}( at position {spos} is missing", text)
            _, v2, p2 = toks[i]
            if v2 == ",":
                i += 1
                break
            if v2 != ")":
                raise TermError(p2, f"expected ',' or ')' in the arguments of {sym}, found {v2!r}", text)
            stack.pop()
            node = Node(sym, tuple(args), spos)
            i += 1
        else:
            if i < n:
                raise TermError(toks[i][2], f"unexpected {toks[i][1]!r} after the end of the term", text)
            return node, depth


def term_depth(t: Term) -> int:
    """The nesting depth of a term (its longest root-to-leaf path), computed without recursion."""
    best = 0
    stack = [(t, 1)]
    while stack:
        x, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in x.children)
    return best


@contextmanager
def deep_recursion(levels: int, unit_depth: int, text: Optional[str]) -> Iterator[None]:
    """Let the recursive matcher, validation and samplers follow a term ``levels`` deep whose
    nodes may each pass through ``unit_depth`` unit productions: raise Python's recursion limit for
    the call (pure Python frames, which CPython >= 3.11 keeps off the C stack; capped at
    :data:`MAX_FRAMES`). A RecursionError left over becomes a TermError."""
    old = sys.getrecursionlimit()
    need = min(MAX_FRAMES, FRAMES_PER_LEVEL * (levels + 1) * (unit_depth + 1) + 1000)
    if need > old:
        sys.setrecursionlimit(need)
    try:
        yield
    except RecursionError:
        raise TermError(0, f"term nested too deeply ({levels} levels)", text) from None
    finally:
        if need > old:
            sys.setrecursionlimit(old)


# ---------------------------------------------------------------------------- matching


def _head(node: Node) -> tuple:
    if node.sym is None:
        return ("#int",) if node.isint else ("#float",)
    return (node.sym, len(node.args))


def _expected(g: "Grammar", a_name: str) -> str:
    items = []
    for h in sorted(g.heads.first(a_name), key=lambda h: (len(h), h)):
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
        self.heads = g.heads
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
        cands = self.heads.candidates(a_name, _head(node))
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
    root, depth = _parse_tree(text)
    with deep_recursion(depth, g.unit_depth, text):
        m = _Matcher(g, text)
        t = m.nt(start, root)
        if t is None:
            raise TermError(max(m.err_pos, 0), m.err_msg or f"not a term of {start}", text)
        if g.zero is not None or g.max_depth is not None or g.shared or g.constraints:
            validate(g, t, start, root, text)
        if g.shared:
            t = canonical_shared(g, t)
    return t
