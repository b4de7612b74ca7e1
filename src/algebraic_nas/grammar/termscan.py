"""Term strings → generic operator trees (``name``, ``name(arg, ...)`` or a number), no grammar involved.

Two scanners give the same tree for every well-formed term string:

* :func:`scan_tree` tokenizes with a regular expression and records each node's character offset;
  it says precisely what is wrong with a malformed string (:class:`TermError` with its position);
* :func:`fast_tree` splits the string around ``(``, ``,`` and ``)`` with `str` methods (no Python
  call per token) and records token indices instead of offsets; it returns None for anything it
  does not recognise, and the caller then takes the precise path.

A tree node is a tuple ``(sym, args, pos, value, isint)``: ``sym`` None for a number; ``args`` a
tuple of nodes. :func:`parse_tree` gives the same tree as :class:`Node` objects (attribute access,
for converters and :mod:`.validation`). Both builders are iterative: any nesting depth.
"""

from __future__ import annotations

import re
from itertools import accumulate
from operator import add, sub
from typing import Optional, Sequence

from .errors import TermError

MAX_TERM_CHARS = 2_000_000  # longer term strings are refused at once (a TermError at this position)

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_NUM = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_TOKEN = re.compile(rf"\s*(?:(?P<name>{_NAME})|(?P<num>{_NUM})|(?P<punct>[(),])|(?P<bad>\S))")
# the same tokens, scanned by findall as (leading whitespace, token) pairs: no Python call per token
_SCAN = re.compile(rf"(\s*)({_NAME}|{_NUM}|[(),]|\S)")
_ATOM = re.compile(rf"(?P<name>{_NAME})|(?P<num>{_NUM})")
_PUNCT = frozenset("(),")
_ATOMS: dict[str, Optional[tuple]] = {}  # token -> (sym, value, isint), None when not a name or number
_ATOMS_LIMIT = 100_000  # the cache is cleared past this many distinct tokens (bounded memory)

TreeNode = tuple  # (sym, args, pos, value, isint)


class Node:
    """A node of the generic operator tree of a term string (attribute form of a tree tuple)."""

    __slots__ = ("sym", "args", "pos", "value", "isint")

    def __init__(self, sym: Optional[str], args: tuple, pos: int, value=None, isint: bool = False):
        self.sym = sym
        self.args = args
        self.pos = pos
        self.value = value
        self.isint = isint

    def describe(self) -> str:
        return describe(self.sym, self.args, self.value)


def describe(sym: Optional[str], args: Sequence, value) -> str:
    """How an error message names a node: ``the number 3``, ``Cell(...) with 6 arguments``, ``'relu'``."""
    if sym is None:
        return f"the number {value}"
    if args:
        return f"{sym}(...) with {len(args)} argument{'s' if len(args) != 1 else ''}"
    return repr(sym)


def tokenize(text: str) -> list[tuple[str, str, int]]:
    """``(kind, token, position)`` for each token (kind ``name``, ``num`` or ``punct``); a
    TermError at the first character that is none of them."""
    toks = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind is None:
            break
        if kind == "bad":
            raise TermError(m.start(kind), f"unexpected character {m.group(kind)!r}", text)
        toks.append((kind, m.group(kind), m.start(kind)))
    return toks


def _atom(tok: str) -> Optional[tuple]:
    """``(sym, value, isint)`` of a name or number token (cached); None for anything else."""
    info = _ATOMS.get(tok, False)
    if info is not False:
        return info
    m = _ATOM.fullmatch(tok)
    if m is None:
        info = None
    elif m.lastgroup == "name":
        info = (tok, None, False)
    else:
        try:
            info = (None, int(tok), True)
        except ValueError:
            info = (None, float(tok), False)
    if len(_ATOMS) >= _ATOMS_LIMIT:
        _ATOMS.clear()
    _ATOMS[tok] = info
    return info


def _check_length(text: str) -> None:
    if len(text) > MAX_TERM_CHARS:
        raise TermError(MAX_TERM_CHARS, f"term longer than {MAX_TERM_CHARS} characters (the limit of term strings)", text[: MAX_TERM_CHARS + 40])


def scan_tree(text: str) -> tuple[TreeNode, int]:
    """The tree of ``text`` with character offsets, and its nesting depth (open parentheses at the
    deepest point); TermError with the position of the first problem."""
    _check_length(text)
    pairs = _SCAN.findall(text)
    if pairs:
        spaces, toks = zip(*pairs)
        tok_lens = list(map(len, toks))
        starts: Sequence[int] = list(map(sub, accumulate(map(add, map(len, spaces), tok_lens)), tok_lens))
    else:
        toks, starts = (), []
    try:
        return _build(toks, starts, text)
    except TermError:
        tokenize(text)  # a stray character anywhere is reported first (its position), as always
        raise


def fast_tree(text: str) -> Optional[tuple[TreeNode, int]]:
    """The tree of ``text`` with token indices as positions, and its depth; None when the string is
    not plainly well formed (then :func:`scan_tree` says what is wrong)."""
    if len(text) > MAX_TERM_CHARS:
        return None
    toks = text.replace("(", " ( ").replace(")", " ) ").replace(",", " , ").split()
    try:
        return _build(toks, range(len(toks)), text)
    except TermError:
        return None


def _build(toks: Sequence[str], starts: Sequence[int], text: str) -> tuple[TreeNode, int]:
    n = len(toks)
    if not n:
        raise TermError(len(text), "empty term", text)
    atoms = _ATOMS
    stack: list[tuple[str, int, list]] = []  # the open calls: symbol, position, arguments so far
    depth = 0
    i = 0
    while True:
        if i >= n:
            raise TermError(len(text), "unexpected end of the term (a missing argument or ')'?)", text)
        tok = toks[i]
        if tok in _PUNCT:
            raise TermError(starts[i], f"expected a term, found {tok!r}", text)
        info = atoms.get(tok) or _atom(tok)
        if info is None:
            raise TermError(starts[i], f"unexpected character {tok[0]!r}", text)
        sym = info[0]
        if sym is not None and i + 1 < n and toks[i + 1] == "(":
            stack.append((sym, starts[i], []))
            if len(stack) > depth:
                depth = len(stack)
            i += 2
            continue
        node = (sym, (), starts[i], info[1], info[2])
        i += 1
        while stack:  # attach the finished node; close the calls it completes
            top = stack[-1]
            top[2].append(node)
            if i >= n:
                raise TermError(len(text), f"unexpected end of the term: ')' of {top[0]}( at position {top[1]} is missing", text)
            v2 = toks[i]
            if v2 == ",":
                i += 1
                break
            if v2 != ")":
                raise TermError(starts[i], f"expected ',' or ')' in the arguments of {top[0]}, found {v2!r}", text)
            stack.pop()
            node = (top[0], tuple(top[2]), top[1], None, False)
            i += 1
        else:
            if i < n:
                raise TermError(starts[i], f"unexpected {toks[i]!r} after the end of the term", text)
            return node, depth


def to_nodes(root: TreeNode) -> Node:
    """The tree as :class:`Node` objects (iterative: any depth)."""
    done: dict[int, Node] = {}
    stack = [root]
    while stack:
        t = stack[-1]
        if id(t) in done:
            stack.pop()
            continue
        pending = [a for a in t[1] if id(a) not in done]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        done[id(t)] = Node(t[0], tuple([done[id(a)] for a in t[1]]), t[2], t[3], t[4])
    return done[id(root)]


def parse_tree(text: str) -> Node:
    """The generic operator tree of ``text`` with character positions (no grammar involved)."""
    return to_nodes(scan_tree(text)[0])
