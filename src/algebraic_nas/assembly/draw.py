"""Pictures of architectures: the node-labelled op graph (or a fold of it) drawn with matplotlib.

What is drawn (which subterms are collapsed into one box, and the boxes' labels) is chosen in
:mod:`.draw_graph`. Layers run left to right (longest path from the input); when there are more
layers than fit :data:`MAX_WIDTH_IN`, the layers wrap onto several rows, read like text, and an
edge to a later row runs through the gaps between rows and columns (never across a box); skip
connections within a row are arcs. Long labels are wrapped, and the columns and rows are spaced by
the largest wrapped label so that no box hides another. The title is the term, cut to one line,
and what was collapsed.
"""

from __future__ import annotations

import os
import re
import math
from typing import TYPE_CHECKING, Any, Optional, Union

import networkx as nx

from algebraic_nas.grammar.term import Term

from .draw_graph import MAX_AUTO_NODES, built_edges, choose, choose_graph  # noqa: F401 - re-exported

if TYPE_CHECKING:
    from algebraic_nas.grammar import Grammar

#: Characters per line of a node label and lines of the title.
LABEL_CHARS = 24
FONT_SIZE = 7
#: Widest figure before the layers wrap onto another row, in inches (at 110 dpi: 1,760 px).
MAX_WIDTH_IN = 16.0
#: Width / height the rows of a wrapped picture aim at.
TARGET_ASPECT = 1.6
#: Most characters of the term shown in the title (the term is in the command line or file).
TITLE_CHARS = 120
#: Approximate size of one character / line of text at FONT_SIZE, in inches (DejaVu Sans).
CHAR_IN, LINE_IN = 0.058, 0.13

_COLOURS = (
    (("input", "output"), "#d9d9d9"),
    (("conv", "down", "mbconv", "sep", "dil"), "#9ecae1"),
    (("batch", "instance", "layer", "norm", "bn"), "#a1d99b"),
    (("relu", "swish", "mish", "gelu", "sigmoid"), "#fdae6b"),
    (("pool",), "#bcbddc"),
)


def _colour(label: str, collapsed: bool) -> str:
    if collapsed:
        return "#fff2ae"
    low = label.lower()
    for keys, colour in _COLOURS:
        if any(k in low for k in keys):
            return colour
    return "#f0f0f0"


def wrap_label(label: str, width: int = LABEL_CHARS) -> str:
    """``label`` on lines of at most about ``width`` characters, broken after commas, spaces and
    a ``": "`` (a collapsed box's topology stays on a line of its own)."""
    head, sep, rest = label.partition(": ")
    if sep and "(" not in head.split("(")[0] and len(label) > width:
        return wrap_label(head + ":", width) + "\n" + wrap_label(rest, width)
    if len(label) <= width:
        return label
    parts = re.findall(r"[^ ,]*(?:, |,| |$)", label)
    lines, line = [], ""
    for part in filter(None, parts):
        if line and len(line) + len(part.rstrip()) > width:
            lines.append(line.rstrip())
            line = ""
        line += part
    lines.append(line.rstrip())
    return "\n".join(lines)


def box_text(label: str, collapsed: bool) -> str:
    """The text of a box: a collapsed subterm's ``"NONTERMINAL description"`` without the
    nonterminal, wrapped."""
    if collapsed:
        head, sep, rest = label.partition(" ")
        if sep and head.isidentifier():
            label = rest
    return wrap_label(label)


def _text_size(text: str) -> tuple[float, float]:
    """Approximate (width, height) in inches of ``text`` at :data:`FONT_SIZE`, box padding included."""
    lines = text.split("\n")
    return CHAR_IN * max(len(line) for line in lines) + 0.12, LINE_IN * len(lines) + 0.1


def layers(g: nx.DiGraph) -> dict[Any, int]:
    """Each node's layer: the length of the longest path to it from a source."""
    layer: dict[Any, int] = {}
    for n in nx.topological_sort(g):
        layer[n] = max((layer[p] + 1 for p in g.predecessors(n)), default=0)
    return layer


#: Vertical space between two rows of a wrapped picture, in layout units (one unit: one box).
ROW_GAP = 1.6


