"""The loader warns where parse(str(t)) can differ from t: identical rules reached through two
alternatives, as well as one leaf reached twice (issue 23, item 13)."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

from algebraic_nas.grammar import load_grammar

GRAMMARS = Path(__file__).resolve().parents[2] / "grammars"


def _load(text: str):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grammar = load_grammar("space.ebnf", text=text)
    return grammar, [str(w.message) for w in caught]


def test_identical_unshared_motifs_are_warned_about_and_parse_returns_the_first():
    text = (GRAMMARS / "hierarchical_cell.ebnf").read_text()
    unshared = text.replace("%shared M1, M2, M3, M4, M5, M6\n", "")
    assert unshared != text
    grammar, messages = _load(unshared)
    ambiguous = [m for m in messages if "ambiguous grammar: LEVEL2 derives DAG4(" in m]
    assert len(ambiguous) == 5  # M2..M6 each repeat M1
    assert all(m.startswith("space.ebnf:") and "parse returns the first derivation" in m for m in ambiguous)
    # the warning is true: a term through M3 prints like one through M1 and parses back as M1
    def motifs(t) -> set:
        return {s.nonterminal for _, s in t.walk()} & {"M1", "M2", "M3", "M4", "M5", "M6"}

    rng = random.Random(0)
    term = next(t for t in (grammar.sample(rng) for _ in range(200)) if "M3" in motifs(t))
    back = grammar.parse(str(term))
    assert str(back) == str(term) and back != term
    assert "M3" not in motifs(back)


def test_the_shipped_shared_motifs_and_grammars_load_without_ambiguity_warnings():
    for path in sorted(GRAMMARS.glob("*.ebnf")):
        _, messages = _load(path.read_text())
        assert not [m for m in messages if "ambiguous" in m], (path.name, messages)


def test_a_leaf_through_a_unit_rule_is_still_warned_about():
    _, messages = _load("S ::= A | conv\nA ::= conv\n")
    assert any("S derives conv through alternative 1 (A) and alternative 2 (conv)" in m for m in messages)


def test_different_compound_alternatives_are_not_ambiguous():
    _, messages = _load("S ::= A | B\nA ::= Linear2(X, X)\nB ::= Linear3(X, X, X)\nX ::= conv | id\n")
    assert not [m for m in messages if "ambiguous" in m]
