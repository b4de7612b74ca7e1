"""Pictures of architectures: the node-labelled op graph (or a fold of it) drawn with matplotlib.

Layers run left to right (longest path from the input); long skip connections are drawn as arcs.
By default a large term is shown folded, with collapsed subterms (e.g. whole cells, ``CL Cell``)
as single boxes, so that a 25-cell ``hnb201`` network stays readable; ``level`` unfolds it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Optional, Union

import networkx as nx

from algebraic_nas.grammar.term import Term

from .graph import op_graph, term_graph

if TYPE_CHECKING:
    from algebraic_nas.grammar import Grammar

#: Default upper bound on drawn operations when the fold level is chosen automatically.
MAX_AUTO_NODES = 60

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


def choose_graph(
    term: Term, grammar: Optional[Grammar] = None, level: Optional[int] = None
) -> tuple[nx.DiGraph, Optional[int]]:
    """The graph to draw (``id`` kept as nodes) and the fold level used (``None`` = fully unfolded).

    With ``level`` given, ``grammar.fold(term, level)``; otherwise the full op graph if it has at
    most :data:`MAX_AUTO_NODES` nodes, else the deepest fold level that does.
    """
    if level is not None:
        if grammar is None:
            raise ValueError("a fold level needs the grammar")
        return op_graph(term_graph(grammar.fold(term, level), collapsed_as_ops=True), False), level
    full = op_graph(term_graph(term), False)
    if grammar is None or full.number_of_nodes() <= MAX_AUTO_NODES:
        return full, None
    best = None
    for lv in range(0, 16):
        folded = grammar.fold(term, lv)
        g = op_graph(term_graph(folded, collapsed_as_ops=True), False)
        if g.number_of_nodes() > MAX_AUTO_NODES:
            break
        best = (g, lv)
        if folded == term:  # nothing left to unfold
            break
    return best if best is not None else (full, None)


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


def draw_term(term: Term, path: Union[str, os.PathLike], grammar: Optional[Grammar] = None,
              level: Optional[int] = None, title: Optional[str] = None) -> dict[str, Any]:
    """Write a PNG or SVG picture (by the file suffix) of ``term``; returns what was drawn.

    Returns ``{"path", "nodes", "edges", "level"}``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch

    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".png", ".svg"):
        raise ValueError(f"cannot draw to {path!r}: the file must end in .png or .svg")
    g, used = choose_graph(term, grammar, level)
    pos = layout(g)
    width = max(p[0] for p in pos.values()) + 1
    height = max(abs(p[1]) for p in pos.values()) * 2 + 1
    fig, ax = plt.subplots(figsize=(min(max(6.0, 1.3 * width), 120.0), min(max(2.5, 0.9 * height + 1.2), 60.0)))
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
        ax.text(*pos[n], label.replace(" ", "\n") if collapsed else label, ha="center", va="center",
                fontsize=7, zorder=2,
                bbox=dict(boxstyle="round,pad=0.3", fc=_colour(label, collapsed), ec="#333333", lw=0.6))
    ax.set_xlim(-0.7, width - 0.3)
    ax.set_ylim(-height / 2 - 0.6, height / 2 + 0.6)
    ax.axis("off")
    text = title if title is not None else str(term)
    if len(text) > 160:
        text = text[:157] + "..."
    ax.set_title(text + ("" if used is None else f"   [fold level {used}]"), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return {"path": path, "nodes": g.number_of_nodes(), "edges": g.number_of_edges(), "level": used}
