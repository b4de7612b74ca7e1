"""DARTS genotypes ↔ terms of the shipped ``darts`` (C = 16, L = 8) and ``darts_eval`` (C = 36, L = 20) grammars.

A genotype is written as in DARTS's ``genotypes.py`` (Liu et al., ICLR 2019; github.com/quark0/darts, ``cnn/``)::

    Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...8 pairs], normal_concat=[2, 3, 4, 5],
             reduce=[('max_pool_3x3', 0), ...8 pairs], reduce_concat=[2, 3, 4, 5])

Pairs ``2i`` and ``2i + 1`` are the two inputs of intermediate node ``i + 2``: an operation and
the state it reads (0 and 1 the cell's inputs, 2.. earlier nodes). The term writes node ``k`` as
``NodeK(e_0, ..., e_{k-1})`` with the operation on each predecessor's edge, ``none`` elsewhere,
so the order of a node's two pairs is not kept (their sum does not depend on it):
:func:`term_to_genotype` lists them by input. The text is read with :mod:`ast` and
``ast.literal_eval`` (never executed); ``range(2, 6)`` is accepted for a concat list.
"""

from __future__ import annotations

import ast
from typing import Any

from algebraic_nas.grammar.termparse import Node, parse_tree
from algebraic_nas.grammar.topology_darts import CELL_NODES, DARTS_NETWORK

from . import ConversionError, register_converter

#: DARTS's operations that a derived genotype may hold (``none`` never is one).
DARTS_OPS = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3",
             "dil_conv_5x5")
#: The concatenated nodes of every cell of the space.
CONCAT = [2, 3, 4, 5]
#: ``(C, L)`` of DARTS's search network (grammar ``darts``) and evaluation network (``darts_eval``).
SEARCH_NETWORK, EVAL_NETWORK = (16, 8), (36, 20)
FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")
NONE = "none"

__all__ = ["DARTS_OPS", "Genotype", "parse_genotype", "genotype_to_term", "term_to_genotype", "cell_term"]

#: A genotype: the four fields of DARTS's namedtuple (pairs as ``(op, input)`` tuples).
Genotype = dict[str, list]


def _offset(text: str, node: ast.AST) -> int:
    lines = text.split("\n")
    return sum(len(line) + 1 for line in lines[: node.lineno - 1]) + node.col_offset  # type: ignore[attr-defined]


def _call(text: str) -> ast.Call:
    try:
        tree = ast.parse(text.strip(), mode="exec")
    except SyntaxError as e:
        raise ConversionError(f"not a genotype (Python syntax error: {e.msg})", text.strip(),
                              None if e.offset is None else e.offset - 1) from None
    body = tree.body
    expr = body[0].value if len(body) == 1 and isinstance(body[0], (ast.Expr, ast.Assign)) else None
    if not isinstance(expr, ast.Call) or not isinstance(expr.func, (ast.Name, ast.Attribute)) or \
            (expr.func.id if isinstance(expr.func, ast.Name) else expr.func.attr) != "Genotype":
        raise ConversionError("expected one Genotype(normal=[...], normal_concat=[...], reduce=[...], reduce_concat=[...])",
                              text.strip(), 0)
    return expr


def _literal(text: str, node: ast.AST, field: str) -> Any:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" and not node.keywords:
        return list(range(*[_literal(text, a, field) for a in node.args]))
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ConversionError(f"{field} must be a literal list", text, _offset(text, node)) from None


def parse_genotype(text: str) -> Genotype:
    """The four fields of a ``Genotype(...)`` text, checked to be a cell pair of the ``darts`` space.

    Raises :class:`ConversionError` naming the field, the pair and the character offset of a
    missing or unknown field, an unknown operation (or ``none``), an input a node cannot read,
    a node reading one input twice, or a concat other than ``[2, 3, 4, 5]``.
    """
    s = text.strip()
    call = _call(s)
    nodes: dict[str, ast.AST] = {}
    if len(call.args) > len(FIELDS):
        raise ConversionError(f"Genotype takes {len(FIELDS)} fields ({', '.join(FIELDS)})", s, _offset(s, call))
    nodes.update(zip(FIELDS, call.args))
    for kw in call.keywords:
        if kw.arg not in FIELDS:
            raise ConversionError(f"unknown Genotype field {kw.arg!r} (fields: {', '.join(FIELDS)})", s, _offset(s, kw.value))
        if kw.arg in nodes:
            raise ConversionError(f"Genotype field {kw.arg!r} given twice", s, _offset(s, kw.value))
        nodes[kw.arg] = kw.value
    missing = [f for f in FIELDS if f not in nodes]
    if missing:
        raise ConversionError(f"Genotype lacks the field {missing[0]!r}", s, _offset(s, call))
    out: Genotype = {}
    for field in FIELDS:
        value = _literal(s, nodes[field], field)
        where = _offset(s, nodes[field])
        if field.endswith("_concat"):
            if not isinstance(value, (list, tuple)) or list(value) != CONCAT:
                raise ConversionError(f"{field} must be {CONCAT} (the darts space concatenates all four nodes), got {value!r}",
                                      s, where)
            out[field] = list(CONCAT)
        else:
            out[field] = _cell_pairs(s, nodes[field], value, field)
    return out


