"""The term parser's fast path (str.split tokens, token indices, zero checked while matching) gives
the same terms as the precise path, and every error still names its character position."""

from __future__ import annotations

import random

import pytest

from algebraic_nas.grammar import TermError, load_grammar, shipped_grammars
from algebraic_nas.grammar.termparse import parse_term
from algebraic_nas.grammar.termscan import fast_tree, parse_tree, scan_tree


@pytest.mark.parametrize("name", shipped_grammars())
def test_fast_and_precise_paths_give_the_same_terms(name):
    g = load_grammar(name)
    terms = g.sample_many(15, random.Random(2))
    texts = [str(t) for t in terms]
    assert [g.parse(s) for s in texts] == terms
    assert [parse_term(g, s, g.start, fast=False) for s in texts] == terms
    # other spacing: none, newlines and tabs
    assert [g.parse(s.replace(", ", ",")) for s in texts] == terms
    assert [g.parse(s.replace(", ", ",\n\t").replace("(", " (\n ")) for s in texts] == terms


def test_trees_of_both_scanners_agree():
    g = load_grammar("nago_hnag")
    s = str(g.sample(random.Random(0)))
    (fast, fd), (precise, pd) = fast_tree(s), scan_tree(s)
    assert fd == pd

    def shape(n):
        return (n[0], n[3], n[4], tuple(shape(a) for a in n[1]))

    assert shape(fast) == shape(precise)
    node = parse_tree(s)  # the Node form keeps character offsets (converters rely on them)
    assert s[node.args[0].pos:].startswith(node.args[0].sym)


def _error(g, text):
    with pytest.raises(TermError) as e:
        g.parse(text)
    return e.value


def test_errors_name_character_positions_not_token_indices():
    g = load_grammar("hnb201")
    s = str(g.sample(random.Random(4)))
    i = s.index("Cell(", 200)
    bad = s[:i] + "Celx(" + s[i + 5:]
    e = _error(g, bad)
    assert e.position == i and "Celx" in e.reason
    j = s.index(", ", 300) + 2
    e = _error(g, s[:j] + "$" + s[j:])
    assert (e.position, e.reason) == (j, "unexpected character '$'")
    e = _error(g, s[:j] + "12ab " + s[j:])  # '12ab' is the number 12 then the name ab, as before
    assert e.position == j + 2 and e.reason.endswith("of Cell, found 'ab'")
    e = _error(g, s + ")")
    assert e.position == len(s) and "after the end" in e.reason


def test_a_zero_cut_found_on_the_fast_path_is_reported_with_its_position():
    g = load_grammar("hnb201")
    t = g.sample(random.Random(1))
    s = str(t)
    i = s.index("Cell(")
    end = s.index(")", i)
    while s.count("(", i, end + 1) != s.count(")", i, end + 1):
        end = s.index(")", end + 1)
    cut = s[:i] + "Cell(zero, zero, zero, zero, zero, zero)" + s[end + 1:]
    e = _error(g, cut)
    assert e.position == i
    assert "zero as arguments" in e.reason and "cuts every input-to-output path" in e.reason


def test_grammars_with_other_constraints_are_still_validated():
    toy = load_grammar("toy")  # %max_depth 3
    deep = "Linear(Linear(Linear(conv, id, fc), id, fc), id, fc)"
    e = _error(toy, deep)
    assert "max_depth" in e.reason and deep[e.position:].startswith("conv, id, fc)")
    cell = load_grammar("nb201_cell")  # %shared CELL: every occurrence the same subterm
    t = cell.sample(random.Random(0))
    assert cell.parse(str(t)) == t
