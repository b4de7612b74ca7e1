"""The default picture of a large term is readable at a glance (issue 23, item 9): one kind of
subterm collapsed throughout (hnb201's cells), the layers wrapped onto rows so the picture is
neither a strip nor a tower, labels that name the operations, a two-line title."""

from __future__ import annotations

import random
import re

import matplotlib.pyplot as plt
import pytest
from PIL import Image

from algebraic_nas.assembly.draw import DPI, draw_term, figure
from algebraic_nas.assembly.draw_graph import choose, describe, nonterminal_heights
from algebraic_nas.grammar import load_grammar

BLOCK = re.compile(r"^(relu|hardswish|mish)·(conv1x1|conv3x3|dconv3x3)·(batch|instance|layer)$")


@pytest.fixture(scope="module")
def hnb201():
    return load_grammar("hnb201")


@pytest.mark.parametrize("seed", [0, 5, 11])
def test_hnb201_default_picture_is_bounded_and_collapses_every_cell(tmp_path, hnb201, seed):
    term = hnb201.sample(random.Random(seed))
    info = draw_term(term, tmp_path / "net.png", grammar=hnb201)
    width, height = Image.open(tmp_path / "net.png").size
    # was a 4,290 x 503 px strip; measured 1,644 x 1,212 px for seed 5 (4 rows)
    assert width <= 18 * DPI and height <= 18 * DPI, (width, height)
    assert 0.6 <= width / height <= 3.0, (width, height)
    assert info["rows"] >= 2 and info["level"] is None
    assert set(info["collapsed"]) == {"CL"} and info["nodes"] <= 60  # every cell one box, nothing else


def test_boxes_name_their_operations_and_the_title_is_two_lines(hnb201):
    term = hnb201.sample(random.Random(5))
    for level in (None, 3):  # the default, and the fold level that mixed cells with "OP Linear3" boxes
        fig, info = figure(term, hnb201, level=level)
        try:
            texts = [t.get_text().replace("\n", " ") for t in fig.axes[0].texts]
            title = fig.axes[0].get_title()
        finally:
            plt.close(fig)
        assert not [t for t in texts if "Linear3" in t]  # no box names a bare topology
        cells = [t for t in texts if t.startswith("Cell")]
        assert len(cells) == info["collapsed"]["CL"] or level == 3
        named = [op for t in cells for op in re.split(r",\s*|:\s*", t.split(": ", 1)[-1]) if "·" in op]
        assert named and all(BLOCK.match(op.split("×")[-1]) for op in named), named
        if level == 3:  # the collapsed OPs of the D0 cells: one box per block, named by its operations
            assert any(BLOCK.match(t) for t in texts)
        assert title.count("\n") == 1 and len(title.split("\n")[0]) <= 200


def test_describe_names_chains_topologies_and_plain_terminals():
    g = load_grammar("hnb201")
    assert describe(g.parse("Linear3(relu, conv3x3, batch)", "BLOCK")) == "relu·conv3x3·batch"
    cell = g.parse("Cell(zero, id, Linear3(relu, conv3x3, batch), avg_pool, Linear3(relu, conv3x3, batch), zero)", "CL")
    assert describe(cell) == "Cell: 2×relu·conv3x3·batch, id, avg_pool"
    mobilenet = load_grammar("mobilenet")
    block = mobilenet.parse("Block(MBConv(5, 6, 0.25), noskip, 1.25, 1)", "BLOCK")
    assert describe(block) == "Block(MBConv(5, 6, 0.25), noskip, 1.25, 1)"  # a terminal with plain arguments


def test_heights_follow_the_grammar_and_recursion_has_none():
    heights = nonterminal_heights(load_grammar("hnb201"))
    assert heights["ACT"] == 0 and heights["BLOCK"] == 1 and heights["CL"] == 3 and heights["D2"] == 6
    toy = nonterminal_heights(load_grammar("toy"))
    assert None in toy.values()  # the toy grammar is recursive


@pytest.mark.parametrize("name", ["nb201_cell", "autodeeplab", "darts_cell", "hierarchical_cell"])
def test_other_shipped_spaces_stay_bounded(tmp_path, name):
    grammar = load_grammar(name)
    term = grammar.sample(random.Random(1))
    graph, _ = choose(term, grammar)
    assert 3 <= graph.number_of_nodes() <= 150
    draw_term(term, tmp_path / "n.png", grammar=grammar)
    width, height = Image.open(tmp_path / "n.png").size
    assert width <= 18 * DPI and height <= 40 * DPI
