"""Pictures of parameterised blocks: no box hides another and the title stays inside the figure."""

from __future__ import annotations

import itertools
import random

import matplotlib.pyplot as plt
import pytest

from algebraic_nas.assembly.draw import draw_term, figure, wrap_label
from algebraic_nas.grammar import load_grammar

MOBILENET = ("Linear3(Block(MBConv(5, 6, 0.25), noskip, 1.25, 1), Block(DConv(3, 0.25), skip, 0.75, -1), "
             "Block(Conv(5, 0.25), noskip, 1.0, 0))")


def test_wrap_label_breaks_after_commas_and_keeps_every_character():
    label = "Block(MBConv(5, 6, 0.25), noskip, 1.25, 1)"
    wrapped = wrap_label(label, 22)
    assert all(len(line) <= 22 for line in wrapped.split("\n")) and wrapped.count("\n") >= 1
    assert wrapped.replace("\n", " ").replace("  ", " ") == label
    assert wrap_label("conv3x3") == "conv3x3"
    # a collapsed box: its topology on a line of its own, then what it holds
    assert wrap_label("Cell: 2×avg_pool, relu·conv3x3·batch, id") == "Cell:\n2×avg_pool,\nrelu·conv3x3·batch, id"


def _check_readable(fig) -> None:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    boxes = [t.get_bbox_patch().get_window_extent(renderer) for t in ax.texts]
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    title = ax.title.get_window_extent(renderer)
    assert title.x0 >= 0 and title.x1 <= fig.bbox.width and title.y1 <= fig.bbox.height


@pytest.mark.parametrize("name,text", [("mobilenet", MOBILENET), ("rnag", None), ("nago_hnag", None), ("hnb201", None)])
def test_parameterised_blocks_are_drawn_without_overlaps_or_clipped_titles(name, text):
    grammar = load_grammar(name)
    term = grammar.parse(text) if text else grammar.sample(random.Random(3))
    levels = [None] if text else [None, 1, 2]  # generator spaces: one picture per fold level
    for level in levels:
        fig, info = figure(term, grammar, level=level, seed=2)
        try:
            _check_readable(fig)
        finally:
            plt.close(fig)
        assert info["nodes"] >= 3


def test_draw_term_writes_a_generator_network(tmp_path):
    grammar = load_grammar("nago_hnag")
    term = grammar.sample(random.Random(0))
    info = draw_term(term, tmp_path / "hnag.svg", grammar=grammar, seed=1)
    assert (tmp_path / "hnag.svg").read_text().startswith("<?xml") and info["collapsed"]  # its lowest graphs as boxes
