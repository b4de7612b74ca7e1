"""NAS-Bench-201 architecture strings ↔ terms of the shipped ``nb201_cell`` grammar.

An NB201 string lists, for each of the cell's nodes 1, 2, 3 (node 0 is the cell's input), the
operation on the edge from every earlier node, ``op~j`` meaning "op applied to node j"::

    |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|

Read in order, the six operations are the edges (1,2), (1,3), (2,3), (1,4), (2,4), (3,4) of the
``Cell`` topology (nodes numbered from 1; the order of NAS-Bench-201's cell strings, Dong & Yang, ICLR 2020), i.e. the six arguments of
``Cell(e12, e13, e23, e14, e24, e34)``. The term is NB201's whole network: three stages of five
copies of the cell with ``down`` between them (``nb201_cell``'s fixed macro architecture), which
``nb201_cell``'s ``%prune none`` builds exactly as NB201's ``TinyNetwork``.

Strings are converted as text (no grammar, no torch). A cell whose ``none`` edges cut its input
from its output (341 of NB201's 15,625) is not in ``nb201_cell`` (the ``zero`` constraint):
:func:`nb201_to_term` refuses it unless ``allow_disconnected=True``.
"""

from __future__ import annotations

from typing import Optional

from algebraic_nas.grammar.termparse import Node, parse_tree

from . import ConversionError, register_converter

#: NB201's operation names → the ``nb201_cell`` subterm of each (ReLU-Conv-BN as the hnb201 block).
NB201_OPS: dict[str, str] = {
    "none": "zero",
    "skip_connect": "id",
    "nor_conv_1x1": "Linear3(relu, conv1x1, batch)",
    "nor_conv_3x3": "Linear3(relu, conv3x3, batch)",
    "avg_pool_3x3": "avg_pool",
}
_TERM_OPS = {v: k for k, v in NB201_OPS.items()}
#: The cell's edges in string (= ``Cell`` argument) order, as (from, to) with NB201's node numbers.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
STAGES, CELLS_PER_STAGE = 3, 5

__all__ = ["NB201_OPS", "EDGES", "nb201_ops", "nb201_to_term", "term_to_nb201", "cell_term", "network_term",
           "is_connected"]


def nb201_ops(text: str) -> tuple[str, ...]:
    """The six NB201 operation names of ``text``, in edge order (see :data:`EDGES`).

    Raises :class:`ConversionError` naming the position of the first malformed part, unknown
    operation, or missing or repeated input node.
    """
    s = text.strip()
    groups: list[tuple[int, str]] = []  # (start offset in s, text of one node's group)
    start = 0
    for part in s.split("+"):
        groups.append((start, part))
        start += len(part) + 1
    if len(groups) != 3:
        raise ConversionError(f"an NB201 string has 3 nodes separated by '+', found {len(groups)}", s)
    ops: dict[tuple[int, int], str] = {}
    for node, (offset, group) in enumerate(groups, start=1):
        if len(group) < 2 or group[0] != "|" or group[-1] != "|":
            raise ConversionError(f"node {node} must be written |op~j|...|", s, offset)
        pos = offset + 1
        for entry in group[1:-1].split("|"):
            op, sep, src = entry.partition("~")
            if not sep or not src.isdigit():
                raise ConversionError(f"expected op~j (an operation and an input node), found {entry!r}", s, pos)
            if op not in NB201_OPS:
                raise ConversionError(f"unknown NB201 operation {op!r} (known: {', '.join(NB201_OPS)})", s, pos)
            j = int(src)
            if j >= node:
                raise ConversionError(f"node {node} can only take nodes 0..{node - 1} as input, not {j}", s, pos)
            if (j, node) in ops:
                raise ConversionError(f"node {node} takes node {j} twice", s, pos)
            ops[(j, node)] = op
            pos += len(entry) + 1
        missing = [j for j in range(node) if (j, node) not in ops]
        if missing:
            raise ConversionError(f"node {node} lacks an operation on its input from node {missing[0]} "
                                  f"(write none~{missing[0]} for no edge)", s, offset)
    return tuple(ops[e] for e in EDGES)


def is_connected(ops: tuple[str, ...]) -> bool:
    """Whether some input→output path of the cell avoids every ``none`` edge."""
    reach = {0}
    for (a, b), op in zip(EDGES, ops):  # edges are in topological order
        if op != "none" and a in reach:
            reach.add(b)
    return 3 in reach


