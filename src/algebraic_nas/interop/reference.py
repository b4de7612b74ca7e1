"""Terms of the authors' reference implementation of the hierarchical NB201 space → ``hnb201`` terms.

The reference code (built on NePS's context-free grammars) writes its architectures in two forms:

* **term strings** as printed in the paper's appendix, e.g.
  ``Cell(id, zero, Linear1(Linear3(hardswish, conv1x1, layer)), ...)``: the conv block sits in a
  one-edge ``Linear1(...)`` wrapper (how the reference gives it probability 0.4 while writing the alternative twice);
  ``Linear1(x)`` is ``x``, so the wrapper is dropped;
* **parse-tree strings** (NePS's "string tree"), one parenthesised group per nonterminal: the
  nonterminal, then the production's terminal symbols and sub-groups in order, e.g.
  ``(CELL Cell (OPS id) (OPS zero) (OPS Linear1 (CONVBLOCK Linear3 (ACT relu) (CONV conv3x3o) (NORM batch))) ...)``;
  the nonterminal names (``D2``, ``DOWN``, ``CELL``, ``OPS``, ...) are dropped, the first terminal
  of a group is its operation and the rest its arguments.

Names the reference spells differently: ``conv3x3o``, ``conv1x1o``, ``dconv3x3o`` (the bare
convolutions of a conv block) are ``conv3x3``, ``conv1x1``, ``dconv3x3``; ``resBlock`` is
``down``; a bare ``conv3x3`` / ``conv1x1`` as an argument of ``Cell`` (the reference's fixed-cell
grammar, NB201's operations) is NB201's ReLU-Conv-BN, ``Linear3(relu, convKxK, batch)``. Two
artefacts of the paper's printed terms (PDF text) are repaired: ``avg pool`` for ``avg_pool`` and
a period for a comma between arguments. The result is checked against ``hnb201`` (a bare
``Cell(...)`` against its ``CL``); the reference's ``SharedCell`` placeholder (fixed macro
grammar) has no cell to convert and is refused.
"""

from __future__ import annotations

import re
from typing import Optional

from algebraic_nas.grammar.termparse import Node, parse_tree

from . import ConversionError, register_converter

#: The reference's primitive names that differ from hnb201's.
RENAMES: dict[str, str] = {"conv3x3o": "conv3x3", "conv1x1o": "conv1x1", "dconv3x3o": "dconv3x3", "resBlock": "down"}
#: The reference's nonterminals that hnb201 names differently (the others are the same).
NONTERMINALS: dict[str, str] = {"DOWN": "D", "CELL": "CL", "OPS": "OP", "CONVBLOCK": "BLOCK"}
#: Bare convolutions as ``Cell`` arguments: NB201's ReLU-Conv-BN.
CELL_CONVS: dict[str, str] = {"conv3x3": "Linear3(relu, conv3x3, batch)", "conv1x1": "Linear3(relu, conv1x1, batch)"}
TARGET = "hnb201"

# (symbol, arguments, position in the input)
Tree = tuple[str, tuple["Tree", ...], int]

__all__ = ["NONTERMINALS", "RENAMES", "CELL_CONVS", "reference_to_term", "parse_string_tree"]

_SEXPR_TOKEN = re.compile(r"\s*(?:(\()|(\))|([^\s()]+))")


def parse_string_tree(text: str) -> tuple[str, Tree]:
    """A NePS parse-tree string → the root's nonterminal and a tree of (terminal symbol,
    arguments, position), nonterminal names dropped; iterative, so any depth parses."""
    stack: list[tuple[list, int]] = []  # open groups: their items (a word: str, a group: Tree) and position
    root = None
    pos = 0
    for m in _SEXPR_TOKEN.finditer(text):
        if root is not None:
            break
        pos = m.end()
        if m.group(1):
            stack.append(([], m.start(1)))
        elif m.group(2):
            if not stack:
                raise ConversionError("unbalanced ')'", text, m.start(2))
            items, start = stack.pop()
            node = _group(items, start, text)
            if stack:
                stack[-1][0].append(node)
            else:
                root = node
        elif not stack:
            raise ConversionError(f"expected '(' before {m.group(3)!r}", text, m.start(3))
        else:
            stack[-1][0].append((m.group(3), m.start(3)))
    if stack:
        raise ConversionError(f"{len(stack)} group(s) not closed with ')'", text, len(text))
    if root is None or text[pos:].strip():
        raise ConversionError("expected exactly one parenthesised parse tree", text, pos)
    return _SEXPR_TOKEN.match(text, 1).group(3) or "", root


