"""Sampling, printing and parsing: round trips for every shipped grammar, weights, seeds, Terms."""

from __future__ import annotations

import pickle
import random
import re
from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

from algebraic_nas.grammar import Grammar, Term, load_grammar, shipped_grammars

SHIPPED = shipped_grammars()
_CACHE: dict = {}


def grammar(name) -> Grammar:
    if name not in _CACHE:
        _CACHE[name] = load_grammar(name)
    return _CACHE[name]


def test_all_issue_grammars_are_shipped():
    assert {"toy", "hnb201", "nb201_cell", "darts", "hierarchical_cell", "mobilenet", "autodeeplab", "nago_hnag",
            "rnag"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_round_trip_every_shipped_grammar(name):
    g = grammar(name)
    rng = random.Random(42)
    for _ in range(150):
        t = g.sample(rng)
        s = str(t)
        assert g.parse(s) == t
        g.check(t)
        # whitespace-insensitive
        spaced = re.sub(r"([(),])", r" \1  ", s).replace(", ", ",\n\t")
        assert g.parse(spaced) == t
        assert g.parse(s.replace(" ", "")) == t


@pytest.mark.parametrize("name", SHIPPED)
def test_headers_name_source_and_terminals(name):
    from algebraic_nas.grammar import resolve_grammar_path

    with open(resolve_grammar_path(name), encoding="utf-8") as fh:
        text = fh.read()
    header = text.split("\n\n")[0]
    assert header.startswith("#")
    assert "Topologies" in text and "Primitives" in text
    if name in ("darts_cell", "autodeeplab", "mobilenet", "nago_hnag"):  # darts follows the authors' code
        assert "RECONSTRUCTED" in text


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), name=st.sampled_from(SHIPPED))
def test_round_trip_property(seed, name):
    g = grammar(name)
    t = g.sample(seed)
    assert g.parse(str(t)) == t


def test_sampling_is_reproducible_from_a_seed():
    g = grammar("hnb201")
    assert [str(g.sample(s)) for s in range(5)] == [str(g.sample(s)) for s in range(5)]
    r1, r2 = random.Random(7), random.Random(7)
    assert [g.sample(r1) for _ in range(5)] == [g.sample(r2) for _ in range(5)]
    assert g.sample(1) != g.sample(2)


def test_hnb201_weights():
    g = grammar("hnb201")
    assert g.weights("OP") == pytest.approx([0.2, 0.2, 0.4, 0.2])
    rng = random.Random(0)
    counts = Counter()
    n = 0
    for _ in range(300):
        t = g.sample(rng)
        for _, node in t.walk():
            if node.symbol == "Cell":
                # the first argument is never constrained (the other edges are still present)
                counts[node.children[0].production] += 1
                n += 1
    assert counts[2] / n == pytest.approx(0.4, abs=0.03)
    for p in (0, 1, 3):
        assert counts[p] / n == pytest.approx(0.2, abs=0.03)


def test_weights_unweighted_share_the_rest_and_all_weighted_normalise():
    g = load_grammar("w.ebnf", text="S ::= Op(A, B)\nA ::= a [0.5] | b | c\nB ::= x [2] | y [6]")
    assert g.weights("A") == pytest.approx([0.5, 0.25, 0.25])
    assert g.weights("B") == pytest.approx([0.25, 0.75])
    rng = random.Random(1)
    c = Counter(str(g.sample(rng)).split(", ")[1] for _ in range(4000))
    assert c["y)"] / 4000 == pytest.approx(0.75, abs=0.03)


def test_sampled_hnb201_terms_have_connected_cells():
    from algebraic_nas.grammar import has_path, topology_edges

    g = grammar("hnb201")
    rng = random.Random(3)
    for _ in range(2000):
        t = g.sample(rng)
        g.check(t)
        for _, node in t.walk():
            edges = topology_edges(node.symbol, len(node.children)) if node.children and node.symbol else None
            if edges:
                zeros = {i for i, c in enumerate(node.children) if c.resolve().symbol == "zero"}
                assert has_path(edges, zeros)


def test_transparent_unit_nodes():
    g = grammar("hnb201")
    t = g.sample(5)
    op_nodes = [n for _, n in t.walk() if n.nonterminal == "OP" and n.production == 2]
    assert op_nodes
    node = op_nodes[0]
    assert node.symbol == "" and node.is_transparent
    assert node.children[0].nonterminal == "BLOCK" and node.resolve().symbol == "Linear3"
    assert str(node) == str(node.children[0])


def test_terminal_inside_a_production():
    g = grammar("hnb201")
    t = g.parse(str(g.sample(0)))
    downs = [n for _, n in t.walk() if n.symbol == "down"]
    assert downs and all(n.nonterminal is None and n.production == -1 for n in downs)


def test_terms_are_hashable_immutable_and_picklable():
    g = grammar("hnb201")
    t = g.sample(0)
    u = g.parse(str(t))
    assert hash(t) == hash(u) and len({t, u}) == 1
    with pytest.raises(AttributeError):
        t.symbol = "x"
    v = pickle.loads(pickle.dumps(t))
    assert v == t and str(v) == str(t)