def _cell_pairs(s: str, node: ast.AST, value: Any, field: str) -> list[tuple[str, int]]:
    elts = node.elts if isinstance(node, (ast.List, ast.Tuple)) else []
    if not isinstance(value, (list, tuple)) or len(value) != 2 * CELL_NODES:
        raise ConversionError(f"{field} must list {2 * CELL_NODES} (operation, input) pairs, two per node", s, _offset(s, node))
    pairs: list[tuple[str, int]] = []
    for i, pair in enumerate(value):
        where = _offset(s, elts[i]) if i < len(elts) else _offset(s, node)
        k = i // 2 + 2  # the node the pair feeds
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str)
                and isinstance(pair[1], int) and not isinstance(pair[1], bool)):
            raise ConversionError(f"{field}[{i}] must be an (operation, input) pair, got {pair!r}", s, where)
        op, j = pair
        if op not in DARTS_OPS:
            why = "genotypes of the darts space hold no 'none'" if op == NONE else f"known: {', '.join(DARTS_OPS)}"
            raise ConversionError(f"{field}[{i}]: unknown operation {op!r} ({why})", s, where)
        if not 0 <= j < k:
            raise ConversionError(f"{field}[{i}]: node {k} reads states 0..{k - 1}, not {j}", s, where)
        if i % 2 and pairs[-1][1] == j:
            raise ConversionError(f"{field}[{i}]: node {k} reads state {j} twice (its two inputs must differ)", s, where)
        pairs.append((op, j))
    return pairs


def cell_term(pairs: list[tuple[str, int]]) -> str:
    """``Darts(Node2(..), .., Node5(..))`` of a cell's eight ``(op, input)`` pairs."""
    groups = []
    for n in range(CELL_NODES):
        k = n + 2
        edges = [NONE] * k
        for op, j in pairs[2 * n: 2 * n + 2]:
            edges[j] = op
        groups.append(f"Node{k}({', '.join(edges)})")
    return f"Darts({', '.join(groups)})"


def genotype_to_term(text: str, width: int = SEARCH_NETWORK[0], layers: int = SEARCH_NETWORK[1]) -> str:
    """A DARTS genotype → the ``DartsCIFAR(C, L, NORMAL, REDUCE)`` term (``darts``: C = 16, L = 8)."""
    g = parse_genotype(text)
    return f"{DARTS_NETWORK}({width}, {layers}, {cell_term(g['normal'])}, {cell_term(g['reduce'])})"


def _cell_pairs_of_term(cell: Node, text: str) -> list[tuple[str, int]]:
    if cell.sym != "Darts" or len(cell.args) != CELL_NODES:
        raise ConversionError(f"expected a cell Darts(Node2(..), Node3(..), Node4(..), Node5(..)), found {cell.describe()}",
                              text, cell.pos)
    pairs: list[tuple[str, int]] = []
    for n, group in enumerate(cell.args):
        k = n + 2
        if group.sym != f"Node{k}" or len(group.args) != k or any(a.sym is None or a.args for a in group.args):
            raise ConversionError(f"expected Node{k} with {k} operations, found {group.describe()}", text, group.pos)
        read = [(a.sym, j) for j, a in enumerate(group.args) if a.sym != NONE]
        if len(read) != 2:
            raise ConversionError(f"node {k} must read exactly two states, it reads {len(read)}", text, group.pos)
        for op, j in read:
            if op not in DARTS_OPS:
                raise ConversionError(f"{op!r} is no DARTS operation (known: {', '.join(DARTS_OPS)})", text,
                                      group.args[j].pos)
        pairs += read
    return pairs


def term_to_genotype(text: str) -> str:
    """A ``DartsCIFAR(C, L, NORMAL, REDUCE)`` term (or one ``Darts(...)`` cell pair's network) → its
    genotype text (each node's two pairs in input order; C and L are not part of a genotype)."""
    try:
        root = parse_tree(text)
    except ValueError as e:  # a malformed term string
        raise ConversionError(f"not a term: {e}") from None
    if root.sym == "Darts" and root.args and all((a.sym or "").startswith("Node") for a in root.args):
        raise ConversionError(f"one Darts(...) cell is not a genotype (a normal and a reduction cell): write "
                              f"{DARTS_NETWORK}(C, L, NORMAL, REDUCE)", text, root.pos)
    if root.sym != DARTS_NETWORK or len(root.args) != 4:
        raise ConversionError(f"expected {DARTS_NETWORK}(C, L, NORMAL, REDUCE)", text, root.pos)
    normal, reduce = (_cell_pairs_of_term(c, text) for c in root.args[2:])
    return (f"Genotype(normal={normal!r}, normal_concat={CONCAT!r}, "
            f"reduce={reduce!r}, reduce_concat={CONCAT!r})")


def _is_term(text: str) -> bool:
    return text.lstrip().startswith((DARTS_NETWORK, "Darts("))


def genotype_to_eval_term(text: str) -> str:
    """A DARTS genotype → the ``darts_eval`` term (DARTS's evaluation network, C = 36, L = 20)."""
    return genotype_to_term(text, *EVAL_NETWORK)


register_converter("darts", genotype_to_term, grammar="darts", from_term=term_to_genotype, is_term=_is_term,
                   doc="DARTS genotypes Genotype(normal=[...], ...) <-> darts terms (search network, C=16, L=8)")
register_converter("darts_eval", genotype_to_eval_term, grammar="darts_eval", from_term=term_to_genotype,
                   is_term=_is_term,
                   doc="DARTS genotypes <-> darts_eval terms (evaluation network, C=36, L=20)")