def _group(items: list, start: int, text: str) -> Tree:
    """``(NT sym args...)`` → ``(sym, args)``: words are ``(word, position)``, groups are trees."""
    if len(items) < 2 or len(items[0]) != 2 or len(items[1]) != 2:
        raise ConversionError("a group must read (NONTERMINAL terminal ...)", text, start)
    args = tuple((it[0], (), it[1]) if len(it) == 2 else it for it in items[2:])
    return items[1][0], args, items[1][1]


def _from_node(n: Node, text: str) -> Tree:
    # iterative: terms nest deeply
    out: dict[int, Tree] = {}
    stack = [(n, False)]
    while stack:
        node, done = stack.pop()
        if node.sym is None:
            raise ConversionError(f"a number ({node.value}) where an operation is expected", text, node.pos)
        if done or not node.args:
            out[id(node)] = (node.sym, tuple(out[id(a)] for a in node.args), node.pos)
            continue
        stack.append((node, True))
        stack.extend((a, False) for a in node.args)
    return out[id(n)]


def _render(t: Tree, text: str, in_cell: bool = False) -> str:
    """hnb201 text of a reference tree (recursive over topology nesting: a handful of levels)."""
    sym, args, pos = t
    while sym == "Linear1":
        if len(args) != 1:
            raise ConversionError(f"Linear1 takes one argument, found {len(args)}", text, pos)
        sym, args, pos = args[0]
    if sym == "SharedCell":
        raise ConversionError("SharedCell is the reference's placeholder for a shared cell defined elsewhere: "
                              "write that Cell(...) in its place", text, pos)
    if not args:
        if in_cell and sym in CELL_CONVS:
            return CELL_CONVS[sym]
        return RENAMES.get(sym, sym)
    inner = ", ".join(_render(a, text, in_cell=sym == "Cell") for a in args)
    return f"{RENAMES.get(sym, sym)}({inner})"


def _repair_printed(text: str) -> str:
    """The paper's printed terms as extracted from the PDF: ``avg pool`` and ``conv1x1. layer``."""
    text = re.sub(r"\bavg\s+pool\b", "avg_pool", text)
    return re.sub(r"(?<=[A-Za-z0-9_])\.(?=\s)", ",", text)


def reference_to_term(text: str, *, check: bool = True) -> str:
    """A reference term or parse-tree string → the ``hnb201`` term (see the module docstring).

    ``check``: parse the result with ``hnb201`` and raise :class:`ConversionError` with the
    grammar's message when it is not in the space. A parse tree is checked as its root's
    nonterminal (``(CELL ...)`` as ``CL``); a term string as the first of hnb201's nonterminals
    that derives it (so a lone ``Cell(...)`` or conv block converts too).
    """
    s = text.strip()
    nonterminal = None
    if s.startswith("("):
        nonterminal, tree = parse_string_tree(s)
    else:
        s = _repair_printed(s)
        try:
            tree = _from_node(parse_tree(s), s)
        except ConversionError:
            raise
        except ValueError as e:  # the term tokenizer's TermError
            raise ConversionError(f"not a term: {e}") from None
    try:
        out = _render(tree, s)
    except RecursionError:  # topologies nest a handful of levels in any real architecture
        raise ConversionError("the term nests too deeply to convert", s) from None
    if check:
        _check(out, None if nonterminal is None else NONTERMINALS.get(nonterminal, nonterminal))
    return out


def _check(term: str, nonterminal: Optional[str]) -> None:
    from algebraic_nas.grammar import load_grammar

    g = load_grammar(TARGET)
    if nonterminal is not None and nonterminal not in g.nonterminals:
        raise ConversionError(f"the parse tree's root {nonterminal!r} is no nonterminal of {TARGET} "
                              f"({', '.join(g.nonterminals)})")
    errors: dict[str, ValueError] = {}
    for nt in [nonterminal] if nonterminal else g.nonterminals:
        try:
            g.parse(term, nonterminal=nt)
            return
        except ValueError as e:
            errors[nt] = e
    # the most telling error: from a nonterminal with an alternative headed by the term's symbol
    head = term.split("(", 1)[0]
    nt = next((a for a in errors if any(alt.split("(", 1)[0] == head for alt in g.alternatives(a))), next(iter(errors)))
    raise ConversionError(f"the converted term is not in {TARGET} (as {nt}): {errors[nt]}")


register_converter("reference", reference_to_term, grammar=TARGET,
                   doc="terms and NePS parse-tree strings of the hierarchical-NAS reference code -> hnb201 terms")
