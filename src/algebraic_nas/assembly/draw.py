"""Pictures of architectures: the node-labelled op graph (or a fold of it) drawn with matplotlib.

Layers run left to right (longest path from the input); long skip connections are drawn as arcs.
By default a large term is shown folded, with collapsed subterms (e.g. whole cells, ``CL Cell``)
as single boxes, so that a 25-cell ``hnb201`` network stays readable; ``level`` unfolds it.
Long labels (parameterised blocks such as ``Block(MBConv(5, 6, 0.25), skip, 1.0, 0)``) are
wrapped, and the columns and rows are spaced by the largest wrapped label so that no box hides
another; the title is wrapped to the figure's width.
"""

from __future__ import annotations

import os
import re
import textwrap
from typing import TYPE_CHECKING, Any, Optional, Union

import networkx as nx

from algebraic_nas.grammar.term import Term

from .graph import ZERO_EDGE, op_graph, term_graph

if TYPE_CHECKING:
    from algebraic_nas.grammar import Grammar

#: Default upper bound on drawn operations when the fold level is chosen automatically.
MAX_AUTO_NODES = 60
#: Characters per line of a node label and lines of the title.
LABEL_CHARS = 22
TITLE_LINES = 4
FONT_SIZE = 7
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


def built_edges(g: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """``g`` (a ``prune="none"`` op-edge DAG) with the ``zero`` edges the network does not build
    removed: a node fed by other edges leaves its ``zero`` edges out of the sum, a node fed only by
    ``zero`` edges gets its zeros from the first of them (as :func:`~.network.build_body` does).
    Edges of dead-but-present operations stay. Modifies and returns ``g``."""
    for n in list(g.nodes):
        zero = sorted(((a, k, d["order"]) for a, _, k, d in g.in_edges(n, keys=True, data=True)
                       if d["op"] == ZERO_EDGE), key=lambda e: e[2])
        keep_first = len(zero) == g.in_degree(n)  # only zero edges feed n
        g.remove_edges_from([(a, n, k) for a, k, _ in zero[1 if keep_first else 0:]])
    return g


def choose_graph(
    term: Term, grammar: Optional[Grammar] = None, level: Optional[int] = None, seed: int = 0
) -> tuple[nx.DiGraph, Optional[int]]:
    """The graph to draw (``id`` kept as nodes) and the fold level used (``None`` = fully unfolded).

    With ``level`` given, ``grammar.fold(term, level)``; otherwise the full op graph if it has at
    most :data:`MAX_AUTO_NODES` nodes, else the deepest fold level that does. ``seed``: the
    network seed (the graphs of generator topologies). The grammar's ``%prune`` decides which
    edges are drawn, as it decides which are built: with ``none`` (``nb201_cell``) an operation
    behind ``zero`` edges is drawn, fed by a ``zero`` box where nothing else feeds its input.
    """
    prune = grammar.prune if grammar is not None else "paths"

    def graph(t: Term, **kwargs: Any) -> nx.DiGraph:
        g = term_graph(t, seed=seed, prune=prune, **kwargs)
        return op_graph(built_edges(g) if prune == "none" else g, False)

    def folded_graph(lv: int) -> tuple[Term, nx.DiGraph]:
        folded = grammar.fold(term, lv)  # type: ignore[union-attr]
        return folded, graph(folded, collapsed_as_ops=True, unfolded=term)

    if level is not None:
        if grammar is None:
            raise ValueError("a fold level needs the grammar")
        return folded_graph(level)[1], level
    full = graph(term)
    if grammar is None or full.number_of_nodes() <= MAX_AUTO_NODES:
        return full, None
    best = None
    for lv in range(0, 16):
        folded, g = folded_graph(lv)
        if g.number_of_nodes() > MAX_AUTO_NODES:
            break
        best = (g, lv)
        if folded == term:  # nothing left to unfold
            break
    return best if best is not None else (full, None)


def wrap_label(label: str, width: int = LABEL_CHARS, collapsed: bool = False) -> str:
    """``label`` on lines of at most about ``width`` characters, broken after commas and spaces
    (a ``collapsed`` subterm ``"CL Cell"`` puts its nonterminal on a line of its own)."""
    if collapsed and " " in label:
        head, _, rest = label.partition(" ")
        return head + "\n" + wrap_label(rest, width)
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


def _text_size(text: str) -> tuple[float, float]:
    """Approximate (width, height) in inches of ``text`` at :data:`FONT_SIZE`, box padding included."""
    lines = text.split("\n")
    return CHAR_IN * max(len(line) for line in lines) + 0.12, LINE_IN * len(lines) + 0.1


def layout(g: nx.DiGraph) -> dict[Any, tuple[float, float]]:
    """Left-to-right layered positions: x = longest path from the sources, y spread per layer."""
    layer: dict[Any, int] = {}
    for n in nx.topological_sort(g):
        layer[n] = max((layer[p] + 1 for p in g.predecessors(n)), default=0)
    columns: dict[int, list] = {}
    for n in sorted(g.nodes, key=lambda n: (layer[n], n)):
        columns.setdefault(layer[n], []).append(n)
    pos = {}
    for x, nodes in columns.items():
        for i, n in enumerate(nodes):
            pos[n] = (float(x), (len(nodes) - 1) / 2.0 - i)
    return pos


def _title(text: str, level: Optional[int], fig_w: float) -> str:
    """The title wrapped to the figure width (at most :data:`TITLE_LINES` lines, then "...")."""
    if level is not None:
        text += f"   [fold level {level}]"
    chars = max(40, int((fig_w - 0.3) / (CHAR_IN * 8 / FONT_SIZE)))
    lines = textwrap.wrap(text, chars, break_on_hyphens=False) or [""]
    if len(lines) > TITLE_LINES:
        lines = lines[:TITLE_LINES]
        lines[-1] = lines[-1][: chars - 3] + "..."
    return "\n".join(lines)


def draw_term(term: Term, path: Union[str, os.PathLike], grammar: Optional[Grammar] = None,
              level: Optional[int] = None, title: Optional[str] = None, seed: int = 0) -> dict[str, Any]:
    """Write a PNG or SVG picture (by the file suffix) of ``term``; returns what was drawn.

    Returns ``{"path", "nodes", "edges", "level"}``. ``seed``: the network seed, which draws the
    graphs of generator topologies.
    """
    import matplotlib.pyplot as plt

    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".png", ".svg"):
        raise ValueError(f"cannot draw to {path!r}: the file must end in .png or .svg")
    fig, info = figure(term, grammar, level, title, seed)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {"path": path, **info}