def cell_term(ops: tuple[str, ...]) -> str:
    """``Cell(...)`` of six NB201 operation names in edge order."""
    return f"Cell({', '.join(NB201_OPS[o] for o in ops)})"


def network_term(cell: str) -> str:
    """The ``nb201_cell`` term of NB201's network with the cell term ``cell`` everywhere."""
    stage = f"Linear{CELLS_PER_STAGE}({', '.join([cell] * CELLS_PER_STAGE)})"
    return f"Linear5({stage}, down, {stage}, down, {stage})"


def nb201_to_term(text: str, *, cell_only: bool = False, allow_disconnected: bool = False) -> str:
    """An NB201 architecture string → the ``nb201_cell`` term of its network (``cell_only``: the
    ``Cell(...)`` subterm only).

    Raises :class:`ConversionError` for a malformed string, and for a cell whose ``none`` edges
    disconnect input and output (not in ``nb201_cell``) unless ``allow_disconnected``.
    """
    ops = nb201_ops(text)
    if not allow_disconnected and not is_connected(ops):
        raise ConversionError("its none edges cut every input-to-output path: the cell is not in nb201_cell "
                              "(whose zero constraint excludes the 341 such NB201 cells)", text.strip())
    cell = cell_term(ops)
    return cell if cell_only else network_term(cell)


def _node_text(n: Node) -> str:
    if n.sym is None:
        return str(n.value)
    return f"{n.sym}({', '.join(_node_text(a) for a in n.args)})" if n.args else n.sym


def _cell_ops(cell: Node, text: str) -> tuple[str, ...]:
    if cell.sym != "Cell" or len(cell.args) != 6:
        raise ConversionError(f"expected Cell(op, op, op, op, op, op), found {cell.describe()}", text, cell.pos)
    ops = []
    for a in cell.args:
        op = _TERM_OPS.get(_node_text(a))
        if op is None:
            raise ConversionError(f"{_node_text(a)!r} is no NB201 operation (known: {', '.join(_TERM_OPS)})",
                                  text, a.pos)
        ops.append(op)
    return tuple(ops)


def _stage_cells(stage: Node, text: str) -> list[Node]:
    if stage.sym != f"Linear{CELLS_PER_STAGE}" or len(stage.args) != CELLS_PER_STAGE:
        raise ConversionError(f"expected a stage Linear{CELLS_PER_STAGE}(cell, ...), found {stage.describe()}",
                              text, stage.pos)
    return list(stage.args)


def term_to_nb201(text: str) -> str:
    """An ``nb201_cell`` term (the whole network, or one ``Cell(...)``) → its NB201 string.

    Raises :class:`ConversionError` when the term is not NB201's macro architecture, its cells
    differ (NB201 repeats one cell), or an edge holds no NB201 operation.
    """
    try:
        root = parse_tree(text)
    except ValueError as e:  # TermError: a malformed term string
        raise ConversionError(f"not a term: {e}") from None
    if root.sym == "Cell":
        cells = [root]
    else:
        mid = (1, 3)  # the positions of `down` in Linear5(STAGE, down, STAGE, down, STAGE)
        if root.sym != "Linear5" or len(root.args) != 5 or any(_node_text(root.args[i]) != "down" for i in mid):
            raise ConversionError("expected NB201's network Linear5(STAGE, down, STAGE, down, STAGE) or a Cell(...)",
                                  text, root.pos)
        cells = [c for i in (0, 2, 4) for c in _stage_cells(root.args[i], text)]
    ops: Optional[tuple[str, ...]] = None
    for c in cells:
        try:
            these = _cell_ops(c, text)
        except RecursionError:  # an edge nested thousands of levels deep is no NB201 operation
            raise ConversionError("an edge of the cell nests too deeply", text, c.pos) from None
        if ops is not None and these != ops:
            raise ConversionError("NB201 repeats one cell, but this cell differs from the first", text, c.pos)
        ops = these
    assert ops is not None
    it = iter(ops)
    return "+".join("|" + "|".join(f"{next(it)}~{j}" for j in range(node)) + "|" for node in (1, 2, 3))


register_converter("nb201", nb201_to_term, grammar="nb201_cell", from_term=term_to_nb201,
                   is_term=lambda text: "|" not in text and "~" not in text,
                   doc="NAS-Bench-201 strings |op~0|+|op~0|op~1|+|op~0|op~1|op~2| <-> nb201_cell terms")
