"""`algebraic-nas draw` follows the grammar's %prune: the picture holds the operations the network builds."""

from __future__ import annotations

from collections import Counter

import pytest

from algebraic_nas.assembly import InputSpec, build_network
from algebraic_nas.assembly.draw import choose_graph
from algebraic_nas.grammar import load_grammar
from algebraic_nas.interop import convert

# conv1x1 (2,3) and conv3x3 (2,4) sit behind the none edge (1,2): NB201 builds and runs them on zeros
DEAD_EDGES = "|none~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def drawn_ops(term, grammar, level) -> Counter:
    g, used = choose_graph(term, grammar, level=level)
    assert used == level
    return Counter(d["label"] for _, d in g.nodes(data=True) if d["label"] not in ("input", "output", "id"))


@pytest.mark.parametrize("grammar_name, text", [("nb201_cell", convert("nb201", DEAD_EDGES)), ("hnb201", None)])
def test_the_unfolded_picture_shows_exactly_the_built_operations(grammar_name, text):
    grammar = load_grammar(grammar_name)
    term = grammar.parse(text) if text else grammar.sample(5)
    net = build_network(term, InputSpec(3, 32, 10), prune=grammar.prune)
    assert drawn_ops(term, grammar, 6) == Counter(net.body.labels)
    if grammar.prune == "paths":  # hnb201's sample has dead edges, so the two modes really differ here
        assert len(net.body.labels) < len(build_network(term, InputSpec(3, 32, 10), prune="none").body.labels)


def test_nb201_cells_keep_operations_behind_none_edges_at_every_fold_level():
    grammar = load_grammar("nb201_cell")
    term = grammar.parse(convert("nb201", DEAD_EDGES))
    unfolded = drawn_ops(term, grammar, 4)
    assert unfolded["conv1x1"] == 15 and unfolded["conv3x3"] == 30 and unfolded["zero"] == 15  # 15 cells
    folded = drawn_ops(term, grammar, 3)  # collapsed OPs, named by what they compute: the dead ones are drawn too
    assert folded["OP relu·conv1x1·batch"] == 15 and folded["OP relu·conv3x3·batch"] == 30
    paths = Counter(d["label"] for _, d in choose_graph(term, None)[0].nodes(data=True))
    assert paths["conv3x3"] == 15 and "conv1x1" not in paths  # without the grammar: the pruned graph