def figure(term: Term, grammar: Optional[Grammar] = None, level: Optional[int] = None,
           title: Optional[str] = None, seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """The matplotlib figure of :func:`draw_term` (Agg backend) and ``{"nodes", "edges", "level"}``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    g, used = choose_graph(term, grammar, level, seed)
    pos = layout(g)
    texts = {n: wrap_label(d["label"], collapsed=used is not None) for n, d in g.nodes(data=True)}
    # one layout unit = the largest label plus a gap for the arrows, so no box covers another
    sizes = [_text_size(t) for t in texts.values()]
    box_w, box_h = max(w for w, _ in sizes), max(h for _, h in sizes)
    unit_x, unit_y = max(1.3, box_w + 0.45), max(0.9, box_h + 0.25)
    width = max(p[0] for p in pos.values()) + 1
    height = max(abs(p[1]) for p in pos.values()) * 2 + 1
    fig_w = min(max(6.0, unit_x * width), 120.0)
    title = _title(title if title is not None else str(term), used, fig_w)
    fig_h = min(max(2.5, unit_y * height + 0.3 + LINE_IN * 1.3 * (title.count("\n") + 1)), 60.0)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    for a, b in g.edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        # Edges that skip layers or run inside a layer bend, so they do not cross the boxes between.
        rad = 0.0 if (x1 - x0 == 1 or y0 != y1) else 0.25
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=10, lw=0.8,
                                     color="#555555", connectionstyle=f"arc3,rad={rad}",
                                     shrinkA=16, shrinkB=16, zorder=1))
    for n, d in g.nodes(data=True):
        label = d["label"]
        collapsed = used is not None and " " in label
        ax.text(*pos[n], texts[n], ha="center", va="center", fontsize=FONT_SIZE, zorder=2,
                bbox=dict(boxstyle="round,pad=0.3", fc=_colour(label, collapsed), ec="#333333", lw=0.6))
    ax.set_xlim(-0.7, width - 0.3)
    ax.set_ylim(-height / 2 - 0.6, height / 2 + 0.6)
    ax.axis("off")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return fig, {"nodes": g.number_of_nodes(), "edges": g.number_of_edges(), "level": used}