def layout(g: nx.DiGraph, per_row: Optional[int] = None) -> tuple[dict[Any, tuple[float, float]], list[float]]:
    """Positions (x = layer within its row, y up) with ``per_row`` layers per row (all on one row
    by default), and the y of the gap below each row (where edges to later rows run)."""
    layer = layers(g)
    n_layers = max(layer.values()) + 1
    per_row = per_row or n_layers
    columns: dict[int, list] = {}
    for n in sorted(g.nodes, key=lambda n: (layer[n], n)):
        columns.setdefault(layer[n], []).append(n)
    pos: dict[Any, tuple[float, float]] = {}
    gaps, top = [], 0.0
    for r in range(-(-n_layers // per_row)):
        tall = max(len(columns.get(c, ())) for c in range(r * per_row, min(n_layers, (r + 1) * per_row)))
        centre = top - (tall - 1) / 2.0
        for c in range(r * per_row, min(n_layers, (r + 1) * per_row)):
            nodes = columns.get(c, [])
            for i, n in enumerate(nodes):
                pos[n] = (float(c - r * per_row), centre + (len(nodes) - 1) / 2.0 - i)
        top -= tall - 1 + ROW_GAP
        gaps.append(top + ROW_GAP / 2.0)
    return pos, gaps


def layers_per_row(g: nx.DiGraph, unit_x: float, unit_y: float) -> int:
    """How many layers a row holds: all when they fit :data:`MAX_WIDTH_IN`, else the split whose
    picture comes closest to :data:`TARGET_ASPECT` while fitting."""
    n_layers = max(layers(g).values()) + 1
    if unit_x * n_layers <= MAX_WIDTH_IN:
        return n_layers
    best, score = 1, float("inf")
    for per_row in range(max(1, int(MAX_WIDTH_IN // unit_x)), 0, -1):
        pos, _ = layout(g, per_row)
        height = max(y for _, y in pos.values()) - min(y for _, y in pos.values()) + 1
        s = abs(math.log(unit_x * per_row / (unit_y * height) / TARGET_ASPECT))
        if s < score:
            best, score = per_row, s
    return best


def _title(text: str, info: dict[str, Any], fig_w: float) -> str:
    """Two lines at most: the term cut to the figure's width, and what was collapsed."""
    chars = min(TITLE_CHARS, max(40, int((fig_w - 0.3) / (CHAR_IN * 8 / FONT_SIZE))))
    line = text if len(text) <= chars else text[: chars - 1] + "…"
    folded = ", ".join(sorted(info["collapsed"]))
    boxes = f"yellow boxes: whole {folded} subterms"
    if info["level"] is not None:
        return f"{line}\nfold level {info['level']}" + (f"; {boxes}" if folded else "")
    if folded:
        return f"{line}\n{boxes} (draw --level L for another fold)"
    return line


def draw_term(term: Term, path: Union[str, os.PathLike], grammar: Optional[Grammar] = None,
              level: Optional[int] = None, title: Optional[str] = None, seed: int = 0) -> dict[str, Any]:
    """Write a PNG or SVG picture (by the file suffix) of ``term``; returns what was drawn.

    Returns ``{"path", "nodes", "edges", "level", "collapsed", "rows", "size_in"}`` (see
    :func:`figure`). ``seed``: the network seed, which draws the graphs of generator topologies.
    """
    import matplotlib.pyplot as plt

    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".png", ".svg"):
        raise ValueError(f"cannot draw to {path!r}: the file must end in .png or .svg")
    fig, info = figure(term, grammar, level, title, seed)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return {"path": path, **info}


#: Resolution of PNG pictures, dots per inch.
DPI = 110


def _cross_row_path(a: tuple[float, float], b: tuple[float, float], gap_y: float, ends: tuple[float, float]) -> Any:
    """An edge from ``a`` to ``b`` on a later row: right of ``a``, along the gap below ``a``'s row,
    down between the columns left of ``b``, into ``b``. ``ends``: the half-widths of both boxes."""
    from matplotlib.path import Path as MplPath

    (x0, y0), (x1, y1) = a, b
    verts = [(x0 + ends[0], y0), (x0 + 0.5, y0), (x0 + 0.5, gap_y), (x1 - 0.5, gap_y), (x1 - 0.5, y1),
             (x1 - ends[1], y1)]
    return MplPath(verts, [MplPath.MOVETO] + [MplPath.LINETO] * (len(verts) - 1))


def _rows(pos: dict[Any, tuple[float, float]], gaps: list[float]) -> dict[Any, int]:
    return {n: next(r for r, gy in enumerate(gaps) if y > gy) for n, (_, y) in pos.items()}


def _draw_edges(ax: Any, g: nx.DiGraph, pos: dict[Any, tuple[float, float]], gaps: list[float],
                sizes: dict[Any, tuple[float, float]]) -> None:
    """The arrows, ending at the boxes' borders (``sizes``: each box's (width, height) in inches;
    call after the axes' limits and layout are final)."""
    from matplotlib.patches import FancyArrowPatch

    fig = ax.figure
    box = ax.get_position()
    x_lo, x_hi = ax.get_xlim()
    y_lo, y_hi = ax.get_ylim()
    per_in = ((x_hi - x_lo) / (box.width * fig.get_figwidth()), (y_hi - y_lo) / (box.height * fig.get_figheight()))

    def border_in(n: Any, dx: float, dy: float) -> float:
        """Inches from box ``n``'s centre to its border along direction (dx, dy) in inches."""
        w, h = sizes[n][0] / 2 + 0.03, sizes[n][1] / 2 + 0.03
        return min(w / abs(dx) if dx else math.inf, h / abs(dy) if dy else math.inf) * math.hypot(dx, dy)

    row = _rows(pos, gaps)
    style = dict(arrowstyle="-|>", mutation_scale=10, lw=0.8, color="#555555", zorder=1)
    for k, (a, b) in enumerate(g.edges):
        (x0, y0), (x1, y1) = pos[a], pos[b]
        if row[a] == row[b]:
            dx, dy = (x1 - x0) / per_in[0], (y1 - y0) / per_in[1]
            # Edges that skip layers or run inside a layer bend, so they do not cross the boxes between.
            rad = 0.0 if (x1 - x0 == 1 or y0 != y1) else 0.25
            ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), connectionstyle=f"arc3,rad={rad}",
                                         shrinkA=72 * border_in(a, dx, dy), shrinkB=72 * border_in(b, dx, dy) + 1,
                                         **style))
            continue
        ends = tuple(border_in(n, 1.0, 0.0) * per_in[0] for n in (a, b))
        lane = gaps[row[a]] + 0.08 * ((k % 5) - 2)  # edges from one row use different lanes
        ax.add_patch(FancyArrowPatch(path=_cross_row_path(pos[a], pos[b], lane, ends), **style))


def figure(term: Term, grammar: Optional[Grammar] = None, level: Optional[int] = None,
           title: Optional[str] = None, seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """The matplotlib figure of :func:`draw_term` (Agg backend) and ``{"nodes", "edges", "level",
    "collapsed", "rows", "size_in"}``: what :func:`~.draw_graph.choose` chose, the rows the layers
    wrap onto and the figure's (width, height) in inches."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g, info = choose(term, grammar, level, seed)
    collapsed = bool(info["collapsed"])
    texts = {n: box_text(d["label"], collapsed) for n, d in g.nodes(data=True)}
    # one layout unit = the largest label plus a gap for the arrows, so no box covers another
    sizes = {n: _text_size(t) for n, t in texts.items()}
    box_w, box_h = max(w for w, _ in sizes.values()), max(h for _, h in sizes.values())
    unit_x, unit_y = max(1.3, box_w + 0.45), max(0.9, box_h + 0.3)
    per_row = layers_per_row(g, unit_x, unit_y)
    pos, gaps = layout(g, per_row)
    width = max(p[0] for p in pos.values()) + 1
    y_top, y_bottom = max(p[1] for p in pos.values()), min(p[1] for p in pos.values())
    fig_w = max(6.0, unit_x * width)
    title = _title(title if title is not None else str(term), info, fig_w)
    fig_h = min(max(2.5, unit_y * (y_top - y_bottom + 1) + 0.3 + LINE_IN * 1.3 * (title.count("\n") + 1)), 60.0)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    for n in g.nodes:
        ax.text(*pos[n], texts[n], ha="center", va="center", fontsize=FONT_SIZE, zorder=2,
                bbox=dict(boxstyle="round,pad=0.3", fc=_colour(texts[n], collapsed and ":" in texts[n]),
                          ec="#333333", lw=0.6))
    ax.set_xlim(-0.7, width - 0.3)
    ax.set_ylim(y_bottom - 0.6, y_top + 0.6)
    ax.axis("off")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    _draw_edges(ax, g, pos, gaps, sizes)
    row = _rows(pos, gaps)
    rows = len(set(row.values()))
    return fig, {"nodes": g.number_of_nodes(), "edges": g.number_of_edges(), "level": info["level"],
                 "collapsed": info["collapsed"], "rows": rows, "size_in": (round(fig_w, 2), round(fig_h, 2))}