def test_numbers_print_and_parse():
    g = grammar("nago_hnag")
    rng = random.Random(0)
    for _ in range(100):
        t = g.sample(rng)
        values = [n.value for _, n in t.walk() if n.value is not None]
        floats = [v for v in values if isinstance(v, float)]
        ints = [v for v in values if isinstance(v, int)]
        # 3 searched probabilities + 3 stage ratios; 5 searched counts + 3 channel ratios
        assert len(floats) == 6 and len(ints) == 8
        assert all(0.1 <= v <= 0.9 and round(v, 3) == v for v in floats)
    text = ("Budget(WattsStrogatz(3, 2, 0.5, 0.333, 0.333, 0.333, 1, 2, 4, ErdosRenyi(1, 0.25, "
            "WattsStrogatz(10, 5, 0.9, Linear3(relu, conv3x3, batch), wsum), wsum), wsum))")
    assert g.parse(text)
    # an integer written where a float is expected is that float
    t = g.parse(text)
    assert str(t).startswith("Budget(WattsStrogatz(3, 2, 0.5,")


def test_float_digits_directive():
    g = load_grammar("f.ebnf", text="%float_digits 1\nS ::= Op(float(0.0, 1.0))")
    rng = random.Random(0)
    for _ in range(50):
        v = g.sample(rng).children[0].value
        assert round(v, 1) == v


def test_numeric_literals():
    g = grammar("mobilenet")
    t = g.parse("Linear3(Block(MBConv(5, 6, 0.25), skip, 1.0, -1), Block(Conv(3, 0.0), noskip, 0.75, 0), "
                "Block(DConv(5, 0.25), skip, 1.25, 1))")
    assert str(t) == ("Linear3(Block(MBConv(5, 6, 0.25), skip, 1.0, -1), Block(Conv(3, 0.0), noskip, 0.75, 0), "
                      "Block(DConv(5, 0.25), skip, 1.25, 1))")
    with pytest.raises(Exception, match="outside"):
        g.parse("Linear3(Block(MBConv(7, 6, 0.25), skip, 1.0, -1), Block(Conv(3, 0.0), noskip, 0.75, 0), "
                "Block(DConv(5, 0.25), skip, 1.25, 1))")


def test_shared_subterms_are_one_object():
    g = grammar("nb201_cell")
    for t in (g.sample(0), g.parse(str(g.sample(1)))):
        cells = [n for _, n in t.walk() if n.nonterminal == "CELL"]
        assert len(cells) == 15
        assert all(c is cells[0] for c in cells)


def test_hierarchical_motifs_canonical_form():
    g = grammar("hierarchical_cell")
    rng = random.Random(0)
    for _ in range(50):
        t = g.sample(rng)
        order = []
        for _, n in t.walk():
            if n.nonterminal in ("M1", "M2", "M3", "M4", "M5", "M6") and n.nonterminal not in order:
                order.append(n.nonterminal)
        # first appearance order is M1, M2, ... (what parse produces)
        assert order == [f"M{i + 1}" for i in range(len(order))]
        motifs = {}
        for _, n in t.walk():
            if n.nonterminal and n.nonterminal.startswith("M"):
                assert motifs.setdefault(n.nonterminal, n) == n


def test_sample_of_another_nonterminal_and_parse_of_it():
    g = grammar("hnb201")
    t = g.sample(0, nonterminal="CL")
    assert t.nonterminal == "CL" and g.parse(str(t), nonterminal="CL") == t
    g.check(t, nonterminal="CL")


def test_imports_and_overrides(tmp_path):
    (tmp_path / "cells.ebnf").write_text("%zero zero\nCELL ::= Cell(OP, OP, OP, OP, OP, OP)\nOP ::= zero | id | conv3x3\n")
    (tmp_path / "net.ebnf").write_text(
        '# a macro over an imported cell, with OP overridden\n%import "cells.ebnf"\n%shared CELL\n'
        "NET ::= Linear3(CELL, down, CELL)\nOP ::= zero | id | avg_pool | conv1x1\n"
    )
    g = load_grammar(str(tmp_path / "net.ebnf"))
    assert g.start == "NET" and g.zero == "zero" and g.shared == {"CELL"}
    assert g.alternatives("OP") == ["zero", "id", "avg_pool", "conv1x1"]
    t = g.sample(0)
    assert g.parse(str(t)) == t
    # shipped grammars can be imported by name
    (tmp_path / "mine.ebnf").write_text('%import "darts_cell.ebnf"\n%start NET\nNET ::= Linear2(CELL, CELL)\n')
    g2 = load_grammar(str(tmp_path / "mine.ebnf"))
    assert g2.size() == (8**14) ** 2


def test_start_directive_and_comments():
    g = load_grammar("s.ebnf", text="// C++ style\n# shell style\n%start B\nA ::= x\nB ::= Op(A) // trailing\n  | y # trailing\n")
    assert g.start == "B" and set(g.nonterminals) == {"A", "B"}
    assert g.size() == 2


def test_uppercase_terminal_with_arguments():
    # DAG4(...) is a terminal (it has arguments) even though it is written in capitals
    g = grammar("hierarchical_cell")
    assert "DAG4" in g.topologies() and "DAG5" in g.topologies()


def test_grammar_info_keys():
    info = grammar("hnb201").info()
    assert {"size", "log10_size", "start", "nonterminals"} <= set(info)
    assert isinstance(info["size"], int) and info["start"] == "D2"
    assert grammar("rnag").info()["size"] is None
