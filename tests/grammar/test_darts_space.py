"""The real DARTS space (grammar ``darts``): its exact size and the shape of its terms."""

from __future__ import annotations

import itertools
import random

from algebraic_nas.grammar import load_grammar
from algebraic_nas.grammar.topology_darts import auxiliary_cell, cell_widths, darts_network_template, reduction_cells

OPS = 7  # DARTS's operations without none


def _cells_by_enumeration() -> int:
    """Genotypes of one cell counted by listing them: each node k (2..5) picks two (op, input)
    pairs with distinct inputs among 0..k-1, unordered (a node sums its two operations)."""
    total = 1
    for k in range(2, 6):
        pairs = [(op, j) for op in range(OPS) for j in range(k)]
        total *= sum(1 for a, b in itertools.combinations(pairs, 2) if a[1] != b[1])
    return total


def test_size_is_normal_times_reduce_counted_independently():
    g = load_grammar("darts")
    per_cell = _cells_by_enumeration()
    assert per_cell == 1_037_664_180 and g.size("CELL") == per_cell
    assert g.size() == per_cell ** 2 == 1_076_746_950_455_072_400
    assert load_grammar("darts_eval").size() == g.size()  # only C and L differ


def test_every_node_reads_exactly_two_distinct_states():
    g = load_grammar("darts")
    rng = random.Random(0)
    for _ in range(50):
        t = g.sample(rng)
        assert [c.resolve().value for c in t.children[:2]] == [16, 8]
        for cell in t.children[2:]:
            nodes = cell.resolve().children
            assert [n.resolve().symbol for n in nodes] == ["Node2", "Node3", "Node4", "Node5"]
            for k, n in enumerate(nodes, start=2):
                ops = [c.resolve().symbol for c in n.resolve().children]
                assert len(ops) == k and sum(op != "none" for op in ops) == 2


def test_eval_grammar_is_darts_evaluation_network():
    t = load_grammar("darts_eval").sample(1)
    assert str(t).startswith("DartsCIFAR(36, 20, Darts(")


def test_macro_structure_follows_darts_network_cifar():
    assert reduction_cells(8) == (2, 5) and auxiliary_cell(8) == 5
    assert reduction_cells(20) == (6, 13) and auxiliary_cell(20) == 13
    assert cell_widths(36, 20) == [36] * 6 + [72] * 7 + [144] * 7
    tmpl = darts_network_template((16, 8))
    pre = [e for e in tmpl.edges if e.op in ("darts_preprocess", "darts_factorized_reduce")]
    assert len(pre) == 16
    # FactorizedReduce on input 0 of the cells right after a reduction (3 and 6)
    assert [i for i, e in enumerate(pre[::2]) if e.op == "darts_factorized_reduce"] == [3, 6]
    strided = [e for e in tmpl.edges if dict(e.attrs).get("stride") == 2]
    assert len(strided) == 2 * 8 and {e.arg[0] for e in strided} == {3}  # 2 inputs x 4 nodes per reduction cell
    assert sum(e.op == "darts_aux_tap" for e in tmpl.edges) == 1
