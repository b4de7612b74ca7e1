"""Term strings → `Term`s (validation is :mod:`.validation`).

Parsing is two steps: :mod:`.termscan` builds a generic operator tree (``name``,
``name(arg, ...)`` or a number, each with its position), then a memoised matcher derives it from
the requested nonterminal, trying the alternatives in their order in the grammar (the first that
matches wins, so ``parse`` is deterministic even for an ambiguous grammar). A failed match reports
the failure that got farthest into the text. :func:`~.validation.validate` then checks the
constraints (connectivity of ``zero``, depth bound, shared nonterminals, Python constraints) with
positions. The grammar is used only through its public interface: ``rules``, ``heads`` (which
alternatives can derive a head), ``shared``, ``zero``, ``max_depth``, ``constraints`` and
``violated_constraint``.

The fast path (a well-formed term string, the usual case): the tree from
:func:`~.termscan.fast_tree` (token indices as positions), the matcher checking the ``%zero``
connectivity as it builds each node (so that a grammar with no other constraint needs no
validation pass) and writing no error messages. Anything that goes wrong there is redone on the
precise path (character positions, messages, full validation), which raises the error.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Optional

from .errors import TermError
from .patterns import P_INT, P_NT, P_OP, P_T, is_zero
from .term import Term, new_term
from .termscan import MAX_TERM_CHARS, Node, TreeNode, describe, fast_tree, parse_tree, scan_tree, to_nodes, tokenize
from .validation import canonical_shared, validate

if TYPE_CHECKING:  # pragma: no cover
    from .grammar import Grammar

__all__ = ["MAX_TERM_CHARS", "Node", "parse_tree", "tokenize", "parse_term", "term_depth", "deep_recursion"]

FRAMES_PER_LEVEL = 12  # Python frames the matcher and validation use per nesting level, at most
MAX_FRAMES = 400_000  # the most Python frames a parse may use (about 100 MB)
_HEADS = {True: ("#int",), False: ("#float",)}
_NEVER = float("inf")  # err_pos of the fast path: no failure is ever recorded (no message is built)


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
    """Derives tree nodes ``(sym, args, pos, value, isint)`` from nonterminals; ``fast``: record
    no failure messages, and note (``zero_cut``) a node whose zero arguments cut every path."""

    def __init__(self, g: "Grammar", fast: bool):
        self.g = g
        self.heads = g.heads
        self.shared = g.shared
        self.zero = g.zero
        self.memo: dict = {}
        self.cands: dict = {}
        self.assign: dict = {}
        self.err_pos = _NEVER if fast else -1
        self.err_msg = ""
        self.fast = fast
        self.zero_cut = False

    def fail(self, pos: int, msg: str) -> None:
        """Record a failure (call sites test ``pos > self.err_pos`` first: no message otherwise)."""
        self.err_pos, self.err_msg = pos, msg

    def candidates(self, key: tuple, a_name: str, node: TreeNode) -> tuple[list, Optional[Term]]:
        """The alternatives that can derive ``node``'s head (``key``: the nonterminal and the head),
        and the term when the first of them is a leaf (it matches: the node is that leaf)."""
        sym = node[0]
        head = (sym, len(node[1])) if sym is not None else _HEADS[node[4]]
        alts = self.heads.candidates(a_name, head)
        c = self.cands[key] = (alts, alts[0].leaf if alts and alts[0].kind == "leaf" else None)
        return c

    def nt(self, a_name: str, node: TreeNode) -> Optional[Term]:
        sym = node[0]
        key = (a_name, sym, len(node[1])) if sym is not None else (a_name, None, node[4])
        cands, leaf = self.cands.get(key) or self.candidates(key, a_name, node)
        if leaf is not None:  # no memo needed: no side effect, always this answer
            return leaf
        key = (a_name, id(node))
        memo = self.memo
        result = memo.get(key, memo)
        if result is not memo:
            return result
        result = None
        if not cands and node[2] > self.err_pos:
            self.fail(node[2], f"{describe(node[0], node[1], node[3])} is not a term of {a_name} (expected {_expected(self.g, a_name)})")
        for al in cands:
            kind = al.kind
            if kind == "leaf":
                result = al.leaf
            elif kind == "unit":
                target = al.pattern[1]
                child = self.nt(target, node)
                if child is not None and target in self.shared:
                    # shared nonterminals: an occurrence is the first alternative whose variable is
                    # still free or already holds this very subterm (in order of appearance)
                    prev = self.assign.get(target)
                    if prev is None:
                        self.assign[target] = child
                    elif prev != child:
                        if any(al2.kind == "unit" and al2.pattern[1] != target and al2.pattern[1] in self.shared
                               for al2 in cands):
                            if node[2] > self.err_pos:
                                self.fail(node[2], f"{describe(node[0], node[1], node[3])} matches none of the shared "
                                          f"alternatives of {a_name}: each is already another subterm")
                            continue
                if child is not None:
                    result = new_term(a_name, al.index, "", (child,))
            else:
                result = self.pat(al.pattern, node, a_name, al.index)
            if result is not None:
                break
        memo[key] = result
        return result

    def pat(self, p: tuple, node: TreeNode, owner: Optional[str], idx: int) -> Optional[Term]:
        kind = p[0]
        if kind == P_NT:
            return self.nt(p[1], node)
        sym, args, pos = node[0], node[1], node[2]
        if kind == P_T:
            if sym == p[1] and not args:
                return p[2]
            if pos > self.err_pos:
                self.fail(pos, f"expected {p[1]}, found {describe(sym, args, node[3])}")
            return None
        if kind == P_OP:
            subs = p[2]
            if sym != p[1] or len(args) != len(subs):
                if pos > self.err_pos:
                    self.fail(pos, f"expected {p[1]}(...) with {len(subs)} arguments, found {describe(sym, args, node[3])}")
                return None
            children = []
            cands = self.cands
            for sp, ch in zip(subs, args):
                if sp[0] == P_NT:
                    if not ch[1]:  # a leaf: its answer is usually in the candidates cache (nt, inlined)
                        hit = cands.get((sp[1], ch[0], 0) if ch[0] is not None else (sp[1], None, ch[4]))
                        c = hit[1] if hit is not None and hit[1] is not None else self.nt(sp[1], ch)
                    else:
                        c = self.nt(sp[1], ch)
                else:
                    c = self.pat(sp, ch, None, -1)
                if c is None:
                    return None
                children.append(c)
            valid = p[3]
            if valid is not None and self.fast and not self.zero_cut:
                self.zero_cut = not valid[_zero_bits(children, self.zero)]
            return new_term(owner, idx, p[1], tuple(children))
        # numbers
        value = node[3]
        if sym is not None:
            if pos > self.err_pos:
                self.fail(pos, f"expected a number, found {describe(sym, args, value)}")
            return None
        lo, hi = p[1], p[2]
        if kind == P_INT:
            if not node[4]:
                if pos > self.err_pos:
                    self.fail(pos, f"expected an integer in int({lo}, {hi}), found {value!r}")
                return None
            v = value
            num = "int"
        else:
            v = float(value)
            num = "float"
        if not lo <= v <= hi:
            if pos > self.err_pos:
                self.fail(pos, f"{value!r} is outside the range {num}({lo}, {hi})")
            return None
        return new_term(owner, idx, num, (), v)


def _zero_bits(children: list, zero: Optional[str]) -> int:
    """:func:`~.patterns.zero_mask` with its zero test inlined for the usual child with a symbol
    (transparent children, symbol "", take the full test)."""
    mask = 0
    bit = 1
    for c in children:
        sym = c.symbol
        if sym == zero:
            if not c.children and c.value is None and not c.collapsed:
                mask |= bit
        elif not sym and is_zero(c, zero):
            mask |= bit
        bit <<= 1
    return mask


def _fast_parse(g: "Grammar", text: str, start: str) -> Optional[Term]:
    """The term on the fast path, or None: then the precise path decides (and raises)."""
    tree = fast_tree(text)
    if tree is None:
        return None
    root, depth = tree
    with deep_recursion(depth, g.unit_depth, text):
        m = _Matcher(g, fast=True)
        t = m.nt(start, root)
        if t is None or m.zero_cut:
            return None
        if g.max_depth is not None or g.shared or g.constraints:
            try:
                validate(g, t, start, to_nodes(root), text)
            except TermError:
                return None
        if g.shared:
            t = canonical_shared(g, t)
    return t


def parse_term(g: "Grammar", text: str, start: str, fast: bool = True) -> Term:
    """The term of nonterminal ``start`` written as ``text``; TermError (position, reason) otherwise.
    ``fast=False`` takes the precise path even for a well-formed string (same result: the
    benchmark's baseline and the tests' reference)."""
    if not isinstance(text, str):
        raise TypeError(f"parse expects a string, got {type(text).__name__}")
    t = _fast_parse(g, text, start) if fast else None
    if t is not None:
        return t
    root, depth = scan_tree(text)
    with deep_recursion(depth, g.unit_depth, text):
        m = _Matcher(g, fast=False)
        t = m.nt(start, root)
        if t is None:
            raise TermError(max(m.err_pos, 0), m.err_msg or f"not a term of {start}", text)
        if g.zero is not None or g.max_depth is not None or g.shared or g.constraints:
            validate(g, t, start, to_nodes(root), text)
        if g.shared:
            t = canonical_shared(g, t)
    return t


def read_term_text(text: str) -> str:
    """A TERM argument as the CLI takes it: the term itself, ``@FILE`` (the term read from FILE)
    or ``-`` (standard input). A missing or unreadable file is a ``FileNotFoundError`` /
    ``OSError`` naming the file and what ``@`` means."""
    if text == "-":
        return sys.stdin.read().strip()
    if not text.startswith("@"):
        return text
    path = text[1:]
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    except FileNotFoundError:
        raise FileNotFoundError(f"term file {path!r} not found ('@FILE' reads the term from FILE)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OSError(f"cannot read the term file {path!r}: {exc}") from None
